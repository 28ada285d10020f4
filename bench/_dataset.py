"""The benchmark's videos: a fixed synthetic set composed from the dev clips, and the real clips
hand-annotated in ``real_cuts.json``.

The synthetic set is deterministic (fixed seeds, fixed specs) and cached under
``bench/_cache/``; a cached video is reused only while its spec *and* the composer's source
(``vidscene/train/synth.py``) are unchanged, so a benchmark never scores stale truth.

Clips that contain real cuts (the annotated ones and a few others) are never used as synthetic
material: an unlabelled real cut inside a composed shot would count as a false positive for
every tool, and the real set stays disjoint from the synthetic one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vidscene.metrics import Boundary

BENCH_DIR = Path(__file__).resolve().parent
CACHE_DIR = BENCH_DIR / "_cache"
REAL_CUTS = BENCH_DIR / "real_cuts.json"

SEED = 20261128
"""Base seed of the synthetic set; video ``i`` uses ``[SEED, i]``."""

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mpg", ".mov", ".webm")

# Transition mix of the synthetic set: more gradual transitions than edited footage has, so
# each gradual type gets enough samples for a per-type recall.
MIX = {"cut": 0.4, "dissolve": 0.25, "fade": 0.15, "wipe": 0.2}

# Chance per shot of each hard negative.
NEGATIVES = {"flash": 0.12, "fast-pan": 0.1, "zoom": 0.1, "brightness": 0.1, "text": 0.1,
             "dim": 0.05}

# Gradual lengths vary per video: short, medium and long dissolves/fades/wipes.
GRADUAL_RANGES = ((4, 12), (8, 24), (12, 40))
SIZES = ((320, 180), (480, 270))

# PySceneDetect's own test clip, too short to matter but kept out of the material on principle.
EXTRA_EXCLUDED = ("delayed_start.mp4",)


@dataclass
class BenchVideo:
    """One scored video: its file, truth, hard negatives and don't-care regions."""

    name: str
    path: Path
    group: str
    frame_count: int
    fps: float
    truth: list[Boundary]
    negatives: list[Boundary] = field(default_factory=list)
    ignore: list[Boundary] = field(default_factory=list)
    peer_test_video: bool = False
    same_clip: list[int] = field(default_factory=list)
    """Indices of truth transitions between two segments of the same clip (same-set cuts)."""


@dataclass(frozen=True)
class VideoSpec:
    """Everything that determines one synthetic video (hashed for the cache key)."""

    index: int
    seed: int
    size: tuple[int, int]
    n_shots: int
    shot_frames: tuple[int, int]
    gradual_frames: tuple[int, int]
    clips: tuple[str, ...]
    procedural: tuple[str, ...]
    mix: tuple[tuple[str, float], ...]
    negatives: tuple[tuple[str, float], ...]
    fps: float = 25.0

    def key(self, salt: str) -> str:
        text = json.dumps(asdict(self), sort_keys=True) + salt
        return hashlib.sha256(text.encode()).hexdigest()[:10]


def locate_clips(option: Path | None) -> Path | None:
    """The dev clips folder: ``--clips``, else the composer's own lookup."""
    if option is not None:
        return option if option.is_dir() else None
    from vidscene.train.synth import find_clips_dir

    return find_clips_dir()


def _real_labels() -> dict[str, Any]:
    return json.loads(REAL_CUTS.read_text(encoding="utf-8"))


def excluded_clips() -> set[str]:
    """Clips never used as synthetic material (they hold real cuts)."""
    labels = _real_labels()
    names = set(labels["clips"]) | set(labels.get("source_clips_with_cuts", {}).get("clips", {}))
    return names | set(EXTRA_EXCLUDED)


def material_clips(clips_dir: Path) -> list[Path]:
    """Single-shot clips usable as synthetic material, sorted by name (deterministic)."""
    skip = excluded_clips()
    return sorted(p for p in clips_dir.iterdir()
                  if p.suffix.lower() in VIDEO_SUFFIXES and p.name not in skip)


def synthetic_specs(n: int, clip_names: list[str]) -> list[VideoSpec]:
    """``n`` fixed specs: 5-8 shots of 30-75 frames (~200-450 frames), two sizes, three ranges
    of gradual length, 2-4 clips per video (and sometimes a procedural source)."""
    from vidscene.train.synth import PROCEDURAL_KINDS

    specs = []
    for i in range(n):
        rng = np.random.default_rng([SEED, i])
        k = int(rng.integers(2, 5))
        clips = tuple(sorted(str(c) for c in rng.choice(clip_names, size=k, replace=False)))
        procedural = (str(rng.choice(PROCEDURAL_KINDS)),) if rng.random() < 0.25 else ()
        specs.append(VideoSpec(
            index=i,
            seed=SEED + i,
            size=SIZES[i % len(SIZES)],
            n_shots=int(rng.integers(5, 9)),
            shot_frames=(30, 75),
            gradual_frames=GRADUAL_RANGES[i % len(GRADUAL_RANGES)],
            clips=clips,
            procedural=procedural,
            mix=tuple(sorted(MIX.items())),
            negatives=tuple(sorted(NEGATIVES.items())),
        ))
    return specs


def _composer_salt() -> str:
    """Hash of the composer's source: a changed composer means regenerated videos."""
    import vidscene.train.synth as synth

    return hashlib.sha256(Path(synth.__file__).read_bytes()).hexdigest()[:12]


def _from_truth(name: str, path: Path, truth: Any, group: str) -> BenchVideo:
    # Transition k leads into shot k + 1; sources read "clip.mp4@3.20s" or "procedural:kind".
    clips = [s.split("@")[0] if "@" in s else None for s in truth.sources]
    same_clip = [k for k in range(len(truth.transitions))
                 if k + 1 < len(clips) and clips[k] is not None and clips[k] == clips[k + 1]]
    return BenchVideo(
        name=name, path=path, group=group, frame_count=truth.frame_count, fps=truth.fps,
        truth=[Boundary(t.type, t.first_frame, t.last_frame) for t in truth.transitions],
        negatives=[Boundary(e.type, e.first_frame, e.last_frame) for e in truth.negatives],
        same_clip=same_clip,
    )


def _cached(prefix: str, spec: VideoSpec, clip_paths: dict[str, Path], cache_dir: Path,
            salt: str, group: str, log: Callable[[str], None]) -> BenchVideo:
    """The video ``spec`` describes, taken from the cache (``{prefix}-{index}-{key}.mp4`` and
    its truth) or composed now; older versions of the same slot are removed."""
    from vidscene.train.synth import ClipSource, GroundTruth, ProceduralSource, make_video

    path = cache_dir / f"{prefix}-{spec.index:03d}-{spec.key(salt)}.mp4"
    truth_path = path.with_suffix(".truth.json")
    for stale in cache_dir.glob(f"{prefix}-{spec.index:03d}-*"):
        if not stale.name.startswith(path.stem + "."):  # an older spec or composer
            stale.unlink()
    if path.is_file() and truth_path.is_file():
        truth = GroundTruth.from_json(truth_path)
    else:
        log(f"composing {path.name} ({spec.size[0]}x{spec.size[1]}, {spec.n_shots} shots)")
        sources: list[Any] = [ClipSource(clip_paths[c]) for c in spec.clips]
        sources += [ProceduralSource(kind) for kind in spec.procedural]
        truth = make_video(path, seed=spec.seed, sources=sources, n_shots=spec.n_shots,
                           size=spec.size, fps=spec.fps, shot_frames=spec.shot_frames,
                           mix=dict(spec.mix), gradual_frames=spec.gradual_frames,
                           negatives=dict(spec.negatives))
    return _from_truth(path.stem, path, truth, group)


def build_synthetic(n: int, clips_dir: Path, cache_dir: Path = CACHE_DIR,
                    log: Callable[[str], None] = print) -> list[BenchVideo]:
    """The first ``n`` synthetic videos, composed now or taken from the cache."""
    clip_paths = {p.name: p for p in material_clips(clips_dir)}
    if len(clip_paths) < 4:
        raise SystemExit(f"too few single-shot clips in {clips_dir} to compose the benchmark")
    salt = _composer_salt()
    cache_dir.mkdir(parents=True, exist_ok=True)
    return [_cached("shots", spec, clip_paths, cache_dir, salt, "synthetic", log)
            for spec in synthetic_specs(n, sorted(clip_paths))]


# -- the held-out sets -----------------------------------------------------------------------------

HELD_OUT_CLIPS = ("box.mp4", "carphone_pristine.mp4", "cockatoo.mp4", "cup.mp4",
                  "mmaction2_test_test.mp4")
"""The clips the shipped shot model never trained on (its validation clips: the same
``split_clips`` draw at training seed 0, named in its card). The two sets below are composed
from these only, and no threshold is calibrated on them, so they report rather than tune."""

ALL_NEGATIVES = ("brightness", "credits", "dim", "fast-pan", "flash", "occluder", "text",
                 "title", "zoom")

HELD_OUT_SETS: dict[str, dict[str, Any]] = {
    # Long shots full of what is not a transition (and a few cuts between them): false
    # transitions per minute. 24 videos of about 26 s: some 10 minutes at 25 fps.
    "hard-negatives": dict(count=24, seed=20261201, n_shots=(2, 4), shot_frames=(150, 300),
                           mix={"cut": 1.0}, gradual_frames=(6, 12),
                           # Credits and dim shots are whole shots: fewer of them.
                           negatives={**dict.fromkeys(ALL_NEGATIVES, 0.45), "credits": 0.15,
                                      "dim": 0.15}),
    # Gradual transitions as editors make them, 6 to 60 frames, every wipe shape, between
    # moving shots: per-type recall.
    "gradual": dict(count=20, seed=20261202, n_shots=(6, 9), shot_frames=(60, 130),
                    mix={"dissolve": 0.4, "fade": 0.2, "wipe": 0.4}, gradual_frames=(6, 60),
                    negatives={}),
}


def build_held_out(name: str, clips_dir: Path, cache_dir: Path = CACHE_DIR,
                   log: Callable[[str], None] = print) -> list[BenchVideo]:
    """One of :data:`HELD_OUT_SETS`, composed now or taken from the cache."""
    recipe = HELD_OUT_SETS[name]
    clip_paths = {c: clips_dir / c for c in HELD_OUT_CLIPS if (clips_dir / c).is_file()}
    if len(clip_paths) < 3:
        raise SystemExit(f"too few held-out clips in {clips_dir} for the {name} set")
    salt = _composer_salt()
    cache_dir.mkdir(parents=True, exist_ok=True)
    videos = []
    for i in range(recipe["count"]):
        rng = np.random.default_rng([recipe["seed"], i])
        spec = VideoSpec(
            index=i, seed=recipe["seed"] + i, size=SIZES[i % len(SIZES)],
            n_shots=int(rng.integers(recipe["n_shots"][0], recipe["n_shots"][1] + 1)),
            shot_frames=recipe["shot_frames"], gradual_frames=recipe["gradual_frames"],
            clips=tuple(sorted(str(c.name) for c in rng.choice(
                list(clip_paths.values()), size=min(3, len(clip_paths)), replace=False))),
            procedural=(), mix=tuple(sorted(recipe["mix"].items())),
            negatives=tuple(sorted(recipe["negatives"].items())))
        videos.append(_cached(name, spec, clip_paths, cache_dir, salt, name, log))
    return videos


def _boundaries(items: list[dict[str, Any]]) -> list[Boundary]:
    return [Boundary(b.get("type"), int(b["first_frame"]), int(b["last_frame"])) for b in items]


def load_real(clips_dir: Path) -> list[BenchVideo]:
    """The hand-annotated real clips present in ``clips_dir`` (missing ones are skipped)."""
    labels = _real_labels()
    videos = []
    for name, clip in labels["clips"].items():
        path = clips_dir / name
        if not path.is_file():
            continue
        videos.append(BenchVideo(
            name=name, path=path, group="real", frame_count=int(clip["frame_count"]), fps=0.0,
            truth=_boundaries(clip["transitions"]), ignore=_boundaries(clip.get("ignore", [])),
            peer_test_video=bool(clip.get("peer_test_video", False)),
        ))
    return videos
