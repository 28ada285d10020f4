"""Decoding scene-end probabilities into scenes, with a prior on what a scene is.

A learned segmenter scores every gap between two shots with the probability that a scene ends
there. Cutting wherever that probability passes a threshold treats gaps one by one, and on a
real film that gives too many scenes: the short shot of a fade, a brief cutaway, one piece of
the end credits each become a scene of their own. :func:`decode_scenes` instead chooses the
whole segmentation at once (dynamic programming over scene ends), scoring it as

* the evidence: for every chosen boundary, the log-odds of its probability against the
  threshold's (so with no prior this is exactly thresholding); plus
* ``weight`` times the log-prior of every scene: a Laplace density of its log duration (heavy
  tails: a scene of a tenth or ten times the usual length is unusual, not impossible) and the
  chance of a one-shot scene, both measured on the training material
  (:class:`ScenePrior`, saved in the model card), never fitted on a test film.

A one-shot scene therefore survives only where the evidence on both its sides is strong, and a
run of short scenes costs more than one scene of a usual length. The prior's weight and the
threshold are chosen on held-out training material when the model is trained.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["ScenePrior", "decode_scenes"]


@dataclass(frozen=True)
class ScenePrior:
    """What a scene of the training material looks like: ``log_seconds_median`` and
    ``log_seconds_scale`` (mean absolute deviation from that median) of its duration's
    logarithm, ``one_shot_share`` of scenes with a single shot; ``weight`` is how much the
    prior counts against the evidence (0: none)."""

    log_seconds_median: float
    log_seconds_scale: float
    one_shot_share: float
    weight: float = 1.0
    max_shots: int = 160
    """Longest scene (in shots) the decoder considers: bounds its work on long videos."""

    @classmethod
    def from_card(cls, data: Mapping[str, Any]) -> ScenePrior:
        fields = {k: data[k] for k in ("log_seconds_median", "log_seconds_scale",
                                       "one_shot_share", "weight", "max_shots") if k in data}
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def log_prior(self, seconds: np.ndarray, shots: np.ndarray) -> np.ndarray:
        """Log-prior of scenes of ``seconds`` duration and ``shots`` shots (arrays)."""
        scale = max(self.log_seconds_scale, 1e-3)
        distance = np.abs(np.log(np.maximum(seconds, 0.04)) - self.log_seconds_median)
        share = min(max(self.one_shot_share, 1e-4), 1 - 1e-4)
        count = np.where(shots == 1, np.log(share), np.log1p(-share))
        return -distance / scale - np.log(2 * scale) + count


def _logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(q) - np.log1p(-q)


def decode_scenes(probabilities: np.ndarray, seconds: np.ndarray, threshold: float,
                  prior: ScenePrior | None = None) -> list[int]:
    """Scene starts (shot positions, ascending, from 0) for ``len(seconds)`` shots whose gaps
    have scene-end ``probabilities`` (``len(seconds) - 1`` of them).

    Without a prior (or with weight 0) a scene ends wherever the probability reaches
    ``threshold``; with one, the best-scoring segmentation under the module's score."""
    n = len(seconds)
    p = np.asarray(probabilities, np.float64)
    if n == 0:
        return []
    if len(p) != n - 1:
        raise ValueError(f"{n} shots need {n - 1} gap probabilities, got {len(p)}")
    if n == 1:
        return [0]
    if prior is None or prior.weight <= 0:
        return [0] + [i + 1 for i in range(n - 1) if p[i] >= threshold]
    gain = _logit(p) - _logit(threshold)  # evidence for a scene starting after gap i
    ends = np.concatenate([[0.0], np.cumsum(np.asarray(seconds, np.float64))])
    best = np.full(n + 1, -np.inf)  # best[j]: best score of shots 0..j-1 cut into scenes
    best[0] = 0.0
    back = np.zeros(n + 1, np.int64)
    limit = max(1, int(prior.max_shots))
    for j in range(1, n + 1):
        starts = np.arange(max(0, j - limit), j)  # the last scene is shots start..j-1
        score = best[starts] + prior.weight * prior.log_prior(ends[j] - ends[starts],
                                                              j - starts)
        score = score + np.where(starts > 0, gain[np.maximum(starts - 1, 0)], 0.0)
        k = int(np.argmax(score))
        best[j], back[j] = score[k], starts[k]
    out = []
    j = n
    while j > 0:
        out.append(int(back[j]))
        j = out[-1]
    return out[::-1]
