"""Neural models: the model registry, safetensors weights with model cards, and the models.

Importing this package imports torch (slow), so nothing on the CLI's start-up path may import
it; detectors and training code import it when they are created.

Built-in: ``"shot-transformer"`` (:class:`ShotTransformer`, the learned shot-boundary model).
"""

from vidscene.nn._io import load_model, save_model
from vidscene.nn._registry import MODELS, create_model, register_model
from vidscene.nn.shot_transformer import (
    TRANSITION_CLASSES,
    ShotTransformer,
    ShotTransformerConfig,
)

__all__ = [
    "MODELS",
    "TRANSITION_CLASSES",
    "ShotTransformer",
    "ShotTransformerConfig",
    "create_model",
    "load_model",
    "register_model",
    "save_model",
]
