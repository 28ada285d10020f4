"""The model store: named, immutable versions of model files with their cards.

A folder (``$VIDSCENE_MODELS``, else ``models/`` in the user data directory) holding
``<name>/<version>/model.safetensors`` and ``card.json`` per version. Versions are numbered
``v1``, ``v2``, … in import order and never change once written (files are made read-only; a
new training run is a new version). The models shipped inside the package (``vidscene/nn/
weights``) are listed too, as version ``shipped``, and cannot be removed. Any safetensors
file can be imported: a vidscene model (registry name, config and card in its header) or the
output of ``vidscene prune-train`` (card in its header). Reading needs no PyTorch.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidscene.errors import ConfigError, NotFoundInStore

__all__ = ["ModelStore", "StoredModel", "default_models_dir", "identify", "load", "resolve"]

ENV_VAR = "VIDSCENE_MODELS"
SHIPPED_DIR = Path(__file__).resolve().parent / "nn" / "weights"
SHIPPED = "shipped"


def default_models_dir() -> Path:
    """``$VIDSCENE_MODELS`` if set, else ``models/`` in the user data directory."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    import platformdirs

    return Path(platformdirs.user_data_dir("vidscene")) / "models"


@dataclass(frozen=True)
class StoredModel:
    """One version of one model."""

    name: str
    version: str
    path: Path
    card: dict[str, Any]

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


def _header(path: Path) -> dict[str, Any]:
    """The card of a safetensors model file: its ``card`` metadata (JSON) plus the registry
    name and config of a vidscene model; ``ConfigError`` if the file is not safetensors."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            meta = handle.metadata() or {}
    except (SafetensorError, OSError) as e:
        raise ConfigError(f"{path}: not a safetensors model file ({e})") from None
    try:
        card = json.loads(meta.get("card", "{}"))
    except json.JSONDecodeError:
        card = {}
    if "model" in meta:
        card.setdefault("architecture", meta["model"])
    if "config" in meta:
        card.setdefault("config", json.loads(meta["config"]))
    return card if isinstance(card, dict) else {}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class ModelStore:
    """Models by name and version (see the module docstring)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else default_models_dir()

    # -- reading -----------------------------------------------------------------------------
    def list(self) -> list[StoredModel]:
        """Shipped models first, then stored versions by name and version number."""
        out = [StoredModel(p.stem, SHIPPED, p, {**_header(p), "sha256": _sha256(p),
                                                "file_size_bytes": p.stat().st_size})
               for p in sorted(SHIPPED_DIR.glob("*.safetensors"))]
        if self.root.is_dir():
            for folder in sorted(self.root.iterdir()):
                versions = [v for v in folder.iterdir() if (v / "model.safetensors").is_file()] \
                    if folder.is_dir() else []
                for v in sorted(versions, key=lambda v: int(v.name[1:]) if v.name[1:].isdigit()
                                else 0):
                    card = json.loads((v / "card.json").read_text(encoding="utf-8"))
                    out.append(StoredModel(folder.name, v.name, v / "model.safetensors", card))
        return out

    def get(self, ref: str) -> StoredModel:
        """``name`` (its newest version) or ``name@version``; ``NotFoundInStore`` if absent."""
        name, _, version = ref.partition("@")
        matches = [m for m in self.list() if m.name == name and (not version
                                                                 or m.version == version)]
        if not matches:
            raise NotFoundInStore(f"no model {ref!r} (see `vidscene models list`)")
        return matches[-1]

    # -- writing -----------------------------------------------------------------------------
    def add(self, path: Path, name: str, extra: dict[str, Any] | None = None) -> StoredModel:
        """Store a copy of ``path`` as the next version of ``name``; returns it."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"{path}: no such model file")
        if not name or "/" in name or "@" in name or name.startswith("."):
            raise ConfigError(f"bad model name {name!r} (no '/', '@', or leading '.')")
        card = {**_header(path), **(extra or {})}
        card["sha256"] = _sha256(path)
        card["file_size_bytes"] = path.stat().st_size
        card["stored_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        card["source_file"] = path.name
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        numbers = [int(v.name[1:]) for v in folder.iterdir() if v.name[1:].isdigit()]
        version = f"v{max(numbers, default=0) + 1}"
        tmp = folder / f".{version}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        shutil.copyfile(path, tmp / "model.safetensors")
        (tmp / "card.json").write_text(json.dumps(card, indent=1, sort_keys=True),
                                       encoding="utf-8")
        for f in tmp.iterdir():  # immutable: a new run is a new version
            f.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
        tmp.rename(folder / version)
        return StoredModel(name, version, folder / version / "model.safetensors", card)

    def export(self, ref: str, dest: Path) -> Path:
        """Copy a model's file to ``dest`` (a file, or a folder to put ``name-version`` in)."""
        model = self.get(ref)
        dest = Path(dest)
        if dest.is_dir():
            dest = dest / f"{model.name}-{model.version}.safetensors"
        shutil.copyfile(model.path, dest)
        return dest

    def remove(self, ref: str) -> StoredModel:
        """Delete one stored version (``name@version``; shipped models cannot be removed)."""
        if "@" not in ref:
            raise ConfigError("name the version to remove: NAME@VERSION")
        model = self.get(ref)
        if model.version == SHIPPED:
            raise ConfigError(f"{ref} ships with vidscene and cannot be removed")
        folder = model.path.parent
        for f in folder.iterdir():
            f.chmod(stat.S_IRUSR | stat.S_IWUSR)
        shutil.rmtree(folder)
        return model


# -- using stored models -----------------------------------------------------------------------

_IDENTITY: dict[tuple[str, int, int], str] = {}


def resolve(weights: str | Path, store: ModelStore | None = None) -> Path:
    """The file behind ``weights``: a path to a model file, or a store reference (``name``,
    its newest version, or ``name@version``, as ``vidscene models list`` shows them). What the
    detectors, segmenters and attribute plugins accept wherever they take weights. Something
    that looks like a path (a folder part or a ``.safetensors`` name) is returned as a path,
    existing or not (callers say what is missing); an unknown name raises ``NotFoundInStore``."""
    path = Path(weights)
    text = str(weights)
    if path.is_file() or os.sep in text or "/" in text or text.endswith(".safetensors"):
        return path
    return (store or ModelStore()).get(text).path


def identify(path: Path, store: ModelStore | None = None) -> str:
    """``name@version sha256:<12 hex>`` of a model file, ``version`` as the store lists it
    (``shipped`` for the packaged models), or the file name when the store does not hold it:
    how an analysis records which model versions produced it. Cached per file state."""
    path = Path(path).resolve()
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _IDENTITY:
        digest = _sha256(path)
        try:
            known = [m for m in (store or ModelStore()).list()
                     if m.card.get("sha256") == digest]
        except (OSError, ValueError):  # an unreadable store folder must not stop an analysis
            known = []
        label = known[0].ref if known else path.name
        _IDENTITY[key] = f"{label} sha256:{digest[:12]}"
    return _IDENTITY[key]


def load(ref: str | Path, store: ModelStore | None = None) -> tuple[Any, dict[str, Any], str]:
    """``(model, card, identity)`` of a stored model or model file, for plugins: a vidscene
    model rebuilt by its registry name (N:M-packed layers restored dense), in eval mode;
    ``identity`` as :func:`identify` gives it, for the analysis's ``models``. Imports PyTorch."""
    from vidscene.nn import load_model

    path = resolve(ref, store)
    model, card = load_model(path)
    return model, card, identify(path, store)
