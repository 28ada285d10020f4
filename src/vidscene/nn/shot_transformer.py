"""The learned shot-boundary model: per-frame change features + a small temporal transformer.

Input is the stream's tiny copy of every frame, ``(B, T, 36, 64, 3)`` ``uint8`` RGB; output is
three per-frame logits (see :class:`ShotTransformer`). Design choices and why:

* **Change, not appearance.** A first probe that saw only learned frame embeddings learned
  "the palette changed = a cut" and missed cuts between look-alike shots. So besides a small
  learned conv stem, every frame gets explicit *change* measurements against the frames
  ``k`` = 1, 2, 4, 8 before and after it: mean absolute pixel difference at 32×18 and at
  16×9 (motion moves fine detail but hardly the coarse picture; a cut changes both), a joint
  luma/chroma histogram difference (blind to motion, sensitive to content), a
  difference of the luma *standardised by its own mean and deviation* (blind to fades and
  lighting steps, which change only brightness and contrast), and the cosine distance of the
  stem embeddings (learned). Several steps let the model tell a one-frame jump (cut) from a
  slow ramp (dissolve, fade) and from steady motion. Per-frame luma mean and deviation show
  fades to and from black or white.
* **Half resolution.** The stem and every measurement read a 2×2-averaged 32×18 copy of the
  64×36 frame. At 64×36 the finest detail is mostly compression noise and aliasing that
  flickers from frame to frame; averaging removes it and quarters the work, which is what
  makes the model run at several thousand frames per second on two CPU cores.
* **Compressed scales.** The pixel distances are square-rooted: within a shot they crowd near
  zero, and the root spreads that range so the input layer can separate "still" from
  "slightly moving" as easily as "moving" from "new shot".
* **Edges are explicit.** A distance that would reach outside the window is zero and a flag
  says so, instead of a replicated frame pretending there was no change.
* **Relative positions.** A depthwise temporal convolution adds position information (a
  learned convolutional position encoding): it is translation-equivariant, so a transition
  reads the same at any offset in the window, and it works for any ``T <= window``.
* **Pre-norm transformer, per-frame heads.** Self-attention over the window lets each frame
  compare its change profile with its neighbourhood (the ``fast`` detector's adaptive
  threshold, learned). Pre-norm layers with small residual branches at initialisation keep
  the input features visible from the first step (a short learning-rate warm-up still helps).
  Head biases start at the rarity of transitions so early training is not spent learning the
  class prior.
* **Mixtures, two-sided** (``mixture``, off in the shipped v1 and v2). For each step ``k``, how
  far frame t is from
  being (a) a pixel-wise *either-or* of the frames ``k`` before and after it (each pixel
  matches one end: a wipe, whatever its shape or edge) and (b) their *blend* (the half-way
  dissolve). One-sided distances cannot tell a wipe's half-new picture from a slow zoom or pan
  drifting over a detailed picture: both are "somewhat different from either side". A drift
  leaves most pixels different from *both* ends, a wipe almost none, so the either-or residual
  separates them; the blend residual does the same for dissolves against motion (the cue the
  ``fast`` detector's mixture test uses). :func:`widen_from` carries weights trained
  without them over for fine-tuning. A v2 fine-tuned with them (10 epochs, the v2 material)
  scored better on the synthetic calibration set but worse on every held-out set, so it was
  not shipped (the v2 model card has the numbers).

Everything runs in plain eager mode, with ``torch.inference_mode()`` for detection.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidscene.analysis import SHOT_MODEL_CLASSES
from vidscene.errors import ConfigError
from vidscene.nn._config import ModelConfig
from vidscene.nn._registry import register_model

__all__ = ["TRANSITION_CLASSES", "ShotTransformer", "ShotTransformerConfig", "widen_from"]

TRANSITION_CLASSES = SHOT_MODEL_CLASSES
"""Class order of the ``type`` head: logit ``i`` of its last axis is ``TRANSITION_CLASSES[i]``."""

_COARSE_SIZE = (9, 16)
"""Height × width of the coarse copy used for the motion-tolerant pixel difference (the fine
one is the 2×2-averaged frame, 18×32 for the stream's 36×64)."""
_LUMA_BINS = 8
_CHROMA_BINS = 4
_CHROMA_EDGES = (-24.0 / 255, 0.0, 24.0 / 255)
"""Chroma bin edges around grey: natural pictures keep chroma near neutral, so even-width bins
over the whole range would put almost every pixel in the two middle ones."""
_STD_FLOOR = 0.02
"""Added to a frame's luma deviation before standardising, so flat frames (mid-fade, black)
do not blow sensor noise up into large "structure" differences."""
_PRIOR = 0.03
"""Roughly the share of frames inside transitions: the boundary and start heads start there."""

_RESIDUAL_INIT = 0.5
"""Extra factor on the initial weights of each residual branch's output projection."""

_PIXEL_MEASURES = ("mad", "coarse_mad", "histogram", "structure")
"""Fixed change measurements per step and direction, in feature order: fine and coarse mean
absolute difference, histogram distance, standardised-luma (structure) difference."""
_FRAME_FEATURES = ("luma_mean", "luma_std")


@dataclass(frozen=True)
class ShotTransformerConfig(ModelConfig):
    """Hyper-parameters of :class:`ShotTransformer`; JSON-serialisable (saved with weights).

    Lists (as they come back from JSON) are accepted wherever a tuple is expected.
    """

    model_name: ClassVar[str] = "shot-transformer"

    window: int = 96
    """Most frames one forward pass sees."""
    d_model: int = 128
    layers: int = 4
    heads: int = 4
    ff: int = 256
    dropout: float = 0.1
    steps: tuple[int, ...] = (1, 2, 4, 8)
    """Frame distances at which change is measured, backwards and forwards."""
    stem_channels: tuple[int, ...] = (24, 48, 64)
    """Output channels of the stride-2 conv layers of the frame stem; the last is its width."""
    stem_groups: int = 4
    """GroupNorm groups in the stem (batch-independent, so training and inference agree)."""
    position_kernel: int = 9
    """Frames seen by the depthwise convolution that encodes relative position."""
    mixture: bool = False
    """Add the two-sided either-or and blend residuals per step (see the module notes). Off by
    default so the configs saved with v1 and v2, which predate it, rebuild the same model."""

    def __post_init__(self) -> None:
        for name in ("steps", "stem_channels"):
            object.__setattr__(self, name, tuple(int(v) for v in getattr(self, name)))
        problems = []
        if self.window < 1:
            problems.append("window must be >= 1")
        if min(self.d_model, self.layers, self.heads, self.ff) < 1:
            problems.append("d_model, layers, heads and ff must be >= 1")
        elif self.d_model % self.heads:
            problems.append(f"d_model ({self.d_model}) must be a multiple of heads ({self.heads})")
        if not 0.0 <= self.dropout < 1.0:
            problems.append("dropout must be in [0, 1)")
        if not self.steps or min(self.steps) < 1:
            problems.append("steps must be positive frame distances")
        if self.stem_groups < 1 or not self.stem_channels or any(
                c % self.stem_groups for c in self.stem_channels):
            problems.append("every stem channel count must be a multiple of stem_groups")
        if self.position_kernel < 1 or self.position_kernel % 2 == 0:
            problems.append("position_kernel must be odd")
        if problems:
            raise ConfigError("shot-transformer config: " + "; ".join(problems))


class _FrameStem(nn.Module):
    """A small conv net over each tiny frame → one appearance vector per frame.

    Stride-2 layers shrink the 32×18 half-size frame to 4×3 in three steps; global average
    pooling makes it indifferent to where things are, which is all a change detector needs of
    appearance."""

    def __init__(self, channels: tuple[int, ...], groups: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c_out in channels:
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1, bias=False),
                       nn.GroupNorm(groups, c_out), nn.GELU()]
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.width = c_in

    def forward(self, rgb: Tensor) -> Tensor:
        """``rgb``: ``(N, 3, H, W)`` float in 0..1 → ``(N, width)``."""
        # Centred, roughly unit spread: the scale default conv initialisation expects.
        return self.body((rgb - 0.5) * 4.0).mean(dim=(2, 3))


def _mean_abs(a: Tensor, b: Tensor) -> Tensor:
    return (a - b).abs().mean(-1)


def _half_l1(a: Tensor, b: Tensor) -> Tensor:
    """Half the L1 distance: 0 (same) .. 1 (disjoint) for two normalised histograms."""
    return (a - b).abs().sum(-1) * 0.5


def _cosine_distance(a: Tensor, b: Tensor) -> Tensor:
    """``1 - cos`` of unit vectors (0 same direction .. 2 opposite)."""
    return 1.0 - (a * b).sum(-1)


Distance = Callable[[Tensor, Tensor], Tensor]


def _mixture_residuals(pixels: Tensor, step: int) -> tuple[Tensor, Tensor]:
    """How far each frame is from a mixture of the frames ``step`` before and after it.

    ``pixels``: ``(B, T, P)`` → ``(either, blend)``, each ``(B, T)``: the mean over values of
    ``min(|x - a|, |x - b|)`` (each value taken from one end: a wipe) and of ``|x - (a+b)/2|``
    (the half-way dissolve), zero where either end lies outside the window."""
    batch, frames = pixels.shape[:2]
    if 2 * step >= frames:
        zeros = pixels.new_zeros(batch, frames)
        return zeros, zeros
    before, now, after = pixels[:, :-2 * step], pixels[:, step:-step], pixels[:, 2 * step:]
    to_before, to_after = (now - before).abs(), (now - after).abs()
    either = torch.minimum(to_before, to_after).mean(-1)
    blend = (now - (before + after) * 0.5).abs().mean(-1)
    pad = (step, step)
    return F.pad(either, pad), F.pad(blend, pad)


def _step_distances(signal: Tensor, step: int, distance: Distance) -> tuple[Tensor, Tensor]:
    """Distance of each frame to the frame ``step`` before and ``step`` after it.

    ``signal``: ``(B, T, D)``; ``distance`` maps two ``(B, n, D)`` tensors to ``(B, n)``.
    Returns ``(backward, forward)``, each ``(B, T)``, zero where the other frame lies outside
    the window. The forward distance of frame t is the backward distance of frame t+step, so
    each pair is measured once."""
    frames = signal.shape[1]
    measured = distance(signal[:, step:], signal[:, :-step]) if step < frames \
        else signal.new_zeros(signal.shape[0], 0)
    missing = frames - measured.shape[1]
    return F.pad(measured, (missing, 0)), F.pad(measured, (0, missing))


def _chroma_bin(chroma: Tensor) -> Tensor:
    """Bin index of each value among :data:`_CHROMA_EDGES` (as ``torch.bucketize``: the number
    of edges strictly below it); three comparisons beat a binary search over three edges."""
    out = torch.zeros(chroma.shape, dtype=torch.long, device=chroma.device)
    for edge in _CHROMA_EDGES:
        out += chroma > edge
    return out


def _half_size(rgb: Tensor) -> Tensor:
    """``(N, H, W, 3)`` → ``(N, 3, H/2, W/2)``: the mean of each 2×2 block (as ``avg_pool2d``,
    which is several times slower on this channels-last input)."""
    n, h, w, c = rgb.shape
    if h % 2 or w % 2:
        return F.avg_pool2d(rgb.permute(0, 3, 1, 2), 2)
    return rgb.view(n, h // 2, 2, w // 2, 2, c).mean(dim=(2, 4)).permute(0, 3, 1, 2)


def _histograms(pixels: Tensor) -> Tensor:
    """Joint luma × blue-chroma × red-chroma histogram of each frame, normalised to sum 1.

    ``pixels``: ``(B, T, P, 3)`` RGB floats in 0..1 → ``(B, T, bins)``. Hard binning: it is a
    fixed measurement, no gradient needs to pass through it."""
    r, g, b = pixels.unbind(-1)
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    y_bin = (luma * _LUMA_BINS).long().clamp_(0, _LUMA_BINS - 1)
    cb_bin = _chroma_bin(0.564 * (b - luma))
    cr_bin = _chroma_bin(0.713 * (r - luma))
    bins = _LUMA_BINS * _CHROMA_BINS * _CHROMA_BINS
    batch, length, count = luma.shape
    # One bincount for all frames: frame i's bins are offset by i * bins.
    offsets = torch.arange(batch * length, device=pixels.device).view(batch, length, 1) * bins
    index = (y_bin * _CHROMA_BINS + cb_bin) * _CHROMA_BINS + cr_bin + offsets
    counts = torch.bincount(index.flatten(), minlength=batch * length * bins)
    return counts.view(batch, length, bins).to(pixels.dtype) / count


class ShotTransformer(nn.Module):
    """Per-frame shot-boundary logits for a window of tiny frames.

    ``forward(frames)`` takes ``(B, T, H, W, 3)`` ``uint8`` RGB (the FrameStream's 64×36
    copies), ``T <= config.window``, and returns logits:

    * ``"start"`` ``(B, T)``: frame t is the first frame of a new shot (a cut's frame, or a
      gradual transition's first mixed frame);
    * ``"boundary"`` ``(B, T)``: frame t lies inside a transition span (a cut covers only its
      own frame);
    * ``"type"`` ``(B, T, 5)``: class of the transition covering t, indexed by
      :data:`TRANSITION_CLASSES` (``"none"`` outside transitions).
    """

    name = "shot-transformer"
    """Registry name; saved with the weights so :func:`vidscene.nn.load_model` can rebuild it."""

    def __init__(self, config: ShotTransformerConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or ShotTransformerConfig()
        self.stem = _FrameStem(config.stem_channels, config.stem_groups)
        inputs = len(self.feature_names())
        self.embed = nn.Sequential(nn.Linear(inputs, config.d_model), nn.Dropout(config.dropout))
        self.positions = nn.Conv1d(config.d_model, config.d_model, config.position_kernel,
                                   padding=config.position_kernel // 2, groups=config.d_model)
        layer = nn.TransformerEncoderLayer(
            config.d_model, config.heads, config.ff, config.dropout, activation="gelu",
            batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(config.d_model)
        self.head = nn.Linear(config.d_model, 2 + len(TRANSITION_CLASSES))
        self._initialise()

    def _initialise(self) -> None:
        """Start close to "each frame judged by its own change features".

        The position convolution starts at zero (the identity on the residual stream), so it
        does not smear a cut's one-frame signal over its neighbours before it has learned
        anything; each layer's residual branches start small (GPT-2's 1/sqrt(2·layers)
        scaling, made stronger), so random attention and feed-forward outputs do not bury the
        input features at initialisation. Together they let a few optimiser steps find the
        obvious cues, which the deeper layers then refine."""
        scale = _RESIDUAL_INIT / math.sqrt(2 * self.config.layers)
        with torch.no_grad():
            self.positions.weight.zero_()
            if self.positions.bias is not None:
                self.positions.bias.zero_()
            for layer in self.encoder.layers:
                layer.self_attn.out_proj.weight.mul_(scale)
                layer.linear2.weight.mul_(scale)
                layer.linear2.bias.zero_()
            prior = math.log(_PRIOR / (1 - _PRIOR))
            self.head.bias.zero_()
            self.head.bias[:2] = prior  # boundary, start
            # type: "none" as likely as frames outside transitions, the others sharing the rest
            others = len(TRANSITION_CLASSES) - 1
            self.head.bias[2] = math.log((1 - _PRIOR) * others / _PRIOR)

    def feature_names(self) -> list[str]:
        """Names of the columns of :meth:`features`, in order (``mad_back4``: square root of
        the mean absolute difference to the frame 4 before; ``valid_fwd8``: the frame 8 after
        lies inside the window)."""
        steps = self.config.steps
        return ([f"stem{i}" for i in range(self.stem.width)]
                + [f"embedding_{way}{k}" for k in steps for way in ("back", "fwd")]
                + [f"{m}_{way}{k}" for k in steps for m in _PIXEL_MEASURES
                   for way in ("back", "fwd")]
                + [f"valid_{way}{k}" for k in steps for way in ("back", "fwd")]
                + list(_FRAME_FEATURES)
                + ([f"{m}{k}" for k in steps for m in ("either", "blend")]
                   if self.config.mixture else []))

    def frame_features(self, frames: Tensor) -> dict[str, Tensor]:
        """The quantities of each frame that do not depend on its window, ``(B, T, ...)``
        each: the learned embedding and the fixed pixel measurements the change features
        compare. A streaming caller computes them once per frame and reuses them in every
        window the frame falls in (:meth:`forward_frame_features`)."""
        batch, length, height, width, _ = frames.shape
        rgb = frames.reshape(batch * length, height, width, 3).to(torch.float32).mul_(1 / 255)
        # (N, 3, h, w) in channels-last memory: the layout the conv kernels are fastest with.
        half = _half_size(rgb)
        embedding = self.stem(half)
        with torch.no_grad():
            pixels = half.permute(0, 2, 3, 1).reshape(batch, length, -1, 3)
            r, g, b = pixels.unbind(-1)
            luma = 0.299 * r + 0.587 * g + 0.114 * b
            mean = luma.mean(-1, keepdim=True)
            std = luma.std(-1, correction=0, keepdim=True)
            coarse = F.adaptive_avg_pool2d(half, _COARSE_SIZE)
            fixed = {
                "pixels": pixels.reshape(batch, length, -1),
                "coarse": coarse.reshape(batch, length, -1),
                "histogram": _histograms(pixels),
                "luma": (luma - mean) / (std + _STD_FLOOR),
                "mean": mean,
                "std": std,
            }
        return {"embedding": embedding.view(batch, length, -1), **fixed}

    def window_features(self, per_frame: Mapping[str, Tensor]) -> Tensor:
        """Per-frame input vectors ``(B, T, F)`` of one window, from its frames'
        :meth:`frame_features`; columns named by :meth:`feature_names`."""
        embedding = per_frame["embedding"]
        batch, length = embedding.shape[:2]
        with torch.no_grad():
            measures: list[tuple[Tensor, Distance]] = [
                (per_frame["pixels"], _mean_abs),
                (per_frame["coarse"], _mean_abs),
                (per_frame["histogram"], _half_l1),
                (per_frame["luma"], _mean_abs),
            ]
            distances: list[Tensor] = []
            flags: list[Tensor] = []
            position = torch.arange(length, device=embedding.device).expand(batch, length)
            for step in self.config.steps:
                for signal, distance in measures:
                    distances.extend(_step_distances(signal, step, distance))
                flags += [position >= step, position + step < length]
            columns = [
                torch.stack(distances, -1).sqrt_(),
                torch.stack(flags, -1).to(torch.float32),
                per_frame["mean"], per_frame["std"],
            ]
            if self.config.mixture:
                residuals = [r for step in self.config.steps
                             for r in _mixture_residuals(per_frame["pixels"], step)]
                columns.append(torch.stack(residuals, -1).sqrt_())
            fixed = torch.cat(columns, dim=-1)
        unit = F.normalize(embedding, dim=-1)
        learned = [d for step in self.config.steps
                   for d in _step_distances(unit, step, _cosine_distance)]
        return torch.cat([embedding, torch.stack(learned, -1), fixed], dim=-1)

    def features(self, frames: Tensor) -> Tensor:
        """Per-frame input vectors ``(B, T, F)`` before the projection to ``d_model``, with
        columns named by :meth:`feature_names`.

        Public so training code and tests can inspect them; ``forward`` calls it."""
        return self.window_features(self.frame_features(frames))

    def forward(self, frames: Tensor) -> dict[str, Tensor]:
        if frames.dtype != torch.uint8 or frames.dim() != 5 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 (B, T, H, W, 3), got {frames.dtype} "
                             f"{tuple(frames.shape)}")
        return self.forward_frame_features(self.frame_features(frames))

    def forward_frame_features(self, per_frame: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """:meth:`forward` from the window's :meth:`frame_features` (the same logits)."""
        length = per_frame["embedding"].shape[1]
        if length > self.config.window:
            raise ValueError(f"{length} frames exceed the model's window "
                             f"({self.config.window})")
        tokens = self.embed(self.window_features(per_frame))
        tokens = tokens + self.positions(tokens.transpose(1, 2)).transpose(1, 2)
        out = self.head(self.norm(self.encoder(tokens)))
        return {"boundary": out[..., 0], "start": out[..., 1], "type": out[..., 2:]}


def widen_from(model: ShotTransformer, start: ShotTransformer) -> list[str]:
    """Load ``start``'s weights into ``model``, which may have input features ``start`` lacks
    (e.g. ``mixture``); returns the names of those new features.

    Every parameter but the input projection must match in shape. The projection's columns are
    matched by feature name; a new feature's column starts at zero, so the widened model
    computes exactly what ``start`` did until training gives the new inputs weight."""
    names, old_names = model.feature_names(), start.feature_names()
    missing = sorted(set(old_names) - set(names))
    if missing:
        raise ValueError(f"the new model lacks input features {', '.join(missing[:4])}")
    state = start.state_dict()
    key = "embed.0.weight"
    old = state[key]
    wide = old.new_zeros(old.shape[0], len(names))
    column = {name: i for i, name in enumerate(old_names)}
    for i, name in enumerate(names):
        if name in column:
            wide[:, i] = old[:, column[name]]
    state[key] = wide
    model.load_state_dict(state)  # raises RuntimeError on any other shape difference
    return [name for name in names if name not in column]


@register_model("shot-transformer")
def shot_transformer(**overrides: Any) -> ShotTransformer:
    """The default learned shot detector; ``overrides`` replace :class:`ShotTransformerConfig`
    fields (unknown names raise ``ConfigError``)."""
    return ShotTransformer(ShotTransformerConfig.from_dict(overrides))
