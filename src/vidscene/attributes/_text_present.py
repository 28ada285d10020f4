"""``text_present``: the chance that a frame shows text, from a small learned model.

The worked example of an attribute measured by your own model: the network is defined and
taught in :mod:`vidscene.train.text_present`, trained and pruned (2:4) with
``vidscene prune-train``, and stored in the model store under ``text-present``; this plugin
loads the newest version by that name (the packaged one, ``text-present@shipped``, until you
store your own) and the Analysis records which one it was, with its sha256, in ``models``.

It reads the ~224 px analysis copy (about a millisecond a frame, where the ``text`` attribute
reads text at tens of milliseconds), so it runs on every sample. A shot's value is the mean
probability over its samples.
"""

from __future__ import annotations

import threading
from typing import Any

from vidscene.attributes._base import ATTRIBUTES, Attribute, FrameSample

__all__ = ["TextPresent", "MODEL_NAME"]

MODEL_NAME = "text-present"


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
                from vidscene import model_store
                from vidscene.prune import load_packed
                from vidscene.train.text_present import build

                path = model_store.resolve(self.model_ref)
                net = build()
                net.load_state_dict(load_packed(path))
                self._net = net.eval()
                self.model = model_store.identify(path)
            return self._net

    def measure(self, sample: FrameSample) -> float:
        import torch

        from vidscene.train.text_present import prepare

        net = self._network()
        with torch.no_grad():
            return float(torch.sigmoid(net(prepare(sample.rgb)))[0])
