"""One call that prunes a model before its training: the step every training loop shares.

:class:`PruneSpec` says how (scorer, N:M pattern / unstructured share / structured channel
share, whether to re-initialise first); :func:`prune_model` does it in place on the model a
training loop is about to train, and returns the card section that records it. The loop then
trains as usual, and ``save_model(..., packed=bake_all(model))`` exports it. Used by
:func:`~vidscene.prune.prune_train` (any model), ``vidscene train shots --prune`` and the scene
model's sequence training.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vidscene.errors import ConfigError
from vidscene.prune._apply import apply_masks, sparsity
from vidscene.prune._masks import nm_mask, parse_pattern, unstructured_masks
from vidscene.prune._scores import SCORERS, LossFn, xavier_init
from vidscene.prune._structured import prune_ff_channels
from vidscene.prune._targets import find_targets

__all__ = ["PruneSpec", "prune_model"]


@dataclass(frozen=True)
class PruneSpec:
    """How to prune. Exactly one of ``pattern`` (N:M mask, ``"2:4"``), ``keep`` (unstructured
    mask keeping that share of weights) and ``ff_keep`` (structured: keep that share of every
    feed-forward block's channels, a smaller dense model) is set."""

    method: str = "attention-snip"
    pattern: str | None = "2:4"
    keep: float | None = None
    ff_keep: float | None = None
    reinit: bool = True
    """Xavier-uniform re-initialisation of the prunable weights before scoring (pruning at
    initialisation, as the method prescribes); off to prune trained weights (``magnitude``)."""
    score_batches: int = 4

    def __post_init__(self) -> None:
        if self.method not in SCORERS:
            raise ConfigError(f"unknown pruning method {self.method!r} "
                              f"(known: {', '.join(SCORERS.names())})")
        chosen = [x for x in (self.pattern, self.keep, self.ff_keep) if x is not None]
        if len(chosen) != 1:
            raise ConfigError("give exactly one of an N:M pattern, an unstructured keep share "
                              "and a feed-forward keep share")
        if self.pattern is not None:
            parse_pattern(self.pattern)
        for share in (self.keep, self.ff_keep):
            if share is not None and not 0.0 < share <= 1.0:
                raise ConfigError(f"keep share must be in (0, 1], got {share}")
        if self.score_batches < 1:
            raise ConfigError("score_batches must be >= 1")

    @property
    def nm(self) -> tuple[int, int] | None:
        return parse_pattern(self.pattern) if self.pattern else None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def prune_model(model: nn.Module, spec: PruneSpec, batches: Iterable[Any], loss_fn: LossFn, *,
                seed: int = 0) -> dict[str, Any]:
    """Score ``model`` on the first ``spec.score_batches`` of ``batches`` and prune it in place:
    fix masks (N:M or unstructured) as parametrizations, or cut feed-forward channels out.
    Returns the card section (spec, pruned layers, sparsity, parameters)."""
    targets = find_targets(model)
    if not targets:
        raise ConfigError("the model has no prunable weights (no attention or feed-forward "
                          "Linear layers)")
    if spec.reinit:
        xavier_init(targets, torch.Generator().manual_seed(seed))
    scored = [b for _, b in zip(range(spec.score_batches), batches, strict=False)]
    scores = SCORERS.create(spec.method, model=model, targets=targets, batches=scored,
                            loss_fn=loss_fn, generator=torch.Generator().manual_seed(seed))
    section: dict[str, Any] = {**spec.to_dict(), "seed": seed,
                               "layers": [t.name for t in targets]}
    if spec.ff_keep is not None:
        section["channels_removed"] = prune_ff_channels(model, scores, spec.ff_keep)
        _shrink_config(model)
    else:
        nm = spec.nm
        if nm is not None:
            masks = {k: nm_mask(s, *nm) for k, s in scores.items()}
        else:
            assert spec.keep is not None
            masks = unstructured_masks(scores, spec.keep)
        apply_masks(targets, masks, nm)
        section["sparsity"] = round(sparsity(targets), 4)
    section["parameters"] = sum(p.numel() for p in model.parameters())
    return section


def _shrink_config(model: nn.Module) -> None:
    """After cutting channels, a model whose config has an ``ff`` width (vidscene's models) gets
    the new width, so that it saves and loads as an ordinary smaller model."""
    widths = {layer.linear1.out_features for layer in model.modules()
              if isinstance(layer, nn.TransformerEncoderLayer)}
    config = getattr(model, "config", None)
    if len(widths) == 1 and dataclasses.is_dataclass(config) \
            and not isinstance(config, type) and hasattr(config, "ff"):
        setattr(model, "config", dataclasses.replace(config, ff=widths.pop()))  # noqa: B010
