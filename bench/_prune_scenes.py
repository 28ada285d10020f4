"""Scene-model material for ``bench/prune.py``: the shot banks of ``vidscene train scenes`` and
the cross-fitted keyframe embeddings its sequence model trains on, computed once and cached.

Pruning targets the sequence transformer (the keyframe encoder is a CNN), so every method
trains its sequence model on the same embeddings: training places embedded by the two fold
encoders that never saw them (the recipe's cross-fitting), held-out places by the shipped
model's encoder, as at inference.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from _dataset import CACHE_DIR
from vidscene.nn import load_model
from vidscene.nn.scene_transformer import SceneTransformer
from vidscene.scenes._transformer import DEFAULT_SCENE_WEIGHTS
from vidscene.train import scenes_data as sd
from vidscene.train import scenes_train as st

SHIPPED = DEFAULT_SCENE_WEIGHTS


def shipped_scene_model() -> SceneTransformer:
    model, _card = load_model(SHIPPED)
    assert isinstance(model, SceneTransformer)
    return model


def scene_material(clips_dir: Path, data_dir: Path, log: Any) -> dict[str, Any]:
    """Banks, cross-fitted training embeddings ``(V, N, D)`` and held-out embeddings ``(N, D)``
    (cached in ``bench/_cache`` by bank key and recipe)."""
    cfg = st.SceneTrainConfig()
    shipped = shipped_scene_model()
    train, val, recipe = st._banks(clips_dir, data_dir, cfg, shipped.config.image_size, log,
                                   False)
    key = sd.bank_key({**recipe, "encoder_steps": cfg.encoder_steps, "folds": cfg.folds,
                       "augmented": cfg.augmented_embeddings})
    path = CACHE_DIR / f"prune-scene-embeddings-{key}.npz"
    if path.is_file():
        saved = np.load(path)
        train_emb, val_emb = saved["train"], saved["val"]
    else:
        started = time.perf_counter()
        log("cross-fitting keyframe embeddings of the training places (two fold encoders)")
        train_emb = st.cross_fitted_embeddings(train, cfg, shipped.config.to_dict(), log, False)
        val_emb = st.embed_bank(shipped, val)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".partial.npz")
        np.savez(tmp, train=train_emb, val=val_emb)
        tmp.replace(path)
        log(f"cached {path.name} ({(time.perf_counter() - started) / 60:.1f} min)")
    return {"train": train, "val": val, "train_emb": train_emb, "val_emb": val_emb, "cfg": cfg}
