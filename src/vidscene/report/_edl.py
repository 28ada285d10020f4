"""``edl``: a CMX 3600 edit decision list that rebuilds the video from its shots.

Every shot becomes one event on reel ``AX`` (the conventional "auxiliary source" reel, i.e. the
file itself) with record timecodes equal to source timecodes, so an editing system that relinks
``AX`` to the file shows the shots as separate clips on its timeline. A gradual transition into a
shot becomes a two-line dissolve event (``D`` with its length in frames): a zero-length line for
the outgoing source, then the incoming shot. A fade at the very start dissolves from black
(reel ``BL``). CMX 3600 has no other gradual kinds that every editor reads, so fades, wipes and
other gradual transitions are written as dissolves too, with a comment naming the detected type.

Each event of a shot that belongs to a scene ends with a comment naming the scene, its shots,
its source timecodes and its confidence, e.g. ``* SCENE: 2 (SHOTS 3-4, 00:00:04:00-00:00:10:00,
CONFIDENCE 0.60)``. Scene and shot numbers there count from 1, like the event numbers (the
Analysis JSON and the CSV exports count from 0). Comments start with ``*``, so an editor that
does not read them still reads the list.

Timecodes count decoded frames at the video's frame rate rounded to an integer, non-drop-frame;
the list says so in a comment, because on 29.97/23.976 material that timecode runs slightly
slower than the wall clock.
"""

from __future__ import annotations

import math
from pathlib import Path

from vidscene.analysis import AnalysisResult, Scene, Shot
from vidscene.report._base import EXPORTERS, Exporter, scene_index_of_shots
from vidscene.report._timecode import frames_to_timecode, integer_timebase

SOURCE_REEL = "AX"
BLACK_REEL = "BL"


def _printable(text: str) -> str:
    """One line of text: an EDL is line-oriented, so control characters would break it."""
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()


def _event_line(
    number: int, reel: str, transition: str, duration: int | None,
    start: int, end: int, timebase: int,
) -> str:
    src_in = frames_to_timecode(start, timebase)
    src_out = frames_to_timecode(end, timebase)
    length = f"{duration:03d}" if duration is not None else ""
    # Column layout of CMX 3600: event, reel (8), track (5), transition (4), duration (3),
    # then source in/out and record in/out. Record equals source: the list rebuilds the file.
    return (f"{number:03d}  {reel:<8} {'V':<5} {transition:<4} {length:>3} "
            f"{src_in} {src_out} {src_in} {src_out}")


def _scene_comment(scene: Scene, timebase: int) -> str:
    first, last = scene.first_shot + 1, scene.last_shot + 1
    shots = f"SHOT {first}" if first == last else f"SHOTS {first}-{last}"
    span = (f"{frames_to_timecode(scene.start_frame, timebase)}"
            f"-{frames_to_timecode(scene.end_frame, timebase)}")
    c = scene.confidence
    confidence = f"{c:.2f}" if math.isfinite(c) else "UNKNOWN"
    return f"* SCENE: {scene.index + 1} ({shots}, {span}, CONFIDENCE {confidence})"


@EXPORTERS.register("edl")
class EdlExporter(Exporter):
    name = "edl"
    extension = ".edl"
    media_type = "text/plain"

    def render(self, result: AnalysisResult) -> str:
        analysis = result.analysis
        video = analysis.video
        clip_name = _printable(Path(video.path).name) or "video"
        timebase = integer_timebase(video.fps)
        lines = [
            f"TITLE: {clip_name}",
            "FCM: NON-DROP FRAME",
            f"* TIMECODES COUNT FRAMES AT {timebase} FPS, NON-DROP-FRAME"
            f" (VIDEO RATE {video.fps:g} FPS ROUNDED TO THE NEAREST INTEGER TIMEBASE)",
        ]
        scenes = {scene.index: scene for scene in analysis.scenes}
        scene_of = scene_index_of_shots(analysis)
        for number, (shot, scene_index) in enumerate(
            zip(analysis.shots, scene_of, strict=True), start=1
        ):
            lines.append("")
            lines.extend(self._event(number, shot, clip_name, timebase))
            if scene_index is not None:
                lines.append(_scene_comment(scenes[scene_index], timebase))
        return "\n".join(lines) + "\n"

    def _event(self, number: int, shot: Shot, clip_name: str, timebase: int) -> list[str]:
        t = shot.transition_in
        if t is None or not t.is_gradual:
            return [
                _event_line(number, SOURCE_REEL, "C", None, shot.start_frame, shot.end_frame,
                            timebase),
                f"* FROM CLIP NAME: {clip_name}",
            ]
        # The dissolve cannot outlast the shot it leads into, and lasts at least one frame.
        frames = min(max(1, t.last_frame - t.first_frame + 1), shot.frame_count)
        from_reel = BLACK_REEL if shot.start_frame == 0 else SOURCE_REEL
        return [
            _event_line(number, from_reel, "C", None, shot.start_frame, shot.start_frame,
                        timebase),
            _event_line(number, SOURCE_REEL, "D", frames, shot.start_frame, shot.end_frame,
                        timebase),
            f"* FROM CLIP NAME: {'BLACK' if from_reel == BLACK_REEL else clip_name}",
            f"* TO CLIP NAME: {clip_name}",
            f"* TRANSITION: {_printable(t.type).upper()}",
        ]
