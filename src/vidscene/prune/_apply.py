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

__all__ = ["MaskParametrization", "apply_masks", "bake", "bake_all", "check_nm",
           "restore_masks", "sparsity"]


class MaskParametrization(nn.Module):
    """``weight → weight * mask`` (the mask is a buffer, saved with the model's state).

    ``nm`` records the N:M pattern the mask follows, if any, so that export can pack it."""

    mask: Tensor

    def __init__(self, mask: Tensor, nm: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.register_buffer("mask", mask.to(torch.bool))
        self.nm = nm

    def forward(self, weight: Tensor) -> Tensor:
        return weight * self.mask


def apply_masks(targets: list[Target], masks: dict[str, Tensor],
                nm: tuple[int, int] | None = None) -> None:
    """Fix ``masks[target.name]`` on each target (pruned entries zeroed once); ``nm`` is the
    N:M pattern the masks follow, if they do."""
    for t in targets:
        mask = masks[t.name]
        with torch.no_grad():
            t.weight.mul_(mask)
        parametrize.register_parametrization(t.module, t.param, MaskParametrization(mask, nm))


def restore_masks(model: nn.Module, state: dict[str, Tensor],
                  nm: tuple[int, int] | None = None) -> None:
    """Fix on ``model`` the masks held in ``state``, a state dict saved from a masked model
    (a checkpoint), so that ``model.load_state_dict(state)`` fits."""
    marker, suffix = ".parametrizations.", ".0.mask"
    for key, mask in state.items():
        if marker in key and key.endswith(suffix):
            path, _, param = key[: -len(suffix)].rpartition(marker)
            module = model.get_submodule(path) if path else model
            parametrize.register_parametrization(module, param, MaskParametrization(mask, nm))


def _own_class(module: nn.Module) -> None:
    """Give a parametrized ``module`` a class of its own before a parametrization is removed.

    PyTorch injects one ``Parametrized<Cls>`` class per module, and ``copy.deepcopy`` gives the
    copy that same class; removing a parametrization deletes its property from the class, which
    would break the original module (e.g. the model still training while a copy of it is
    exported). A private copy of the class keeps the two apart."""
    cls = type(module)
    own = {k: v for k, v in vars(cls).items() if k not in ("__dict__", "__weakref__")}
    module.__class__ = type(cls.__name__, cls.__bases__, own)


def bake(targets: list[Target]) -> None:
    """Replace each masked weight by its masked value and drop the parametrization."""
    for t in targets:
        if parametrize.is_parametrized(t.module, t.param):
            _own_class(t.module)
            parametrize.remove_parametrizations(t.module, t.param, leave_parametrized=True)


def bake_all(model: nn.Module) -> dict[str, tuple[int, int]]:
    """Bake every mask of ``model`` (as :func:`bake`) for export; returns the state-dict keys
    of the weights that follow an N:M pattern, with it, for packed storage. ``RuntimeError`` if
    a weight lost its pattern (it cannot, unless something wrote to it behind the mask)."""
    packed: dict[str, tuple[int, int]] = {}
    for path, module in list(model.named_modules()):
        if not parametrize.is_parametrized(module):
            continue
        _own_class(module)
        for param in list(module.parametrizations.keys()):
            chain = module.parametrizations[param]
            nm = next((p.nm for p in chain if isinstance(p, MaskParametrization)), None)
            if not any(isinstance(p, MaskParametrization) for p in chain):
                continue
            parametrize.remove_parametrizations(module, param, leave_parametrized=True)
            if nm is not None:
                name = f"{path}.{param}" if path else param
                if not check_nm(getattr(module, param), *nm):
                    raise RuntimeError(f"{name} lost its {nm[0]}:{nm[1]} pattern")
                packed[name] = nm
    return packed


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
