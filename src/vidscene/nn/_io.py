"""Saving and loading models as safetensors files that describe themselves.

One file holds everything needed to rebuild a model: the weights, the registry name, the full
config and a model card (free-form JSON: training data, metrics, thresholds), all in the
safetensors header's string metadata. Safetensors, not pickle, so loading a file can never run
code; the header alone (config, card) can be read without touching the weights.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import nn

from vidscene.errors import ConfigError
from vidscene.nn._header import FORMAT
from vidscene.nn._registry import MODELS
from vidscene.prune._storage import PACKED_KEY, pack_state, unpack_state

__all__ = ["FORMAT", "load_model", "save_model", "shared_model"]


def _config_dict(model: nn.Module) -> dict[str, Any]:
    config = getattr(model, "config", None)
    if config is None:
        raise ConfigError(f"{type(model).__name__} has no config to save")
    to_dict = getattr(config, "to_dict", None)
    return dict(to_dict()) if callable(to_dict) else asdict(config)


def save_model(model: nn.Module, path: Path, card: dict[str, Any],
               packed: Mapping[str, tuple[int, int]] | None = None) -> None:
    """Write ``model``'s weights, registry name, config and ``card`` to ``path`` (safetensors).

    ``packed`` names N:M-sparse weights (state-dict key → (N, M)) to store as kept values plus
    bit-packed positions (``vidscene.prune``'s format, ~53 % of dense for 2:4); loading
    restores them dense.

    The model must carry its registry name as ``model.name`` and a dataclass ``model.config``.
    The write is atomic: a temporary file in the same folder is renamed over ``path`` only when
    complete, so a reader (a detector loading weights while training saves a checkpoint) never
    sees half a file."""
    name = getattr(model, "name", None)
    if not isinstance(name, str) or name not in MODELS:
        raise ConfigError(f"{type(model).__name__} has no registered model name to save")
    try:
        metadata = {"format": FORMAT, "model": name,
                    "config": json.dumps(_config_dict(model), sort_keys=True),
                    "card": json.dumps(card, sort_keys=True)}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"model card or config is not JSON-serialisable: {exc}") from None
    tensors, layout = pack_state(model.state_dict(), dict(packed or {}))
    if layout:
        metadata[PACKED_KEY] = json.dumps(layout, sort_keys=True)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp_name, metadata=metadata)
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private; weights are meant to be shared
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def load_model(path: Path, *, map_location: str | torch.device = "cpu"
               ) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model saved at ``path``; returns ``(model, card)``.

    The model is in eval mode (detection is the common caller; training code calls
    ``.train()``). A missing file, a file that is not a vidscene model, or weights that do not
    fit the saved config raise ``ConfigError``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such model file")
    try:
        with safe_open(str(path), framework="pt", device=str(map_location)) as handle:
            metadata = handle.metadata() or {}
            if metadata.get("format") != FORMAT:
                raise ConfigError(f"{path}: not a vidscene model file")
            raw = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
            layout = json.loads(metadata.get(PACKED_KEY, "{}"))
        name = metadata["model"]
        config = json.loads(metadata["config"])
        card = json.loads(metadata["card"])
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable vidscene model file ({exc})") from None

    state = {k: v.to(map_location) for k, v in unpack_state(
        {k: v.cpu() for k, v in raw.items()}, layout).items()} if layout else raw
    model = MODELS.create(name, **config)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ConfigError(f"{path}: weights do not fit model {name!r}: {exc}") from None
    return model.to(map_location).eval(), card


_SHARED: dict[tuple[str, int, int, str], nn.Module] = {}
_SHARED_LOCK = threading.Lock()


def shared_model(path: Path, *, device: str = "cpu") -> nn.Module:
    """The model at ``path`` for inference, loaded once per process and shared by every caller.

    A worker that analyses many chunks or videos builds a fresh detector for each (detectors
    keep per-video state) but loads the weights once: this cache is keyed by the file's path,
    size and modification time, so a retrained file is loaded anew. Callers must not train or
    modify the returned model (``load_model`` gives a private copy)."""
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except OSError:
        raise ConfigError(f"{path}: no such model file") from None
    key = (str(path), stat.st_size, stat.st_mtime_ns, device)
    with _SHARED_LOCK:
        model = _SHARED.get(key)
        if model is None:
            model, _ = load_model(path, map_location=device)
            _SHARED[key] = model
        return model
