"""From per-frame attribute values to shot, scene and video attributes.

Frames are sampled at a fixed rate, so a plain mean over a shot's samples is already a time
average within the shot. Scenes weight their shots by duration for the same reason: a scene's
brightness is what a viewer sees over its length, not what its average shot looks like. The
video level summarises the shots (pacing and the spread of each attribute), which is what
people compare across videos.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from vidscene.analysis import Scene, Shot
from vidscene.attributes._base import Attribute, FrameSample, _is_number

__all__ = ["aggregate_scenes", "aggregate_shots", "rounded", "summarise_video"]

_DECIMALS = 4


def aggregate_shots(shots: Sequence[Shot], values: dict[str, list[tuple[int, Any]]],
                    attributes: Mapping[str, Attribute] | None = None) -> None:
    """Set ``shot.attributes[name]`` to the reduction (``Attribute.reduce_shot``; numbers: the
    mean) of the ``(frame_index, value)`` samples of ``values[name]`` that fall in the shot's
    ``[start_frame, end_frame)``. ``attributes`` gives the attribute of each name; a name
    without one is reduced as a number.

    A shot without samples of an attribute (or whose reduction is ``None``, such as only NaN
    numbers) gets no entry for it rather than an invented value; the pipeline gives every
    shot at least one sample.
    """
    if not shots:
        return
    # Shot start frames are sorted, so each sample's shot is a binary search away.
    starts = np.array([shot.start_frame for shot in shots])
    ends = np.array([shot.end_frame for shot in shots])
    for name, samples in values.items():
        if not samples:
            continue
        reducer = (attributes or {}).get(name) or _NUMBER
        if reducer.kind == "segments":
            continue  # evidence for the video's segments only (every frame: skip the work)
        frames = np.array([frame for frame, _ in samples], np.int64)
        owner = np.searchsorted(starts, frames, side="right") - 1
        inside = (owner >= 0) & (frames < ends[owner.clip(0)])
        grouped: dict[int, list[Any]] = {}
        for k in np.flatnonzero(inside):
            grouped.setdefault(int(owner[k]), []).append(samples[k][1])
        for i, members in grouped.items():
            value = reducer.reduce_shot(members)
            if reducer.kind == "fields":
                for key, field_value in (value or {}).items():
                    if (kept := rounded(field_value)) is not None:
                        shots[i].attributes[key] = kept
            elif (kept := rounded(value)) is not None:
                shots[i].attributes[name] = kept


def _span_reducers(attributes: Mapping[str, Attribute] | None
                   ) -> dict[str, tuple[str, Callable[[list[Any], list[float]], Any]]]:
    """For each JSON key the attributes write: its kind and its span reduction (an
    attribute's ``reduce_span``, or for one of several fields its ``reduce_field``)."""
    out: dict[str, tuple[str, Callable[[list[Any], list[float]], Any]]] = {}
    for name, attribute in (attributes or {}).items():
        if attribute.kind == "fields":
            for key, kind in attribute.fields.items():
                out[key] = (kind, functools.partial(attribute.reduce_field, key))
        else:
            out[name] = (attribute.kind, attribute.reduce_span)
    return out


def _reducer(name: str, reducers: Mapping[str, tuple[str, Callable[..., Any]]]
             ) -> tuple[str, Callable[..., Any]]:
    return reducers.get(name) or ("number", _NUMBER.reduce_span)


def aggregate_scenes(scenes: Sequence[Scene], shots: Sequence[Shot],
                     attributes: Mapping[str, Attribute] | None = None) -> None:
    """Set each scene's attributes to the reduction over its shots, weighted by duration
    (``Attribute.reduce_span``; numbers: the duration-weighted mean). An attribute counts
    only the shots that have it."""
    reducers = _span_reducers(attributes)
    for scene in scenes:
        members = shots[scene.first_shot : scene.last_shot + 1]
        names = sorted({name for shot in members for name in shot.attributes})
        for name in names:
            having = [shot for shot in members if name in shot.attributes]
            _, reduce = _reducer(name, reducers)
            value = rounded(reduce([s.attributes[name] for s in having],
                                    [s.duration for s in having]))
            if value is not None:
                scene.attributes[name] = value


def summarise_video(
    shots: Sequence[Shot], scenes: Sequence[Scene], duration: float,
    attributes: Mapping[str, Attribute] | None = None,
) -> dict[str, Any]:
    """The video-level attributes: counts, shot-length statistics, pacing, attribute spread.

    Shot lengths are in seconds (population standard deviation); ``cuts_per_minute`` counts
    the boundaries between shots (``shot_count - 1``, every transition type) per minute of
    ``duration``. For each number attribute, ``<name>_mean`` / ``_min`` / ``_max`` are taken
    over the shots that have it, each shot counting once; any other kind gets ``<name>``, its
    own reduction over every shot weighted by duration (``Attribute.reduce_span``).
    """
    lengths = np.array([shot.duration for shot in shots], np.float64)
    summary: dict[str, Any] = {
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
    reducers = _span_reducers(attributes)
    names = sorted({name for shot in shots for name in shot.attributes})
    for name in names:
        kind, reduce = _reducer(name, reducers)
        having = [s for s in shots if name in s.attributes]
        if kind != "number":
            value = rounded(reduce([s.attributes[name] for s in having],
                                    [s.duration for s in having]))
            if value is not None:
                summary[name] = value
            continue
        numbers = np.array([s.attributes[name] for s in having if _is_number(s.attributes[name])],
                           np.float64)
        summary[f"{name}_mean"] = _stat(numbers, np.mean)
        summary[f"{name}_min"] = _stat(numbers, np.min)
        summary[f"{name}_max"] = _stat(numbers, np.max)
    return summary


class _Number(Attribute):
    """The reductions of a number, for names no attribute object was given for."""

    name = "number"

    def measure(self, sample: FrameSample) -> float:  # pragma: no cover  (never measures)
        raise NotImplementedError


_NUMBER = _Number()


def rounded(value: Any) -> Any:
    """Numbers rounded to the stored precision (the JSON stays small and stable)."""
    if isinstance(value, float):
        return round(value, _DECIMALS) if math.isfinite(value) else None
    return value


def _stat(numbers: np.ndarray, reduce: Callable[[np.ndarray], Any]) -> float:
    """``reduce(numbers)`` rounded; 0.0 for no numbers (JSON has no NaN)."""
    if numbers.size == 0:
        return 0.0
    value = float(reduce(numbers))
    return round(value, _DECIMALS) if math.isfinite(value) else 0.0
