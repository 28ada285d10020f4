"""Which weights may be pruned: the linear maps of attention and feed-forward blocks.

A *target* is one weight matrix ``(out, in)`` named by its module path and parameter name. By
default every ``nn.Linear`` inside a transformer block and the packed query/key/value
projection of every ``nn.MultiheadAttention`` (a bare parameter, ``in_proj_weight``, not a
Linear); embeddings, norms, convolutions and output heads are left alone unless asked for,
because they are small and the model is most sensitive to them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from torch import Tensor, nn

__all__ = ["Target", "find_targets"]


@dataclass(frozen=True)
class Target:
    """One prunable weight matrix: ``getattr(module, param)`` of the module at ``path``."""

    path: str
    module: nn.Module
    param: str

    @property
    def name(self) -> str:
        return f"{self.path}.{self.param}" if self.path else self.param

    @property
    def weight(self) -> Tensor:
        weight = getattr(self.module, self.param)
        assert isinstance(weight, Tensor)
        return weight


def _in_block(path: str, blocks: Iterable[str]) -> bool:
    return any(path == b or path.startswith(b + ".") for b in blocks)


def find_targets(model: nn.Module, *,
                 include: Callable[[str, nn.Module], bool] | None = None) -> list[Target]:
    """The prunable weights of ``model``, in module order.

    ``include(path, module)`` overrides the default choice (a Linear or MultiheadAttention
    inside a ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer`` or any module
    whose class name ends in ``Block`` or ``Layer`` with attention in it)."""
    blocks = [path for path, m in model.named_modules()
              if isinstance(m, nn.TransformerEncoderLayer | nn.TransformerDecoderLayer)
              or (type(m).__name__.endswith(("Block", "Layer"))
                  and any(isinstance(c, nn.MultiheadAttention) for c in m.modules()))]
    targets: list[Target] = []
    for path, module in model.named_modules():
        chosen = include(path, module) if include else _in_block(path, blocks)
        if not chosen:
            continue
        if isinstance(module, nn.Linear):
            targets.append(Target(path, module, "weight"))
        elif isinstance(module, nn.MultiheadAttention) and module.in_proj_weight is not None:
            targets.append(Target(path, module, "in_proj_weight"))
    return targets
