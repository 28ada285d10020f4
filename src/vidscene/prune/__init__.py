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
  the pattern after training (:func:`check_nm`).

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

from vidscene.prune._apply import MaskParametrization, apply_masks, bake, check_nm, sparsity
from vidscene.prune._masks import nm_mask, parse_pattern, unstructured_masks
from vidscene.prune._scores import SCORERS, LossFn, xavier_init
from vidscene.prune._targets import Target, find_targets

__all__ = ["SCORERS", "LossFn", "MaskParametrization", "Target", "apply_masks", "bake",
           "check_nm", "find_targets", "nm_mask", "parse_pattern", "sparsity",
           "unstructured_masks", "xavier_init"]
