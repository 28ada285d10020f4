"""Corpus statistics for ``/v1/stats`` and the library's charts.

They need every analysis's shots, which is the one expensive read of the library, so the
result is cached and recomputed only when the store changed (its list of ids and save times
differs); the library page itself never waits for it (its charts fetch it afterwards)."""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from vidscene.store import ResultStore

SHOT_LENGTH_EDGES = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 20.0, 30.0, 60.0)
ATTRIBUTE_BINS = 12


def _histogram(values: list[float], edges: tuple[float, ...] | None = None) -> dict[str, Any]:
    finite = [v for v in values if isinstance(v, int | float) and math.isfinite(v)]
    if edges is None:
        if not finite:
            return {"edges": [], "counts": []}
        low, high = min(finite), max(finite)
        if high <= low:
            high = low + 1.0
        edges = tuple(float(e) for e in np.linspace(low, high, ATTRIBUTE_BINS + 1))
    # The last bin is open: everything longer than the last edge is counted there.
    bounds = [*edges[:-1], math.inf]
    counts, _ = np.histogram(np.clip(finite, edges[0], None), bins=bounds) if finite else (
        np.zeros(len(edges) - 1, dtype=int), None)
    return {"edges": [round(e, 6) for e in edges], "counts": [int(c) for c in counts]}


def compute(store: ResultStore) -> dict[str, Any]:
    lengths: list[float] = []
    cuts: list[dict[str, Any]] = []
    attributes: dict[str, list[float]] = {}
    transitions: dict[str, int] = {}
    duration, shots, scenes = 0.0, 0, 0
    summaries = store.list()
    for summary in summaries:
        analysis = store.get(summary.id).analysis
        duration += analysis.video.duration
        shots += len(analysis.shots)
        scenes += len(analysis.scenes)
        for shot in analysis.shots:
            lengths.append(shot.end_time - shot.start_time)
            if shot.transition_in is not None:
                kind = shot.transition_in.type
                transitions[kind] = transitions.get(kind, 0) + 1
        name = analysis.video.path.replace("\\", "/").rsplit("/", 1)[-1]
        per_minute = analysis.attributes.get("cuts_per_minute")
        if isinstance(per_minute, int | float):
            cuts.append({"id": summary.id, "name": name, "value": float(per_minute)})
        for key, value in analysis.attributes.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                attributes.setdefault(key, []).append(float(value))
    return {"videos": len(summaries), "duration": round(duration, 3), "shots": shots,
            "scenes": scenes, "shot_lengths": _histogram(lengths, SHOT_LENGTH_EDGES),
            "cuts_per_minute": cuts,
            "attributes": {k: _histogram(v) for k, v in sorted(attributes.items())},
            "transitions": dict(sorted(transitions.items()))}


class StatsCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: tuple[tuple[str, str], ...] | None = None
        self._value: dict[str, Any] | None = None

    def get(self, store: ResultStore) -> dict[str, Any]:
        version = tuple((s.id, s.created) for s in store.list())
        with self._lock:
            if version == self._version and self._value is not None:
                return self._value
            value = compute(store)
            self._version, self._value = version, value
            return value
