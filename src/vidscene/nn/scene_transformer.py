"""The learned scene model: a keyframe encoder and a transformer over a window of shots.

Two parts, saved together in one file (registry name ``"scene-transformer"``):

* :class:`KeyframeEncoder` turns one keyframe (an analysis frame shrunk to 96×54 by
  :func:`vidscene.keyframes.keyframe_input`) into a
  64-d unit vector. It is trained first, contrastively: keyframes of the same *place* (other
  segments, crops, zooms and colour treatments of one source) are positives, keyframes of
  other places negatives (supervised contrastive loss, :mod:`vidscene.train.scenes_train`).
  There are no pretrained weights to start from offline, so it is small (a five-layer conv
  net, ~0.2 M parameters) and costs about a millisecond per keyframe on one CPU core.
* :class:`SceneTransformer` reads a window of shots, each as its ``K`` keyframe embeddings
  (``K`` = ``--keyframes-per-shot``, any number up to ``max_keyframes``; missing ones are
  masked) plus its duration and position in the window, and outputs per shot the logit that
  a scene ends after it.

Design choices and why:

* **Relations, not appearance.** Each shot token is built from the best-match and mean cosine
  similarity of its keyframes to those of the shots 1, 2, 3, 4, 6 and 8 before and after it,
  not from the embeddings themselves. "Does this shot look like its neighbours" is the whole
  question of scene segmentation. A first model that also saw the embeddings themselves drove
  its training loss to 0.01 while its held-out F1 stayed between 0.55 and 0.72: it had learned
  to recognise its few training places (``appearance`` turns that path back on). With several
  keyframes a shot that shows two looks can match a neighbour that shares either one.
  The cosine similarity of the shots' hand-made colour/layout descriptors (what OSG and STG
  compare) is added beside it: training-free, it keeps working on footage unlike anything
  the encoder was trained on.
* **Relative duration.** Shot length enters as log seconds and as log of the ratio to the
  window's median shot length, so the model sees "longer than its neighbours" whatever the
  film's pace.
* **Pair head.** Whether a scene ends after shot ``i`` is decided from the contextual tokens of
  shot ``i`` and ``i + 1`` together: a boundary is a property of the gap, not of one shot.
* **Masks everywhere.** Windows at the end of a film are shorter, shots can have fewer
  keyframes than ``K``; both are masked rather than padded with copies that would look like
  perfect matches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidscene.errors import ConfigError
from vidscene.nn._config import ModelConfig
from vidscene.nn._registry import register_model
from vidscene.scenes._sound import SOUND_FEATURES

__all__ = ["SOUND_FEATURES", "TRANSITION_FEATURES", "KeyframeEncoder", "SceneTransformer",
           "SceneTransformerConfig", "transition_features"]

TRANSITION_FEATURES = ("dissolve", "fade", "wipe", "seconds")
"""Per-shot transition inputs (see ``SceneTransformerConfig.transitions``)."""

_PRIOR = 0.2
"""Roughly the share of shots that end a scene: the head's bias starts there."""


@dataclass(frozen=True)
class SceneTransformerConfig(ModelConfig):
    """Hyper-parameters of :class:`SceneTransformer`; JSON-serialisable (saved with weights)."""

    model_name: ClassVar[str] = "scene-transformer"

    image_size: tuple[int, int] = (96, 54)
    """Keyframe width × height fed to the encoder (16:9; other aspects are squeezed)."""
    encoder_channels: tuple[int, ...] = (24, 48, 96, 128, 128)
    """Output channels of the encoder's stride-2 conv layers."""
    embed_dim: int = 64
    """Length of a keyframe embedding."""
    window: int = 32
    """Most shots one forward pass sees."""
    max_keyframes: int = 8
    """Most keyframes per shot the model accepts (``--keyframes-per-shot`` is capped here)."""
    d_model: int = 96
    layers: int = 3
    heads: int = 4
    ff: int = 192
    dropout: float = 0.1
    offsets: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    """Shot distances at which keyframe similarity is measured, backwards and forwards."""
    appearance: bool = False
    """Also give each shot token a learned summary of its keyframe embeddings. Off by default:
    with few training places the model learns to recognise those places instead of comparing
    shots (see the module docstring)."""
    groups: int = 8
    """GroupNorm groups in the encoder (batch-independent: training and inference agree)."""
    transitions: bool = False
    """Also tell each shot token how the shot is entered: dissolve, fade or wipe (a cut is
    none of them) and the transition's length in seconds (:data:`TRANSITION_FEATURES`). A fade
    is strong evidence of a scene change but no proof; the model learns how strong. The
    projection starts at zero, so a model started from weights without it (``vidscene train
    scenes --init-weights``) predicts exactly as before until trained."""
    sound: bool = False
    """Also tell each shot token what the soundtrack does around it
    (:data:`~vidscene.scenes._sound.SOUND_FEATURES`: its level, how much level and spectral
    shape change across the cut that enters it, how unlike the shots before it it sounds).
    All zeros for a video without audio. The projection starts at zero, as ``transitions``'
    does."""

    def __post_init__(self) -> None:
        for name in ("image_size", "encoder_channels", "offsets"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        problems = []
        if len(self.image_size) != 2 or min(self.image_size) < 8:
            problems.append("image_size must be (width, height), each >= 8")
        if not self.encoder_channels or any(c % self.groups for c in self.encoder_channels):
            problems.append("every encoder channel count must be a multiple of groups")
        if min(self.embed_dim, self.window, self.max_keyframes, self.d_model, self.layers,
               self.heads, self.ff) < 1:
            problems.append("sizes must be >= 1")
        elif self.d_model % self.heads:
            problems.append(f"d_model ({self.d_model}) must be a multiple of heads ({self.heads})")
        if not 0.0 <= self.dropout < 1.0:
            problems.append("dropout must be in [0, 1)")
        if not self.offsets or min(self.offsets) < 1:
            problems.append("offsets must be positive shot distances")
        if problems:
            raise ConfigError("scene-transformer config: " + "; ".join(problems))


class KeyframeEncoder(nn.Module):
    """``(N, H, W, 3)`` ``uint8`` keyframes → ``(N, embed_dim)`` unit vectors."""

    def __init__(self, config: SceneTransformerConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        previous = 3
        for channels in config.encoder_channels:
            layers += [nn.Conv2d(previous, channels, 3, stride=2, padding=1, bias=False),
                       nn.GroupNorm(config.groups, channels), nn.GELU()]
            previous = channels
        self.stem = nn.Sequential(*layers)
        # Mean and max pooling: the mean says what the frame is made of, the max what stands
        # out in it (a red car on a grey street).
        self.project = nn.Sequential(nn.Linear(2 * previous, 2 * previous), nn.GELU(),
                                     nn.Linear(2 * previous, config.embed_dim))

    def forward(self, frames: Tensor) -> Tensor:
        return self.embed(frames.permute(0, 3, 1, 2).float() / 127.5 - 1.0)

    def embed(self, x: Tensor) -> Tensor:
        """The same for ``(N, 3, H, W)`` float pictures scaled to [-1, 1] (training feeds
        augmented pictures this way)."""
        x = self.stem(x)
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return F.normalize(self.project(pooled), dim=1)


def _pair_similarity(emb: Tensor, kmask: Tensor, offset: int) -> tuple[Tensor, Tensor]:
    """Best-match and mean keyframe cosine similarity of shot ``i`` to shot ``i + offset``.

    ``emb`` ``(B, S, K, D)`` unit rows, ``kmask`` ``(B, S, K)``; returns two ``(B, S)`` tensors,
    zero where shot ``i + offset`` lies outside the window."""
    b, s, k, _ = emb.shape
    best = emb.new_zeros(b, s)
    mean = emb.new_zeros(b, s)
    if offset >= s:
        return best, mean
    sims = torch.einsum("bskd,bsld->bskl", emb[:, : s - offset], emb[:, offset:])
    pair = kmask[:, : s - offset, :, None] & kmask[:, offset:, None, :]
    best[:, : s - offset] = sims.masked_fill(~pair, -2.0).amax(dim=(2, 3)).clamp(min=-1.0)
    count = pair.sum(dim=(2, 3)).clamp(min=1)
    mean[:, : s - offset] = (sims * pair).sum(dim=(2, 3)) / count
    return best, mean


class SceneTransformer(nn.Module):
    """Scene-end logits for a window of shots (see the module docstring).

    :meth:`forward` takes keyframe *embeddings* (the encoder runs once per keyframe while the
    video is decoded, not once per window); :attr:`encoder` is the keyframe encoder.
    """

    name = "scene-transformer"

    def __init__(self, config: SceneTransformerConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or SceneTransformerConfig()
        self.encoder = KeyframeEncoder(config)
        d = config.d_model
        if config.appearance:
            self.keyframe_proj = nn.Linear(config.embed_dim, d)
            self.summary = nn.Linear(2 * d, d)
        # Keyframes: best, mean, present; descriptors: cosine; both directions.
        n_sim = 2 * len(config.offsets) * 4
        self.similarity = nn.Sequential(nn.Linear(n_sim, d), nn.GELU(), nn.Linear(d, d))
        self.duration = nn.Linear(2, d)
        if config.transitions:
            self.transition = nn.Linear(len(TRANSITION_FEATURES), d)
            nn.init.zeros_(self.transition.weight)
            nn.init.zeros_(self.transition.bias)
        if config.sound:
            self.hearing = nn.Linear(len(SOUND_FEATURES), d)
            nn.init.zeros_(self.hearing.weight)
            nn.init.zeros_(self.hearing.bias)
        self.position = nn.Parameter(torch.zeros(config.window, d))
        layer = nn.TransformerEncoderLayer(d, config.heads, config.ff, config.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.context = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Sequential(nn.Linear(2 * d, d), nn.GELU(), nn.Linear(d, 1))
        nn.init.normal_(self.position, std=0.02)
        last = self.head[-1]
        assert isinstance(last, nn.Linear)
        nn.init.constant_(last.bias, float(np.log(_PRIOR / (1 - _PRIOR))))

    def similarity_features(self, emb: Tensor, kmask: Tensor, descriptors: Tensor) -> Tensor:
        """``(B, S, 8 × len(offsets))``: per offset and direction, best-match and mean
        keyframe similarity, the cosine similarity of the shots' descriptor means, and a flag
        that the neighbour exists."""
        b, s, _, _ = emb.shape
        valid_shot = kmask.any(dim=2)
        feats = []
        for offset in self.config.offsets:
            best, mean = _pair_similarity(emb, kmask, offset)
            present = torch.zeros_like(best)
            colour = torch.zeros_like(best)
            if offset < s:
                present[:, : s - offset] = (valid_shot[:, : s - offset]
                                            & valid_shot[:, offset:]).float()
                colour[:, : s - offset] = (descriptors[:, : s - offset]
                                           * descriptors[:, offset:]).sum(dim=-1)
            forward = [best, mean, colour, present]
            # Backward: shot i against shot i - offset is the forward value of i - offset.
            backward = [torch.zeros_like(best) for _ in forward]
            if offset < s:
                for back, value in zip(backward, forward, strict=True):
                    back[:, offset:] = value[:, : s - offset]
            for values in (forward, backward):
                feats += [v * values[-1] for v in values[:-1]] + [values[-1]]
        return torch.stack(feats, dim=-1)

    def forward(self, keyframes: Tensor, kmask: Tensor, durations: Tensor,
                descriptors: Tensor, transitions: Tensor | None = None,
                sound: Tensor | None = None) -> Tensor:
        """Scene-end logits ``(B, S)``.

        ``keyframes`` ``(B, S, K, D)`` embeddings (unit rows), ``kmask`` ``(B, S, K)`` bool
        (which keyframes exist; a shot with none is padding), ``durations`` ``(B, S)`` shot
        lengths in seconds, ``descriptors`` ``(B, S, d)`` each shot's hand-made descriptor
        mean (:func:`vidscene.keyframes.shot_embedding`, the classic segmenters' input: a
        training-free look that keeps working on footage unlike the training material),
        ``transitions`` ``(B, S, 4)`` how each shot is entered (:data:`TRANSITION_FEATURES`;
        ignored unless ``config.transitions``; ``None``: every shot entered by a cut),
        ``sound`` ``(B, S, len(SOUND_FEATURES))`` what the soundtrack does (ignored unless
        ``config.sound``; ``None`` or zeros: no audio). ``S`` may be anything up to
        ``config.window``."""
        b, s, k, _ = keyframes.shape
        if s > self.config.window:
            raise ValueError(f"{s} shots exceed the model's window of {self.config.window}")
        if k > self.config.max_keyframes:
            raise ValueError(f"{k} keyframes per shot exceed the model's "
                             f"{self.config.max_keyframes}")
        emb = F.normalize(keyframes.float(), dim=-1) * kmask[..., None]
        valid = kmask.any(dim=2)
        descriptors = F.normalize(descriptors.float(), dim=-1)
        token = self.similarity(self.similarity_features(emb, kmask, descriptors))
        if self.config.appearance:
            proj = self.keyframe_proj(emb)
            weight = kmask[..., None].float()
            mean = (proj * weight).sum(dim=2) / weight.sum(dim=2).clamp(min=1.0)
            peak = proj.masked_fill(~kmask[..., None], -1e4).amax(dim=2) * valid[..., None]
            token = token + self.summary(torch.cat([mean, peak], dim=-1))
        seconds = durations.float().clamp(min=0.04)
        log_s = torch.log(seconds)
        masked = torch.where(valid, log_s, torch.full_like(log_s, float("nan")))
        median = torch.nanmedian(masked, dim=1, keepdim=True).values.nan_to_num(0.0)
        token = token + self.duration(torch.stack([log_s / 3.0, log_s - median], dim=-1))
        if self.config.transitions and transitions is not None:
            token = token + self.transition(transitions.float())
        if self.config.sound and sound is not None:
            token = token + self.hearing(sound.float())
        token = token + self.position[:s]
        hidden = self.norm(self.context(token, src_key_padding_mask=~valid))
        following = torch.cat([hidden[:, 1:], torch.zeros_like(hidden[:, :1])], dim=1)
        logits = self.head(torch.cat([hidden, following], dim=-1)).squeeze(-1)
        return logits.masked_fill(~valid, -1e4)


def transition_features(kinds: Sequence[str | None], seconds: Sequence[float]) -> np.ndarray:
    """``(S, 4)`` transition inputs: how each shot is entered (``None`` or ``"cut"``: by a cut,
    as the first shot of a video is) and how long that takes."""
    out = np.zeros((len(kinds), len(TRANSITION_FEATURES)), np.float32)
    for i, (kind, length) in enumerate(zip(kinds, seconds, strict=True)):
        if kind in TRANSITION_FEATURES[:3]:
            out[i, TRANSITION_FEATURES.index(kind)] = 1.0
            out[i, 3] = min(max(float(length), 0.0), 2.0)
    return out


@register_model("scene-transformer")
def scene_transformer(**overrides: Any) -> SceneTransformer:
    """The default learned scene segmenter (with its keyframe encoder); ``overrides`` replace
    :class:`SceneTransformerConfig` fields (unknown names raise ``ConfigError``)."""
    return SceneTransformer(SceneTransformerConfig.from_dict(overrides))
