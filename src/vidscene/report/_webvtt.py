"""``webvtt``: chapter markers for HTML5 players (``<track kind="chapters">``).

One cue per scene, or one per shot when the analysis has no scenes, so a viewer can jump
through the video by its structure. Titles count from 1, as a player's chapter menu does;
the ``index`` fields of the Analysis count from 0.
"""

from __future__ import annotations

from vidscene.analysis import AnalysisResult
from vidscene.report._base import EXPORTERS, Exporter
from vidscene.report._timecode import seconds_to_timecode


def _cue(identifier: str, start: float, end: float, title: str) -> str:
    return f"{identifier}\n{seconds_to_timecode(start)} --> {seconds_to_timecode(end)}\n{title}\n"


@EXPORTERS.register("webvtt")
class WebVttExporter(Exporter):
    name = "webvtt"
    extension = ".vtt"
    media_type = "text/vtt"

    def render(self, result: AnalysisResult) -> str:
        analysis = result.analysis
        cues: list[str] = []
        if analysis.scenes:
            for scene in analysis.scenes:
                first, last = scene.first_shot + 1, scene.last_shot + 1
                shots = f"shot {first}" if first == last else f"shots {first}–{last}"
                cues.append(_cue(f"scene-{scene.index + 1}", scene.start_time, scene.end_time,
                                 f"Scene {scene.index + 1} ({shots})"))
        else:
            for shot in analysis.shots:
                cues.append(_cue(f"shot-{shot.index + 1}", shot.start_time, shot.end_time,
                                 f"Shot {shot.index + 1}"))
        return "\n".join(["WEBVTT\n", *cues])
