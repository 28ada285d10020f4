"""Pruning before training: connection-sensitivity scores (plain and attention-aware), N:M and
unstructured masks, masks kept through training on any PyTorch model.

Three small steps, each its own module, kept apart as torchao keeps mask finding apart from
acceleration:

* :mod:`~vidscene.prune._targets` — which weights are prunable (:func:`find_targets`);
* :mod:`~vidscene.prune._scores` — how important each weight is (:data:`SCORERS`: ``snip``,
  ``attention-snip``, ``magnitude``, ``random``);
* :mod:`~vidscene.prune._masks` — which to keep (:func:`nm_mask`, 2:4 by default, or
  :func:`unstructured_masks`);
* :mod:`~vidscene.prune._apply` — keeping them (:func:`apply_masks`, :func:`bake`) and checking
  the pattern after training (:func:`check_nm`);
* :mod:`~vidscene.prune._storage` — storing them compactly (:func:`save_packed`: kept values +
  2-bit positions, ~53–56 % of dense for 2:4) and handing them to sparse tensor cores on a
  GPU (:func:`to_semi_structured`);
* :mod:`~vidscene.prune._structured` — the structured option: whole feed-forward channels cut
  out by the same scores (:func:`prune_ff_channels`), a smaller dense model;
* :mod:`~vidscene.prune._recipe` — the step a training loop calls before its first step
  (:class:`PruneSpec`, :func:`prune_model`); ``save_model(..., packed=bake_all(model))``
  exports the result;
* :mod:`~vidscene.prune._train` — the whole recipe for any model (:func:`prune_train`, behind
  ``vidscene prune-train``).

Example::

    targets = find_targets(model)
    xavier_init(targets)
    scores = SCORERS.create("attention-snip", model=model, targets=targets,
                            batches=[batch], loss_fn=loss_fn)
    apply_masks(targets, {name: nm_mask(s, 2, 4) for name, s in scores.items()})
    ...train as usual...
    bake(targets)
    assert all(check_nm(t.weight, 2, 4) for t in targets)
"""

from vidscene.prune._apply import (
    MaskParametrization,
    apply_masks,
    bake,
    bake_all,
    check_nm,
    restore_masks,
    sparsity,
)
from vidscene.prune._masks import nm_mask, parse_pattern, unstructured_masks
from vidscene.prune._recipe import PruneSpec, prune_model
from vidscene.prune._scores import SCORERS, LossFn, xavier_init
from vidscene.prune._storage import (
    load_packed,
    pack_nm,
    save_packed,
    to_semi_structured,
    unpack_nm,
)
from vidscene.prune._structured import prune_ff_channels
from vidscene.prune._targets import Target, find_targets
from vidscene.prune._train import PruneTask, load_callable, prune_train

__all__ = [
    "SCORERS",
    "LossFn",
    "MaskParametrization",
    "PruneTask",
    "Target",
    "apply_masks",
    "bake",
    "check_nm",
    "find_targets",
    "load_callable",
    "load_packed",
    "PruneSpec",
    "bake_all",
    "restore_masks",
    "prune_model",
    "nm_mask",
    "pack_nm",
    "parse_pattern",
    "prune_ff_channels",
    "prune_train",
    "save_packed",
    "sparsity",
    "to_semi_structured",
    "unpack_nm",
    "unstructured_masks",
    "xavier_init",
]
