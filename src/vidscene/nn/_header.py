"""Reading a model file's header — registry name, config, model card — without PyTorch.

Detectors check their weights when they are created (a missing or foreign file is a one-line
error before any decoding), and the CLI shows model cards, without paying PyTorch's import;
the weights themselves are loaded by :func:`vidscene.nn.load_model`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidscene.errors import ConfigError

__all__ = ["FORMAT", "ModelHeader", "read_header"]

FORMAT = "vidscene.model/1"
"""Value of the ``format`` metadata key; bumped if the layout of the metadata changes."""


@dataclass(frozen=True)
class ModelHeader:
    """What a vidscene model file says about itself."""

    model: str
    config: dict[str, Any]
    card: dict[str, Any]


def read_header(path: str | Path) -> ModelHeader:
    """The header of the model file at ``path``; ``ConfigError`` if it is missing, not a
    safetensors file, or not a vidscene model."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
        if metadata.get("format") != FORMAT:
            raise ConfigError(f"{path}: not a vidscene model file")
        return ModelHeader(metadata["model"], json.loads(metadata["config"]),
                           json.loads(metadata["card"]))
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable vidscene model file ({exc})") from None
