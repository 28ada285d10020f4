"""How one video is split into chunks that workers analyse in parallel.

A chunk *owns* the frames ``[start, stop)`` (its core): the transitions that start there, the
shots that start there, the attribute samples there. To report them exactly as a pass from
frame 0 would, it decodes more than its core:

* before it, from a frame on the detector's window grid at least ``chunk_warmup`` frames
  earlier (reached by seeking to the keyframe at or before that frame), so the detector is in
  step by ``start`` (``ShotDetector.synced_from``);
* after it, until the detector has decided every transition that starts in the core
  (``ShotDetector.final_until``) and the shot that is open at ``stop`` has ended, or
  ``max_tail`` frames have passed; then the samples of that still-open shot travel to the scene
  stage, which closes it with the next chunks' samples.

Frame numbers and times come from the video's frame index (every packet's timestamp), so a
chunk numbers its frames as a pass from the start does and checks every decoded frame against
it. A video without a usable index, or shorter than two chunks, is one chunk.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from vidscene.analysis import VideoInfo
from vidscene.video import FrameSpan, VideoIndex, build_index

DEFAULT_CHUNK_SECONDS = 60.0
"""Length of a chunk's core: a two-hour film makes 120 chunks, enough to keep a few dozen
workers busy, while the warm-up and tail each chunk decodes beyond its core (a few seconds)
cost little (``BENCHMARKS.md``, Scale-out)."""

LOOKAHEAD_SLACK = 512
"""Frames a chunk may decode past its tail for the detector's look-ahead before it gives up."""


@dataclass(frozen=True)
class ChunkGeometry:
    """What the shot detector needs of a chunk (see ``ShotDetector.chunk_warmup``)."""

    warmup: int | None
    alignment: int = 1


@dataclass(frozen=True)
class Chunk:
    """One piece of work for the shot stage."""

    path: str
    """The file to decode (absolute, so a worker anywhere in the cluster finds it)."""
    number: int
    start: int
    """First frame of the core."""
    stop: int | None
    """End of the core (exclusive); ``None``: the video's end (the last chunk)."""
    span: FrameSpan | None
    """What to decode; ``None``: the whole video from its first frame, no index needed."""
    max_tail: int = 0
    """Frames past ``stop`` a chunk decodes at most to end the shot open at ``stop``."""
    frames: int = 0
    """The video's frame count by its index (0: not indexed, a whole video)."""

    @property
    def last(self) -> bool:
        return self.stop is None


@dataclass(frozen=True)
class VideoPlan:
    """A video and its chunks, in order."""

    info: VideoInfo
    """The probe's metadata (``path`` as the user gave it: the Analysis reports that)."""
    chunks: tuple[Chunk, ...]

    @property
    def chunked(self) -> bool:
        return len(self.chunks) > 1


def whole_video(path: str | Path, info: VideoInfo) -> VideoPlan:
    """The plan of a video analysed in one piece."""
    return VideoPlan(info, (Chunk(str(Path(path).resolve()), 0, 0, None, None),))


def plan_video(path: str | Path, info: VideoInfo, geometry: ChunkGeometry, *,
               chunk_seconds: float | None, sample_fps: float,
               index: VideoIndex | None = None, warmup_scale: int = 1) -> VideoPlan:
    """Split a video into chunks of about ``chunk_seconds`` (``None``: never split).

    ``warmup_scale`` multiplies the detector's warm-up and the tail (a chunk that did not fall
    in step in time is planned again with more of both)."""
    plan = whole_video(path, info)
    if chunk_seconds is None or geometry.warmup is None or info.duration < 2 * chunk_seconds:
        return plan
    index = index or build_index(path)
    if index is None:
        return plan
    n = index.frame_count
    fps = n / info.duration if info.duration > 0 else (info.fps or 25.0)
    size = max(1, int(round(chunk_seconds * fps)))
    if n < 2 * size:
        return plan
    warmup = geometry.warmup * warmup_scale
    # Long enough that a shot still open after it holds a time-sampled frame (so the scene
    # stage can always pick its keyframes), and a few seconds for the shot to end.
    max_tail = int(math.ceil(fps * max(8.0, 2.0 / sample_fps))) * warmup_scale
    starts = list(range(0, n, size))
    if n - starts[-1] < size // 2:  # no stub at the end: the last chunk takes it
        starts.pop()
    chunks = []
    absolute = str(Path(path).resolve())
    for number, start in enumerate(starts):
        stop = starts[number + 1] if number + 1 < len(starts) else None
        first = 0 if start == 0 else max(0, (start - warmup) // geometry.alignment
                                          * geometry.alignment)
        limit = n if stop is None else min(n, stop + max_tail + LOOKAHEAD_SLACK * warmup_scale)
        chunks.append(Chunk(absolute, number, start, stop, index.span(first, limit), max_tail, n))
    return replace(plan, chunks=tuple(chunks))


WARMUP_SCALES = (1, 4, 16)
"""Warm-up multipliers tried in turn when a chunk does not fall in step in time."""


def plan_attempts(path: str | Path, info: VideoInfo, geometry: ChunkGeometry, *,
                  chunk_seconds: float | None, sample_fps: float) -> Iterator[VideoPlan]:
    """The plans to try for a video, in order: chunked with the detector's warm-up, with 4×
    and 16× that, then in one piece. An executor takes the next one when a chunk raises
    ``ChunkNotInStep`` (and goes straight to the whole video on a ``SpanMismatch``)."""
    if chunk_seconds is None or geometry.warmup is None or info.duration < 2 * chunk_seconds:
        yield whole_video(path, info)
        return
    index = build_index(path)
    for scale in WARMUP_SCALES:
        plan = plan_video(path, info, geometry, chunk_seconds=chunk_seconds,
                          sample_fps=sample_fps, index=index, warmup_scale=scale)
        yield plan
        if not plan.chunked:
            return
    yield whole_video(path, info)
