"""Prune-then-train any PyTorch model: the Python API behind ``vidscene prune-train``.

The user gives a network and a training set as two functions (``pkg.module:build_fn``,
``pkg.module:dataset_fn``); vidscene scores the freshly initialised network (Xavier uniform on
the prunable weights, a few mini-batches), fixes an N:M (default 2:4) or unstructured mask,
trains with the mask fixed, checks the pattern, and writes the weights with the 2:4 layers
packed plus a model card. Every epoch ends with a checkpoint, so ``resume=True`` continues an
interrupted run.

``dataset_fn()`` returns a :class:`PruneTask`: a function giving one epoch's mini-batches, the
loss ``loss_fn(model, batch) -> (loss, output)`` and, optionally, a validation function
returning metrics.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vidscene.errors import ConfigError
from vidscene.prune._apply import bake_all, restore_masks, sparsity
from vidscene.prune._recipe import PruneSpec, prune_model
from vidscene.prune._scores import LossFn
from vidscene.prune._storage import save_packed
from vidscene.prune._targets import find_targets

__all__ = ["PruneTask", "load_callable", "prune_train"]


@dataclass
class PruneTask:
    """What ``dataset_fn()`` returns (see the module docstring)."""

    batches: Callable[[int], Iterable[Any]]
    """``batches(epoch)``: the training mini-batches of one epoch."""
    loss_fn: LossFn
    validate: Callable[[nn.Module], dict[str, float]] | None = None
    score_batches: int = 4
    """Mini-batches (from epoch 0's) the scores are computed on."""
    lr: float = 1e-3
    extra: dict[str, Any] = field(default_factory=dict)


def load_callable(spec: str) -> Callable[..., Any]:
    """``"pkg.module:name"`` → the object; ``ConfigError`` with the reason if it fails."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"expected MODULE:FUNCTION, got {spec!r}")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"cannot load {spec}: {e}") from None
    if not callable(obj):
        raise ConfigError(f"{spec} is not callable")
    return obj


def prune_train(build_fn: Callable[[], nn.Module], dataset_fn: Callable[[], PruneTask], *,
                method: str = "attention-snip", pattern: str | None = "2:4",
                keep: float | None = None, epochs: int = 1, out: Path, seed: int = 0,
                resume: bool = False, progress: bool = True,
                card: dict[str, Any] | None = None, reinit: bool = True) -> dict[str, Any]:
    """Score, mask, train and save (see the module docstring); returns the model card.
    ``reinit=False`` scores and trains from the network's own initialisation instead of
    Xavier re-initialisation (see :class:`~vidscene.prune.PruneSpec`)."""
    if (pattern is None) == (keep is None):
        raise ConfigError("give exactly one of pattern (N:M) and keep (unstructured share)")
    task = dataset_fn()
    spec = PruneSpec(method=method, pattern=pattern, keep=keep, reinit=reinit,
                     score_batches=task.score_batches)
    out = Path(out)
    torch.manual_seed(seed)
    model = build_fn()
    ckpt = out.with_name(out.name + ".ckpt")
    start_epoch = 0
    history: list[dict[str, Any]] = []
    if resume and ckpt.is_file():
        saved = torch.load(ckpt, weights_only=False)
        restore_masks(model, saved["model"], spec.nm)  # the masks are buffers of the state
        model.load_state_dict(saved["model"])
        opt = torch.optim.AdamW(model.parameters(), lr=task.lr)
        opt.load_state_dict(saved["optimizer"])
        start_epoch = saved["epoch"] + 1
        history = list(saved.get("history", []))
        section = saved["pruning"]
    else:
        section = prune_model(model, spec, task.batches(0), task.loss_fn, seed=seed)
        opt = torch.optim.AdamW(model.parameters(), lr=task.lr)
    targets = find_targets(model)
    started = time.perf_counter()
    from vidscene.train.shots_train import _progress

    with _progress(progress) as bar:
        job = bar.add_task("prune-train", total=epochs, completed=start_epoch)
        for epoch in range(start_epoch, epochs):
            model.train()
            losses = []
            for batch in task.batches(epoch):
                loss, _ = task.loss_fn(model, batch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                losses.append(loss.item())
            entry: dict[str, Any] = {"epoch": epoch + 1,
                                     "loss": round(sum(losses) / max(len(losses), 1), 5)}
            if task.validate is not None:
                model.eval()
                with torch.no_grad():
                    entry.update(task.validate(model))
            history.append(entry)
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                        "epoch": epoch, "history": history,
                        "pruning": section}, ckpt)
            bar.update(job, advance=1)
    packed = bake_all(model)
    result = {**(card or {}), "method": method, "pattern": pattern, "keep": keep,
              "epochs": epochs, "seed": seed, "sparsity": round(sparsity(targets), 4),
              "pruned_layers": [t.name for t in targets], "pruning": section,
              "parameters": sum(p.numel() for p in model.parameters()),
              "seconds": round(time.perf_counter() - started, 1), "history": history}
    out.parent.mkdir(parents=True, exist_ok=True)
    save_packed(model.state_dict(), out, packed, {"card": json.dumps(result, sort_keys=True)})
    result["file_size_bytes"] = out.stat().st_size
    ckpt.unlink(missing_ok=True)
    return result
