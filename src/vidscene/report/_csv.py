"""``csv``: one row per shot, and ``scenes-csv``: one row per scene, for spreadsheets and scripts.

Fixed columns come first, then one column per attribute (the union of every row's keys, sorted),
so files from different runs line up when they use the same attributes. Times appear both as
seconds (for computing) and as ``HH:MM:SS.mmm`` (for reading). Indices count from 0, as in the
Analysis JSON, so ``scene_index`` of the shot rows joins ``scene_index`` of the scene rows, and a
scene's ``first_shot``..``last_shot`` (inclusive) are ``shot_index`` values.
"""

from __future__ import annotations

import csv
import io
import json
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

SCENE_COLUMNS: tuple[str, ...] = (
    "scene_index",
    "first_shot",
    "last_shot",
    "shot_count",
    "start_frame",
    "end_frame",
    "start_time",
    "end_time",
    "start_timecode",
    "end_timecode",
    "duration",
    "confidence",
)

ATTRIBUTE_PREFIX = "attributes."
"""Prepended to an attribute whose name equals a fixed column, so no header repeats."""


def _cell(value: object) -> str:
    """One value as CSV text: empty for missing or non-finite, shortest exact form for floats."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, list | dict):
        return json.dumps(value, separators=(",", ":"))  # a palette: one JSON cell
    return str(value)


def _seconds(value: float) -> str:
    # Microseconds are finer than any frame; rounding hides float noise such as 0.6799999999.
    return _cell(round(value, 6))


def _attribute_headers(names: list[str], fixed: tuple[str, ...]) -> list[str]:
    return [f"{ATTRIBUTE_PREFIX}{name}" if name in fixed else name for name in names]


@EXPORTERS.register("csv")
class CsvExporter(Exporter):
    name = "csv"
    extension = ".csv"
    media_type = "text/csv"

    def render(self, result: AnalysisResult) -> str:
        analysis = result.analysis
        attribute_names = sorted({k for shot in analysis.shots for k in shot.attributes})
        headers = _attribute_headers(attribute_names, FIXED_COLUMNS)
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


@EXPORTERS.register("scenes-csv")
class ScenesCsvExporter(Exporter):
    """One row per scene: its shot range, frames, times and confidence, then its attributes.

    An analysis without scenes gives the header row alone.
    """

    name = "scenes-csv"
    extension = ".csv"
    media_type = "text/csv"

    def render(self, result: AnalysisResult) -> str:
        scenes = result.analysis.scenes
        attribute_names = sorted({k for scene in scenes for k in scene.attributes})

        out = io.StringIO()
        writer = csv.writer(out)  # same dialect as the shot rows
        writer.writerow([*SCENE_COLUMNS, *_attribute_headers(attribute_names, SCENE_COLUMNS)])
        for scene in scenes:
            writer.writerow([
                scene.index,
                scene.first_shot,
                scene.last_shot,
                scene.last_shot - scene.first_shot + 1,
                scene.start_frame,
                scene.end_frame,
                _seconds(scene.start_time),
                _seconds(scene.end_time),
                seconds_to_timecode(scene.start_time),
                seconds_to_timecode(scene.end_time),
                _seconds(scene.end_time - scene.start_time),
                _cell(scene.confidence),
                *(_cell(scene.attributes.get(name)) for name in attribute_names),
            ])
        return out.getvalue()
