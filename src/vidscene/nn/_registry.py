"""Name → factory registry of neural models, in the style of timm's ``register_model``.

A factory takes keyword overrides of its model's config and returns a ``torch.nn.Module``, so
a model is created by the same name in training scripts, detectors and saved weights
(``create_model("shot-transformer", layers=2)``). Unknown names raise ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from vidscene.registry import Registry

__all__ = ["MODELS", "create_model", "register_model"]

MODELS: Registry[nn.Module] = Registry("model")

ModelFactory = Callable[..., nn.Module]


def register_model(name: str) -> Callable[[ModelFactory], ModelFactory]:
    """Decorator: ``@register_model("shot-transformer")`` above a factory taking ``**overrides``.

    Registering the same name twice with different factories raises ``ValueError`` (two models
    must never silently share a name, or saved weights would load into the wrong one)."""
    return MODELS.register(name)


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build the model registered as ``name`` with its config fields overridden by ``overrides``.

    Weights are freshly initialised (call ``torch.manual_seed`` first for reproducible ones);
    to get trained weights use :func:`vidscene.nn.load_model`."""
    return MODELS.create(name, **overrides)
