"""From per-frame attribute values to shot, scene and video attributes.

Frames are sampled at a fixed rate, so a plain mean over a shot's samples is already a time
average within the shot. Scenes weight their shots by duration for the same reason: a scene's
brightness is what a viewer sees over its length, not what its average shot looks like. The
video level summarises the shots (pacing and the spread of each attribute), which is what
people compare across videos.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from vidscene.analysis import Scene, Shot

__all__ = ["aggregate_scenes", "aggregate_shots", "summarise_video"]

_DECIMALS = 4


def aggregate_shots(shots: Sequence[Shot], values: dict[str, list[tuple[int, float]]]) -> None:
    """Set ``shot.attributes[name]`` to the mean of the ``(frame_index, value)`` samples of
    ``values[name]`` that fall in the shot's ``[start_frame, end_frame)``.

    A shot without samples of an attribute (or with only NaN ones) gets no entry for it rather
    than an invented number; the pipeline gives every shot at least one sample.
    """
    if not shots:
        return
    # Shot start frames are sorted, so each sample's shot is a binary search away.
    starts = np.array([shot.start_frame for shot in shots])
    ends = np.array([shot.end_frame for shot in shots])
    for name, samples in values.items():
        if not samples:
            continue
        frames = np.array([frame for frame, _ in samples], np.int64)
        numbers = np.array([value for _, value in samples], np.float64)
        owner = np.searchsorted(starts, frames, side="right") - 1
        inside = (owner >= 0) & (frames < ends[owner.clip(0)]) & np.isfinite(numbers)
        totals = np.bincount(owner[inside], numbers[inside], minlength=len(shots))
        counts = np.bincount(owner[inside], minlength=len(shots))
        for shot, total, count in zip(shots, totals, counts, strict=True):
            if count:
                shot.attributes[name] = round(float(total / count), _DECIMALS)


def aggregate_scenes(scenes: Sequence[Scene], shots: Sequence[Shot]) -> None:
    """Set each scene's attributes to the duration-weighted mean over its shots.

    An attribute counts only the shots that have it; if they all last zero seconds (a broken
    timeline) their plain mean is used instead of dividing by zero.
    """
    for scene in scenes:
        members = shots[scene.first_shot : scene.last_shot + 1]
        names = sorted({name for shot in members for name in shot.attributes})
        for name in names:
            having = [shot for shot in members if name in shot.attributes]
            weights = np.array([max(shot.duration, 0.0) for shot in having])
            numbers = np.array([shot.attributes[name] for shot in having])
            if weights.sum() <= 0:
                weights = np.ones_like(numbers)
            scene.attributes[name] = round(float(np.average(numbers, weights=weights)), _DECIMALS)


def summarise_video(
    shots: Sequence[Shot], scenes: Sequence[Scene], duration: float
) -> dict[str, float | int]:
    """The video-level attributes: counts, shot-length statistics, pacing, attribute spread.

    Shot lengths are in seconds (population standard deviation); ``cuts_per_minute`` counts
    the boundaries between shots (``shot_count - 1``, every transition type) per minute of
    ``duration``. For each shot attribute, ``<name>_mean`` / ``_min`` / ``_max`` are taken over
    the shots that have it, each shot counting once.
    """
    lengths = np.array([shot.duration for shot in shots], np.float64)
    summary: dict[str, float | int] = {
        "shot_count": len(shots),
        "scene_count": len(scenes),
        "mean_shot_length": _stat(lengths, np.mean),
        "median_shot_length": _stat(lengths, np.median),
        "min_shot_length": _stat(lengths, np.min),
        "max_shot_length": _stat(lengths, np.max),
        "shot_length_std": _stat(lengths, np.std),
        "cuts_per_minute": (
            round(max(len(shots) - 1, 0) / duration * 60.0, _DECIMALS) if duration > 0 else 0.0
        ),
    }
    names = sorted({name for shot in shots for name in shot.attributes})
    for name in names:
        numbers = np.array([s.attributes[name] for s in shots if name in s.attributes])
        summary[f"{name}_mean"] = _stat(numbers, np.mean)
        summary[f"{name}_min"] = _stat(numbers, np.min)
        summary[f"{name}_max"] = _stat(numbers, np.max)
    return summary


def _stat(numbers: np.ndarray, reduce: Callable[[np.ndarray], Any]) -> float:
    """``reduce(numbers)`` rounded; 0.0 for no numbers (JSON has no NaN)."""
    if numbers.size == 0:
        return 0.0
    value = float(reduce(numbers))
    return round(value, _DECIMALS) if math.isfinite(value) else 0.0
