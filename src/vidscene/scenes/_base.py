"""The scene-segmenter interface, its registry, and the helpers every segmenter shares.

A scene is a run of consecutive shots that belong together (one place, one moment, one
exchange). A segmenter sees the whole shot list at once, with one embedding per shot
(:func:`vidscene.keyframes.shot_embedding`), and groups the shots; it never looks at pixels.
A learned segmenter that wants its own view of the keyframes offers a
:class:`KeyframeEmbedder`: the pipeline then runs it on each shot's keyframes while decoding
(so no pixels are kept) and passes the results to :meth:`SceneSegmenter.segment` as
``keyframes``. Classic segmenters offer none and ignore that argument. A segmenter that
:attr:`~SceneSegmenter.listens` also gets the soundtrack, as 100 ms band-power blocks
(:func:`vidscene.scenes.sound_blocks`), when the video has one.

Registered names: ``"transformer"`` (the learned shot-sequence model,
:mod:`vidscene.scenes._transformer`), ``"osg"`` (optimal sequential grouping,
:mod:`vidscene.scenes._osg`) and ``"stg"`` (scene transition graph, :mod:`vidscene.scenes._stg`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from itertools import pairwise
from typing import Protocol

import numpy as np

from vidscene.analysis import Scene, Shot
from vidscene.registry import Registry

__all__ = ["SEGMENTERS", "KeyframeEmbedder", "SceneSegmenter", "create_segmenter",
           "scenes_from_bounds"]

SEGMENTERS: Registry[SceneSegmenter] = Registry("scene segmenter")


class KeyframeEmbedder(Protocol):
    """A segmenter's own keyframe encoder, in two steps so that the pipeline keeps only small
    pictures of a shot's samples until it knows which of them are keyframes."""

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        """An analysis frame ``(H, W, 3)`` ``uint8`` → the (small) picture :meth:`embed` takes."""

    def embed(self, prepared: np.ndarray) -> np.ndarray:
        """Stacked prepared pictures ``(n, ...)`` → embeddings ``(n, d)``."""


class SceneSegmenter(ABC):
    """Groups consecutive shots into scenes."""

    name: str = ""
    """Registry name (the ``--scenes`` value)."""
    listens: bool = False
    """Whether :meth:`segment` reads the soundtrack (its ``sound`` argument)."""

    def keyframe_embedder(self) -> KeyframeEmbedder | None:
        """The encoder whose keyframe embeddings :meth:`segment` wants, or ``None``."""
        return None

    @abstractmethod
    def segment(self, shots: Sequence[Shot], embeddings: np.ndarray,
                keyframes: Sequence[np.ndarray] | None = None,
                sound: np.ndarray | None = None) -> list[Scene]:
        """Scenes tiling ``shots``; ``embeddings`` has one row per shot, in shot order;
        ``keyframes[i]`` (segmenters with a :meth:`keyframe_embedder` only) holds shot ``i``'s
        keyframe embeddings, one row per keyframe; ``sound`` (segmenters that
        :attr:`listens` only) the soundtrack's band-power blocks, ``None`` without audio.

        Every segmenter returns scenes that cover the shots contiguously (``first_shot`` ..
        ``last_shot`` inclusive, positions in ``shots``), copy their frame and time ranges
        from those shots, carry a ``confidence`` in [0, 1] and leave ``attributes`` empty for
        the pipeline to fill. No shots give no scenes; one shot gives one scene.
        """

    def describe(self) -> str:
        """Name and settings, recorded in the Analysis ``models`` field."""
        return self.name


def create_segmenter(name: str, **kwargs: object) -> SceneSegmenter:
    """Build the segmenter registered as ``name`` (``ConfigError`` if unknown)."""
    return SEGMENTERS.create(name, **kwargs)


def scenes_from_bounds(
    shots: Sequence[Shot], starts: Sequence[int], confidences: Sequence[float]
) -> list[Scene]:
    """Scenes whose first shots are ``starts`` (positions, ascending, beginning with 0).

    ``confidences[i]`` is scene ``i``'s confidence; it is clipped to [0, 1] here so that no
    segmenter can break the contract by a rounding slip.
    """
    if not shots:
        return []
    if not starts or starts[0] != 0 or any(b <= a for a, b in pairwise(starts)):
        raise ValueError(f"scene starts {list(starts)} do not tile {len(shots)} shots")
    if starts[-1] >= len(shots) or len(confidences) != len(starts):
        raise ValueError("scene starts and confidences do not match the shots")
    ends = [s - 1 for s in starts[1:]] + [len(shots) - 1]
    scenes: list[Scene] = []
    for index, (first, last, confidence) in enumerate(zip(starts, ends, confidences, strict=True)):
        scenes.append(
            Scene(
                index=index,
                first_shot=first,
                last_shot=last,
                start_frame=shots[first].start_frame,
                end_frame=shots[last].end_frame,
                start_time=shots[first].start_time,
                end_time=shots[last].end_time,
                confidence=round(min(1.0, max(0.0, float(confidence))), 4),
            )
        )
    return scenes


def unit_rows(embeddings: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (an all-zero row stays zero), for cosine distances."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return np.divide(embeddings, norms, out=np.zeros_like(embeddings), where=norms > 0)


def check_embeddings(shots: Sequence[Shot], embeddings: np.ndarray) -> np.ndarray:
    """``embeddings`` as a float64 ``(len(shots), d)`` array; a mismatch is a caller bug."""
    rows = np.asarray(embeddings, dtype=np.float64)
    if rows.ndim != 2 or len(rows) != len(shots):
        raise ValueError(f"expected one embedding row per shot ({len(shots)}), got {rows.shape}")
    return rows
