"""The shot-detector interface and its registry.

A detector consumes the stream of :class:`~vidscene.video.FrameBatch` objects (tiny copies of
every frame) and reports :class:`~vidscene.analysis.Transition` objects. Batches, not single
frames, so that a neural detector can run a window of frames at once and a classic one can
vectorise with NumPy: both share this interface. Detectors may report a transition some frames
after it happened (they need look-ahead); every transition is reported exactly once, in order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from vidscene.analysis import Shot, Transition
from vidscene.registry import Registry
from vidscene.video import FrameBatch

DETECTORS: Registry[ShotDetector] = Registry("shot detector")


class ShotDetector(ABC):
    """Finds shot boundaries in a stream of frame batches."""

    name: str = ""
    """Registry name (the ``--detector`` value)."""

    chunk_warmup: int | None = None
    """Frames a stream that starts inside a video (one *chunk* of a long video) runs before
    the first frame it is asked about, so that the detector is in step with a pass from frame
    0 by then. ``None``: the detector reads whole videos only and is never given a chunk.
    A detector that sets it reads its origin from the first batch's ``start`` and implements
    :meth:`synced_from` and :meth:`final_until`."""

    chunk_alignment: int = 1
    """A chunk's stream starts on a multiple of this many frames (a window grid)."""

    lookahead_frames: int | None = None
    """At most how many frames after a transition's last frame must be decoded before it is
    reported (``None``: not bounded, e.g. reported only at the end). A live input reports a
    cut this many frames, plus the time to analyse them, after it aired."""

    @abstractmethod
    def process(self, batch: FrameBatch) -> list[Transition]:
        """Consume the next batch; return the transitions that are now final."""

    @abstractmethod
    def flush(self) -> list[Transition]:
        """End of video: return the transitions still pending."""

    def describe(self) -> str:
        """Name and settings, recorded in the Analysis ``models`` field."""
        return self.name

    def synced_from(self) -> int | None:
        """The first frame from which this detector reports exactly what a pass from frame 0
        reports, or ``None`` while that is not known yet. A stream from frame 0 is in step
        from the start."""
        return 0

    def final_until(self) -> int:
        """Between :meth:`process` calls: every transition that starts before this frame has
        been reported (chunk-capable detectors only)."""
        raise NotImplementedError(f"the {self.name!r} detector does not read chunks")

    def detect(self, batches: Iterable[FrameBatch]) -> list[Transition]:
        """Run over a whole stream (convenience for tests and benchmarks)."""
        found: list[Transition] = []
        for batch in batches:
            found.extend(self.process(batch))
        found.extend(self.flush())
        return found


def create_detector(name: str, **kwargs: object) -> ShotDetector:
    """Build the detector registered as ``name`` (``ConfigError`` if unknown)."""
    return DETECTORS.create(name, **kwargs)


VIDEO_START = Transition("cut", 0, 0, 1.0)
"""The first shot's ``transition_in`` unless the video opens with a transition of its own."""


def follows(previous: Transition, t: Transition) -> bool:
    """Whether ``t`` can start the next shot after ``previous``: it begins after the previous
    transition has ended. The one rule that keeps shots tiling, shared by every consumer of
    detector output."""
    return t.first_frame > previous.last_frame


def shots_from_transitions(
    transitions: Iterable[Transition], frame_count: int, times: list[float] | None = None,
    fps: float = 25.0, duration: float | None = None,
) -> list[Shot]:
    """Tile ``[0, frame_count)`` into shots that start at each transition's first frame.

    ``times[i]`` is frame ``i``'s timestamp; a shot ends where the next begins and the last
    one at ``duration``. A transition at frame 0 becomes the first shot's ``transition_in``;
    out-of-range ones are dropped, and of overlapping ones the earlier is kept, so the result
    always tiles the video.
    """
    def time_of(i: int) -> float:
        if i >= frame_count:
            return duration if duration is not None else frame_count / fps
        return times[i] if times is not None else i / fps

    shots: list[Shot] = []
    start, t_in = 0, VIDEO_START
    for t in sorted(transitions, key=lambda t: t.first_frame):
        if t.first_frame == 0 and not shots:
            t_in = t  # e.g. a fade in from black opens the first shot
            continue
        if not follows(t_in, t) or t.first_frame >= frame_count:
            continue
        shots.append(Shot(len(shots), start, t.first_frame, time_of(start), time_of(t.first_frame),
                          transition_in=t_in))
        start, t_in = t.first_frame, t
    if frame_count > start:
        shots.append(Shot(len(shots), start, frame_count, time_of(start), time_of(frame_count),
                          transition_in=t_in))
    return shots
