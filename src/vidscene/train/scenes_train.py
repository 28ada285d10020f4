"""Train the scene model: the keyframe encoder first (contrastive), then the shot-sequence
transformer on the encoder's embeddings.

1. **Shot banks** (:mod:`vidscene.train.scenes_data`): shots of the training places and,
   apart, of held-out places (whole clip families and procedural places of their own seeds).
   Cached in ``data_dir``, named by a hash of their recipe and composer.
2. **Keyframe encoder**, supervised contrastive loss (SupCon, Khosla et al. 2020): a batch holds
   analysis frames of ``places_per_batch`` places, two shots each, two augmented views each;
   every other frame of the same place is a positive, frames of other places negatives. So two
   views of one frame, two frames of one shot and two differently framed shots of one place
   are all pulled together, the ShotCoL/BaSSL idea of "neighbouring shots of one scene look
   alike" with the place as the scene. Augmentation (random resized crop, mirror, colour,
   noise) comes on top of the shots' own framing and colour treatment.
3. **Scene transformer**, encoder frozen, on *cross-fitted* embeddings
   (:func:`cross_fitted_embeddings`: each training place embedded, clean and augmented, by
   an encoder trained without it, so the sequence model learns from embeddings that behave
   like those of footage the encoder never saw): windows of shots in scenes, ``K``
   (keyframes per shot) drawn from 1 to ``max_keyframes`` per batch so that one model serves
   every ``--keyframes-per-shot``; binary cross-entropy on "a scene ends after this shot",
   the last shot of each window masked (its answer lies outside the window).
4. **Validation** on fixed windows of held-out places at K = 1 and 3, decoded as the
   segmenter decodes (threshold 0.5): boundary precision / recall / F1 by shot gap; the step
   with the best K = 3 F1 is kept. Place retrieval of the encoder (nearest other held-out shot
   from the same place) is reported too.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidscene.errors import ConfigError
from vidscene.nn import create_model
from vidscene.nn.scene_transformer import SceneTransformer
from vidscene.prune import PruneSpec, prune_model
from vidscene.train import scenes_data as sd

__all__ = ["SceneTrainConfig", "embed_bank", "shot_inputs", "train_scenes"]

Log = Callable[[str], None]


@dataclass(frozen=True)
class SceneTrainConfig:
    """Everything that determines the trained weights besides the clips."""

    seed: int = 0
    shots_per_clip: int = 160
    procedural_places: int = 300
    procedural_shots: int = 6
    val_procedural_places: int = 60
    encoder_steps: int = 1500
    places_per_batch: int = 48
    temperature: float = 0.1
    encoder_lr: float = 2e-3
    scene_steps: int = 4000
    windows_per_batch: int = 32
    scene_lr: float = 1e-3
    weight_decay: float = 0.05
    validate_every: int = 250
    val_windows: int = 300
    threshold: float = 0.5
    augmented_embeddings: int = 2
    """Augmented embedding versions of each training image besides the clean one."""
    folds: int = 2
    """Cross-fitting folds of the training places (:func:`cross_fitted_embeddings`)."""


# -- data ----------------------------------------------------------------------------------------


def _banks(clips_dir: Path | None, data_dir: Path, cfg: SceneTrainConfig,
           image_size: tuple[int, int], log: Log, progress: bool
           ) -> tuple[sd.ShotBank, sd.ShotBank, dict[str, Any]]:
    from vidscene.train.shots_data import material_clips, split_clips

    clips: list[Path] = []
    durations: dict[str, float] = {}
    if clips_dir is not None:
        clips, durations = material_clips(clips_dir)
    train_names, held = split_clips(durations, cfg.seed) if durations else ([], [])
    by_name = {p.name: p for p in clips}
    recipe = {"seed": cfg.seed, "train_clips": train_names, "held_out_clips": held,
              "shots_per_clip": cfg.shots_per_clip, "procedural_places": cfg.procedural_places,
              "procedural_shots": cfg.procedural_shots,
              "val_procedural_places": cfg.val_procedural_places, "image_size": image_size}
    key = sd.bank_key(recipe)
    data_dir.mkdir(parents=True, exist_ok=True)
    banks = []
    for split, names, n_proc, proc_base in (
            ("train", train_names, cfg.procedural_places, 0),
            ("val", held, cfg.val_procedural_places, 1_000_000)):
        path = data_dir / f"scene-bank-{split}-{key}.npz"
        if path.is_file():
            banks.append(sd.ShotBank.load(path))
            continue
        log(f"rendering the {split} shot bank ({len(names)} clips, {n_proc} procedural places)")
        places = [sd.load_clip_place(by_name[n]) for n in names]
        places += [sd.procedural_place(cfg.seed * 10_000_000 + proc_base + i)
                   for i in range(n_proc)]
        counts = [cfg.shots_per_clip] * len(names) + [cfg.procedural_shots] * n_proc
        with _progress(progress) as bar:
            task = bar.add_task(f"{split} shots", total=sum(counts))

            def advance(done: int, _total: int, task: Any = task) -> None:
                bar.update(task, completed=done)

            bank = sd.build_bank(places, counts, cfg.seed + (7 if split == "val" else 0),
                                 image_size, advance)
        bank.save(path)
        banks.append(bank)
    return banks[0], banks[1], recipe


def _progress(enabled: bool) -> Any:
    from vidscene.train.shots_train import _progress as bar

    return bar(enabled)


# -- encoder -------------------------------------------------------------------------------------


def _augment(images: Tensor, gen: torch.Generator, mild: bool = False) -> Tensor:
    """Random resized crop (½–1 of the side; ¾–1 when ``mild``), mirror, colour and noise;
    ``(N, H, W, 3)`` ``uint8`` → ``(N, 3, H, W)`` in [-1, 1]."""
    x = images.permute(0, 3, 1, 2).float() / 255.0
    n = len(x)

    def uniform(lo: float, hi: float, *shape: int) -> Tensor:
        return lo + (hi - lo) * torch.rand(n, *shape, generator=gen)

    scale = uniform(0.75 if mild else 0.5, 1.0)
    aspect = torch.exp(uniform(-0.15, 0.15))
    sx, sy = scale * aspect.sqrt(), scale / aspect.sqrt()
    sx, sy = sx.clamp(max=1.0), sy.clamp(max=1.0)
    tx, ty = (1 - sx) * uniform(-1, 1), (1 - sy) * uniform(-1, 1)
    flip = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = sx * flip, tx
    theta[:, 1, 1], theta[:, 1, 2] = sy, ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    gain = uniform(0.75, 1.25, 1, 1, 1) * uniform(0.9, 1.1, 3, 1, 1)
    luma = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    x = luma + (x - luma) * uniform(0.6, 1.4, 1, 1, 1)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * uniform(0.7, 1.3, 1, 1, 1) + mean
    x = x * gain + torch.randn(x.shape, generator=gen) * uniform(0.0, 0.03, 1, 1, 1)
    return x.clamp(0, 1) * 2.0 - 1.0


def supcon_loss(z: Tensor, labels: Tensor, temperature: float) -> Tensor:
    """Supervised contrastive loss of unit rows ``z`` with ``labels`` (same label = positive)."""
    sim = z @ z.T / temperature
    eye = torch.eye(len(z), dtype=torch.bool)
    sim = sim.masked_fill(eye, -1e9)
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    positive = (labels[:, None] == labels[None, :]) & ~eye
    count = positive.sum(1)
    keep = count > 0
    return -((log_prob * positive).sum(1)[keep] / count[keep]).mean()


def _encoder_batch(bank: sd.ShotBank, by_place: list[np.ndarray], real: np.ndarray,
                   cfg: SceneTrainConfig, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``bank.images`` and their place labels: every real place (they are few and the
    hardest) plus procedural ones, two shots each, one random frame per shot."""
    others = np.array([p for p in range(len(by_place)) if p not in set(real.tolist())
                       and len(by_place[p]) >= 2])
    n_other = max(0, cfg.places_per_batch - len(real))
    places = np.concatenate([real, rng.choice(others, size=min(n_other, len(others)),
                                              replace=False)]) if len(others) else real
    rows, labels = [], []
    for p in places:
        for shot in rng.choice(by_place[p], size=2, replace=False):
            lo, hi = bank.shot_start[shot], bank.shot_start[shot + 1]
            rows.append(int(rng.integers(lo, hi)))
            labels.append(int(p))
    return np.array(rows), np.array(labels)


def train_encoder(model: SceneTransformer, bank: sd.ShotBank, cfg: SceneTrainConfig, log: Log,
                  progress: bool, places: set[int] | None = None, label: str = "keyframe encoder"
                  ) -> list[float]:
    """SupCon training of ``model.encoder`` on ``bank`` (only on ``places``, when given);
    returns the loss per 100 steps."""
    encoder = model.encoder
    encoder.train()
    by_place = [shots if places is None or p in places else shots[:0]
                for p, shots in enumerate(bank.shots_of_place())]
    real = np.array([p for p, name in enumerate(bank.place_names)
                     if not name.startswith("procedural:") and len(by_place[p]) >= 2], np.int64)
    rng = np.random.default_rng([cfg.seed, 0x454E43])  # "ENC"
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(encoder.parameters(), lr=cfg.encoder_lr,
                            weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.encoder_lr, total_steps=cfg.encoder_steps,
                                                pct_start=0.05)
    images = torch.from_numpy(bank.images)
    losses, running = [], []
    with _progress(progress) as bar:
        task = bar.add_task(label, total=cfg.encoder_steps)
        for step in range(cfg.encoder_steps):
            rows, labels = _encoder_batch(bank, by_place, real, cfg, rng)
            batch = images[torch.from_numpy(rows)]
            views = torch.cat([_augment(batch, gen), _augment(batch, gen)])
            z = encoder.embed(views)
            loss = supcon_loss(z, torch.from_numpy(np.concatenate([labels, labels])),
                               cfg.temperature)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running.append(loss.item())
            if (step + 1) % 100 == 0:
                losses.append(round(float(np.mean(running)), 4))
                running = []
                log(f"{label} step {step + 1}: loss {losses[-1]:.3f}")
            bar.update(task, advance=1)
    encoder.eval()
    return losses


@torch.inference_mode()
def embed_bank(model: SceneTransformer, bank: sd.ShotBank, batch: int = 512,
               augment: torch.Generator | None = None, rows: np.ndarray | None = None
               ) -> np.ndarray:
    """Every image of ``bank`` (or the ``rows`` given) through the (eval-mode) encoder:
    ``(N, embed_dim)``; with ``augment``, of a randomly augmented copy of each image."""
    model.encoder.eval()
    rows = np.arange(len(bank.images)) if rows is None else rows
    out = []
    for i in range(0, len(rows), batch):
        images = torch.from_numpy(bank.images[rows[i:i + batch]])
        if augment is None:
            out.append(model.encoder(images).numpy())
        else:
            out.append(model.encoder.embed(_augment(images, augment, mild=True)).numpy())
    return np.concatenate(out)


def place_retrieval(bank: sd.ShotBank, embeddings: np.ndarray) -> float:
    """Share of shots whose nearest other shot (mean keyframe embedding, K = 3) shows the same
    place: how well the encoder groups held-out places."""
    means = np.stack([embeddings[bank.selection[s][2]].mean(0) for s in range(bank.shots)])
    means /= np.linalg.norm(means, axis=1, keepdims=True).clip(1e-9)
    sim = means @ means.T
    np.fill_diagonal(sim, -np.inf)
    return float(np.mean(bank.place[sim.argmax(1)] == bank.place))


def cross_fitted_embeddings(bank: sd.ShotBank, cfg: SceneTrainConfig, model_config: dict[str, Any],
                            log: Log, progress: bool) -> np.ndarray:
    """``(1 + augmented_embeddings, N, D)`` embeddings of the training bank, each image embedded
    by an encoder that never saw its place.

    An encoder groups the places it was trained on far more tightly than new ones; a sequence
    model trained on those embeddings learns to expect near-perfect matches inside scenes and
    over-segments new footage (measured without it: held-out F1 fell from 0.75 to 0.68 while
    the training loss went to 0.04). So the
    training places are split into ``cfg.folds`` folds, one encoder is trained per fold on the
    other folds, and each fold's images are embedded (clean and augmented) by its own encoder;
    the shipped encoder is trained on all places afterwards."""
    folds = max(2, cfg.folds)
    fold_of = np.arange(len(bank.place_names)) % folds
    # Real clips and procedural places are spread over the folds separately.
    real = [p for p, n in enumerate(bank.place_names) if not n.startswith("procedural:")]
    for i, p in enumerate(real):
        fold_of[p] = i % folds
    versions = 1 + cfg.augmented_embeddings
    out: np.ndarray | None = None
    for fold in range(folds):
        encoder_model = create_model("scene-transformer", **model_config)
        assert isinstance(encoder_model, SceneTransformer)
        others = {int(p) for p in np.flatnonzero(fold_of != fold)}
        train_encoder(encoder_model, bank, cfg, log, progress, places=others,
                      label=f"encoder fold {fold + 1}/{folds}")
        shots = np.flatnonzero(fold_of[bank.place] == fold)
        rows = np.concatenate([np.arange(bank.shot_start[s], bank.shot_start[s + 1])
                               for s in shots])
        gen = torch.Generator().manual_seed(cfg.seed + 1 + fold)
        emb = [embed_bank(encoder_model, bank, rows=rows)] + [
            embed_bank(encoder_model, bank, augment=gen, rows=rows) for _ in range(versions - 1)]
        if out is None:
            out = np.zeros((versions, len(bank.images), emb[0].shape[1]), np.float32)
        out[:, rows] = np.stack(emb)
    assert out is not None
    return out


# -- scene transformer ---------------------------------------------------------------------------


def shot_inputs(bank: sd.ShotBank, embeddings: np.ndarray, windows: list[sd.Window], k: int,
                rng: np.random.Generator | None = None
                ) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Model inputs and targets for ``windows`` at ``k`` keyframes per shot: keyframes
    ``(B, S, k, D)``, kmask, durations, descriptors, ends ``(B, S)`` (−1 = padding).

    ``embeddings`` is ``(N, D)``, or ``(V, N, D)``: V versions of each image's embedding (clean
    and augmented), one drawn per keyframe with ``rng``."""
    b, s = len(windows), max(len(w.shots) for w in windows)
    d = embeddings.shape[-1]
    if embeddings.ndim == 3 and rng is None:
        embeddings = embeddings[0]
    keys = np.zeros((b, s, k, d), np.float32)
    kmask = np.zeros((b, s, k), bool)
    seconds = np.ones((b, s), np.float32)
    desc = np.zeros((b, s, bank.descriptor.shape[1]), np.float32)
    ends = np.full((b, s), -1, np.int64)
    for i, w in enumerate(windows):
        for j, shot in enumerate(w.shots):
            rows = bank.selection[shot][k - 1]
            if embeddings.ndim == 3:
                assert rng is not None
                keys[i, j, :len(rows)] = embeddings[rng.integers(len(embeddings), size=len(rows)),
                                                    rows]
            else:
                keys[i, j, :len(rows)] = embeddings[rows]
            kmask[i, j, :len(rows)] = True
        seconds[i, :len(w.shots)] = bank.seconds[w.shots]
        desc[i, :len(w.shots)] = bank.descriptor[w.shots]
        ends[i, :len(w.shots)] = w.ends
    return (torch.from_numpy(keys), torch.from_numpy(kmask), torch.from_numpy(seconds),
            torch.from_numpy(desc), torch.from_numpy(ends))


def similar_places(bank: sd.ShotBank, embeddings: np.ndarray) -> np.ndarray:
    """Per place, the other places by likeness of their mean keyframe embedding."""
    means = np.zeros((len(bank.place_names), embeddings.shape[1]))
    for p, shots in enumerate(bank.shots_of_place()):
        rows = np.concatenate([bank.selection[s][0] for s in shots])
        means[p] = embeddings[rows].mean(0)
    means /= np.linalg.norm(means, axis=1, keepdims=True).clip(1e-9)
    return np.argsort(-(means @ means.T), axis=1)


def boundary_scores(probabilities: np.ndarray, ends: np.ndarray, threshold: float
                    ) -> dict[str, float]:
    """Precision / recall / F1 of "a scene ends after this shot" over the scored gaps."""
    scored = ends >= 0
    predicted = (probabilities >= threshold) & scored
    truth = (ends == 1) & scored
    tp = float((predicted & truth).sum())
    precision = tp / max(float(predicted.sum()), 1.0)
    recall = tp / max(float(truth.sum()), 1.0)
    f1 = 2 * precision * recall / max(precision + recall, 1e-9)
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _loss_mask(ends: Tensor) -> Tensor:
    """Scored shots: real ones, except each window's last (its answer lies beyond it)."""
    valid = ends >= 0
    last = valid.sum(1) - 1
    mask = valid.clone()
    mask[torch.arange(len(ends)), last] = False
    return mask


@torch.inference_mode()
def _validate(model: SceneTransformer, bank: sd.ShotBank, embeddings: np.ndarray,
              windows: list[sd.Window], threshold: float) -> dict[str, Any]:
    model.eval()
    out: dict[str, Any] = {}
    for k in (1, 3):
        keys, kmask, seconds, desc, ends = shot_inputs(bank, embeddings, windows, k)
        prob = torch.sigmoid(model(keys, kmask, seconds, desc))
        mask = _loss_mask(ends)
        scored = torch.where(mask, ends, torch.full_like(ends, -1))
        out[f"k{k}"] = boundary_scores(prob.numpy(), scored.numpy(), threshold)
    model.train()
    return out


SequenceBatch = tuple[Tensor, Tensor, Tensor, Tensor, Tensor]
"""keyframes, kmask, durations, descriptors, ends (:func:`shot_inputs`)."""


def _sequence_batch(train: sd.ShotBank, train_emb: np.ndarray, by_place: list[np.ndarray],
                    similar: np.ndarray, window: int, cfg: SceneTrainConfig,
                    rng: np.random.Generator) -> SequenceBatch:
    """One training mini-batch of windows, at a random number of keyframes per shot."""
    # Shorter windows too: the end of a film, and films with few shots.
    length = window if rng.random() < 0.7 else int(rng.integers(4, window + 1))
    windows = [sd.sample_window(train, by_place, length, rng, similar)
               for _ in range(cfg.windows_per_batch)]
    k = int(rng.integers(1, sd.MAX_KEYFRAMES + 1))
    keys, kmask, seconds, desc, ends = shot_inputs(train, train_emb, windows, k, rng)
    # Some keyframes of multi-keyframe shots go missing (short shots have fewer).
    if k > 1:
        drop = torch.rand(kmask.shape) < 0.15
        drop[..., 0] = False
        kmask = kmask & ~drop
    return keys, kmask, seconds, desc, ends


def sequence_loss(model: nn.Module, batch: SequenceBatch) -> tuple[Tensor, Tensor]:
    """``(loss, logits)``: weighted BCE of "a scene ends after this shot" on scored shots."""
    keys, kmask, seconds, desc, ends = batch
    logits = model(keys, kmask, seconds, desc)
    mask = _loss_mask(ends)
    target = ends.clamp(min=0).float()
    loss = F.binary_cross_entropy_with_logits(logits[mask], target[mask],
                                              pos_weight=torch.tensor(2.0))
    return loss, logits


def train_sequence(model: SceneTransformer, train: sd.ShotBank, train_emb: np.ndarray,
                   val: sd.ShotBank, val_emb: np.ndarray, cfg: SceneTrainConfig, log: Log,
                   progress: bool, pruning: PruneSpec | None = None
                   ) -> tuple[dict[str, Tensor], list[dict[str, Any]], dict[str, Any] | None]:
    """Train the sequence part (encoder frozen); returns the best state, the curve and, with
    ``pruning``, the pruning card section (the sequence transformer pruned before its first
    step, scored on mini-batches of its own training windows)."""
    window = model.config.window
    rng = np.random.default_rng([cfg.seed, 0x534551])  # "SEQ"
    by_place = train.shots_of_place()
    similar = similar_places(train, train_emb[0] if train_emb.ndim == 3 else train_emb)
    val_rng = np.random.default_rng([cfg.seed, 0x56414C])  # "VAL"
    val_windows = [sd.sample_window(val, val.shots_of_place(), window, val_rng,
                                    similar_places(val, val_emb))
                   for _ in range(cfg.val_windows)]
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    pruned: dict[str, Any] | None = None
    if pruning is not None:
        score_rng = np.random.default_rng([cfg.seed, 0x5052])  # "PR"
        batches = (_sequence_batch(train, train_emb, by_place, similar, window, cfg, score_rng)
                   for _ in range(pruning.score_batches))
        pruned = prune_model(model, pruning, batches, sequence_loss, seed=cfg.seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.scene_lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, cfg.scene_lr, total_steps=cfg.scene_steps,
                                                pct_start=0.05)
    model.train()
    curve: list[dict[str, Any]] = []
    best_f1, best_state = -1.0, copy.deepcopy(model.state_dict())
    running: list[float] = []
    with _progress(progress) as bar:
        task = bar.add_task("scene transformer", total=cfg.scene_steps)
        for step in range(cfg.scene_steps):
            batch = _sequence_batch(train, train_emb, by_place, similar, window, cfg, rng)
            loss, _ = sequence_loss(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            running.append(loss.item())
            if (step + 1) % cfg.validate_every == 0 or step + 1 == cfg.scene_steps:
                scores = _validate(model, val, val_emb, val_windows, cfg.threshold)
                curve.append({"step": step + 1, "loss": round(float(np.mean(running)), 4),
                              **scores})
                running = []
                log(f"scene step {step + 1}: loss {curve[-1]['loss']:.3f}, val F1 K=1 "
                    f"{scores['k1']['f1']:.3f}, K=3 {scores['k3']['f1']:.3f}")
                if scores["k3"]["f1"] > best_f1:
                    best_f1 = scores["k3"]["f1"]
                    best_state = copy.deepcopy(model.state_dict())
            bar.update(task, advance=1)
    for p in model.encoder.parameters():
        p.requires_grad_(True)
    return best_state, curve, pruned


# -- the whole recipe ----------------------------------------------------------------------------


def _markdown(card: Mapping[str, Any], weights: Path) -> str:
    best = card["validation"]["best"]
    lines = [
        f"# {weights.name}: vidscene's scene model", "",
        "Registry name `scene-transformer` (keyframe encoder + shot-sequence transformer), "
        f"{card['parameters']:,} parameters ({card['encoder_parameters']:,} in the encoder), "
        f"{card['file_size_bytes']:,} bytes.", "",
        "## Data", "",
        "Synthetic shots only (`vidscene.train.scenes_data`): shots of single-shot development "
        "clips from `../shared/data/clips` (no PySceneDetect test clip, no clip with real cuts) "
        "and of procedural places, each shot a differently framed and coloured segment of its "
        "place, sampled as the analysis pipeline samples; scenes are runs of shots of one "
        "place in shuffled order, or of two places cut back and forth (shot / reverse shot). "
        "Whole clips held out for validation. The sequence model trained on cross-fitted "
        "embeddings (each place embedded by a fold encoder trained without it).", "",
        f"- training clips: {', '.join(card['data']['train_clips']) or 'none'}",
        f"- held-out clips: {', '.join(card['data']['held_out_clips']) or 'none'}",
        f"- shots: {card['data']['train_shots']:,} training, {card['data']['val_shots']:,} "
        "held-out", "",
        "## Recipe", "",
        f"`{card['command']}`", "",
        f"Training took {card['seconds'] / 60:.1f} min on {card['machine']} "
        f"({card['date']}).", "",
        "```json", json.dumps(card["recipe"], indent=1, sort_keys=True), "```", "",
        "## Validation (held-out places)", "",
        f"Keyframe encoder, place retrieval at 1 (nearest other shot shows the same place): "
        f"{card['validation']['place_retrieval']:.3f}.", "",
        f"Scene ends at threshold {card['recipe']['threshold']}, best step {best['step']}: "
        f"K = 1 F1 {best['k1']['f1']:.3f} (P {best['k1']['precision']:.3f}, R "
        f"{best['k1']['recall']:.3f}); K = 3 F1 {best['k3']['f1']:.3f} (P "
        f"{best['k3']['precision']:.3f}, R {best['k3']['recall']:.3f}).", "",
        "| step | loss | F1 K=1 | F1 K=3 |", "|---|---|---|---|",
        *(f"| {c['step']} | {c['loss']:.3f} | {c['k1']['f1']:.3f} | {c['k3']['f1']:.3f} |"
          for c in card["validation"]["curve"]),
        "", "Benchmark numbers: `BENCHMARKS.md`, section Scenes.", ""]
    return "\n".join(lines)


def train_scenes(*, out: Path, data_dir: Path, clips_dir: Path | None,
                 cfg: SceneTrainConfig | None = None, threads: int = 2, progress: bool = True,
                 command: str = "", log: Log | None = None,
                 model_config: Mapping[str, Any] | None = None,
                 pruning: PruneSpec | None = None) -> dict[str, Any]:
    """The whole recipe (module docstring); writes ``out`` and its Markdown card. With
    ``pruning``, the sequence transformer is pruned before its training (the keyframe encoder,
    a CNN, is not)."""
    import platform

    cfg = cfg or SceneTrainConfig()
    log = log or (lambda _m: None)
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    start = time.perf_counter()
    model = create_model("scene-transformer", **dict(model_config or {}))
    if not isinstance(model, SceneTransformer):
        raise ConfigError("scene-transformer is not a SceneTransformer")
    train, val, recipe = _banks(clips_dir, data_dir, cfg, model.config.image_size, log, progress)
    if len(set(train.place.tolist())) < 2 or len(set(val.place.tolist())) < 2:
        raise ConfigError("scene training needs at least two training and two held-out places")
    log(f"banks: {train.shots} training shots, {val.shots} held-out shots")
    train_emb = cross_fitted_embeddings(train, cfg, model.config.to_dict(), log, progress)
    encoder_losses = train_encoder(model, train, cfg, log, progress)
    val_emb = embed_bank(model, val)
    retrieval = place_retrieval(val, val_emb)
    log(f"encoder: held-out place retrieval@1 {retrieval:.3f}")
    state, curve, pruned = train_sequence(model, train, train_emb, val, val_emb, cfg, log,
                                          progress, pruning)
    best = max(curve, key=lambda c: c["k3"]["f1"])
    seconds = time.perf_counter() - start
    card = {
        "task": "scene segmentation",
        "command": command,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {threads} threads",
        "seconds": round(seconds, 1),
        "recipe": asdict(cfg),
        "data": {**recipe, "train_shots": train.shots, "val_shots": val.shots},
        "parameters": sum(p.numel() for p in model.parameters()),
        "encoder_parameters": sum(p.numel() for p in model.encoder.parameters()),
        "threshold": cfg.threshold,
        "validation": {"place_retrieval": round(retrieval, 4), "best": best, "curve": curve,
                       "encoder_loss_per_100_steps": encoder_losses},
    }
    if pruned is not None:
        card["pruning"] = pruned
    from vidscene.train.shots_train import save_weights

    save_weights(model, state, out, card, markdown=_markdown)
    log(f"wrote {out} ({seconds / 60:.1f} min)")
    return {"weights": str(out), "card": str(out.with_suffix(".md")), "best": best,
            "place_retrieval": retrieval, "seconds": seconds}
