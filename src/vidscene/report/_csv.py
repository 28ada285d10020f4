"""``csv``: one row per shot, for spreadsheets and quick scripts.

Fixed columns come first, then one column per shot attribute (the union of every shot's keys,
sorted), so files from different runs line up when they use the same attributes. Times appear
both as seconds (for computing) and as ``HH:MM:SS.mmm`` (for reading).
"""

from __future__ import annotations

import csv
import io
import math

from vidscene.analysis import AnalysisResult
from vidscene.report._base import EXPORTERS, Exporter, scene_index_of_shots
from vidscene.report._timecode import seconds_to_timecode

FIXED_COLUMNS: tuple[str, ...] = (
    "shot_index",
    "scene_index",
    "start_frame",
    "end_frame",
    "start_time",
    "end_time",
    "start_timecode",
    "end_timecode",
    "duration",
    "transition_type",
    "transition_confidence",
    "keyframes",
)

ATTRIBUTE_PREFIX = "attributes."
"""Prepended to an attribute whose name equals a fixed column, so no header repeats."""


def _cell(value: object) -> str:
    """One value as CSV text: empty for missing or non-finite, shortest exact form for floats."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def _seconds(value: float) -> str:
    # Microseconds are finer than any frame; rounding hides float noise such as 0.6799999999.
    return _cell(round(value, 6))


@EXPORTERS.register("csv")
class CsvExporter(Exporter):
    name = "csv"
    extension = ".csv"
    media_type = "text/csv"

    def render(self, result: AnalysisResult) -> str:
        analysis = result.analysis
        attribute_names = sorted({k for shot in analysis.shots for k in shot.attributes})
        headers = [
            f"{ATTRIBUTE_PREFIX}{name}" if name in FIXED_COLUMNS else name
            for name in attribute_names
        ]
        scene_of = scene_index_of_shots(analysis)

        out = io.StringIO()
        writer = csv.writer(out)  # RFC 4180 dialect: CRLF line ends, minimal quoting
        writer.writerow([*FIXED_COLUMNS, *headers])
        for shot, scene_index in zip(analysis.shots, scene_of, strict=True):
            t = shot.transition_in
            writer.writerow([
                shot.index,
                _cell(scene_index),
                shot.start_frame,
                shot.end_frame,
                _seconds(shot.start_time),
                _seconds(shot.end_time),
                seconds_to_timecode(shot.start_time),
                seconds_to_timecode(shot.end_time),
                _seconds(shot.duration),
                t.type if t else "",
                _cell(t.confidence) if t else "",
                " ".join(str(k) for k in shot.keyframes),
                *(_cell(shot.attributes.get(name)) for name in attribute_names),
            ])
        return out.getvalue()
