"""The learned scene segmenter: the scene transformer over overlapping windows of shots.

Each shot comes with the embeddings of its keyframes (``--keyframes-per-shot`` of them), made
by the model's own keyframe encoder while the video is decoded: the segmenter hands the
pipeline a :class:`~vidscene.scenes.KeyframeEmbedder` for that. Shots are then read in windows
of ``window`` shots that overlap by half; every gap between two shots gets the probability that
a scene ends there, averaged over the windows that see it with weights that favour the middle of
a window (where the model sees context on both sides). A window's last shot is never trusted:
whether a scene ends after it depends on the shot that comes next, which that window does not
see. With ``transitions`` in the model's config, each shot also tells how it is entered (the
detector's transition type and length); with ``sound``, what the soundtrack does around it
(:mod:`vidscene.scenes._sound`; a video without audio reads the picture alone). The
segmentation is then chosen whole
(:func:`~vidscene.scenes.decode_scenes`): boundaries where the evidence is, under the scene
prior of the model card (scene length and the share of one-shot scenes, learnt from the
training material), so a short shot between two likely boundaries joins a neighbour instead of
becoming a scene. A card without a prior (v1) decodes by the threshold alone.

Confidence of a scene: the least certain of its two ends (the probability at the gap that opens
it and at the gap that closes it; 1 at the video's start and end) and of its inside (one minus
the highest probability of the gaps inside it), so a scene with a near-miss boundary inside is
reported as uncertain as its shakiest edge.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vidscene.analysis import Scene, Shot
from vidscene.errors import ConfigError
from vidscene.keyframes import keyframe_input
from vidscene.scenes._base import (
    SEGMENTERS,
    SceneSegmenter,
    check_embeddings,
    scenes_from_bounds,
)
from vidscene.scenes._decode import ScenePrior, decode_scenes
from vidscene.scenes._sound import shot_sound_features

__all__ = ["DEFAULT_SCENE_WEIGHTS", "TransformerSegmenter", "shot_transitions",
           "window_probabilities"]

ENCODER_CALL = 16
"""Keyframes per encoder call (shorter calls are padded; see ``_Embedder.embed``)."""
DEFAULT_SCENE_WEIGHTS = (Path(__file__).resolve().parent.parent / "nn" / "weights"
                         / "scene-transformer-v3.safetensors")


class _Embedder:
    """The keyframe encoder, as the pipeline uses it (see ``KeyframeEmbedder``)."""

    def __init__(self, owner: TransformerSegmenter) -> None:
        self.owner = owner
        width, height = owner.config["image_size"]
        self.size = (int(width), int(height))

    def prepare(self, rgb: np.ndarray) -> np.ndarray:
        # The very resize the training banks used, so inputs match what the encoder learned.
        return keyframe_input(rgb, self.size)

    def embed(self, prepared: np.ndarray) -> np.ndarray:
        import torch

        model = self.owner.model()
        # Calls of one fixed size: the math library picks its kernels by batch size, and a
        # keyframe must embed to the same numbers however the pipeline groups shots (a chunked
        # analysis equals a whole one, a live shot the file's).
        count = len(prepared)
        out = np.zeros((count, int(model.config.embed_dim)), np.float32)
        call = np.zeros((ENCODER_CALL, *np.shape(prepared)[1:]), np.uint8)
        with torch.inference_mode():
            for start in range(0, count, ENCODER_CALL):
                part = prepared[start:start + ENCODER_CALL]
                call[:len(part)] = part
                call[len(part):] = 0
                rows = model.encoder(torch.from_numpy(call).to(self.owner.device))
                out[start:start + len(part)] = rows[:len(part)].cpu().numpy()
        return out


@SEGMENTERS.register("transformer")
class TransformerSegmenter(SceneSegmenter):
    """Scenes from the learned shot-sequence model (see the module docstring).

    ``weights`` defaults to the shipped ``scene-transformer-v3``; ``threshold`` and the scene
    prior to those in its model card (``decoder``); ``prior_weight`` overrides the prior's
    weight (0: threshold alone). The file's header is checked at construction (a wrong or
    missing file is a ``ConfigError`` before any decoding); PyTorch and the weights load on
    first use.
    """

    name = "transformer"

    def __init__(self, weights: str | Path | None = None, *, threshold: float | None = None,
                 prior_weight: float | None = None, threads: int | None = None,
                 device: str = "cpu") -> None:
        from vidscene.model_store import resolve
        from vidscene.nn import read_header

        path = resolve(weights) if weights else DEFAULT_SCENE_WEIGHTS
        if not path.is_file():
            raise ConfigError(f"no weights for the transformer scene segmenter at {path} "
                              "(train them with `vidscene train scenes`)")
        header = read_header(path)
        if header.model != "scene-transformer":
            raise ConfigError(f"{path} holds a {header.model!r} model, not a scene-transformer")
        self.path = path
        self.card = header.card
        self.config: dict[str, Any] = dict(header.config)
        self.config.setdefault("image_size", [96, 54])
        decoder = dict(self.card.get("decoder", {}))
        self.threshold = float(threshold if threshold is not None
                               else decoder.get("threshold", self.card.get("threshold", 0.5)))
        # The scene prior learnt with the weights (model card); ``prior_weight`` overrides how
        # much it counts (0: plain thresholding, as models trained without one decode).
        self.prior = (ScenePrior.from_card(decoder["prior"]) if "prior" in decoder else None)
        if prior_weight is not None:
            if prior_weight < 0:
                raise ConfigError(f"scene prior weight must be >= 0, got {prior_weight}")
            if self.prior is None and prior_weight > 0:
                raise ConfigError(f"{path} has no scene prior in its card")
            if self.prior is not None:
                self.prior = dataclasses.replace(self.prior, weight=float(prior_weight))
        if not 0.0 < self.threshold < 1.0:
            raise ConfigError(f"scene threshold must be in (0, 1), got {self.threshold}")
        self.listens = bool(self.config.get("sound", False))
        self.threads = threads
        self.device = device
        self._model: Any = None
        self._lock = threading.Lock()

    def model(self) -> Any:
        """The loaded model (PyTorch is imported here, once)."""
        with self._lock:
            if self._model is None:
                import torch

                from vidscene.nn import shared_model

                if self.threads:
                    torch.set_num_threads(self.threads)
                # Shared by every segmenter of this process: a worker loads the weights once.
                self._model = shared_model(self.path, device=self.device)
            return self._model

    def keyframe_embedder(self) -> _Embedder:
        return _Embedder(self)

    def describe(self) -> str:
        """The model file that ran (store reference and sha256 prefix) and the threshold."""
        from vidscene.model_store import identify

        prior = f", scene prior weight {self.prior.weight:g}" if self.prior else ""
        return f"{self.name} ({identify(self.path)}, threshold {self.threshold:g}{prior})"

    def end_probabilities(self, shots: Sequence[Shot], embeddings: np.ndarray,
                          keyframes: Sequence[np.ndarray],
                          sound: np.ndarray | None = None) -> np.ndarray:
        """Per gap ``i`` (after shot ``i``, ``len(shots) - 1`` of them), the probability that a
        scene ends there."""
        n = len(shots)
        if n < 2:
            return np.zeros(0)
        model = self.model()
        k = min(max(len(e) for e in keyframes), int(model.config.max_keyframes))
        d = int(model.config.embed_dim)
        keys = np.zeros((n, k, d), np.float32)
        kmask = np.zeros((n, k), bool)
        for i, rows in enumerate(keyframes):
            rows = np.asarray(rows, np.float32)[:k]
            keys[i, :len(rows)] = rows
            kmask[i, :len(rows)] = True
        heard = (shot_sound_features(sound, [s.start_time for s in shots],
                                     [s.end_time for s in shots]) if self.listens else None)
        return window_probabilities(model, keys, kmask, _durations(shots).astype(np.float32),
                                    embeddings.astype(np.float32), shot_transitions(shots),
                                    heard, device=self.device)

    def segment(self, shots: Sequence[Shot], embeddings: np.ndarray,
                keyframes: Sequence[np.ndarray] | None = None,
                sound: np.ndarray | None = None) -> list[Scene]:
        rows = check_embeddings(shots, embeddings)
        if not shots:
            return []
        if keyframes is None or len(keyframes) != len(shots):
            raise ValueError("the transformer segmenter needs keyframe embeddings for every "
                             "shot (from its keyframe_embedder)")
        if any(len(k) == 0 for k in keyframes):
            raise ValueError("every shot needs at least one keyframe embedding")
        p = self.end_probabilities(shots, rows, keyframes, sound)
        starts = decode_scenes(p, _durations(shots), self.threshold, self.prior)
        bounds = [*starts, len(shots)]
        confidences = []
        for first, stop in zip(bounds, bounds[1:], strict=False):
            edge_in = p[first - 1] if first > 0 else 1.0
            edge_out = p[stop - 1] if stop < len(shots) else 1.0
            inside = p[first:stop - 1]
            steady = 1.0 - float(inside.max()) if len(inside) else 1.0
            confidences.append(min(edge_in, edge_out, steady))
        return scenes_from_bounds(shots, starts, confidences)


def _durations(shots: Sequence[Shot]) -> np.ndarray:
    """Each shot's length in seconds (what the model and the decoder's prior read)."""
    return np.array([max(s.end_time - s.start_time, 0.0) for s in shots])


def shot_transitions(shots: Sequence[Shot]) -> np.ndarray:
    """``(len(shots), 4)`` transition inputs: how the detector says each shot is entered."""
    from vidscene.nn.scene_transformer import transition_features

    kinds: list[str | None] = []
    seconds: list[float] = []
    for shot in shots:
        t = shot.transition_in
        kinds.append(t.type if t is not None else None)
        fps = (shot.end_frame - shot.start_frame) / max(shot.end_time - shot.start_time, 1e-9)
        seconds.append((t.last_frame - t.first_frame + 1) / fps if t is not None and fps > 0
                       else 0.0)
    return transition_features(kinds, seconds)


def window_probabilities(model: Any, keys: np.ndarray, kmask: np.ndarray, seconds: np.ndarray,
                         descriptors: np.ndarray, transitions: np.ndarray | None = None,
                         sound: np.ndarray | None = None, *, device: str = "cpu") -> np.ndarray:
    """Scene-end probabilities of the ``n - 1`` gaps of ``n`` shots (keyframe embeddings
    ``keys`` ``(n, k, d)`` with ``kmask``, ``seconds``, ``descriptors``, ``transitions``,
    ``sound``),
    read in windows of ``model.config.window`` shots that overlap by half (module doc)."""
    import torch

    n = len(keys)
    if n < 2:
        return np.zeros(0)
    window = int(model.config.window)
    total = np.zeros(n)
    weight = np.zeros(n)
    starts = list(range(0, max(n - window, 0) + 1, max(window // 2, 1)))
    if starts[-1] + window < n:
        starts.append(n - window)

    def tensor(a: np.ndarray, start: int, stop: int) -> Any:
        return torch.from_numpy(np.ascontiguousarray(a[None, start:stop])).to(device)

    with torch.inference_mode():
        for start in starts:
            stop = min(start + window, n)
            logits = model(tensor(keys, start, stop), tensor(kmask, start, stop),
                           tensor(seconds, start, stop), tensor(descriptors, start, stop),
                           None if transitions is None else tensor(transitions, start, stop),
                           None if sound is None else tensor(sound, start, stop))
            prob = torch.sigmoid(logits[0]).cpu().numpy()
            length = stop - start
            pos = np.arange(length)
            w = np.minimum(pos + 1, length - pos).astype(np.float64)
            if stop < n:
                w[-1] = 0.0  # the window cannot see the shot after its last one
            total[start:stop] += w * prob
            weight[start:stop] += w
    return (total / np.maximum(weight, 1e-9))[: n - 1]
