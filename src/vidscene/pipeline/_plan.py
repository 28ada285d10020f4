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
from dataclasses import dataclass
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
    scale: int = 1
    """How many times the detector's warm-up (and the usual tail) this chunk decodes."""


@dataclass(frozen=True)
class VideoPlan:
    """A video and its chunks, in order."""

    info: VideoInfo
    """The probe's metadata (``path`` as the user gave it: the Analysis reports that)."""
    chunks: tuple[Chunk, ...]

    @property
    def chunked(self) -> bool:
        return len(self.chunks) > 1


WIDENINGS = (4, 16)
"""Warm-up and tail multipliers a chunk is retried with when it did not fall in step (or
could not decide its core) in time; after them its video is analysed in one piece."""


class VideoPlanner:
    """Plans one video's chunks, and plans a single chunk again with a longer warm-up and
    tail when it did not fall in step in time (the other chunks' results stay valid: each is
    exact on its own). Both executors use it, so they split videos identically."""

    def __init__(self, path: str | Path, info: VideoInfo, geometry: ChunkGeometry, *,
                 chunk_seconds: float | None, sample_fps: float) -> None:
        self.path = str(Path(path).resolve())
        self.info = info
        self.geometry = geometry
        self.sample_fps = sample_fps
        self.index: VideoIndex | None = None
        self.size = 0
        if chunk_seconds is not None and geometry.warmup is not None \
                and info.duration >= 2 * chunk_seconds:
            self.index = build_index(path)
        if self.index is not None:
            n = self.index.frame_count
            self.fps = n / info.duration if info.duration > 0 else (info.fps or 25.0)
            self.size = max(1, int(round((chunk_seconds or 0) * self.fps)))
            if n < 2 * self.size:
                self.index = None

    def plan(self) -> VideoPlan:
        """Chunks of about ``chunk_seconds`` (one piece for a short or unindexed video)."""
        if self.index is None:
            return self.whole()
        n = self.index.frame_count
        starts = list(range(0, n, self.size))
        if n - starts[-1] < self.size // 2:  # no stub at the end: the last chunk takes it
            starts.pop()
        stops: list[int | None] = [*starts[1:], None]
        return VideoPlan(self.info, tuple(self._chunk(i, a, b, 1)
                                          for i, (a, b) in enumerate(zip(starts, stops,
                                                                         strict=True))))

    def widen(self, chunk: Chunk) -> Chunk | None:
        """The same core with a longer warm-up and tail, or ``None`` once widened enough."""
        if self.index is None or chunk.scale >= WIDENINGS[-1]:
            return None
        scale = next(w for w in WIDENINGS if w > chunk.scale)
        return self._chunk(chunk.number, chunk.start, chunk.stop, scale)

    def whole(self) -> VideoPlan:
        return whole_video(self.path, self.info)

    def _chunk(self, number: int, start: int, stop: int | None, scale: int) -> Chunk:
        assert self.index is not None and self.geometry.warmup is not None
        n = self.index.frame_count
        warmup = self.geometry.warmup * scale
        # Long enough that a shot still open after it holds a time-sampled frame (so the
        # scene stage can always pick its keyframes), and a few seconds for the shot to end.
        max_tail = int(math.ceil(self.fps * max(8.0, 2.0 / self.sample_fps))) * scale
        align = self.geometry.alignment
        first = 0 if start == 0 else max(0, (start - warmup) // align * align)
        limit = n if stop is None else min(n, stop + max_tail + LOOKAHEAD_SLACK * scale)
        return Chunk(self.path, number, start, stop, self.index.span(first, limit), max_tail,
                     n, scale)


def whole_video(path: str | Path, info: VideoInfo) -> VideoPlan:
    """The plan of a video analysed in one piece."""
    return VideoPlan(info, (Chunk(str(Path(path).resolve()), 0, 0, None, None),))


def plan_video(path: str | Path, info: VideoInfo, geometry: ChunkGeometry, *,
               chunk_seconds: float | None, sample_fps: float) -> VideoPlan:
    """Split a video into chunks of about ``chunk_seconds`` (``None``: never split)."""
    return VideoPlanner(path, info, geometry, chunk_seconds=chunk_seconds,
                        sample_fps=sample_fps).plan()
