"""Keyframes: a few frames per shot that show what the shot looks like.

Each sampled analysis frame gets a small descriptor (:func:`frame_descriptor`) that captures its
colours and its coarse layout. A shot's first keyframe is the *medoid* of its descriptors, the
frame most like all the others, so a flash, a blink or a half-dissolved frame is never picked
for a shot that mostly looks different. Further keyframes cover the other looks of the shot
(a pan that ends on something new, a reverse angle inside a long take): they are seeded by
farthest-point sampling and then moved to the middle of the look they stand for, so they show
typical frames of each look rather than its most extreme one.

The same descriptors, averaged per shot (:func:`shot_embedding`), are what scene segmentation
compares, so keyframes and scenes agree about what "looks alike" means.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

__all__ = ["DESCRIPTOR_SIZE", "frame_descriptor", "keyframe_input", "select_by_descriptors",
           "select_keyframes", "shot_embedding"]

# -- descriptor layout ------------------------------------------------------------------------
# Colour part: an HSV joint histogram. Hue means nothing for greys and near-blacks (it jumps
# about with noise), so such pixels go to achromatic bins that only know their value; the rest
# are binned by hue × saturation × value.
_HUE_BINS = 8
_SAT_BINS = 2
_VAL_BINS = 3
_GREY_BINS = 4
_MIN_SATURATION = 48  # of 255: below this a pixel counts as grey
_MIN_VALUE = 40  # of 255: below this a pixel counts as (near) black, whatever its hue
_CHROMA_BINS = _HUE_BINS * _SAT_BINS * _VAL_BINS
_HIST_SIZE = _GREY_BINS + _CHROMA_BINS

# Layout part: a tiny colour thumbnail (a heavily blurred copy), 8×5 keeps a 16:9 frame's
# arrangement of light and colour while ignoring detail and small motion.
_THUMB_SIZE = (8, 5)
_THUMB_LEN = _THUMB_SIZE[0] * _THUMB_SIZE[1] * 3

# How much each part counts before the final normalisation. Colour is the steadier cue within a
# shot; layout separates shots of one set that share a palette (shot / reverse shot).
_HIST_WEIGHT = 1.0
_LAYOUT_WEIGHT = 1.0

_LUT_BITS = 5  # colours are binned through a 32×32×32 table: far finer than the bins


def _colour_bins() -> np.ndarray:
    """Histogram bin of every quantised RGB colour, computed once.

    Converting each frame to HSV costs more than the rest of the descriptor together; a table
    over 5-bit colours gives the same coarse bins for a fraction of the price.
    """
    levels = (np.arange(1 << _LUT_BITS, dtype=np.uint16) << (8 - _LUT_BITS)) + (
        1 << (7 - _LUT_BITS)
    )  # the centre of each quantisation step
    r, g, b = np.meshgrid(levels, levels, levels, indexing="ij")
    colours = np.stack([r, g, b], axis=-1).reshape(1, -1, 3).astype(np.uint8)
    hsv = np.asarray(Image.fromarray(colours, "RGB").convert("HSV"), np.int32).reshape(-1, 3)
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    grey = (sat < _MIN_SATURATION) | (val < _MIN_VALUE)
    grey_bin = val * _GREY_BINS // 256
    sat_bin = (sat - _MIN_SATURATION).clip(0) * _SAT_BINS // (256 - _MIN_SATURATION)
    val_bin = (val - _MIN_VALUE).clip(0) * _VAL_BINS // (256 - _MIN_VALUE)
    hue_bin = hue * _HUE_BINS // 256
    chroma_bin = _GREY_BINS + (hue_bin * _SAT_BINS + sat_bin) * _VAL_BINS + val_bin
    return np.where(grey, grey_bin, chroma_bin).astype(np.intp)


_BIN_OF_COLOUR = _colour_bins()

DESCRIPTOR_SIZE = _HIST_SIZE + _THUMB_LEN
"""Length of a :func:`frame_descriptor` vector."""

# Medoid sums closer than this count as a tie (float noise on near-identical frames); ties go
# to the frame nearest the middle of the shot, the least likely to be caught in a transition.
_TIE_TOLERANCE = 1e-6
_REFINE_ROUNDS = 5


def frame_descriptor(rgb: np.ndarray) -> np.ndarray:
    """A float32, L2-normalised vector describing an analysis frame's colours and layout.

    ``rgb`` is an ``(H, W, 3)`` ``uint8`` frame (~224 px wide). The vector joins the square
    root of a normalised HSV histogram (so the dot product of two colour parts is their
    Bhattacharyya coefficient) with a mid-grey-centred 8×5 thumbnail (so a dark and a bright
    frame point in opposite directions), each weighted, then normalised as a whole: the cosine
    similarity of two descriptors is a cheap, bounded measure of how alike two frames look.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 3) RGB frame, got shape {rgb.shape}")
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
    # Halving first (a box filter) quarters the work and removes pixel noise the histogram
    # would otherwise count.
    if image.width >= 4 and image.height >= 4:
        image = image.reduce(2)
    pixels = np.asarray(image, dtype=np.uint16).reshape(-1, 3) >> (8 - _LUT_BITS)
    codes = (pixels[:, 0] << (2 * _LUT_BITS)) | (pixels[:, 1] << _LUT_BITS) | pixels[:, 2]
    hist = np.bincount(_BIN_OF_COLOUR[codes], minlength=_HIST_SIZE).astype(np.float32)
    hist = np.sqrt(hist / hist.sum())

    thumb = np.asarray(image.resize(_THUMB_SIZE, Image.Resampling.BOX), dtype=np.float32)
    # Centred on mid-grey and scaled so that the largest possible layout part has norm 1.
    layout = (thumb.reshape(-1) / 255.0 - 0.5) / (0.5 * np.sqrt(_THUMB_LEN))

    descriptor = np.concatenate([_HIST_WEIGHT * hist, _LAYOUT_WEIGHT * layout])
    return _normalised(descriptor).astype(np.float32, copy=False)


def select_keyframes(
    frames: Sequence[tuple[int, np.ndarray]],
    k: int = 1,
    descriptors: np.ndarray | None = None,
    *,
    min_distance: float = 0.0,
) -> list[int]:
    """Frame indices of up to ``k`` keyframes for one shot, sorted, without duplicates.

    ``frames`` are the shot's analysis frames as ``(frame_index, rgb)``; ``descriptors`` may
    hold their :func:`frame_descriptor` rows already (one per frame, same order) to save
    recomputing them. The first keyframe is the medoid; with ``k > 1`` the others are chosen
    to cover the shot's distinct looks. ``min_distance`` (cosine distance) stops adding
    keyframes once every remaining frame is that close to one already chosen, so a static shot
    can get fewer than ``k``; the default 0.0 always returns ``min(k, len(frames))``.
    """
    if k < 1 or not frames:
        return []
    indices = [index for index, _ in frames]
    if descriptors is None:
        descriptors = np.stack([frame_descriptor(rgb) for _, rgb in frames])
    elif len(descriptors) != len(frames):
        raise ValueError(f"{len(descriptors)} descriptors for {len(frames)} frames")
    return select_by_descriptors(indices, descriptors, k, min_distance=min_distance)


def select_by_descriptors(
    indices: Sequence[int], descriptors: np.ndarray, k: int = 1, *, min_distance: float = 0.0
) -> list[int]:
    """:func:`select_keyframes` for callers that kept only descriptors, not pixels (the
    streaming pipeline keeps a descriptor and a small JPEG per sampled frame)."""
    if k < 1 or len(indices) == 0:
        return []
    distances = _cosine_distances(np.asarray(descriptors, dtype=np.float64))
    medoid = _medoid(distances, np.arange(len(indices)))
    chosen = [medoid]
    if k > 1:
        chosen = _cover(distances, medoid, min(k, len(indices)), min_distance)
    return sorted({int(indices[i]) for i in chosen})


def shot_embedding(descriptors: np.ndarray) -> np.ndarray:
    """One L2-normalised vector for a shot: the mean of its frame descriptors.

    A shot without descriptors (shape ``(0, d)``) gets a zero vector, which is equally far
    (cosine distance 1) from every other shot, so it never pulls scenes together.
    """
    rows = np.asarray(descriptors, dtype=np.float64)
    if rows.ndim == 1:
        rows = rows[None, :]
    if rows.ndim != 2:
        raise ValueError(f"expected an (n, d) array of descriptors, got shape {rows.shape}")
    if len(rows) == 0:
        return np.zeros(rows.shape[1], np.float32)
    return _normalised(rows.mean(axis=0)).astype(np.float32)


def keyframe_input(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """An ``(H, W, 3)`` ``uint8`` frame resized to a learned encoder's ``size`` (width,
    height), as the scene model's training and the pipeline both prepare keyframes.

    A box filter: keyframes are shrunk 2–4×, and averaging (unlike bilinear sampling) keeps
    the colours of fine texture instead of aliasing it."""
    image = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8), "RGB")
    width, height = size
    if image.size == (width, height):
        return np.asarray(image)
    return np.asarray(image.resize((width, height), Image.Resampling.BOX))


# -- internals --------------------------------------------------------------------------------
def _normalised(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def _cosine_distances(descriptors: np.ndarray) -> np.ndarray:
    """Pairwise ``1 - cos`` of unit rows, clipped to its true range against float noise."""
    return np.clip(1.0 - descriptors @ descriptors.T, 0.0, 2.0)


def _medoid(distances: np.ndarray, members: np.ndarray) -> int:
    """The member with the smallest distance sum to the other members (ties: most central)."""
    sums = distances[np.ix_(members, members)].sum(axis=1)
    tied = members[sums <= sums.min() + _TIE_TOLERANCE * max(1.0, float(sums.min()))]
    centre = (members[0] + members[-1]) / 2
    return int(tied[np.argmin(np.abs(tied - centre))])


def _cover(distances: np.ndarray, medoid: int, k: int, min_distance: float) -> list[int]:
    """``k`` frames covering the shot's looks, the medoid first and always kept.

    Farthest-point sampling finds one frame in each distinct look; a few rounds of k-medoids
    style refinement (assign every frame to its nearest chosen frame, move each chosen frame
    except the medoid to the medoid of its group) then replace an extreme frame, such as the
    last frame of a pan or a flash, by a typical one of the same look.
    """
    chosen = [medoid]
    nearest = distances[medoid].copy()
    nearest[medoid] = -np.inf  # chosen frames are never picked again, even among equals
    while len(chosen) < k:
        farthest = int(np.argmax(nearest))
        if min_distance > 0.0 and nearest[farthest] < min_distance:
            break
        chosen.append(farthest)
        nearest = np.minimum(nearest, distances[farthest])
        nearest[chosen] = -np.inf
    for _ in range(_REFINE_ROUNDS):
        # Each chosen frame is forced into its own group, so groups are never empty and the
        # refined frames stay distinct.
        owner = np.argmin(distances[chosen], axis=0)
        owner[chosen] = np.arange(len(chosen))
        refined = [medoid] + [
            _medoid(distances, np.flatnonzero(owner == g)) for g in range(1, len(chosen))
        ]
        if refined == chosen:
            break
        chosen = refined
    return chosen
