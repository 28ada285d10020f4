"""Exports of an analysis: JSON, CSV, CMX 3600 EDL, WebVTT chapters and a self-contained HTML
report, each a registered :class:`Exporter` chosen by format name.

>>> from vidscene.report import export
>>> export(result, "html", "report.html")   # doctest: +SKIP
>>> export(result, "csv", "-")              # standard output  # doctest: +SKIP
"""

from vidscene.report._base import (
    EXPORTERS,
    Exporter,
    create_exporter,
    export,
    export_formats,
    render,
    scene_index_of_shots,
)
from vidscene.report._timecode import frames_to_timecode, integer_timebase, seconds_to_timecode

# Importing a format's module registers it.
from vidscene.report import _csv, _edl, _html, _json, _webvtt  # noqa: E402, F401  isort: skip

FORMATS: tuple[str, ...] = tuple(export_formats())
"""The built-in formats; :func:`export_formats` also lists formats added later by plugins."""

__all__ = [
    "EXPORTERS",
    "FORMATS",
    "Exporter",
    "create_exporter",
    "export",
    "export_formats",
    "frames_to_timecode",
    "integer_timebase",
    "render",
    "scene_index_of_shots",
    "seconds_to_timecode",
]
