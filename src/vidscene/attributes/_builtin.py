"""The built-in attributes: light, contrast, colour, sharpness and motion.

All read 8-bit RGB frames and return values on fixed scales, so numbers compare across
videos of any resolution (every analysis frame is ~224 px wide). Luma uses the Rec.709 weights
on the gamma-encoded values, as video itself does.
"""

from __future__ import annotations

import numpy as np

from vidscene.attributes._base import ATTRIBUTES, Attribute, FrameSample

__all__ = [
    "Brightness",
    "Colourfulness",
    "Contrast",
    "Motion",
    "Sharpness",
    "luma",
]

_REC709 = np.array([0.2126, 0.7152, 0.0722], np.float32)

# Variance of the Laplacian of a typical real frame at analysis size, on 0..1 luma (the median
# over the development clips is ~0.014; their 10th-90th percentiles are ~0.004-0.05). Mapping
# v -> v / (v + ref) turns that unbounded, heavy-tailed number into 0..1 with a typical frame
# near 0.5.
_SHARPNESS_REFERENCE = 0.01


def luma(rgb: np.ndarray) -> np.ndarray:
    """Rec.709 luma of an 8-bit RGB image as float32 in [0, 1]."""
    return rgb.astype(np.float32) @ (_REC709 / 255.0)


@ATTRIBUTES.register("brightness")
class Brightness(Attribute):
    name = "brightness"
    description = "Mean Rec.709 luma: 0 is black, 1 is white."
    unit = "luma 0..1"

    def measure(self, sample: FrameSample) -> float:
        return float(luma(sample.rgb).mean())


@ATTRIBUTES.register("contrast")
class Contrast(Attribute):
    name = "contrast"
    description = "RMS contrast: standard deviation of luma (0 flat, 0.5 half black, half white)."
    unit = "luma 0..0.5"

    def measure(self, sample: FrameSample) -> float:
        return float(luma(sample.rgb).std())


@ATTRIBUTES.register("colourfulness")
class Colourfulness(Attribute):
    """Hasler and Süsstrunk's colourfulness metric M (2003), on 0..255 RGB.

    Kept on its published scale so their reading applies: about 15 slightly, 33 moderately,
    45 averagely, 59 quite, 82 highly, 109 extremely colourful; 0 for any grey image.
    """

    name = "colourfulness"
    description = "Hasler-Süsstrunk colourfulness: 0 grey, ~33 moderate, >80 highly colourful."
    unit = "M (0..~180)"

    def measure(self, sample: FrameSample) -> float:
        rgb = sample.rgb.astype(np.float32)
        red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        rg = red - green
        yb = 0.5 * (red + green) - blue
        spread = np.hypot(rg.std(), yb.std())
        offset = np.hypot(rg.mean(), yb.mean())
        return float(spread + 0.3 * offset)


@ATTRIBUTES.register("sharpness")
class Sharpness(Attribute):
    """Variance of the Laplacian of luma, mapped to 0..1 (a typical frame reads about 0.5).

    High for crisp edges and fine texture, low for blur and defocus; also low for flat frames
    (black, a title card's plain background), which have nothing to be sharp about.
    """

    name = "sharpness"
    description = "Edge crispness from the variance of the Laplacian; 0 blurred/flat, ~0.5 typical."
    unit = "0..1"

    def measure(self, sample: FrameSample) -> float:
        grey = luma(sample.rgb)
        if grey.shape[0] < 3 or grey.shape[1] < 3:
            return 0.0
        # 4-neighbour Laplacian over the interior pixels.
        laplacian = (
            grey[1:-1, :-2] + grey[1:-1, 2:] + grey[:-2, 1:-1] + grey[2:, 1:-1]
            - 4.0 * grey[1:-1, 1:-1]
        )
        variance = float(laplacian.var())
        return variance / (variance + _SHARPNESS_REFERENCE)


@ATTRIBUTES.register("motion")
class Motion(Attribute):
    """Mean absolute luma change from the previous frame, on the 64×36 copies (0..1).

    Tiny copies make it cheap and blind to noise and grain; it measures how much the picture
    changes (camera moves, action), not the direction. The first frame has no predecessor: 0.
    """

    name = "motion"
    description = "Mean absolute luma change from the previous frame: 0 still, 1 black<->white."
    unit = "luma 0..1"

    def measure(self, sample: FrameSample) -> float:
        if sample.tiny_previous is None or sample.tiny_previous.shape != sample.tiny.shape:
            return 0.0
        return float(np.abs(luma(sample.tiny) - luma(sample.tiny_previous)).mean())
