"""Timecode formatting shared by every export format.

Two notations exist because consumers expect different ones: subtitles, CSV and people read
wall-clock time (``HH:MM:SS.mmm``), while edit decision lists address frames
(``HH:MM:SS:FF``) at an integer timebase. Keeping both here means every format rounds the
same way.
"""

from __future__ import annotations

import math

__all__ = ["frames_to_timecode", "integer_timebase", "seconds_to_timecode"]


def seconds_to_timecode(seconds: float) -> str:
    """``3725.5`` → ``"01:02:05.500"``; negative or non-finite input clamps to zero.

    Rounds once, to whole milliseconds, *before* splitting into fields, so that 59.9996 s
    becomes ``00:01:00.000`` rather than ``00:00:59.1000``.
    """
    if not math.isfinite(seconds) or seconds < 0:
        seconds = 0.0
    total_ms = round(seconds * 1000)
    total_s, ms = divmod(total_ms, 1000)
    minutes, secs = divmod(total_s, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{ms:03d}"


def integer_timebase(fps: float) -> int:
    """The integer frame rate used to count frames in a timecode (29.97 → 30, 23.976 → 24).

    Non-drop-frame timecode at the rounded rate drifts from wall-clock time on NTSC-style rates
    (about 3.6 s per hour at 29.97), which is what editing systems expect of an NDF list.
    """
    if not math.isfinite(fps) or fps <= 0:
        return 25  # no usable rate: any fixed timebase keeps the list self-consistent
    return max(1, round(fps))


def frames_to_timecode(frame: int, timebase: int) -> str:
    """Frame number → non-drop-frame ``HH:MM:SS:FF`` at an integer ``timebase`` (frames/s).

    Hours keep counting past 23 instead of wrapping, so a long video never jumps backwards.
    """
    if timebase < 1:
        raise ValueError(f"timebase must be a positive integer, got {timebase}")
    frame = max(0, int(frame))
    total_s, ff = divmod(frame, timebase)
    minutes, secs = divmod(total_s, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{ff:02d}"
