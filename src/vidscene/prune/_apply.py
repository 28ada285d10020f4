"""Applying masks to any PyTorch model, keeping them through training, and checking them.

Masks are PyTorch parametrizations (``torch.nn.utils.parametrize``): the module's weight reads
as ``original * mask`` everywhere, so any model, optimiser and training loop work unchanged.
The pruned entries of the original are zeroed once, so their gradients are zero, their
optimiser moments stay zero and weight decay keeps them at zero: pruned weights stay exactly
zero through training. :func:`bake` removes the parametrizations for export.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from vidscene.prune._targets import Target

__all__ = ["MaskParametrization", "apply_masks", "bake", "check_nm", "sparsity"]


class MaskParametrization(nn.Module):
    """``weight → weight * mask`` (the mask is a buffer, saved with the model's state)."""

    mask: Tensor

    def __init__(self, mask: Tensor) -> None:
        super().__init__()
        self.register_buffer("mask", mask.to(torch.bool))

    def forward(self, weight: Tensor) -> Tensor:
        return weight * self.mask


def apply_masks(targets: list[Target], masks: dict[str, Tensor]) -> None:
    """Fix ``masks[target.name]`` on each target (pruned entries zeroed once)."""
    for t in targets:
        mask = masks[t.name]
        with torch.no_grad():
            t.weight.mul_(mask)
        parametrize.register_parametrization(t.module, t.param, MaskParametrization(mask))


def bake(targets: list[Target]) -> None:
    """Replace each masked weight by its masked value and drop the parametrization."""
    for t in targets:
        if parametrize.is_parametrized(t.module, t.param):
            parametrize.remove_parametrizations(t.module, t.param, leave_parametrized=True)


def check_nm(weight: Tensor, n: int, m: int) -> bool:
    """Whether every group of ``m`` consecutive weights along each row holds at most ``n``
    non-zeros."""
    rows, cols = weight.shape
    if cols % m:
        return False
    nonzero = (weight.detach() != 0).reshape(rows, cols // m, m).sum(dim=2)
    return bool((nonzero <= n).all())


def sparsity(targets: list[Target]) -> float:
    """Share of exactly-zero entries over all targets' (effective) weights."""
    zeros = sum(int((t.weight == 0).sum()) for t in targets)
    total = sum(t.weight.numel() for t in targets)
    return zeros / total if total else 0.0
