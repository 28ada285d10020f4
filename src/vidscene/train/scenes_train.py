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
   With ``sound`` in the model's config, each window also gets a soundtrack planned with its
   scenes (:mod:`vidscene.train.scene_sound`: beds of the places, the dev clips' own audio
   where they have it; a fifth of the windows silent), measured by the pipeline's own
   :func:`vidscene.scenes.shot_sound_features`; the held-out windows and sequences are heard
   with their own beds and voices.
4. **Validation** on fixed windows of held-out places at K = 1 and 3 (threshold 0.5):
   boundary precision / recall / F1 by shot gap; the step with the best K = 3 F1 is kept.
   Place retrieval of the encoder (nearest other held-out shot from the same place) is
   reported too.
5. **Decoder** (:func:`calibrate_decoder`): the scene prior is measured on the training
   material (:func:`scene_prior_statistics`); the decoder's threshold and the prior's weight
   are chosen on long held-out sequences (300 shots each), read and decoded exactly as the
   segmenter does, by the one-standard-error rule (of the settings within one standard error
   of the best boundary F1, the strongest prior). Both go into the card's ``decoder`` section.

``material`` says how scenes are drawn (:data:`MATERIALS`): ``film`` (a film's scene structure,
with transitions), ``mixed`` (v2: 70 % film windows, 30 % fast-paced ones) or ``short`` (v1).
``init_weights`` starts from a saved model and keeps its keyframe encoder (v2 started from
v1). The cross-fitted embeddings are cached beside the banks, so retraining the sequence model
on the same banks skips the fold encoders.
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
from vidscene.nn.scene_transformer import (
    SOUND_FEATURES,
    TRANSITION_FEATURES,
    SceneTransformer,
    transition_features,
)
from vidscene.prune import PruneSpec, prune_model
from vidscene.train import scene_sound as ss
from vidscene.train import scenes_data as sd

__all__ = ["SceneTrainConfig", "embed_bank", "shot_inputs", "train_scenes"]

Log = Callable[[str], None]

SequenceBatch = tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]
"""keyframes, kmask, durations, descriptors, transitions, sound, ends (:func:`shot_inputs`)."""


@dataclass
class Sounds:
    """A bank's sound: the beds (:class:`~vidscene.train.scene_sound.SoundBank`) and the
    bed of each place of the shot bank."""

    bank: ss.SoundBank
    beds: np.ndarray

    def of(self, shots: sd.ShotBank, w: sd.Window, rng: np.random.Generator) -> np.ndarray:
        """Per-shot sound features of window ``w`` (a freshly planned soundtrack)."""
        return ss.window_sound(shots.seconds[w.shots].astype(np.float64), w.ends,
                               shots.place[w.shots], self.beds, self.bank, rng)


@dataclass(frozen=True)
class SceneTrainConfig:
    """Everything that determines the trained weights besides the clips."""

    seed: int = 0
    shots_per_clip: int = 160
    procedural_places: int = 300
    procedural_shots: int = 12
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
    material: str = "mixed"
    """How scenes are drawn from the banks (:data:`MATERIALS`): ``film``, a film's scene
    structure with transitions; ``mixed``, mostly that and some fast-paced windows (short
    scenes, one-shot ones common); ``short``, the first model's short scenes, cuts only."""
    val_films: int = 12
    """Long held-out sequences (:data:`VAL_FILM_SHOTS` shots each) on which the decoder's
    threshold and scene-prior weight are chosen."""
    sound_beds: int = 120
    """Procedural sound beds for the training places (models with ``sound`` only)."""
    val_sound_beds: int = 40
    """Procedural sound beds for the held-out places (other voices, other seeds)."""


# -- data ----------------------------------------------------------------------------------------

PACED_STYLE = sd.WindowStyle(scene_shots=(1, 20, 0.85), between=sd.FILM_STYLE.between,
                             within=sd.FILM_STYLE.within)
"""Fast-paced editing (television, trailers, montage): short scenes, one-shot ones common,
with the film material's transitions."""
MATERIALS: dict[str, tuple[tuple[float, sd.WindowStyle], ...]] = {
    "short": ((1.0, sd.SHORT_STYLE),),
    "film": ((1.0, sd.FILM_STYLE),),
    "mixed": ((0.7, sd.FILM_STYLE), (0.3, PACED_STYLE)),
}
"""``--material`` choices: the window styles (``scenes_data.WindowStyle``) drawn, by share,
for each window (each held-out sequence, each prior sample): a whole window keeps one pace,
as a whole video does."""


def draw_style(material: str, rng: np.random.Generator) -> sd.WindowStyle:
    """One window style of ``material`` (:data:`MATERIALS`)."""
    options = MATERIALS[material]
    if len(options) == 1:
        return options[0][1]
    shares = np.array([share for share, _ in options])
    return options[int(rng.choice(len(options), p=shares / shares.sum()))][1]



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


def _sound_banks(clips_dir: Path | None, data_dir: Path, cfg: SceneTrainConfig,
                 recipe: Mapping[str, Any], train: sd.ShotBank, val: sd.ShotBank, log: Log,
                 progress: bool) -> tuple[Sounds, Sounds, dict[str, Any]]:
    """The training and held-out sound banks (cached in ``data_dir``) and the card's
    ``sound`` section."""
    from vidscene.train.shots_data import material_clips

    by_name = {p.name: p for p in material_clips(clips_dir)[0]} if clips_dir else {}
    out = []
    for split, names, beds in (("train", recipe["train_clips"], cfg.sound_beds),
                               ("val", recipe["held_out_clips"], cfg.val_sound_beds)):
        parts = {"seed": cfg.seed, "clips": list(names), "beds": beds, "split": split}
        path = data_dir / f"scene-sound-{split}-{ss.sound_key(parts)}.npz"
        if path.is_file():
            bank = ss.SoundBank.load(path)
        else:
            log(f"rendering the {split} sound beds ({beds} procedural, clips' own audio)")
            with _progress(progress) as bar:
                task = bar.add_task(f"{split} sound", total=beds)

                def advance(done: int, _total: int, task: Any = task) -> None:
                    bar.update(task, completed=done)

                bank = ss.build_sound_bank([by_name[n] for n in names if n in by_name], beds,
                                           cfg.seed, held_out=split == "val", progress=advance)
            bank.save(path)
        out.append(bank)
    sounds = [Sounds(bank, ss.place_beds(shots.place_names, bank))
              for bank, shots in zip(out, (train, val), strict=True)]
    data: dict[str, Any] = {
        split: {"clips_with_audio": [n for n, k in zip(b.names, b.kinds, strict=True)
                                     if k == "clip"],
                "beds": {k: b.kinds.count(k) for k in ss.BED_KINDS}}
        for split, b in zip(("train", "val"), out, strict=True)}
    data["silent_window_share"] = ss.SILENT_P
    return sounds[0], sounds[1], data


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


def _cached_cross_fit(data_dir: Path, recipe: Mapping[str, Any], bank: sd.ShotBank,
                      cfg: SceneTrainConfig, model_config: dict[str, Any], log: Log,
                      progress: bool) -> tuple[np.ndarray, bool]:
    """:func:`cross_fitted_embeddings` and whether they came from the cache, kept in
    ``data_dir`` under a name that hashes the bank
    recipe and everything that shapes the fold encoders (their training takes most of the
    recipe's time, and the sequence model can be retrained on the same embeddings)."""
    encoder_keys = ("seed", "encoder_steps", "places_per_batch", "temperature", "encoder_lr",
                    "weight_decay", "augmented_embeddings", "folds")
    parts = {"bank": dict(recipe), "train": {k: getattr(cfg, k) for k in encoder_keys},
             "encoder": {k: v for k, v in model_config.items()
                         if k in ("image_size", "encoder_channels", "embed_dim", "groups")},
             "version": "cross-fit/1"}
    path = data_dir / f"scene-crossfit-{sd.bank_key(parts)}.npy"
    if path.is_file():
        log(f"cross-fitted embeddings from {path.name}")
        return np.load(path), True
    out = cross_fitted_embeddings(bank, cfg, model_config, log, progress)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, out)
    tmp.replace(path)
    return out, False


# -- scene transformer ---------------------------------------------------------------------------


def shot_inputs(bank: sd.ShotBank, embeddings: np.ndarray, windows: list[sd.Window], k: int,
                rng: np.random.Generator | None = None,
                sounds: list[np.ndarray] | None = None) -> SequenceBatch:
    """Model inputs and targets for ``windows`` at ``k`` keyframes per shot: keyframes
    ``(B, S, k, D)``, kmask, durations, descriptors, transitions ``(B, S, 4)``, sound
    ``(B, S, len(SOUND_FEATURES))`` (``sounds[i]`` per window; zeros without), ends
    ``(B, S)`` (−1 = padding).

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
    transitions = np.zeros((b, s, len(TRANSITION_FEATURES)), np.float32)
    sound = np.zeros((b, s, len(SOUND_FEATURES)), np.float32)
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
        transitions[i, :len(w.shots)] = window_transitions(w)
        if sounds is not None:
            sound[i, :len(w.shots)] = sounds[i]
        ends[i, :len(w.shots)] = w.ends
    return (torch.from_numpy(keys), torch.from_numpy(kmask), torch.from_numpy(seconds),
            torch.from_numpy(desc), torch.from_numpy(transitions), torch.from_numpy(sound),
            torch.from_numpy(ends))


def window_transitions(w: sd.Window) -> np.ndarray:
    """A window's transitions as model inputs (``(S, 4)``; all cuts when it has none)."""
    if w.transition is None or w.transition_seconds is None:
        return np.zeros((len(w.shots), len(TRANSITION_FEATURES)), np.float32)
    kinds = [sd.TRANSITION_KINDS[int(t)] for t in w.transition]
    return transition_features(kinds, w.transition_seconds.tolist())


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
              windows: list[sd.Window], threshold: float,
              sounds: list[np.ndarray] | None = None) -> dict[str, Any]:
    model.eval()
    out: dict[str, Any] = {}
    for k in (1, 3):
        keys, kmask, seconds, desc, trans, sound, ends = shot_inputs(bank, embeddings, windows,
                                                                     k, sounds=sounds)
        prob = torch.sigmoid(model(keys, kmask, seconds, desc, trans, sound))
        mask = _loss_mask(ends)
        scored = torch.where(mask, ends, torch.full_like(ends, -1))
        out[f"k{k}"] = boundary_scores(prob.numpy(), scored.numpy(), threshold)
    model.train()
    return out




def _sequence_batch(train: sd.ShotBank, train_emb: np.ndarray, by_place: list[np.ndarray],
                    similar: np.ndarray, window: int, cfg: SceneTrainConfig,
                    rng: np.random.Generator, sound: Sounds | None = None) -> SequenceBatch:
    """One training mini-batch of windows, at a random number of keyframes per shot."""
    # Shorter windows too: the end of a film, and films with few shots.
    length = window if rng.random() < 0.7 else int(rng.integers(4, window + 1))
    windows = [sd.sample_window(train, by_place, length, rng, similar,
                                style=draw_style(cfg.material, rng))
               for _ in range(cfg.windows_per_batch)]
    k = int(rng.integers(1, sd.MAX_KEYFRAMES + 1))
    # Each window's soundtrack is planned afresh; some videos have none.
    sounds = None if sound is None else [
        sound.of(train, w, rng) if rng.random() >= ss.SILENT_P
        else np.zeros((len(w.shots), len(SOUND_FEATURES)), np.float32) for w in windows]
    keys, kmask, seconds, desc, trans, heard, ends = shot_inputs(train, train_emb, windows, k,
                                                                 rng, sounds)
    # Some keyframes of multi-keyframe shots go missing (short shots have fewer).
    if k > 1:
        drop = torch.rand(kmask.shape) < 0.15
        drop[..., 0] = False
        kmask = kmask & ~drop
    # Some videos come with cuts only (or a detector that names no gradual type): the model
    # must not depend on transitions being there.
    plain = torch.rand(len(windows)) < 0.2
    trans[plain] = 0.0
    return keys, kmask, seconds, desc, trans, heard, ends


def sequence_loss(model: nn.Module, batch: SequenceBatch) -> tuple[Tensor, Tensor]:
    """``(loss, logits)``: weighted BCE of "a scene ends after this shot" on scored shots."""
    keys, kmask, seconds, desc, trans, sound, ends = batch
    logits = model(keys, kmask, seconds, desc, trans, sound)
    mask = _loss_mask(ends)
    target = ends.clamp(min=0).float()
    loss = F.binary_cross_entropy_with_logits(logits[mask], target[mask],
                                              pos_weight=torch.tensor(2.0))
    return loss, logits


def train_sequence(model: SceneTransformer, train: sd.ShotBank, train_emb: np.ndarray,
                   val: sd.ShotBank, val_emb: np.ndarray, cfg: SceneTrainConfig, log: Log,
                   progress: bool, pruning: PruneSpec | None = None,
                   train_sound: Sounds | None = None, val_sound: Sounds | None = None
                   ) -> tuple[dict[str, Tensor], list[dict[str, Any]], dict[str, Any] | None]:
    """Train the sequence part (encoder frozen); returns the best state, the curve and, with
    ``pruning``, the pruning card section (the sequence transformer pruned before its first
    step, scored on mini-batches of its own training windows). ``train_sound`` /
    ``val_sound``: soundtracks for a model with ``sound``."""
    window = model.config.window
    rng = np.random.default_rng([cfg.seed, 0x534551])  # "SEQ"
    by_place = train.shots_of_place()
    similar = similar_places(train, train_emb[0] if train_emb.ndim == 3 else train_emb)
    val_rng = np.random.default_rng([cfg.seed, 0x56414C])  # "VAL"
    val_windows = [sd.sample_window(val, val.shots_of_place(), window, val_rng,
                                    similar_places(val, val_emb),
                                    style=draw_style(cfg.material, val_rng))
                   for _ in range(cfg.val_windows)]
    val_sounds = (None if val_sound is None
                  else [val_sound.of(val, w, val_rng) for w in val_windows])
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    # Dropout draws from the global generator: seeded here, so a run whose cross-fitted
    # embeddings came from the cache trains exactly as the run that computed them.
    torch.manual_seed(cfg.seed + 0x534551)
    pruned: dict[str, Any] | None = None
    if pruning is not None:
        score_rng = np.random.default_rng([cfg.seed, 0x5052])  # "PR"
        batches = (_sequence_batch(train, train_emb, by_place, similar, window, cfg, score_rng,
                                   train_sound)
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
            batch = _sequence_batch(train, train_emb, by_place, similar, window, cfg, rng,
                                    train_sound)
            loss, _ = sequence_loss(model, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            running.append(loss.item())
            if (step + 1) % cfg.validate_every == 0 or step + 1 == cfg.scene_steps:
                scores = _validate(model, val, val_emb, val_windows, cfg.threshold, val_sounds)
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


# -- decoder -------------------------------------------------------------------------------------

def scene_prior_statistics(bank: sd.ShotBank, material: str, seed: int,
                           windows: int = 200, length: int = 400) -> dict[str, Any]:
    """What scenes of ``material`` (:data:`MATERIALS`) look like when drawn from ``bank``: the
    median of log scene seconds, the mean absolute deviation from it, and the share of
    one-shot scenes. This is the decoder's prior: learnt from the training material, not set
    by hand or fitted on any test film."""
    rng = np.random.default_rng([seed, 0x5052494F])  # "PRIO"
    by_place = bank.shots_of_place()
    seconds: list[float] = []
    shots: list[int] = []
    for _ in range(windows):
        w = sd.sample_window(bank, by_place, length, rng, style=draw_style(material, rng))
        bounds = [0, *(np.flatnonzero(w.ends[:-1]) + 1).tolist()]
        # Whole scenes only: the window's first and last scenes may be cut short.
        for a, b in zip(bounds[1:-1], bounds[2:], strict=False):
            seconds.append(float(bank.seconds[w.shots[a:b]].sum()))
            shots.append(b - a)
    logs = np.log(np.maximum(seconds, 1e-3))
    median = float(np.median(logs))
    return {"log_seconds_median": round(median, 4),
            "log_seconds_scale": round(float(np.mean(np.abs(logs - median))), 4),
            "one_shot_share": round(float(np.mean(np.array(shots) == 1)), 4),
            "scenes": len(shots)}


VAL_FILM_SHOTS = 300
"""Shots in each long held-out sequence the decoder is calibrated on."""
DECODER_THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
PRIOR_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0)


@torch.inference_mode()
def calibrate_decoder(model: SceneTransformer, val: sd.ShotBank, val_emb: np.ndarray,
                      stats: Mapping[str, Any], cfg: SceneTrainConfig, log: Log,
                      keyframes: int = 1, sound: Sounds | None = None) -> dict[str, Any]:
    """The decoder's threshold and scene-prior weight, chosen on ``cfg.val_films`` long
    sequences of held-out places (read in overlapping windows and decoded exactly as the
    segmenter does) at ``keyframes`` per shot (the analysis default): of the settings whose
    boundary F1 lies within one standard error of the best, the one with the strongest prior.
    ``stats`` is the prior measured on the training material
    (:func:`scene_prior_statistics`). With ``sound``, every sequence has a soundtrack."""
    from vidscene.scenes._decode import ScenePrior, decode_scenes
    from vidscene.scenes._transformer import window_probabilities

    model.eval()
    rng = np.random.default_rng([cfg.seed, 0x44454344])  # "DECD"
    by_place = val.shots_of_place()
    similar = similar_places(val, val_emb)
    films = []
    for _ in range(cfg.val_films):
        w = sd.sample_window(val, by_place, VAL_FILM_SHOTS, rng, similar,
                             style=draw_style(cfg.material, rng))
        sounds = None if sound is None else [sound.of(val, w, rng)]
        keys, kmask, durations, desc, trans, heard, _ends = shot_inputs(
            val, val_emb, [w], keyframes, sounds=sounds)
        p = window_probabilities(model, keys[0].numpy(), kmask[0].numpy(),
                                 durations[0].numpy(), desc[0].numpy(), trans[0].numpy(),
                                 heard[0].numpy())
        truth = set((np.flatnonzero(w.ends[:-1]) + 1).tolist())
        films.append((p, durations[0].numpy(), truth))
    grid = []
    for threshold in DECODER_THRESHOLDS:
        for weight in PRIOR_WEIGHTS:
            prior = ScenePrior(stats["log_seconds_median"], stats["log_seconds_scale"],
                               stats["one_shot_share"], weight=weight)
            tp = fp = fn = scenes = one_shot = 0
            for p, lengths, truth in films:
                starts = decode_scenes(p, lengths, threshold, prior)
                found = set(starts[1:])
                tp += len(found & truth)
                fp += len(found - truth)
                fn += len(truth - found)
                bounds = [*starts, len(lengths)]
                scenes += len(starts)
                one_shot += sum(b - a == 1 for a, b in zip(bounds, bounds[1:], strict=False))
            precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
            f1 = 2 * precision * recall / max(precision + recall, 1e-9)
            grid.append({"threshold": threshold, "weight": weight, "f1": round(f1, 4),
                         "precision": round(precision, 4), "recall": round(recall, 4),
                         "one_shot_share": round(one_shot / max(scenes, 1), 4),
                         "boundaries": tp + fn})
    # The one-standard-error rule: among the settings whose F1 is within one standard error
    # of the best, the one with the strongest prior (and then the best F1). Held-out shots of
    # the training material are cleaner than a real film (no detector errors, no codec), so
    # they cannot show the prior's worth; where they cannot tell settings apart, the prior
    # that guards against over-segmentation is preferred.
    top = max(grid, key=lambda g: g["f1"])
    error = float(np.sqrt(top["f1"] * (1 - top["f1"]) / max(top["boundaries"], 1)))
    close = [g for g in grid if g["f1"] >= top["f1"] - error]
    strongest = max(g["weight"] for g in close)
    best = max((g for g in close if g["weight"] == strongest), key=lambda g: g["f1"])
    plain = max((g for g in grid if g["weight"] == 0), key=lambda g: g["f1"])
    log(f"decoder: threshold {best['threshold']}, prior weight {best['weight']}: held-out F1 "
        f"{best['f1']:.3f} (thresholding alone, best {plain['threshold']}: {plain['f1']:.3f})")
    model.train()
    return {"threshold": best["threshold"],
            "prior": {**{k: stats[k] for k in ("log_seconds_median", "log_seconds_scale",
                                               "one_shot_share")}, "weight": best["weight"]},
            "calibration": {"films": cfg.val_films, "shots_per_film": VAL_FILM_SHOTS,
                            "keyframes_per_shot": keyframes, "rule": "one standard error",
                            "standard_error": round(error, 4), "top": top, "best": best,
                            "thresholding_only": plain, "grid": grid}}


# -- the whole recipe ----------------------------------------------------------------------------


def _markdown(card: Mapping[str, Any], weights: Path) -> str:
    best = card["validation"]["best"]
    material = card["recipe"].get("material", "short")
    film = ("scenes have a film's structure (3–40 shots, a handful most often, rare one-shot "
            "scenes; cutaways to another place that stay in the scene; shot / reverse shot; "
            "similar-looking and returning places), and every shot is entered by a cut, "
            "dissolve, fade or wipe drawn per gap (fades and dissolves mostly at scene "
            "changes, a few inside scenes; a fifth of the windows cuts only). Credits rolls "
            "are among the procedural places.")
    data_text = {
        "short": "scenes are runs of shots of one place in shuffled order, or of two places "
                 "cut back and forth (shot / reverse shot), cuts only.",
        "film": film,
        "mixed": "70 % of the windows: " + film[0].lower() + film[1:-1] + "; 30 %: fast-paced "
                 "windows of short scenes (1–20 shots, one-shot scenes common) with the same "
                 "transitions.",
    }.get(material, material)
    lines = [
        f"# {weights.name}: vidscene's scene model", "",
        "Registry name `scene-transformer` (keyframe encoder + shot-sequence transformer), "
        f"{card['parameters']:,} parameters ({card['encoder_parameters']:,} in the encoder), "
        f"{card['file_size_bytes']:,} bytes.", "",
        "## Data", "",
        "Synthetic shots only (`vidscene.train.scenes_data`): shots of single-shot development "
        "clips from `../shared/data/clips` (no PySceneDetect test clip, no clip with real cuts) "
        "and of procedural places, each shot a differently framed and coloured segment of its "
        f"place, sampled as the analysis pipeline samples; material `{material}`: {data_text} "
        "Whole clips held out for validation. The sequence model trained on cross-fitted "
        "embeddings (each place embedded by a fold encoder trained without it).", "",
        f"- training clips: {', '.join(card['data']['train_clips']) or 'none'}",
        f"- held-out clips: {', '.join(card['data']['held_out_clips']) or 'none'}",
        f"- shots: {card['data']['train_shots']:,} training, {card['data']['val_shots']:,} "
        "held-out", "",
        "## Recipe", "",
        f"`{card['command']}`", "",
        f"Training took {card['seconds'] / 60:.1f} min on {card['machine']} "
        f"({card['date']})"
        + ("; the cross-fitted embeddings (the fold encoders) came from the cache of an "
           "earlier run of the same command on the same banks." if card.get(
               "cross_fit_from_cache") else "."), ""]
    if card.get("init_weights"):
        lines += [f"Started from `{card['init_weights']}`: its keyframe encoder is kept as it "
                  "is, only the sequence model trained (new inputs started at zero weight).",
                  ""]
    lines += [
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
          for c in card["validation"]["curve"]), ""]
    decoder = card.get("decoder")
    if decoder:
        prior, cal = decoder["prior"], decoder["calibration"]
        lines += [
            "## Decoder", "",
            "Scene prior measured on the training material: median scene "
            f"{np.exp(prior['log_seconds_median']):.1f} s (log-seconds scale "
            f"{prior['log_seconds_scale']:.2f}), one-shot scenes "
            f"{prior['one_shot_share']:.1%}. Chosen on {cal['films']} held-out sequences of "
            f"{cal['shots_per_film']} shots at {cal['keyframes_per_shot']} keyframe per shot, "
            "by the one-standard-error rule (of the settings within one standard error of the "
            f"best F1, {cal['top']['f1']:.3f} ± {cal['standard_error']:.3f}, the one with the "
            "strongest prior; held-out synthetic shots are cleaner than a film, so where they "
            "cannot tell settings apart the prior is preferred): "
            f"threshold {decoder['threshold']}, prior weight {prior['weight']}: boundary F1 "
            f"{cal['best']['f1']:.3f} (P {cal['best']['precision']:.3f}, R "
            f"{cal['best']['recall']:.3f}, one-shot scenes {cal['best']['one_shot_share']:.1%})"
            f"; the threshold alone at its best ({cal['thresholding_only']['threshold']}): "
            f"F1 {cal['thresholding_only']['f1']:.3f}, one-shot scenes "
            f"{cal['thresholding_only']['one_shot_share']:.1%}.", ""]
    sound = card.get("sound")
    if sound:
        train_beds = ", ".join(f"{n} {k}" for k, n in sound["train"]["beds"].items() if n)
        lines += [
            "## Sound", "",
            "Every window's soundtrack is planned with its scenes (`vidscene.train.scene_sound`):"
            " each place has a bed, the scene's bed runs on across the picture cuts, a new "
            f"scene starts its own (a J or L cut {ss.OFFSET_P:.0%} of the time, up to "
            f"{ss.OFFSET_S:g} s; the sound carries on across {ss.BRIDGE_P:.0%} of scene changes),"
            f" and inside scenes {ss.EDIT_P:.0%} of the cuts also cut the sound and "
            f"{ss.MUSIC_IN_P:.0%} bring music in. {sound['silent_window_share']:.0%} of the "
            "windows have no sound. Beds: the training clips' own soundtracks ("
            + (", ".join(sound["train"]["clips_with_audio"]) or "none")
            + f") and procedural beds ({train_beds}; voices by espeak-ng); the held-out beds "
            "speak with other voices. The features are those the pipeline measures "
            "(`vidscene.scenes._sound`).", ""]
    lines += ["Benchmark numbers: `BENCHMARKS.md`, sections Scenes and Scenes on long films.",
              ""]
    return "\n".join(lines)


def train_scenes(*, out: Path, data_dir: Path, clips_dir: Path | None,
                 cfg: SceneTrainConfig | None = None, threads: int = 2, progress: bool = True,
                 command: str = "", log: Log | None = None,
                 model_config: Mapping[str, Any] | None = None,
                 pruning: PruneSpec | None = None,
                 init_weights: Path | None = None) -> dict[str, Any]:
    """The whole recipe (module docstring); writes ``out`` and its Markdown card. With
    ``pruning``, the sequence transformer is pruned before its training (the keyframe encoder,
    a CNN, is not). With ``init_weights`` (a saved scene model), training starts from it: its
    keyframe encoder is kept as it is (so keyframe embeddings, and every cache of them, stay
    valid) and only the sequence model trains; new inputs (``model_config``) start at zero
    weight."""
    import platform

    cfg = cfg or SceneTrainConfig()
    log = log or (lambda _m: None)
    torch.set_num_threads(threads)
    torch.manual_seed(cfg.seed)
    start = time.perf_counter()
    start_card: dict[str, Any] | None = None
    if init_weights is not None:
        from vidscene.nn import load_model

        initial, start_card = load_model(Path(init_weights))
        if not isinstance(initial, SceneTransformer):
            raise ConfigError(f"{init_weights} is not a scene-transformer")
        config = {**initial.config.to_dict(), **dict(model_config or {})}
        model = create_model("scene-transformer", **config)
        missing, unexpected = model.load_state_dict(initial.state_dict(), strict=False)
        if unexpected or any(not k.startswith(("transition.", "hearing.")) for k in missing):
            raise ConfigError(f"{init_weights} does not fit this model: missing {missing}, "
                              f"unexpected {unexpected}")
        if missing:
            log(f"starting from {Path(init_weights).name}; new inputs at zero weight: "
                + ", ".join(missing))
    else:
        model = create_model("scene-transformer", **dict(model_config or {}))
    if not isinstance(model, SceneTransformer):
        raise ConfigError("scene-transformer is not a SceneTransformer")
    train, val, recipe = _banks(clips_dir, data_dir, cfg, model.config.image_size, log, progress)
    if len(set(train.place.tolist())) < 2 or len(set(val.place.tolist())) < 2:
        raise ConfigError("scene training needs at least two training and two held-out places")
    log(f"banks: {train.shots} training shots, {val.shots} held-out shots")
    train_emb, cached = _cached_cross_fit(data_dir, recipe, train, cfg, model.config.to_dict(),
                                          log, progress)
    if start_card is None:
        encoder_losses = train_encoder(model, train, cfg, log, progress)
    else:  # the encoder comes trained
        encoder_losses = list(start_card.get("validation", {})
                              .get("encoder_loss_per_100_steps", []))
        model.encoder.eval()
    val_emb = embed_bank(model, val)
    retrieval = place_retrieval(val, val_emb)
    log(f"encoder: held-out place retrieval@1 {retrieval:.3f}")
    train_sound = val_sound = None
    sound_data: dict[str, Any] | None = None
    if model.config.sound:
        train_sound, val_sound, sound_data = _sound_banks(clips_dir, data_dir, cfg, recipe,
                                                          train, val, log, progress)
    state, curve, pruned = train_sequence(model, train, train_emb, val, val_emb, cfg, log,
                                          progress, pruning, train_sound, val_sound)
    best = max(curve, key=lambda c: c["k3"]["f1"])
    model.load_state_dict(state)
    stats = scene_prior_statistics(train, cfg.material, cfg.seed)
    log(f"scene prior from the training material: {stats}")
    decoder = calibrate_decoder(model, val, val_emb, stats, cfg, log, sound=val_sound)
    seconds = time.perf_counter() - start
    card = {
        "task": "scene segmentation",
        "command": command,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {threads} threads",
        "seconds": round(seconds, 1),
        "recipe": asdict(cfg),
        "data": {**recipe, "train_shots": train.shots, "val_shots": val.shots},
        "cross_fit_from_cache": cached,
        "parameters": sum(p.numel() for p in model.parameters()),
        "encoder_parameters": sum(p.numel() for p in model.encoder.parameters()),
        "threshold": decoder["threshold"],
        "decoder": decoder,
        "validation": {"place_retrieval": round(retrieval, 4), "best": best, "curve": curve,
                       "encoder_loss_per_100_steps": encoder_losses},
    }
    if sound_data is not None:
        card["sound"] = sound_data
    if pruned is not None:
        card["pruning"] = pruned
    if init_weights is not None:
        card["init_weights"] = Path(init_weights).name
    from vidscene.train.shots_train import save_weights

    save_weights(model, state, out, card, markdown=_markdown)
    log(f"wrote {out} ({seconds / 60:.1f} min)")
    return {"weights": str(out), "card": str(out.with_suffix(".md")), "best": best,
            "place_retrieval": retrieval, "seconds": seconds}
