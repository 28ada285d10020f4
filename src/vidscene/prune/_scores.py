"""Importance scores of prunable weights, before (or after) training.

Connection sensitivity (SNIP, Lee et al. 2019): with a mask ``c`` multiplying each weight,
``∂L/∂c_i`` at ``c = 1`` equals ``w_i · ∂L/∂w_i``, so one backward pass of a few mini-batches
scores every connection by ``|w ⊙ ∇_w L|``. The attention-aware variant extends the loss to
``L' = L + Σ_j A_j + O``: ``A_j`` the sum of the outputs of the j-th attention layer, ``O`` the
sum of the model's output, so connections that shape attention and outputs count even when the
loss at initialisation hardly depends on them. Scores are normalised to sum to one over all
targets. ``magnitude`` (``|w|``, for pruning a trained model) and ``random`` are the controls.

Scorers are registered by name in :data:`SCORERS`, like every other stage.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import Tensor, nn

from vidscene.prune._targets import Target
from vidscene.registry import Registry

__all__ = ["SCORERS", "LossFn", "xavier_init"]

LossFn = Callable[[nn.Module, Any], tuple[Tensor, Any]]
"""``loss_fn(model, batch) -> (loss, output)``: the task loss and the model's raw output (a
tensor or a mapping / sequence of tensors, summed into ``O`` by attention-snip)."""

SCORERS: Registry[dict[str, Tensor]] = Registry("pruning scorer")
"""``SCORERS.create(name, model=, targets=, batches=, loss_fn=)`` → normalised scores by
target name."""


def xavier_init(targets: Iterable[Target], generator: torch.Generator | None = None) -> None:
    """Re-initialise every target from U(±√(6 / (n_in + n_out))) so that all layers start with
    the same variance and scores compare across layers (the method's assumption)."""
    with torch.no_grad():
        for t in targets:
            w = t.weight
            fan_out, fan_in = w.shape[0], w.shape[1]
            bound = math.sqrt(6.0 / (fan_in + fan_out))
            w.copy_(torch.rand(w.shape, generator=generator) * 2 * bound - bound)


def _normalised(scores: dict[str, Tensor]) -> dict[str, Tensor]:
    total = sum(float(s.sum()) for s in scores.values())
    return {k: s / total if total > 0 else s for k, s in scores.items()}


def _sum_output(output: Any) -> Tensor:
    if isinstance(output, Tensor):
        return output.float().sum()
    values = output.values() if isinstance(output, dict) else output
    return sum((_sum_output(v) for v in values), torch.zeros(()))


def _sensitivity(model: nn.Module, targets: list[Target], batches: Iterable[Any],
                 loss_fn: LossFn, attention_terms: bool) -> dict[str, Tensor]:
    grads = {t.name: torch.zeros_like(t.weight) for t in targets}
    attention: list[Tensor] = []
    hooks = []
    if attention_terms:
        def keep(_m: nn.Module, _args: Any, out: Any) -> None:
            attention.append((out[0] if isinstance(out, tuple) else out).float().sum())

        hooks = [m.register_forward_hook(keep) for m in model.modules()
                 if isinstance(m, nn.MultiheadAttention)]
    was_training = model.training
    model.train()
    try:
        for batch in batches:
            attention.clear()
            model.zero_grad(set_to_none=True)
            loss, output = loss_fn(model, batch)
            if attention_terms:
                loss = loss + sum(attention, torch.zeros(())) + _sum_output(output)
            weights = [t.weight for t in targets]
            for t, g in zip(targets, torch.autograd.grad(loss, weights, allow_unused=True),
                            strict=True):
                if g is not None:
                    grads[t.name] += g.detach()
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return _normalised({t.name: (t.weight.detach() * grads[t.name]).abs() for t in targets})


@SCORERS.register("snip")
def snip(model: nn.Module, targets: list[Target], batches: Iterable[Any], loss_fn: LossFn,
         **_: Any) -> dict[str, Tensor]:
    """Plain connection sensitivity, ``|w ⊙ ∇_w L|`` summed over ``batches``."""
    return _sensitivity(model, targets, batches, loss_fn, attention_terms=False)


@SCORERS.register("attention-snip")
def attention_snip(model: nn.Module, targets: list[Target], batches: Iterable[Any],
                   loss_fn: LossFn, **_: Any) -> dict[str, Tensor]:
    """Connection sensitivity of ``L + Σ_j A_j + O`` (attention outputs and model output)."""
    return _sensitivity(model, targets, batches, loss_fn, attention_terms=True)


@SCORERS.register("magnitude")
def magnitude(model: nn.Module, targets: list[Target], *_: Any, **__: Any) -> dict[str, Tensor]:
    """``|w|``: for pruning a trained model (then fine-tuning)."""
    return _normalised({t.name: t.weight.detach().abs() for t in targets})


@SCORERS.register("random")
def random_scores(model: nn.Module, targets: list[Target], *_: Any,
                  generator: torch.Generator | None = None, **__: Any) -> dict[str, Tensor]:
    """Uniform random scores: the control every pruning-at-init method must beat."""
    return _normalised({t.name: torch.rand(t.weight.shape, generator=generator)
                        for t in targets})
