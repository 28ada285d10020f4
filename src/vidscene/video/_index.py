"""The frame index of a video: every frame's presentation timestamp, read from the packets
without decoding, and where the keyframes are.

It is what lets a worker decode one *chunk* of a long video and still number and time every
frame exactly as a pass from the start would: frame ``i`` is the ``i``-th smallest video packet
timestamp, so a chunk seeks to a keyframe, checks each decoded frame's timestamp against the
index, and knows its global number and time. Demuxing reads ~200,000 packets a second here,
about a second for a two-hour film, so the index costs far less than decoding.

A stream the index cannot describe exactly (packets without timestamps, duplicate timestamps)
has no index; such a video is analysed in one piece.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vidscene.video._probe import open_video


@dataclass(frozen=True)
class FrameSpan:
    """The part of a video one chunk decodes: frames ``[start, stop)``, reached by seeking to
    the keyframe ``keyframe`` (≤ ``start``) and decoding from there.

    ``pts`` holds the expected timestamps of frames ``keyframe .. stop - 1``; the stream checks
    every decoded frame against it, so a file whose decoding disagrees with its packets (a
    damaged packet, a decoder that drops frames) fails loudly instead of shifting frame
    numbers. ``first_pts`` is frame 0's timestamp (times count from it), ``previous_time`` the
    time of frame ``start - 1`` (so sampling continues the video's own grid).
    """

    start: int
    stop: int
    keyframe: int
    pts: np.ndarray
    first_pts: int
    time_base: float
    previous_time: float | None


@dataclass(frozen=True)
class VideoIndex:
    """Sorted presentation timestamps of every frame and the frame numbers of keyframes."""

    pts: np.ndarray
    keyframes: np.ndarray
    time_base: float

    @property
    def frame_count(self) -> int:
        return len(self.pts)

    def time(self, frame: int) -> float:
        """Seconds from frame 0 to ``frame``, as the decoding pass computes them."""
        return float((int(self.pts[frame]) - int(self.pts[0])) * self.time_base)

    def keyframe_at_or_before(self, frame: int) -> int:
        k = int(np.searchsorted(self.keyframes, frame, side="right")) - 1
        return int(self.keyframes[max(k, 0)])

    def span(self, start: int, stop: int) -> FrameSpan:
        """The span that delivers frames ``[start, stop)`` (``stop`` clipped to the video)."""
        stop = min(stop, self.frame_count)
        key = self.keyframe_at_or_before(start) if start > 0 else 0
        return FrameSpan(
            start=start, stop=stop, keyframe=key, pts=self.pts[key:stop].copy(),
            first_pts=int(self.pts[0]), time_base=self.time_base,
            previous_time=self.time(start - 1) if start > 0 else None,
        )


def build_index(path: str | Path) -> VideoIndex | None:
    """The index of ``path``'s first video stream, or ``None`` when its packets cannot
    number the frames exactly (then the video is analysed in one piece)."""
    with open_video(path) as (container, stream):
        if not stream.time_base:
            return None
        time_base = float(stream.time_base)
        pts: list[int] = []
        key_pts: list[int] = []
        try:
            for packet in container.demux(stream):
                if packet.size == 0:  # the demuxer's end-of-stream flush packet
                    continue
                if packet.pts is None:
                    return None
                pts.append(int(packet.pts))
                if packet.is_keyframe:
                    key_pts.append(int(packet.pts))
        except av.error.FFmpegError:
            return None  # a damaged container: decode it front to back instead
    if not pts:
        return None
    order = np.sort(np.asarray(pts, np.int64))
    if len(order) > 1 and not (np.diff(order) > 0).all():
        return None
    keyframes = np.searchsorted(order, np.asarray(sorted(key_pts), np.int64))
    if len(keyframes) == 0 or keyframes[0] != 0:
        keyframes = np.concatenate([[0], keyframes]).astype(np.int64)
    return VideoIndex(order, np.unique(keyframes), time_base)
