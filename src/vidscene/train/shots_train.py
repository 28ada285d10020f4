"""The training loop of the learned shot detector (``shot-transformer`` of :mod:`vidscene.nn`).

Reads a dataset built by :func:`vidscene.train.shots_data.build_dataset` and trains on random
windows of tiny frames. Choices and why:

* **Windows with transitions are oversampled** (half the windows are placed around a random
  transition start): transitions cover a few percent of frames, so uniform windows would spend
  most steps on "nothing happens".
* **Augmentation** per window (reframing crop, brightness, contrast, per-channel colour gain,
  mirror): applied to the whole window alike, so it never creates a change the labels do not
  describe, while the model cannot key on the absolute palette, brightness or framing of the
  material; light film grain, different in every frame, as real noisy sources have.
* **Losses**: BCE on ``start`` and ``boundary`` with a positive weight of √(negatives /
  positives) (the full ratio over-predicts on rare positives; the root keeps recall without a
  flood of false alarms), cross-entropy on ``type`` with class weights ∝ 1/√frequency.
* **AdamW + linear warm-up + cosine decay**, gradients clipped at 1.
* **Validation as in production**: after each epoch the held-out videos (clips never used for
  training) are run through overlapping windows as the ``transformer`` detector runs them, and
  decoded with the detector's own :func:`vidscene.shots._transformer.decode`; scores come from
  :mod:`vidscene.metrics`. The best epoch by mean of cut F1 and gradual F1 is kept.
* **Resumable and deterministic**: window draws, augmentation and dropout are seeded per epoch,
  and a checkpoint (model, optimiser, schedule, curve, best weights) is written after every
  epoch, so ``resume=True`` continues exactly where an interrupted run stopped.

PyTorch is imported when this module is imported; the CLI imports it only inside its command.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import os
import platform
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vidscene.errors import ConfigError
from vidscene.metrics import Boundary, aggregate, match_transitions
from vidscene.nn import TRANSITION_CLASSES, create_model, load_model, save_model
from vidscene.nn.shot_transformer import widen_from
from vidscene.prune import PruneSpec, bake_all, parse_pattern, prune_model, restore_masks
from vidscene.shots._transformer import Predictions, decode, window_positions
from vidscene.train.shots_data import TARGET_CLASSES, ShotVideo, load_dataset, load_video

log = logging.getLogger(__name__)

__all__ = ["MODEL_NAME", "TrainBatch", "predict_video", "save_weights", "train_shots"]

MODEL_NAME = "shot-transformer"
CHECKPOINT_SCHEMA = "vidscene.shots-checkpoint/1"
TRANSITION_WINDOW_P = 0.5
"""Share of training windows placed around a transition start."""
TYPE_LOSS_WEIGHT = 0.5
"""The type head matters only inside spans; a lighter weight keeps it from dominating."""
VALIDATION_MARGIN = 16
"""Frames of context kept on each side of a window in validation (as the detector does)."""
MIN_LR_FACTOR = 0.02



# -- label statistics and loss weights ----------------------------------------------------------


@dataclass(frozen=True)
class LabelStats:
    """Counts over the training videos that set the loss weights."""

    frames: int
    start: int
    boundary: int
    types: tuple[int, ...]

    def pos_weight(self, positives: int) -> float:
        negatives = self.frames - positives
        return float(np.clip(math.sqrt(negatives / max(positives, 1)), 1.0, 50.0))

    def class_weights(self) -> list[float]:
        counts = np.array(self.types, np.float64)
        seen = counts > 0
        weights = np.ones_like(counts)
        weights[seen] = np.sqrt(counts[seen].sum() / counts[seen])
        weights[~seen] = weights[seen].max() if seen.any() else 1.0
        # Normalised so that the average frame weighs 1 (the loss scale stays comparable).
        weights /= (weights * counts).sum() / max(counts.sum(), 1.0)
        return [round(float(w), 4) for w in weights]


def _label_stats(paths: Sequence[Path]) -> tuple[LabelStats, list[int]]:
    frames = start = boundary = 0
    types = np.zeros(len(TARGET_CLASSES), np.int64)
    lengths: list[int] = []
    for path in paths:
        video = load_video(path, frames=False)
        t = video.targets
        lengths.append(len(t.start))
        frames += len(t.start)
        start += int(t.start.sum())
        boundary += int(t.boundary.sum())
        types += np.bincount(t.type, minlength=len(TARGET_CLASSES))
    return LabelStats(frames, start, boundary, tuple(int(c) for c in types)), lengths


# -- windows -------------------------------------------------------------------------------------


@dataclass
class TrainBatch:
    """One batch of windows: ``frames`` (B, W, 36, 64, 3) uint8; targets (B, W); ``mask``
    (B, W) is 0 on padding (videos shorter than the window)."""

    frames: Tensor
    start: Tensor
    boundary: Tensor
    type: Tensor
    mask: Tensor


def _window_start(video: ShotVideo, window: int, rng: np.random.Generator) -> int:
    room = len(video) - window
    if room <= 0:
        return 0
    starts = np.flatnonzero(video.targets.start)
    if len(starts) and rng.random() < TRANSITION_WINDOW_P:
        anchor = int(starts[rng.integers(len(starts))])
        return int(np.clip(anchor - rng.integers(0, window), 0, room))
    return int(rng.integers(0, room + 1))


def _augment(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same photometric change, reframing and mirror over the whole window (never a fake
    change), plus film grain that differs per frame, as a real noisy source does."""
    x = frames.astype(np.float32)
    if rng.random() < 0.3:
        # Reframe: a crop of 75-100 % of the picture scaled back up, as another framing or a
        # zoomed transfer of the same material would give.
        n, h, w, _ = x.shape
        scale = rng.uniform(0.75, 1.0)
        ch, cw = max(8, round(h * scale)), max(8, round(w * scale))
        y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
        crop = torch.from_numpy(np.ascontiguousarray(x[:, y0:y0 + ch, x0:x0 + cw]))
        x = F.interpolate(crop.permute(0, 3, 1, 2), size=(h, w), mode="bilinear",
                          align_corners=False).permute(0, 2, 3, 1).numpy()
    if rng.random() < 0.8:
        mean = float(x.mean())
        contrast = rng.uniform(0.7, 1.3)
        gain = rng.uniform(0.7, 1.3) * rng.uniform(0.9, 1.1, 3).astype(np.float32)
        x = ((x - mean) * contrast + mean) * gain
    if rng.random() < 0.3:
        grain = rng.standard_normal((*x.shape[:3], 1), dtype=np.float32)  # luma grain: cheap
        x = x + grain * np.float32(rng.uniform(1.0, 6.0))
    if rng.random() < 0.5:
        x = x[:, :, ::-1]
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def _batch(videos: Sequence[ShotVideo], weights: np.ndarray, batch_size: int, window: int,
           rng: np.random.Generator) -> TrainBatch:
    h, w = videos[0].frames.shape[1:3]
    frames = np.zeros((batch_size, window, h, w, 3), np.uint8)
    start = np.zeros((batch_size, window), np.float32)
    boundary = np.zeros((batch_size, window), np.float32)
    kind = np.zeros((batch_size, window), np.int64)
    mask = np.zeros((batch_size, window), np.float32)
    for b in range(batch_size):
        video = videos[int(rng.choice(len(videos), p=weights))]
        s = _window_start(video, window, rng)
        n = min(window, len(video) - s)
        frames[b, :n] = _augment(video.frames[s:s + n], rng)
        if n < window:  # pad by holding the last frame; padded frames carry no loss
            frames[b, n:] = frames[b, n - 1]
        t = video.targets
        start[b, :n] = t.start[s:s + n]
        boundary[b, :n] = t.boundary[s:s + n]
        kind[b, :n] = t.type[s:s + n]
        mask[b, :n] = 1.0
    return TrainBatch(torch.from_numpy(frames), torch.from_numpy(start),
                      torch.from_numpy(boundary), torch.from_numpy(kind), torch.from_numpy(mask))


def _epoch_batches(paths: Sequence[Path], lengths: Sequence[int], steps: int, batch_size: int,
                   window: int, pool: int, rng: np.random.Generator) -> Iterator[TrainBatch]:
    """``steps`` batches, reading ``pool`` videos at a time (bounded memory): the videos are
    shuffled into groups and each group gets steps in proportion to its frames."""
    order = rng.permutation(len(paths))
    groups = [order[i:i + pool] for i in range(0, len(order), pool)]
    sizes = np.array([sum(lengths[j] for j in g) for g in groups], np.float64)
    bounds = np.rint(np.cumsum(sizes) / sizes.sum() * steps).astype(int)
    given = 0
    for group, bound in zip(groups, bounds, strict=True):
        count = int(bound) - given
        given = int(bound)
        if count <= 0:
            continue
        videos = [load_video(paths[j]) for j in group]
        weights = np.array([len(v) for v in videos], np.float64)
        weights /= weights.sum()
        for _ in range(count):
            yield _batch(videos, weights, batch_size, window, rng)
        del videos


# -- losses ----------------------------------------------------------------------------------------


class ShotLoss:
    """Weighted sum of the three heads' losses over unmasked frames (see module docstring)."""

    def __init__(self, stats: LabelStats) -> None:
        self.pos_start = torch.tensor(stats.pos_weight(stats.start))
        self.pos_boundary = torch.tensor(stats.pos_weight(stats.boundary))
        self.class_weights = torch.tensor(stats.class_weights())

    def __call__(self, out: Mapping[str, Tensor], batch: TrainBatch) -> dict[str, Tensor]:
        mask = batch.mask
        frames = mask.sum().clamp_min(1.0)
        start = F.binary_cross_entropy_with_logits(
            out["start"], batch.start, pos_weight=self.pos_start, reduction="none")
        boundary = F.binary_cross_entropy_with_logits(
            out["boundary"], batch.boundary, pos_weight=self.pos_boundary, reduction="none")
        ce = F.cross_entropy(out["type"].reshape(-1, out["type"].shape[-1]),
                             batch.type.reshape(-1), reduction="none").view_as(mask)
        w = self.class_weights[batch.type] * mask
        parts = {
            "start": (start * mask).sum() / frames,
            "boundary": (boundary * mask).sum() / frames,
            "type": (ce * w).sum() / w.sum().clamp_min(1e-6),
        }
        parts["loss"] = parts["start"] + parts["boundary"] + TYPE_LOSS_WEIGHT * parts["type"]
        return parts


# -- validation --------------------------------------------------------------------------------


@torch.inference_mode()
def predict_video(model: nn.Module, frames: np.ndarray, *, window: int | None = None,
                  margin: int = VALIDATION_MARGIN, batch_size: int = 8) -> dict[str, Tensor]:
    """Per-frame logits of a whole video ``(T, 36, 64, 3)``: ``start``/``boundary`` (T,),
    ``type`` (T, 5), from overlapping windows placed as the ``transformer`` detector places
    them (each frame judged with ``margin`` frames of context where the video allows)."""
    config: Any = model.config
    window = int(window or config.window)
    margin = min(margin, (window - 1) // 4)  # short windows: keep most of each window
    spans = window_positions(len(frames), window, margin)
    parts: dict[str, list[Tensor]] = {"start": [], "boundary": [], "type": []}
    for i in range(0, len(spans), batch_size):
        chunk = spans[i:i + batch_size]
        size = chunk[0][1] - chunk[0][0]
        x = torch.from_numpy(np.stack([frames[a:b] for a, b, _, _ in chunk]))
        if any(b - a != size for a, b, _, _ in chunk):  # pragma: no cover - positions are even
            raise AssertionError("validation windows differ in length")
        out = model(x)
        for j, (a, _, keep_a, keep_b) in enumerate(chunk):
            for key in parts:
                parts[key].append(out[key][j, keep_a - a: keep_b - a])
    return {key: torch.cat(value) for key, value in parts.items()}


def _validate(model: nn.Module, paths: Sequence[Path], loss_fn: ShotLoss, window: int,
              threshold: float, gradual_threshold: float) -> dict[str, Any]:
    model.eval()
    tallies = []
    loss_sum = 0.0
    frames = 0
    for path in paths:
        video = load_video(path)
        logits = predict_video(model, video.frames, window=window)
        t = video.targets
        n = len(video)
        batch = TrainBatch(torch.empty(0), torch.from_numpy(t.start[None].astype(np.float32)),
                           torch.from_numpy(t.boundary[None].astype(np.float32)),
                           torch.from_numpy(t.type[None].astype(np.int64)), torch.ones(1, n))
        losses = loss_fn({k: v[None] for k, v in logits.items()}, batch)
        loss_sum += float(losses["loss"]) * n
        frames += n
        p = Predictions(torch.sigmoid(logits["start"]).numpy(),
                        torch.sigmoid(logits["boundary"]).numpy(),
                        torch.softmax(logits["type"], -1).numpy())
        found, _ = decode(p, threshold=threshold, gradual_threshold=gradual_threshold)
        predicted = [Boundary(f.type, f.first_frame, f.last_frame) for f in found]
        tallies.append(match_transitions(video.transitions, predicted,
                                         negatives=video.negatives))
    tally = aggregate(tallies)
    return {
        "loss": loss_sum / max(frames, 1),
        "f1": tally.overall.f1,
        "f1_cut": tally.of("cut").f1,
        "f1_gradual": tally.gradual.f1,
        "f1_by_type": {name: round(counts.f1, 4) for name, counts in sorted(tally.by_type.items())},
        "tally": tally.to_dict(),
    }


# -- checkpoints and the model card -------------------------------------------------------------


def checkpoint_path(out: Path) -> Path:
    """Where the resumable training state of ``out`` lives (next to it)."""
    return out.with_name(out.name + ".ckpt")


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Decay matrices only: norms, biases and per-channel scales keep their size."""
    decay: list[nn.Parameter] = []
    keep: list[nn.Parameter] = []
    for _, p in model.named_parameters():
        if p.requires_grad:
            (decay if p.dim() >= 2 else keep).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": keep, "weight_decay": 0.0}]


def _schedule(total: int, warmup: int) -> Any:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        p = min(1.0, (step - warmup) / max(1, total - warmup))
        return MIN_LR_FACTOR + (1 - MIN_LR_FACTOR) * 0.5 * (1 + math.cos(math.pi * p))

    return factor


def _data_recipe(index: Mapping[str, Any], train: Sequence[Path], val: Sequence[Path],
                 train_frames: int) -> dict[str, Any]:
    keep = ("videos", "seed", "size", "overrides", "train_clips", "held_out_clips", "mix",
            "negatives")
    recipe = {k: index.get(k) for k in keep}
    recipe.update(train_videos=len(train), val_videos=len(val), train_frames=train_frames,
                  builder="vidscene.train.shots_data.build_dataset")
    return recipe


def _pruning_lines(card: Mapping[str, Any]) -> list[str]:
    pruning = card.get("pruning")
    if not pruning:
        return []
    how = (f"{pruning['pattern']} mask" if pruning.get("pattern")
           else f"feed-forward channels kept ×{pruning['ff_keep']}" if pruning.get("ff_keep")
           else f"unstructured, {pruning.get('keep')} of weights kept")
    start = card.get("init_weights")
    when = ("at Xavier re-initialisation" if pruning.get("reinit")
            else f"on the trained weights of `{start}`, then fine-tuned" if start
            else "at the model's own initialisation")
    lines = [f"- Pruned (`vidscene.prune`): `{pruning['method']}` scores {when}; {how}"
             + (f", sparsity {pruning['sparsity']:.0%} of the {len(pruning['layers'])} pruned "
                "layers" if "sparsity" in pruning else "")
             + ". N:M layers are stored packed and load dense.", ""]
    return lines


def _markdown(card: Mapping[str, Any], weights: Path) -> str:
    data, training, best = card["data"], card["training"], card["validation"]
    used = best.get("thresholds", {"cut": card["threshold"], "gradual": card["gradual_threshold"]})
    lines = [
        f"# {card['name']}",
        "",
        f"Weights: `{weights.name}` ({card['file_size_bytes'] / 1e6:.2f} MB, "
        f"{card['parameters']:,} parameters, model `{card['model']}`). "
        "Learned shot-boundary detector of vidscene (`--detector transformer`): per-frame "
        "start, in-transition and transition-type predictions over windows of 64×36 frames.",
        "",
        "## Training data",
        "",
        f"- {data['videos']} synthetic videos composed by `vidscene.train.synth` "
        f"(seed {data['seed']}, base size {data['size'][0]}×{data['size'][1]}): "
        f"{data['train_videos']} for training ({data['train_frames']:,} frames), "
        f"{data['val_videos']} for validation.",
        f"- Training clips: {', '.join(data['train_clips']) or 'none (procedural content only)'}.",
        f"- Held-out clips (validation only): {', '.join(data['held_out_clips']) or 'none'}.",
        "- No clip with real cuts and no PySceneDetect test clip was used as material.",
        f"- Transition mix {data['mix']}; hard negatives per shot {data['negatives']}.",
        "",
        "## Training",
        "",
        f"- Command: `{training['command']}`",
        f"- {training['epochs_done']} of {training['epochs']} epochs × "
        f"{training['steps_per_epoch']} steps, batch {training['batch_size']}, window "
        f"{training['window']}, AdamW lr {training['lr']} (warm-up + cosine), "
        f"seed {training['seed']}, {training['threads']} threads, {training['seconds'] / 60:.1f} "
        f"min on {training['machine']}.",
        "",
        *_pruning_lines(card),
        "## Validation (held-out clips, synthetic transitions)",
        "",
        f"Best epoch {card['best_epoch']}: F1 cut {best['f1_cut']:.3f}, gradual "
        f"{best['f1_gradual']:.3f}, overall {best['f1']:.3f} (thresholds while training: cut "
        f"{used['cut']}, gradual {used['gradual']}; "
        "tolerance 2 frames, `vidscene.metrics`).",
        "",
        "| epoch | train loss | val loss | F1 cut | F1 gradual | F1 |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {c['epoch']} | {c['train_loss']:.4f} | {c['val_loss']:.4f} | "
              f"{c['val_f1_cut']:.3f} | {c['val_f1_gradual']:.3f} | {c['val_f1']:.3f} |"
              for c in card["curve"]]
    calibration = card.get("calibration")
    if calibration:
        lines += [
            "",
            "## Threshold calibration",
            "",
            f"Thresholds (cut {card['threshold']}, gradual {card['gradual_threshold']}) chosen "
            f"by `{calibration['command']}` on "
            f"{calibration['videos']} videos of the dev benchmark ({calibration['set']}), as "
            f"{calibration.get('rule', 'the best mean of cut F1 and gradual F1')}:",
            "",
            "| threshold (cut / gradual) | F1 cut | F1 gradual | F1 |",
            "|---:|---:|---:|---:|",
        ]
        lines += [f"| {row['threshold']} / {row['gradual_threshold']} | {row['f1_cut']:.3f} | "
                  f"{row['f1_gradual']:.3f} | {row['f1']:.3f} |" for row in calibration["grid"]]
    lines += [
        "",
        "## Limits",
        "",
        "Validation videos are synthetic (real footage, composed transitions): such scores "
        "flatter a model. The shot benchmark (`bench/shots.py`, results in BENCHMARKS.md) "
        "scores it on real cuts beside TransNetV2 and PySceneDetect.",
        "",
    ]
    return "\n".join(lines)


def save_weights(model: nn.Module, state: Mapping[str, Tensor], out: Path,
                 card: dict[str, Any],
                 markdown: Callable[[Mapping[str, Any], Path], str] | None = None) -> None:
    """Save ``state`` into ``out`` with ``card`` (its own file size included) and the Markdown
    card beside it (``markdown(card, out)``, the shot model's by default). The size is known
    only after writing, so it is written until it settles."""
    best = copy.deepcopy(model)
    best.load_state_dict(state)
    packed = bake_all(best)  # a pruned model: masks folded in, N:M layers stored packed
    card["file_size_bytes"] = 0
    for _ in range(3):
        save_model(best, out, card, packed)
        size = out.stat().st_size
        if size == card["file_size_bytes"]:
            break
        card["file_size_bytes"] = size
    out.with_suffix(".md").write_text((markdown or _markdown)(card, out), encoding="utf-8")


# -- the loop --------------------------------------------------------------------------------------


def _progress(enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
                    disable=not enabled)


def train_shots(*, data_dir: str | Path, out: str | Path, epochs: int, batch_size: int = 16,
                window: int = 96, lr: float = 1e-3, seed: int = 0, threads: int = 2,
                progress: bool = True, resume: bool = False, steps_per_epoch: int | None = None,
                weight_decay: float = 0.05, warmup: float = 0.05, threshold: float = 0.5,
                gradual_threshold: float = 0.8,
                pool_videos: int = 32, model_config: Mapping[str, Any] | None = None,
                name: str | None = None, command: str | None = None,
                pruning: PruneSpec | None = None, init_weights: str | Path | None = None
                ) -> dict[str, Any]:
    """Train the ``shot-transformer`` on the dataset in ``data_dir``; save the best epoch to
    ``out`` (safetensors + card) and ``out.with_suffix(".md")``; return the run's metrics.

    ``steps_per_epoch`` defaults to about one pass over the training frames
    (frames / window / batch_size). ``resume`` continues from ``out``'s checkpoint (written after
    every epoch); ``epochs`` may be raised on resume. ``model_config`` overrides model fields.

    ``init_weights`` starts from a saved shot model instead of a fresh one (fine-tuning).
    ``pruning`` prunes the model before the first step (:func:`vidscene.prune.prune_model`,
    scored on the first mini-batches of the training data) and trains it with the mask
    fixed; N:M layers are saved packed.
    """
    started = time.perf_counter()
    out = Path(out)
    if epochs < 1 or batch_size < 1 or window < 2 or threads < 1 or pool_videos < 1:
        raise ConfigError("epochs, batch_size, threads and pool_videos must be >= 1 and "
                          "window >= 2")
    if lr <= 0 or not 0 <= warmup < 1:
        raise ConfigError(f"lr must be positive and warmup in [0, 1), got {lr} and {warmup}")
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work has started: keep what is there
        pass

    index = load_dataset(data_dir)
    train = [e["path"] for e in index["files"] if e["split"] == "train"]
    val = [e["path"] for e in index["files"] if e["split"] == "val"]
    if not train or not val:
        raise ConfigError(f"dataset {data_dir} needs training and validation videos "
                          f"(has {len(train)} and {len(val)}); build at least 2 videos")
    stats, lengths = _label_stats(train)
    steps = steps_per_epoch or max(1, math.ceil(stats.frames / window / batch_size))
    total_steps = steps * epochs

    torch.manual_seed(seed)
    loss_fn = ShotLoss(stats)
    ckpt = checkpoint_path(out)
    saved: dict[str, Any] | None = None
    if resume:
        if not ckpt.is_file():
            raise ConfigError(f"nothing to resume: no checkpoint at {ckpt}")
        saved = torch.load(ckpt, map_location="cpu", weights_only=True)
        if saved.get("schema") != CHECKPOINT_SCHEMA or saved["steps_per_epoch"] != steps \
                or saved["batch_size"] != batch_size or saved["window"] != window:
            raise ConfigError(f"{ckpt} was written by a run with other settings (steps per "
                              "epoch, batch size or window); start afresh without --resume")
    pruning_card: dict[str, Any] | None = None
    if saved is not None:
        # The checkpoint knows the model's final shape (structured pruning narrows it) and
        # its masks; the masks go back on before the weights are loaded.
        shape = (json.loads(saved["model_config"]) if saved.get("model_config")
                 else {"window": window, **dict(model_config or {})})  # an older checkpoint
        model = create_model(MODEL_NAME, **shape)
        pruning_card = json.loads(saved["pruning"]) if saved.get("pruning") else None
        if pruning_card is not None:
            pattern = pruning_card.get("pattern")
            restore_masks(model, saved["model"], parse_pattern(pattern) if pattern else None)
    else:
        model = create_model(MODEL_NAME, window=window, **dict(model_config or {}))
        if init_weights is not None:
            start, _card = load_model(Path(init_weights))
            try:
                added = widen_from(model, start)  # type: ignore[arg-type]
            except (RuntimeError, ValueError) as exc:
                raise ConfigError(f"{init_weights} does not fit this model: {exc}") from None
            if added:
                log.info("fine-tuning with %d new input features (start at zero weight): %s",
                         len(added), ", ".join(added))
        if pruning is not None:
            score_rng = np.random.default_rng([seed, 0x5052])  # "PR"
            batches = _epoch_batches(train, lengths, pruning.score_batches, batch_size, window,
                                     pool_videos, score_rng)

            def batch_loss(m: nn.Module, batch: TrainBatch) -> tuple[Tensor, Any]:
                output = m(batch.frames)
                return loss_fn(output, batch)["loss"], output

            pruning_card = prune_model(model, pruning, batches, batch_loss, seed=seed)
    optimiser = torch.optim.AdamW(_param_groups(model, weight_decay), lr=lr)
    warmup_steps = max(1, round(warmup * total_steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, _schedule(total_steps, warmup_steps))

    curve: list[dict[str, Any]] = []
    best: dict[str, Any] = {"score": -1.0, "epoch": 0, "state": None, "validation": None}
    first_epoch, elapsed_before = 1, 0.0
    if saved is not None:
        state = saved
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        scheduler.load_state_dict(state["scheduler"])
        curve, best = list(state["curve"]), dict(state["best"])
        first_epoch, elapsed_before = int(state["epoch"]) + 1, float(state["seconds"])

    params = sum(p.numel() for p in model.parameters())
    config: Any = model.config
    card_base = {
        "name": name or f"vidscene-{Path(out).stem}",
        "model": MODEL_NAME,
        "config": config.to_dict(),
        "classes": list(TRANSITION_CLASSES),
        "threshold": threshold,
        "gradual_threshold": gradual_threshold,
        "parameters": int(params),
        "data": _data_recipe(index, train, val, stats.frames),
    }
    if pruning_card is not None:
        card_base["pruning"] = pruning_card
    if init_weights is not None:
        card_base["init_weights"] = Path(init_weights).name
    training = {
        "command": command or "vidscene.train.shots_train.train_shots(...)",
        "epochs": epochs, "batch_size": batch_size, "window": window, "lr": lr,
        "weight_decay": weight_decay, "warmup": warmup, "steps_per_epoch": steps, "seed": seed,
        "threads": threads, "pos_weight_start": round(float(loss_fn.pos_start), 3),
        "pos_weight_boundary": round(float(loss_fn.pos_boundary), 3),
        "class_weights": stats.class_weights(), "torch": torch.__version__,
        "machine": f"{platform.machine()} with {os.cpu_count()} CPUs",
    }

    with _progress(progress) as bar:
        for epoch in range(first_epoch, epochs + 1):
            epoch_started = time.perf_counter()
            rng = np.random.default_rng([seed, epoch])
            torch.manual_seed(seed * 1_000_003 + epoch)
            model.train()
            task = bar.add_task(f"epoch {epoch}/{epochs}", total=steps)
            loss_total = 0.0
            for batch in _epoch_batches(train, lengths, steps, batch_size, window, pool_videos,
                                        rng):
                losses = loss_fn(model(batch.frames), batch)
                optimiser.zero_grad(set_to_none=True)
                losses["loss"].backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimiser.step()
                scheduler.step()
                loss = float(losses["loss"].detach())
                loss_total += loss
                bar.update(task, advance=1, description=f"epoch {epoch}/{epochs} loss {loss:.3f}")
            result = _validate(model, val, loss_fn, window, threshold, gradual_threshold)
            entry = {
                "epoch": epoch, "train_loss": round(loss_total / steps, 5),
                "val_loss": round(result["loss"], 5), "val_f1": round(result["f1"], 4),
                "val_f1_cut": round(result["f1_cut"], 4),
                "val_f1_gradual": round(result["f1_gradual"], 4),
                "val_f1_by_type": result["f1_by_type"],
                "lr": float(scheduler.get_last_lr()[0]),
                "seconds": round(time.perf_counter() - epoch_started, 1),
            }
            curve.append(entry)
            score = (result["f1_cut"] + result["f1_gradual"]) / 2
            if score > best["score"]:
                best = {"score": score, "epoch": epoch, "validation": result,
                        "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
            bar.console.print(
                f"epoch {epoch}: train loss {entry['train_loss']:.4f}, val loss "
                f"{entry['val_loss']:.4f}, F1 cut {entry['val_f1_cut']:.3f}, gradual "
                f"{entry['val_f1_gradual']:.3f}" + ("  (best)" if best["epoch"] == epoch else ""),
                highlight=False)
            seconds = elapsed_before + time.perf_counter() - started
            card = {**card_base, "best_epoch": best["epoch"],
                    "validation": {**_card_validation(best["validation"]),
                                   "thresholds": {"cut": threshold, "gradual": gradual_threshold}},
                    "curve": curve,
                    "training": {**training, "epochs_done": epoch, "seconds": round(seconds, 1)}}
            if best["epoch"] == epoch or epoch == epochs:
                save_weights(model, best["state"], out, card)
            torch.save({
                "schema": CHECKPOINT_SCHEMA, "epoch": epoch, "seconds": seconds,
                "steps_per_epoch": steps, "batch_size": batch_size, "window": window,
                "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                "scheduler": scheduler.state_dict(), "curve": curve, "best": best,
                "model_config": json.dumps(config.to_dict()),
                "pruning": json.dumps(pruning_card) if pruning_card is not None else "",
            }, _tmp(ckpt))
            _tmp(ckpt).replace(ckpt)

    if best["state"] is None:  # resumed a run that had already finished all its epochs
        raise ConfigError(f"{ckpt} holds no validated epoch")
    return {
        "weights": str(out), "card": str(out.with_suffix(".md")), "best_epoch": best["epoch"],
        "val_f1": best["validation"]["f1"], "val_f1_cut": best["validation"]["f1_cut"],
        "val_f1_gradual": best["validation"]["f1_gradual"], "curve": curve,
        "parameters": int(params), "steps_per_epoch": steps,
        "seconds": round(elapsed_before + time.perf_counter() - started, 1),
    }


def _tmp(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def _card_validation(result: Mapping[str, Any] | None) -> dict[str, Any]:
    if result is None:
        return {}
    return {"f1": round(result["f1"], 4), "f1_cut": round(result["f1_cut"], 4),
            "f1_gradual": round(result["f1_gradual"], 4), "loss": round(result["loss"], 5),
            "tally": json.loads(json.dumps(result["tally"]))}
