"""``palette``: the dominant colours of a frame, a shot, a scene and the video.

Each sampled frame is shrunk to 32×18 and its pixels grouped into at most five colours with a
few rounds of k-means (deterministic: the clusters start at luma quantiles, so the same frame
always gives the same palette). A shot's palette groups its frames' colours again, each
weighted by its share; a scene's and the video's group their shots' colours weighted by share
and duration. Colours are 8-bit sRGB, shares sum to 1, largest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vidscene.attributes._base import ATTRIBUTES, Attribute, FrameSample

COLOURS = 5
SIZE = (32, 18)
ROUNDS = 6
MIN_SHARE = 0.02
"""Colours below this share are dropped (noise, not a colour of the picture)."""
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float64)


def kmeans(points: np.ndarray, weights: np.ndarray, k: int = COLOURS,
           rounds: int = ROUNDS) -> tuple[np.ndarray, np.ndarray]:
    """Weighted k-means of RGB ``points`` (N×3): centres and their weight shares."""
    total = float(weights.sum())
    if len(points) == 0 or total <= 0:
        return np.zeros((0, 3)), np.zeros(0)
    order = np.argsort(points @ _LUMA, kind="stable")
    cumulative = np.cumsum(weights[order]) / total
    picks = np.searchsorted(cumulative, (np.arange(k) + 0.5) / k)
    centres = points[order[np.minimum(picks, len(points) - 1)]].astype(np.float64)
    centres = np.unique(centres, axis=0)
    weighted = points * weights[:, None]
    for _ in range(rounds):
        owner = _nearest(points, centres)
        one_hot = np.zeros((len(points), len(centres)))
        one_hot[np.arange(len(points)), owner] = 1.0
        mass = one_hot.T @ weights
        keep = mass > 0
        centres = (one_hot.T @ weighted)[keep] / mass[keep, None]
    mass = np.bincount(_nearest(points, centres), weights, minlength=len(centres))
    return centres, mass / total


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each point's nearest centre (squared distances through one matrix product)."""
    distance = (centres ** 2).sum(axis=1)[None, :] - 2.0 * points @ centres.T
    return distance.argmin(axis=1)


def as_palette(centres: np.ndarray, shares: np.ndarray) -> list[dict[str, Any]]:
    kept = [(s, c) for s, c in zip(shares, centres, strict=True) if s >= MIN_SHARE]
    kept.sort(key=lambda item: -item[0])
    total = sum(s for s, _ in kept) or 1.0
    return [{"rgb": [int(round(v)) for v in np.clip(c, 0, 255)],
             "share": round(float(s) / total, 3)} for s, c in kept[:COLOURS]]


def _pool(palettes: Sequence[Any], weights: Sequence[float]) -> list[dict[str, Any]] | None:
    points, mass = [], []
    for palette, weight in zip(palettes, weights, strict=True):
        for colour in palette or ():
            points.append(colour["rgb"])
            mass.append(colour["share"] * max(float(weight), 1e-6))
    if not points:
        return None
    return as_palette(*kmeans(np.asarray(points, np.float64), np.asarray(mass, np.float64)))


@ATTRIBUTES.register("palette")
class Palette(Attribute):
    name = "palette"
    description = "Dominant colours, largest first: a list of {rgb: [r, g, b], share}."
    unit = "8-bit sRGB, shares sum to 1"
    kind = "list"

    def measure(self, sample: FrameSample) -> list[dict[str, Any]]:
        from PIL import Image

        small = np.asarray(Image.fromarray(sample.rgb).resize(SIZE, Image.Resampling.BILINEAR))
        points = small.reshape(-1, 3).astype(np.float64)
        return as_palette(*kmeans(points, np.ones(len(points))))

    def reduce_shot(self, values: Sequence[Any]) -> list[dict[str, Any]] | None:
        return _pool(values, [1.0] * len(values))

    def reduce_span(self, values: Sequence[Any], weights: Sequence[float]
                    ) -> list[dict[str, Any]] | None:
        return _pool(values, weights)
