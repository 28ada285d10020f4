"""Neural models: the model registry, safetensors weights with model cards, and the models.

PyTorch is slow to import, so this package imports it only when one of its torch-side names is
first used (``load_model``, ``create_model``, ``ShotTransformer``, ...): ``read_header`` and
``FORMAT`` come without it, and nothing on the CLI's start-up path touches the others.

Built-in: ``"shot-transformer"`` (:class:`ShotTransformer`, the learned shot-boundary model) and
``"scene-transformer"`` (:class:`SceneTransformer`, the learned scene model with its keyframe
encoder).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vidscene.nn._header import FORMAT, ModelHeader, read_header

if TYPE_CHECKING:
    from vidscene.nn._io import load_model, save_model, shared_model
    from vidscene.nn._registry import MODELS, create_model, register_model
    from vidscene.nn.scene_transformer import (
        KeyframeEncoder,
        SceneTransformer,
        SceneTransformerConfig,
    )
    from vidscene.nn.shot_transformer import (
        TRANSITION_CLASSES,
        ShotTransformer,
        ShotTransformerConfig,
    )

__all__ = [
    "FORMAT",
    "MODELS",
    "KeyframeEncoder",
    "TRANSITION_CLASSES",
    "ModelHeader",
    "SceneTransformer",
    "SceneTransformerConfig",
    "ShotTransformer",
    "ShotTransformerConfig",
    "create_model",
    "load_model",
    "read_header",
    "register_model",
    "save_model",
    "shared_model",
]

_TORCH_SIDE = {
    "load_model": "vidscene.nn._io",
    "save_model": "vidscene.nn._io",
    "shared_model": "vidscene.nn._io",
    "MODELS": "vidscene.nn._registry",
    "create_model": "vidscene.nn._registry",
    "register_model": "vidscene.nn._registry",
    "KeyframeEncoder": "vidscene.nn.scene_transformer",
    "SceneTransformer": "vidscene.nn.scene_transformer",
    "SceneTransformerConfig": "vidscene.nn.scene_transformer",
    "TRANSITION_CLASSES": "vidscene.nn.shot_transformer",
    "ShotTransformer": "vidscene.nn.shot_transformer",
    "ShotTransformerConfig": "vidscene.nn.shot_transformer",
}


def __getattr__(name: str) -> Any:
    module = _TORCH_SIDE.get(name)
    if module is None:
        raise AttributeError(f"module 'vidscene.nn' has no attribute {name!r}")
    # The built-in models register themselves when their module is imported: import them with
    # the first torch-side name, so the registry is never found empty.
    importlib.import_module("vidscene.nn.shot_transformer")
    importlib.import_module("vidscene.nn.scene_transformer")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
