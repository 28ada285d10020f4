"""Scores for attributes: character error rate of read text, and frame-level F1 of time
segments (speech) against a reference."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["character_error_rate", "segment_frame_f1"]


def _distance(a: str, b: str) -> int:
    """Levenshtein edit distance (insertions, deletions, substitutions), one row at a time."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def character_error_rate(read: str, truth: str) -> float:
    """Edits needed to turn ``read`` into ``truth``, per character of ``truth`` (runs of white
    space count as one space; an empty truth scores 0 for an empty read, else 1)."""
    read, truth = " ".join(read.split()), " ".join(truth.split())
    if not truth:
        return 0.0 if not read else 1.0
    return _distance(read, truth) / len(truth)


def segment_frame_f1(found: Sequence[tuple[float, float]], truth: Sequence[tuple[float, float]],
                     duration: float, step: float = 0.01) -> tuple[float, float, float]:
    """Precision, recall and F1 of ``found`` segments against ``truth``, counted on a grid of
    ``step`` seconds over ``duration`` (a frame is positive when a segment covers it)."""
    n = max(1, int(round(duration / step)))
    centres = (np.arange(n) + 0.5) * step

    def cover(segments: Sequence[tuple[float, float]]) -> np.ndarray:
        mask = np.zeros(n, bool)
        for a, b in segments:
            mask |= (centres >= a) & (centres < b)
        return mask

    f, t = cover(found), cover(truth)
    tp = float((f & t).sum())
    p = tp / f.sum() if f.sum() else (1.0 if not t.sum() else 0.0)
    r = tp / t.sum() if t.sum() else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)
