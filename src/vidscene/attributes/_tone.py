"""``tone``: warm or cool, colour or black-and-white, per shot, scene and video.

On each sampled analysis frame: ``warmth`` is the mean of red minus blue over the frame's
coloured pixels (those whose channels differ by more than :data:`CHROMA` of full scale),
weighted by how coloured each is, so grey areas do not pull it to zero; it runs from −1 (all
blue) to +1 (all red). A frame is monochrome when 95 % of its pixels are within
:data:`MONO_CHROMA` of grey (a black-and-white picture, also one tinted a little by the
transfer). A shot's values:

- ``warmth``: the mean over its frames;
- ``tone``: ``warm`` above :data:`WARM`, ``cool`` below −:data:`WARM`, else ``neutral``;
- ``colour_mode``: ``black_and_white`` when at least :data:`MONO_SHARE` of its frames are
  monochrome, else ``colour``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vidscene.attributes._base import ATTRIBUTES, Attribute, FrameSample

__all__ = ["Tone"]

CHROMA = 0.06
MONO_CHROMA = 0.06
MONO_SHARE = 0.8
WARM = 0.05


def tone_label(warmth: float) -> str:
    return "warm" if warmth > WARM else "cool" if warmth < -WARM else "neutral"


@ATTRIBUTES.register("tone")
class Tone(Attribute):
    name = "tone"
    description = "Warm or cool colour balance, and colour or black-and-white."
    unit = "warmth −1 (blue) .. +1 (red); labels"
    kind = "fields"
    fields = {"warmth": "number", "tone": "label", "colour_mode": "label"}

    def measure(self, sample: FrameSample) -> list[float]:
        rgb = sample.rgb[::2, ::2].reshape(-1, 3).astype(np.int16)
        chroma = rgb.max(axis=1) - rgb.min(axis=1)
        coloured = chroma > CHROMA * 255
        weights = chroma[coloured]
        diff = (rgb[coloured, 0] - rgb[coloured, 2]).astype(np.float64)
        warmth = (float(np.dot(diff, weights)) / float(weights.sum()) / 255.0
                  if weights.size else 0.0)
        # "95 % of the pixels within MONO_CHROMA of grey", without sorting for a quantile.
        mono = float(np.count_nonzero(chroma > MONO_CHROMA * 255) <= 0.05 * chroma.size)
        return [warmth, mono]

    def reduce_shot(self, values: Sequence[Any]) -> dict[str, Any] | None:
        frames = np.asarray([v for v in values if v is not None], np.float64).reshape(-1, 2)
        if not len(frames):
            return None
        warmth = float(frames[:, 0].mean())
        return {"warmth": warmth, "tone": tone_label(warmth),
                "colour_mode": ("black_and_white" if frames[:, 1].mean() >= MONO_SHARE
                                else "colour")}
