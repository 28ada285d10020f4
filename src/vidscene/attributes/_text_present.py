"""``text_present``: the chance that a frame shows text, from a small learned model.

The worked example of an attribute measured by your own model: the network is defined and
taught in :mod:`vidscene.train.text_present`, trained and pruned (2:4) with
``vidscene prune-train``, and stored in the model store under ``text-present``; this plugin
loads the newest version by that name (the packaged one, ``text-present@shipped``, until you
store your own) and the Analysis records which one it was, with its sha256, in ``models``.

It reads the ~224 px analysis copy (about 5 ms a frame here, where the ``text`` attribute
reads text at over a hundred), on the first sample of every :data:`EVERY` seconds and on every
sample taken because the picture changed (the first frame after a cut), so every shot after a
cut is looked at. A shot's value is the mean probability over the samples looked at. The
``text`` attribute asks the same model whether a frame is worth reading; when both run, the
model runs once a frame (:attr:`FrameSample.memo`) and its weights are loaded once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from vidscene.attributes._base import ATTRIBUTES, Attribute, FrameSample

__all__ = ["TextPresent", "MODEL_NAME"]

MODEL_NAME = "text-present"
EVERY = 1.0
"""Seconds between the samples looked at (besides those after a cut)."""

_networks: dict[str, tuple[Any, str]] = {}
_networks_lock = threading.Lock()


def _load(model_ref: str) -> tuple[Any, str]:
    """The network stored as ``model_ref`` and its identity (``name@version sha256:…``),
    loaded once per process whichever attribute asks."""
    from vidscene import model_store

    path = model_store.resolve(model_ref)
    with _networks_lock:
        if str(path) not in _networks:
            from vidscene.prune import load_packed
            from vidscene.train.text_present import build

            net = build()
            net.load_state_dict(load_packed(path))
            _networks[str(path)] = (net.eval(), model_store.identify(path))
        return _networks[str(path)]


@ATTRIBUTES.register("text_present")
class TextPresent(Attribute):
    name = "text_present"
    description = "Chance that text is on screen (a learned 2:4-pruned model, store: text-present)."
    unit = "probability 0..1"
    default = False

    def __init__(self, model_ref: str = MODEL_NAME) -> None:
        self.model_ref = model_ref
        self._net: Any = None
        self._lock = threading.Lock()

    def _network(self) -> Any:
        with self._lock:
            if self._net is None:
                self._net, self.model = _load(self.model_ref)
            return self._net

    def setup(self) -> None:
        self._network()

    def chances(self, samples: Sequence[FrameSample]) -> list[float]:
        """The model's chance that each sample shows text: one forward pass for those not yet
        looked at, each frame's chance kept in its :attr:`FrameSample.memo`."""
        key = f"{self.name}:{self.model_ref}"
        net = self._network()  # also records which model gives the values
        todo = [s for s in samples if key not in s.memo]
        if todo:
            import torch

            from vidscene.train.text_present import prepare

            with torch.inference_mode():
                logits = net(torch.cat([prepare(s.rgb) for s in todo]))
            for s, p in zip(todo, torch.sigmoid(logits).tolist(), strict=True):
                s.memo[key] = float(p)
        return [float(s.memo[key]) for s in samples]

    def measure(self, sample: FrameSample) -> float | None:
        return self.measure_batch([sample])[0]

    def measure_batch(self, samples: Sequence[FrameSample]) -> list[float | None]:
        due = [s for s in samples if s.due_every(EVERY)]
        found = dict(zip(map(id, due), self.chances(due), strict=True)) if due else {}
        return [found.get(id(s)) for s in samples]
