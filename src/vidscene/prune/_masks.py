"""Masks from scores: N:M semi-structured (2:4 by default) and unstructured top-ρ.

Finding a mask is kept apart from applying it (:mod:`vidscene.prune._apply`) and from
accelerating it (packing, sparse kernels): a mask is just a ``bool`` tensor shaped like its
weight, ``True`` = kept.
"""

from __future__ import annotations

import torch
from torch import Tensor

from vidscene.errors import ConfigError

__all__ = ["nm_mask", "parse_pattern", "unstructured_masks"]


def parse_pattern(text: str) -> tuple[int, int]:
    """``"2:4"`` → ``(2, 4)``; ``ConfigError`` unless ``0 < n < m``."""
    try:
        n, m = (int(v) for v in text.split(":"))
    except ValueError:
        raise ConfigError(f"pattern must look like N:M (e.g. 2:4), got {text!r}") from None
    if not 0 < n < m:
        raise ConfigError(f"pattern N:M needs 0 < N < M, got {text!r}")
    return n, m


def nm_mask(scores: Tensor, n: int = 2, m: int = 4) -> Tensor:
    """Keep the ``n`` highest-scored weights in every group of ``m`` consecutive weights along
    the input dimension (the last axis) of each row. The input size must be a multiple of
    ``m``, as the sparse tensor-core layout requires."""
    if scores.ndim != 2:
        raise ConfigError(f"N:M masks need a 2-D weight, got shape {tuple(scores.shape)}")
    rows, cols = scores.shape
    if cols % m:
        raise ConfigError(f"input size {cols} is not a multiple of {m} (N:M groups)")
    groups = scores.reshape(rows, cols // m, m)
    keep = torch.zeros_like(groups, dtype=torch.bool)
    keep.scatter_(2, groups.topk(n, dim=2).indices, True)
    return keep.reshape(rows, cols)


def unstructured_masks(scores: dict[str, Tensor], keep: float) -> dict[str, Tensor]:
    """Keep the global top ``keep`` share of all scores (``0 < keep <= 1``), ties broken by
    position; layers may end up with different densities, as in the original SNIP."""
    if not 0.0 < keep <= 1.0:
        raise ConfigError(f"keep share must be in (0, 1], got {keep}")
    flat = torch.cat([s.reshape(-1) for s in scores.values()])
    k = max(1, int(round(keep * flat.numel())))
    chosen = torch.zeros(flat.numel(), dtype=torch.bool)
    chosen[flat.topk(k).indices] = True
    out, start = {}, 0
    for name, s in scores.items():
        out[name] = chosen[start:start + s.numel()].reshape(s.shape)
        start += s.numel()
    return out
