"""Training data for the learned shot detector: synthetic videos as tiny frames plus targets.

Each training video is composed with :func:`vidscene.train.synth.make_video`, encoded (so the
model sees real compression), decoded again with :class:`vidscene.video.FrameStream` (so it
sees exactly the tiny 64×36 frames a detector gets at inference) and cached as one ``.npz``
per video. The cache makes a build resumable and lets training read a few videos at a time.

What the recipe does on purpose (lessons of an earlier probe, see ``docs/ARCHITECTURE.md``):

* Material is only footage without real cuts: clips annotated with cuts (``bench/
  real_cuts.json``), a few known others and every PySceneDetect test clip are never used,
  because an unlabelled real cut inside a "shot" teaches the model to miss cuts, and peers' test
  videos are how the project is judged from outside.
* Validation holds out *whole* source clips (and clips of the same family), never frames of a
  clip seen in training, so its score says something about footage the model has not seen.
* Variety beyond content: frame sizes and aspect ratios, letterbox/pillarbox bars, frame rates
  24–30, clip playback speeds, CRF 18–32, many gradual transitions of 4–60 frames, same-clip
  cuts and colour-matched shots (from the composer), all hard negatives including dim shots and
  slow lighting changes, and some long "calm" videos with few transitions and more negatives.

Targets per frame ``t`` (what :func:`targets_from_truth` builds):
``start[t] = 1`` where a new shot begins (a cut's frame or a gradual transition's first mixed
frame); ``boundary[t] = 1`` on every frame of a transition span (a cut covers its own frame);
``type[t]`` = index in :data:`TARGET_CLASSES` of the transition covering ``t``, 0 elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vidscene.analysis import SHOT_MODEL_CLASSES
from vidscene.errors import ConfigError, UnreadableVideo
from vidscene.metrics import Boundary
from vidscene.train.synth import (
    NEGATIVE_KINDS,
    PROCEDURAL_KINDS,
    ClipSource,
    FrameSource,
    GroundTruth,
    ProceduralSource,
    make_video,
    read_manifest,
)
from vidscene.video import TINY_SIZE, FrameStream

__all__ = [
    "DATASET_FILE",
    "DATASET_SCHEMA",
    "TARGET_CLASSES",
    "ShotTargets",
    "ShotVideo",
    "VideoSpec",
    "build_dataset",
    "clip_family",
    "decode_tiny",
    "iter_split",
    "load_dataset",
    "load_video",
    "material_clips",
    "split_clips",
    "targets_from_truth",
]

TARGET_CLASSES = SHOT_MODEL_CLASSES
"""Type-head classes, in index order (the same tuple as ``vidscene.nn.TRANSITION_CLASSES``;
kept here too so that building data needs no torch)."""

DATASET_SCHEMA = "vidscene.shots-dataset/1"
DATASET_FILE = "dataset.json"
"""The index written next to the cached videos: recipe, clip split and one entry per video."""

REAL_CUTS = Path(__file__).resolve().parents[3] / "bench" / "real_cuts.json"
"""Hand annotations of the real clips; every clip named there holds real cuts (or is a test)."""

EXCLUDED_CLIPS: tuple[str, ...] = ("counter.mp4", "issue-134-rotate.mp4",
                                   "issue-236-split-copy.mkv")
"""Clips known to contain cuts that ``real_cuts.json`` may not list."""

PEER_SOURCE = "Breakthrough/PySceneDetect"
"""Manifest source of PySceneDetect's test clips: never training material."""

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mpg", ".mov", ".webm", ".m4v")

VAL_EVERY = 8
"""Video ``i`` is a validation video when ``i % VAL_EVERY == 1``: a fixed 1/8 share that does
not move when a dataset is grown, and that gives even a two-video dataset one of each."""

HELD_OUT_SHARE = 0.2
"""Share of the material's duration held out (as whole clip families) for validation."""

MIX: Mapping[str, float] = {"cut": 0.42, "dissolve": 0.25, "fade": 0.11, "wipe": 0.22}
"""More gradual transitions than edited footage has: the rare types need examples (wipes
come in six shapes, :data:`vidscene.train.synth.WIPE_STYLES`)."""

NEGATIVES: Mapping[str, float] = {"flash": 0.12, "fast-pan": 0.1, "zoom": 0.1,
                                  "brightness": 0.15, "text": 0.1, "dim": 0.08,
                                  "occluder": 0.12, "title": 0.1, "credits": 0.05}
"""Chance per shot of each hard negative (every kind of :data:`NEGATIVE_KINDS`): besides
flashes, whip pans, zooms, lighting, captions and dim shots, the false transitions seen on
real footage: large objects sweeping through the frame, titles fading in and out over a
continuing shot, and scrolling credits."""

GRADUAL_RANGES: tuple[tuple[int, int], ...] = ((4, 10), (8, 24), (16, 40), (30, 60))
SHOT_RANGES: tuple[tuple[int, int], ...] = ((16, 60), (24, 120), (60, 240))
FRAME_RATES: tuple[float, ...] = (24000 / 1001, 24.0, 25.0, 30000 / 1001, 30.0)
ASPECTS: tuple[tuple[float, float], ...] = ((16 / 9, 0.5), (4 / 3, 0.2), (2.0, 0.12),
                                           (1.0, 0.08), (9 / 16, 0.1))
"""Frame aspect ratios and their weights (the tiny frames squeeze all of them to 64×36)."""

BOX_P = 0.2
"""Chance that a video carries letterbox or pillarbox bars."""

CALM_P = 0.12
"""Chance of a "calm" video: few long shots, more negatives (long dim or slowly lit shots must
not read as fades)."""


# -- targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShotTargets:
    """Per-frame targets of one video, each ``(T,)`` ``uint8`` (see the module docstring)."""

    start: np.ndarray
    boundary: np.ndarray
    type: np.ndarray


def targets_from_truth(truth: GroundTruth) -> ShotTargets:
    """The per-frame targets of a composed video's truth."""
    n = truth.frame_count
    start = np.zeros(n, np.uint8)
    boundary = np.zeros(n, np.uint8)
    kind = np.zeros(n, np.uint8)
    for t in truth.transitions:
        if t.type not in TARGET_CLASSES[1:]:
            raise ConfigError(f"transition type {t.type!r} has no target class "
                              f"(known: {', '.join(TARGET_CLASSES[1:])})")
        if not 0 <= t.first_frame <= t.last_frame < n:
            raise ConfigError(f"transition {t.type} at {t.first_frame}..{t.last_frame} lies "
                              f"outside the video's {n} frames")
        start[t.first_frame] = 1
        boundary[t.first_frame:t.last_frame + 1] = 1
        kind[t.first_frame:t.last_frame + 1] = TARGET_CLASSES.index(t.type)
    return ShotTargets(start, boundary, kind)


# -- material --------------------------------------------------------------------------------


def _excluded_by_annotation(real_cuts: Path) -> set[str]:
    try:
        labels = json.loads(real_cuts.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read {real_cuts} (it says which clips hold real cuts): "
                          f"{e}") from None
    names = set(labels.get("clips", {}))
    extra = labels.get("source_clips_with_cuts", {})
    names |= set(extra.get("clips", extra) if isinstance(extra, Mapping) else extra)
    names.discard("description")
    return names


def material_clips(clips_dir: str | Path, real_cuts: str | Path = REAL_CUTS
                   ) -> tuple[list[Path], dict[str, float]]:
    """Clips usable as training material, sorted by name, and each one's duration (seconds).

    A clip qualifies only when the manifest lists it, it is not a PySceneDetect test clip, and
    it holds no known real cut. A clip the manifest does not know is left out: its provenance
    (and so whether it is a peer's test video) cannot be checked.
    """
    clips = Path(clips_dir)
    manifest = read_manifest(clips)
    skip = _excluded_by_annotation(Path(real_cuts)) | set(EXCLUDED_CLIPS)
    chosen: list[Path] = []
    durations: dict[str, float] = {}
    for path in sorted(clips.iterdir()):
        row = manifest.get(path.name)
        if path.suffix.lower() not in VIDEO_SUFFIXES or row is None or path.name in skip:
            continue
        if PEER_SOURCE in row.get("source", ""):
            continue
        chosen.append(path)
        durations[path.name] = float(row.get("duration_s") or 0.0)
    return chosen, durations


SAME_SET_CLIPS: tuple[tuple[str, ...], ...] = (
    ("psychopy_jwpIntro.mp4", "psychopy_testMovie.mp4"),
)
"""Clips that show the same set and people (checked by eye); they are held out together."""


def clip_family(name: str) -> str:
    """The group a clip is split with: its :data:`SAME_SET_CLIPS` group, else the clip itself.

    Holding out one of two clips of the same room and person while training on the other would
    leak; clips that merely come from the same project (different scenes) split freely.
    """
    for group in SAME_SET_CLIPS:
        if name in group:
            return group[0]
    return name


def split_clips(durations: Mapping[str, float], seed: int,
                share: float = HELD_OUT_SHARE) -> tuple[list[str], list[str]]:
    """``(train, held_out)`` clip names: whole families, taken in a seeded order, are held out
    until they cover ``share`` of the material's duration (and at least two families, where
    there are three or more). A family that alone would push the held-out part past 1.5 ×
    ``share`` is passed over, so that one long clip cannot become the whole validation set.
    Training always keeps at least one family."""
    families: dict[str, list[str]] = {}
    for name in sorted(durations):
        families.setdefault(clip_family(name), []).append(name)
    if len(families) < 2:
        return sorted(durations), []
    rng = np.random.default_rng([seed, 0x484F4C44])  # "HOLD"
    names = sorted(families)
    order = [names[i] for i in rng.permutation(len(names))]
    length = {f: sum(durations[n] for n in members) for f, members in families.items()}
    total = sum(length.values())
    want_families = 2 if len(families) >= 3 else 1
    held: list[str] = []
    covered = 0.0
    for family in order:
        if len(held) + 1 >= len(families):
            break
        if covered >= share * total and len(held) >= want_families:
            break
        if covered + length[family] > 1.5 * share * total:
            continue
        held.append(family)
        covered += length[family]
    out = sorted(n for f in held for n in families[f])
    return [n for n in sorted(durations) if n not in out], out


# -- one video's recipe ------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoSpec:
    """Everything that determines one cached video (its hash names the cache file)."""

    index: int
    split: str
    seed: int
    size: tuple[int, int]
    box: tuple[int, int] | None
    """Inner picture size within the 64×36 tiny frame (letterbox/pillarbox), None = full."""
    fps: float
    crf: int
    n_shots: int
    shot_frames: tuple[int, int]
    gradual_frames: tuple[int, int]
    clips: tuple[str, ...]
    procedural: tuple[str, ...]
    clip_speed: float | None
    """Playback speed of clip material (None: consecutive clip frames whatever their rate)."""
    zoom: tuple[float, float]
    jitter: float
    mix: tuple[tuple[str, float], ...]
    negatives: tuple[tuple[str, float], ...]

    def key(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]

    @property
    def file_name(self) -> str:
        return f"{self.index:05d}-{self.split}-{self.key()}.npz"


def _even(x: float, minimum: int = 32) -> int:
    return max(minimum, int(round(x / 2)) * 2)


def _draw_size(rng: np.random.Generator, base: tuple[int, int]) -> tuple[int, int]:
    aspects = np.array([a for a, _ in ASPECTS])
    weights = np.array([w for _, w in ASPECTS])
    aspect = float(aspects[rng.choice(len(aspects), p=weights / weights.sum())])
    area = base[0] * base[1] * rng.uniform(0.7, 1.5)
    w = np.sqrt(area * aspect)
    return _even(w), _even(w / aspect)


def _draw_box(rng: np.random.Generator) -> tuple[int, int] | None:
    """Bars as a real master has them: a wide film letterboxed or a 4:3 picture pillarboxed
    inside a 16:9 frame, sized in tiny-frame pixels."""
    if rng.random() >= BOX_P:
        return None
    tw, th = TINY_SIZE
    frame_aspect = 16 / 9
    if rng.random() < 0.5:
        content = float(rng.choice([1.85, 2.0, 2.39]))
        return tw, max(8, int(round(th * frame_aspect / content)))
    content = float(rng.choice([1.0, 4 / 3]))
    return max(8, int(round(tw * content / frame_aspect))), th


def _draw_spec(index: int, seed: int, base_size: tuple[int, int], train_clips: Sequence[str],
               held_out: Sequence[str], durations: Mapping[str, float],
               overrides: Mapping[str, Any]) -> VideoSpec:
    split = "val" if index % VAL_EVERY == 1 else "train"
    pool = list(held_out if split == "val" else train_clips)
    rng = np.random.default_rng([seed, index, 0x53484F54])  # "SHOT"
    calm = rng.random() < CALM_P
    if calm:
        shot_frames, n_shots = (120, 300), int(rng.integers(2, 5))
    else:
        shot_frames = SHOT_RANGES[int(rng.choice(len(SHOT_RANGES), p=[0.3, 0.5, 0.2]))]
        n_shots = int(rng.integers(4, 11))
    gradual = GRADUAL_RANGES[int(rng.integers(len(GRADUAL_RANGES)))]
    k = min(len(pool), int(rng.choice([1, 2, 3], p=[0.2, 0.45, 0.35])))
    clips: tuple[str, ...] = ()
    if k:
        # Longer clips offer more distinct segments, but a long static one (a fixed camera)
        # must not dominate: weight by the root of the duration, capped at 20 s.
        weight = np.sqrt(np.clip([durations.get(c, 0.0) for c in pool], 2.0, 20.0))
        picked = rng.choice(len(pool), size=k, replace=False, p=weight / weight.sum())
        clips = tuple(sorted(pool[int(j)] for j in picked))
    procedural: tuple[str, ...] = ()
    if not clips:
        procedural = tuple(PROCEDURAL_KINDS)
    elif rng.random() < 0.3:
        procedural = (str(rng.choice(PROCEDURAL_KINDS)),)
    negatives = {kind: min(0.6, p * (2.0 if calm else 1.0)) for kind, p in NEGATIVES.items()}
    assert set(negatives) == set(NEGATIVE_KINDS)
    spec: dict[str, Any] = dict(
        index=index, split=split,
        seed=int(np.random.SeedSequence([seed, index]).generate_state(1)[0]),
        size=_draw_size(rng, base_size), box=_draw_box(rng),
        fps=float(rng.choice(FRAME_RATES)), crf=int(rng.integers(18, 33)),
        n_shots=n_shots, shot_frames=shot_frames, gradual_frames=gradual,
        clips=clips, procedural=procedural,
        clip_speed=None if rng.random() < 0.4 else round(float(rng.uniform(0.6, 1.6)), 3),
        zoom=(1.0, round(float(rng.uniform(1.3, 2.0)), 3)),
        jitter=round(float(rng.uniform(0.05, 0.2)), 3),
        mix=tuple(sorted(MIX.items())), negatives=tuple(sorted(negatives.items())),
    )
    unknown = set(overrides) - {"n_shots", "shot_frames", "gradual_frames", "box"}
    if unknown:
        raise ConfigError(f"unknown dataset option(s): {', '.join(sorted(unknown))}")
    spec.update(overrides)
    return VideoSpec(**spec)


# -- building -----------------------------------------------------------------------------------


def _sources(spec: VideoSpec, clips_dir: Path | None) -> list[FrameSource]:
    sources: list[FrameSource] = []
    for name in spec.clips:
        if clips_dir is None:
            raise ConfigError(f"video {spec.index} needs clip {name} but no clips folder is set")
        rate = spec.fps / spec.clip_speed if spec.clip_speed else None
        sources.append(ClipSource(clips_dir / name, zoom=spec.zoom, jitter=spec.jitter, fps=rate))
    sources.extend(ProceduralSource(kind) for kind in spec.procedural)
    return sources


def decode_tiny(path: str | Path) -> np.ndarray:
    """Every frame of ``path`` as the ``(T, 36, 64, 3)`` ``uint8`` copy detectors receive."""
    parts = [batch.tiny for batch in FrameStream(path, with_analysis=False)]
    return np.concatenate(parts) if parts else np.empty((0, TINY_SIZE[1], TINY_SIZE[0], 3),
                                                         np.uint8)


def _apply_box(frames: np.ndarray, box: tuple[int, int], level: int) -> np.ndarray:
    """Shrink each tiny frame into ``box`` and surround it with flat bars.

    Done after decoding rather than inside the composition: in a real master the bars are added
    last, so fades, lighting changes and flashes of the picture leave them untouched.
    """
    n, h, w, _ = frames.shape
    bw, bh = box
    out = np.full_like(frames, level)
    y0, x0 = (h - bh) // 2, (w - bw) // 2
    for k in range(n):
        small = Image.fromarray(frames[k]).resize((bw, bh), Image.Resampling.BILINEAR)
        out[k, y0:y0 + bh, x0:x0 + bw] = np.asarray(small, np.uint8)
    return out


def _compose(spec: VideoSpec, clips_dir: Path | None, work_dir: Path
             ) -> tuple[np.ndarray, GroundTruth]:
    video = work_dir / f"{spec.index:05d}.mp4"
    try:
        truth = make_video(video, seed=spec.seed, sources=_sources(spec, clips_dir),
                           n_shots=spec.n_shots, size=spec.size, fps=spec.fps,
                           shot_frames=spec.shot_frames, mix=dict(spec.mix),
                           gradual_frames=spec.gradual_frames, negatives=dict(spec.negatives),
                           crf=spec.crf)
        frames = decode_tiny(video)
    finally:
        video.unlink(missing_ok=True)
        video.with_suffix(".truth.json").unlink(missing_ok=True)
    if len(frames) != truth.frame_count:
        raise UnreadableVideo(video, f"decoded {len(frames)} frames, composed "
                              f"{truth.frame_count}: targets would not line up")
    if spec.box is not None:
        level = int(np.random.default_rng([spec.seed, 7]).integers(0, 12))
        frames = _apply_box(frames, spec.box, level)
    return frames, truth


def _build_one(spec: VideoSpec, clips_dir: Path | None, work_dir: Path, out_dir: Path) -> None:
    frames, truth = _compose(spec, clips_dir, work_dir)
    _save(out_dir / spec.file_name, spec, frames, truth)


def _spans(items: Sequence[Any]) -> np.ndarray:
    return np.array([[i.first_frame, i.last_frame] for i in items], np.int32).reshape(-1, 2)


def _save(path: Path, spec: VideoSpec, frames: np.ndarray, truth: GroundTruth) -> None:
    targets = targets_from_truth(truth)
    partial = path.with_name(path.stem + ".partial.npz")
    np.savez_compressed(
        partial, frames=frames, start=targets.start, boundary=targets.boundary,
        type=targets.type,
        transitions=_spans(truth.transitions),
        transition_types=np.array([t.type for t in truth.transitions], dtype=str),
        negatives=_spans(truth.negatives),
        negative_types=np.array([e.type for e in truth.negatives], dtype=str),
        sources=np.array(truth.sources, dtype=str), clips=np.array(spec.clips, dtype=str),
        spec=np.array(json.dumps(asdict(spec))),
    )
    os.replace(partial, path)  # a half-written file never looks like a finished one


def _progress_bar(enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True), disable=not enabled,
                    transient=False)


def build_dataset(out_dir: str | Path, *, videos: int, seed: int, clips_dir: str | Path | None,
                  size: tuple[int, int] = (160, 90), real_cuts: str | Path = REAL_CUTS,
                  progress: bool = False, jobs: int = 1, **overrides: Any) -> list[Path]:
    """Compose, encode, decode and cache ``videos`` synthetic videos; return their ``.npz`` files.

    ``clips_dir`` None means procedural content only (tests, machines without the clips).
    ``size`` is the base frame size (each video varies its area and aspect around it).
    ``overrides`` pin recipe fields of every video (``n_shots``, ``shot_frames``,
    ``gradual_frames``, ``box``), for small test sets. Files already in ``out_dir``
    with the same recipe are reused, so an interrupted build resumes where it stopped; each of
    the ``jobs`` worker processes holds one video in memory at a time. Writes ``dataset.json``
    (recipe, clip split, file list).
    """
    if videos < 1:
        raise ConfigError(f"videos must be at least 1, got {videos}")
    if seed < 0:
        raise ConfigError(f"seed must not be negative, got {seed}")
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}")
    out = Path(out_dir)
    clips = Path(clips_dir) if clips_dir is not None else None
    if clips is not None and not clips.is_dir():
        raise ConfigError(f"clips folder not found: {clips}")
    used: list[str] = []
    held_out: list[str] = []
    durations: dict[str, float] = {}
    if clips is not None:
        paths, durations = material_clips(clips, real_cuts)
        if not paths:
            raise ConfigError(f"no usable clips in {clips} (all hold cuts or are peers' tests)")
        used, held_out = split_clips(durations, seed)
    specs = [_draw_spec(i, seed, size, used, held_out, durations, overrides)
             for i in range(videos)]

    out.mkdir(parents=True, exist_ok=True)
    work = out / ".work"
    work.mkdir(exist_ok=True)
    files: list[Path] = []
    entries: list[dict[str, Any]] = []
    missing = [spec for spec in specs if not (out / spec.file_name).is_file()]
    try:
        with _progress_bar(progress) as bar:
            task = bar.add_task("composing videos", total=len(specs),
                                completed=len(specs) - len(missing))
            if jobs > 1 and len(missing) > 1:
                # Each video has its own seed and work file, so processes need no coordination
                # and the result does not depend on how many run.
                with ProcessPoolExecutor(max_workers=jobs) as pool:
                    for _ in pool.map(_build_one, missing, [clips] * len(missing),
                                      [work] * len(missing), [out] * len(missing)):
                        bar.advance(task)
            else:
                for spec in missing:
                    _build_one(spec, clips, work, out)
                    bar.advance(task)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for spec in specs:
        path = out / spec.file_name
        with np.load(path) as data:
            entries.append({"file": path.name, "split": spec.split,
                            "frames": int(len(data["start"])),
                            "transitions": int(data["start"].sum()),
                            "clips": list(spec.clips),
                            "procedural": list(spec.procedural)})
        files.append(path)
    index = {
        "schema": DATASET_SCHEMA,
        "videos": videos,
        "seed": seed,
        "size": list(size),
        "overrides": dict(overrides),
        "clips_dir": str(clips) if clips else None,
        "train_clips": used,
        "held_out_clips": held_out,
        "classes": list(TARGET_CLASSES),
        "mix": dict(MIX),
        "negatives": dict(NEGATIVES),
        "files": entries,
    }
    (out / DATASET_FILE).write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    return files


# -- reading --------------------------------------------------------------------------------------


@dataclass
class ShotVideo:
    """One cached video: tiny frames, targets, and its truth for scoring."""

    name: str
    frames: np.ndarray
    targets: ShotTargets
    transitions: list[Boundary]
    negatives: list[Boundary]

    def __len__(self) -> int:
        return len(self.frames)


def _boundaries(spans: np.ndarray, types: np.ndarray) -> list[Boundary]:
    return [Boundary(str(k), int(a), int(b)) for (a, b), k in zip(spans, types, strict=True)]


def load_video(path: str | Path, *, frames: bool = True) -> ShotVideo:
    """Read one cached video (``frames=False`` skips the pixels: label statistics)."""
    path = Path(path)
    try:
        with np.load(path) as data:
            pixels = data["frames"] if frames else np.empty((0, TINY_SIZE[1], TINY_SIZE[0], 3),
                                                             np.uint8)
            return ShotVideo(
                name=path.stem, frames=pixels,
                targets=ShotTargets(data["start"], data["boundary"], data["type"]),
                transitions=_boundaries(data["transitions"], data["transition_types"]),
                negatives=_boundaries(data["negatives"], data["negative_types"]),
            )
    except (OSError, KeyError, ValueError) as e:
        raise ConfigError(f"{path}: not a cached training video ({e})") from None


def load_dataset(data_dir: str | Path) -> dict[str, Any]:
    """The ``dataset.json`` index of a built dataset (``files`` resolved to paths)."""
    index_path = Path(data_dir) / DATASET_FILE
    try:
        index = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(f"no dataset in {data_dir} (build one first: missing or unreadable "
                          f"{DATASET_FILE})") from None
    if index.get("schema") != DATASET_SCHEMA:
        raise ConfigError(f"{index_path}: not a {DATASET_SCHEMA} index")
    for entry in index["files"]:
        entry["path"] = Path(data_dir) / entry["file"]
        if not entry["path"].is_file():
            raise ConfigError(f"{entry['path']}: listed in {DATASET_FILE} but missing")
    return dict(index)


def iter_split(index: Mapping[str, Any], split: str) -> Iterator[Path]:
    """Paths of the ``split`` ("train" or "val") videos of a dataset index."""
    return (e["path"] for e in index["files"] if e["split"] == split)
