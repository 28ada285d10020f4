"""Structured pruning: remove whole feed-forward channels, a smaller dense model.

N:M masks need sparse kernels to run faster; a smaller dense model needs none (how much faster
it runs depends on the share of time the feed-forward blocks take: little, in vidscene's own
models, see ``BENCHMARKS.md`` "Pruning"). In
every ``nn.TransformerEncoderLayer`` the feed-forward block is ``linear2(act(linear1(x)))``:
hidden channel ``i`` is row ``i`` of ``linear1`` and column ``i`` of ``linear2``. A channel's
score is the sum of its weights' scores (any scorer of :data:`~vidscene.prune.SCORERS`, the
attention-aware one included); the lowest-scored channels are cut out and both layers replaced
by smaller dense ones. Attention heads are not removed: ``nn.MultiheadAttention`` ties the head
width to the model width, so dropping heads needs a different attention module.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from vidscene.errors import ConfigError

__all__ = ["prune_ff_channels"]


def prune_ff_channels(model: nn.Module, scores: dict[str, Tensor], keep: float) -> int:
    """Keep the top ``keep`` share of feed-forward channels in every encoder layer (scores by
    target name, as the scorers return them); returns the channels removed."""
    if not 0.0 < keep <= 1.0:
        raise ConfigError(f"keep share must be in (0, 1], got {keep}")
    removed = 0
    for path, layer in model.named_modules():
        if not isinstance(layer, nn.TransformerEncoderLayer):
            continue
        prefix = f"{path}." if path else ""
        s1, s2 = scores.get(f"{prefix}linear1.weight"), scores.get(f"{prefix}linear2.weight")
        if s1 is None or s2 is None:
            raise ConfigError(f"no scores for the feed-forward block of {path or 'the model'}")
        channel = s1.sum(dim=1) + s2.sum(dim=0)
        k = max(1, int(round(keep * len(channel))))
        kept = channel.topk(k).indices.sort().values
        with torch.no_grad():
            first = nn.Linear(layer.linear1.in_features, k, bias=layer.linear1.bias is not None)
            first.weight.copy_(layer.linear1.weight[kept])
            if layer.linear1.bias is not None:
                first.bias.copy_(layer.linear1.bias[kept])
            second = nn.Linear(k, layer.linear2.out_features,
                               bias=layer.linear2.bias is not None)
            second.weight.copy_(layer.linear2.weight[:, kept])
            if layer.linear2.bias is not None:
                second.bias.copy_(layer.linear2.bias)
        removed += len(channel) - k
        layer.linear1, layer.linear2 = first, second
    return removed
