"""Scene scoring: boundary precision / recall / F1, and Vendrig–Worring coverage / overflow.

A segmentation is a list of scenes tiling the video, each a half-open frame range
``[start_frame, end_frame)`` — vidscene :class:`~vidscene.analysis.Scene` objects or plain
``(start_frame, end_frame)`` pairs. Two views of one result, because each hides what the other
shows:

* **Boundaries.** A boundary is the first frame of every scene but the first. Predicted and
  true boundaries match one to one when they lie at most ``tolerance`` seconds apart (maximum
  matching, as for shot boundaries); precision, recall and F1 follow. A boundary one shot off
  is as wrong as one a minute off once it is past the tolerance, and a missed boundary between
  two short scenes costs as much as one between two long ones.
* **Coverage and overflow** (Vendrig & Worring, 2002), measured on frames, so they weigh
  footage rather than boundary counts. For a true scene ``t``: coverage is the share of ``t``
  inside the single predicted scene that overlaps it most (1 when no boundary is missing
  inside ``t``); overflow is the footage of every predicted scene overlapping ``t`` that lies
  outside ``t``, divided by the length of ``t``'s neighbours (0 when no predicted scene spills
  over ``t``'s edges), at most 1. Both are averaged over true scenes weighted by their length,
  and summarised as ``F = 2 C (1 − O) / (C + 1 − O)``. Over-segmenting costs coverage,
  under-segmenting costs overflow.

Over many videos, boundary counts are summed (micro-average) and coverage and overflow are
averaged weighted by each video's frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vidscene.metrics._shots import Boundary, Counts, match_transitions

__all__ = ["SceneScores", "coverage_overflow", "match_scene_boundaries", "score_scenes"]

SceneLike = Any
"""A :class:`~vidscene.analysis.Scene` (``start_frame``/``end_frame``) or a ``(start, end)``
pair; ``end`` is exclusive."""


def _ranges(scenes: Sequence[SceneLike]) -> list[tuple[int, int]]:
    out = []
    for s in scenes:
        start, end = ((int(s.start_frame), int(s.end_frame)) if hasattr(s, "start_frame")
                      else (int(s[0]), int(s[1])))
        if end <= start:
            raise ValueError(f"scene [{start}, {end}) is empty")
        out.append((start, end))
    out.sort()
    for (a0, a1), (b0, _) in zip(out, out[1:], strict=False):
        if b0 != a1:
            raise ValueError(f"scenes do not tile the video: [{a0}, {a1}) then a scene at {b0}")
    return out


def match_scene_boundaries(truth: Sequence[SceneLike], predicted: Sequence[SceneLike], *,
                           fps: float, tolerance: float = 2.0) -> Counts:
    """TP / FP / FN of scene boundaries matched one to one within ``tolerance`` seconds."""
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    frames = int(round(tolerance * fps))
    t = [Boundary("scene", s, s) for s, _ in _ranges(truth)[1:]]
    p = [Boundary("scene", s, s) for s, _ in _ranges(predicted)[1:]]
    return match_transitions(t, p, cut_tolerance=frames).tally.overall


def coverage_overflow(truth: Sequence[SceneLike], predicted: Sequence[SceneLike]
                      ) -> tuple[float, float]:
    """Length-weighted coverage and overflow of ``predicted`` against ``truth`` (module doc).

    Both segmentations must tile the same frames."""
    t, p = _ranges(truth), _ranges(predicted)
    if not t:
        raise ValueError("no true scenes")
    if not p or (p[0][0], p[-1][1]) != (t[0][0], t[-1][1]):
        raise ValueError(f"predicted scenes cover {p[0] if p else None}..{p[-1] if p else None}"
                         f", truth [{t[0][0]}, {t[-1][1]})")
    total = t[-1][1] - t[0][0]
    coverage = overflow = 0.0
    j0 = 0
    for i, (a, b) in enumerate(t):
        length = b - a
        while p[j0][1] <= a:  # predicted scenes are sorted: skip those wholly before t
            j0 += 1
        best, spill = 0, 0
        j = j0
        while j < len(p) and p[j][0] < b:
            s0, s1 = p[j]
            inside = min(b, s1) - max(a, s0)
            best = max(best, inside)
            spill += (s1 - s0) - inside
            j += 1
        neighbours = (t[i - 1][1] - t[i - 1][0] if i > 0 else 0) + (
            t[i + 1][1] - t[i + 1][0] if i + 1 < len(t) else 0)
        coverage += best  # length × (best / length)
        overflow += length * (min(1.0, spill / neighbours) if neighbours else 0.0)
    return coverage / total, overflow / total


@dataclass(frozen=True)
class SceneScores:
    """Scores of one or many videos; ``+`` pools them (see the module docstring)."""

    boundaries: Counts
    coverage: float
    overflow: float
    frames: int
    videos: int = 1

    @property
    def f1(self) -> float:
        """Boundary F1."""
        return self.boundaries.f1

    @property
    def f_coverage_overflow(self) -> float:
        """``2 C (1 − O) / (C + 1 − O)``; 0 when both terms are 0."""
        c, keep = self.coverage, 1.0 - self.overflow
        return 2 * c * keep / (c + keep) if c + keep else 0.0

    def __add__(self, other: SceneScores) -> SceneScores:
        frames = self.frames + other.frames
        if frames == 0:
            return SceneScores(self.boundaries + other.boundaries, 0.0, 0.0, 0,
                               self.videos + other.videos)
        return SceneScores(
            self.boundaries + other.boundaries,
            (self.coverage * self.frames + other.coverage * other.frames) / frames,
            (self.overflow * self.frames + other.overflow * other.frames) / frames,
            frames, self.videos + other.videos)

    def to_dict(self) -> dict[str, Any]:
        return {"boundaries": self.boundaries.to_dict(), "coverage": round(self.coverage, 4),
                "overflow": round(self.overflow, 4),
                "f_coverage_overflow": round(self.f_coverage_overflow, 4),
                "frames": self.frames, "videos": self.videos}

    @staticmethod
    def pool(scores: Iterable[SceneScores]) -> SceneScores:
        out = SceneScores(Counts(), 0.0, 0.0, 0, 0)
        for s in scores:
            out = out + s
        return out


def score_scenes(truth: Sequence[SceneLike], predicted: Sequence[SceneLike], *, fps: float,
                 tolerance: float = 2.0) -> SceneScores:
    """Boundary counts and coverage / overflow of one video."""
    coverage, overflow = coverage_overflow(truth, predicted)
    t = _ranges(truth)
    return SceneScores(match_scene_boundaries(truth, predicted, fps=fps, tolerance=tolerance),
                       coverage, overflow, t[-1][1] - t[0][0])
