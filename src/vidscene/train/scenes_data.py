"""Training material for the scene model: a bank of synthetic shots of many places, and
windows of scenes drawn from it.

A *place* is one source of pictures that all belong to one scene: a single-shot dev clip
(decoded once into memory) or a procedural scene (a seeded texture, gradient or set of moving
shapes). A *shot* of a place is a segment of it framed like another camera would frame it
(crop, zoom, slow pan, mirror, colour treatment), sampled at the pipeline's analysis rate and
size; its keyframes are chosen with the pipeline's own rule
(:func:`vidscene.keyframes.select_by_descriptors`) for every ``K`` from 1 to ``max_keyframes``,
and its descriptor mean (:func:`vidscene.keyframes.shot_embedding`) is kept too, so the
training inputs are exactly what :class:`~vidscene.scenes.TransformerSegmenter` sees in a real
analysis, minus the video codec.

Scenes are assembled from the bank on the fly (:func:`sample_window`): a scene is shots of one
place in random order (shot order inside a scene is shuffled, which multiplies the data while
keeping every scene's context), a scene change switches place; how many shots a scene holds,
whether cutaways interrupt it and how shots are entered (cut, dissolve, fade, wipe) is the
window's :class:`WindowStyle` (:data:`SHORT_STYLE`, 1–20 shots and cuts only, the first
model's; :data:`FILM_STYLE`, a film's 3–40 shots with transitions that hint at scene changes).
Hard cases by construction: one-shot scenes, long scenes, a next place chosen among the most
similar-looking ones, a place that returns after another scene (a new scene, as a cut back to
an earlier location is), cutaways that stay in the scene, and "dialogue" scenes that cut back
and forth between two places (shot / reverse shot: one scene of two looks, the commonest
structure of edited scenes).

Held-out places (whole clip families, :func:`vidscene.train.shots_data.split_clips`, and
procedural places from their own seeds) never give training shots: they are the validation set.
Labels come from the composition only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vidscene import keyframes as kf
from vidscene.errors import ConfigError
from vidscene.train.synth import PROCEDURAL_KINDS, ProceduralSource

__all__ = ["FILM_STYLE", "SHORT_STYLE", "TRANSITION_KINDS", "Place", "ShotBank", "Window",
           "WindowStyle", "build_bank", "load_clip_place", "procedural_place", "sample_window"]

SAMPLE_FPS = 2.0
"""Analysis frames per second, as the pipeline samples (``--sample-fps`` default)."""
ANALYSIS_SIZE = (224, 126)
"""Analysis frame size of a 16:9 video in the pipeline."""
PLACE_FPS = 4.0
"""Rate at which a place's frames are kept in memory."""
PLACE_WIDTH = 448
"""Width at which a place's frames are kept: a 2× zoom still renders sharp analysis frames."""
SHOT_SECONDS = (0.8, 8.0)
"""Shot length range (log-uniform)."""
ZOOM = (1.0, 2.0)
JITTER = 0.12
PAN_P = 0.5
MAX_KEYFRAMES = 4
"""Keyframe selections precomputed per shot (K = 1..MAX_KEYFRAMES)."""
SIMILAR_P = 0.3
"""Chance that the next scene's place is one of the three most similar-looking ones."""
RETURN_P = 0.12
"""Chance that a scene returns to the place of the scene two before it."""
DIALOGUE_P = 0.15
"""Chance that a scene cuts back and forth between two places (shot / reverse shot): the
scene is one, although its shots alternate between two looks."""

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


@dataclass
class Place:
    """One place: frames in memory at :data:`PLACE_FPS` (``(T, H, W, 3)`` ``uint8``)."""

    name: str
    frames: np.ndarray

    @property
    def seconds(self) -> float:
        return len(self.frames) / PLACE_FPS


def load_clip_place(path: Path) -> Place:
    """Decode a clip once into a :class:`Place` (rotation applied, as the pipeline does)."""
    from vidscene.video import FrameStream

    frames: list[np.ndarray] = []
    for batch in FrameStream(path, analysis_width=PLACE_WIDTH, sample_fps=PLACE_FPS):
        frames.extend(rgb for _, rgb in batch.analysis)
    if not frames:
        raise ConfigError(f"{path}: no frames decoded")
    shapes = {f.shape for f in frames}
    if len(shapes) > 1:  # a size change mid-file: bring every frame to the first one's size
        h, w = frames[0].shape[:2]
        frames = [f if f.shape[:2] == (h, w)
                  else np.asarray(Image.fromarray(f).resize((w, h))) for f in frames]
    return Place(path.name, np.stack(frames))


CREDITS_SHARE = 0.07
"""Share of procedural places that are credits: names rolling up over black (end credits and
title cards are one scene each, however many shots the detector cuts them into)."""


def procedural_place(seed: int) -> Place:
    """A procedural place, 6 s long: one seeded pattern of :data:`PROCEDURAL_KINDS`, or (a
    :data:`CREDITS_SHARE` of them) credits over black."""
    # The compositor's own credits roll (the shot model's hard negative), reused as a place.
    from vidscene.train.synth import _credits as roll_credits

    rng = np.random.default_rng([seed, 0x504C4143])  # "PLAC"
    size = (PLACE_WIDTH, PLACE_WIDTH * 9 // 16)
    if rng.random() < CREDITS_SHARE:
        # The roll starts below the frame: keep its last 6 s, when names fill the screen.
        frames = np.zeros((224, size[1], size[0], 3), np.uint8)
        roll_credits(frames, 0, len(frames) - 1, rng)
        return Place(f"procedural:credits:{seed}", frames[-24:].copy())
    kind = PROCEDURAL_KINDS[int(rng.integers(len(PROCEDURAL_KINDS)))]
    frames = ProceduralSource(kind).read(24, size, rng)
    return Place(f"procedural:{kind}:{seed}", frames)


# -- shots -------------------------------------------------------------------------------------


def _render_samples(place: Place, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """One shot of ``place``: its analysis frames ``(n, h, w, 3)`` and its length (seconds)."""
    lo, hi = SHOT_SECONDS
    seconds = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    n = max(1, int(round(seconds * SAMPLE_FPS)))
    span = min(seconds, place.seconds)
    start = float(rng.uniform(0.0, place.seconds - span)) if place.seconds > span else 0.0
    # A shot longer than the place plays it slowly (never backwards: that reads as a cut).
    times = start + np.linspace(0.0, span, n, endpoint=False) if n > 1 else np.array([start])
    index = np.clip((times * PLACE_FPS).astype(int), 0, len(place.frames) - 1)

    h, w = place.frames.shape[1:3]
    out_w, out_h = ANALYSIS_SIZE
    base_w = min(w, h * out_w / out_h)
    base_h = base_w * out_h / out_w
    zoom0 = float(rng.uniform(*ZOOM))
    zoom1 = float(np.clip(zoom0 * rng.uniform(0.9, 1.12), 1.0, ZOOM[1])) if rng.random() < PAN_P \
        else zoom0
    c0 = rng.random(2)
    c1 = np.clip(c0 + rng.uniform(-0.35, 0.35, 2), 0, 1) if zoom1 != zoom0 else c0
    flip = rng.random() < 0.5
    gains = (1.0 + rng.uniform(-JITTER, JITTER)) * (1.0 + rng.uniform(-JITTER / 2, JITTER / 2, 3))
    contrast = 1.0 + rng.uniform(-JITTER, JITTER)
    saturation = 1.0 + rng.uniform(-1.5 * JITTER, 1.5 * JITTER)
    samples = np.empty((n, out_h, out_w, 3), np.uint8)
    for i, frame_index in enumerate(index):
        p = i / max(n - 1, 1)
        zoom = zoom0 + (zoom1 - zoom0) * p
        cx, cy = c0 + (c1 - c0) * p
        bw, bh = base_w / zoom, base_h / zoom
        x0, y0 = max(cx * (w - bw), 0.0), max(cy * (h - bh), 0.0)
        box = (x0, y0, min(x0 + bw, w), min(y0 + bh, h))
        crop = Image.fromarray(place.frames[frame_index]).resize(
            ANALYSIS_SIZE, Image.Resampling.BILINEAR, box=box)
        if flip:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        x = np.asarray(crop, np.float32) * gains.astype(np.float32)
        luma = (x @ _LUMA)[..., None]
        y = (luma + (x - luma) * saturation - 128.0) * contrast + 128.0
        samples[i] = np.clip(y, 0, 255).astype(np.uint8)
    return samples, seconds


@dataclass
class ShotBank:
    """Shots of many places, as the pipeline would describe them.

    ``images`` ``(N, h, w, 3)`` every analysis sample at the encoder's input size, shot after
    shot; ``shot_start[s]`` the first row of shot ``s`` (``shot_start[-1] == N``);
    ``selection[s][K-1]`` the rows (absolute) of shot ``s``'s ``K`` keyframes; ``descriptor``
    ``(S, d)`` each shot's descriptor mean; ``seconds`` ``(S,)``; ``place`` ``(S,)`` place ids;
    ``place_names`` one name per place id.
    """

    images: np.ndarray
    shot_start: np.ndarray
    selection: list[list[np.ndarray]]
    descriptor: np.ndarray
    seconds: np.ndarray
    place: np.ndarray
    place_names: list[str]

    @property
    def shots(self) -> int:
        return len(self.seconds)

    def shots_of_place(self) -> list[np.ndarray]:
        return [np.flatnonzero(self.place == p) for p in range(len(self.place_names))]

    def save(self, path: Path) -> None:
        flat = [(s, k, row) for s, per_k in enumerate(self.selection)
                for k, rows in enumerate(per_k) for row in rows]
        sel = np.array(flat, np.int64).reshape(-1, 3)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, images=self.images, shot_start=self.shot_start, selection=sel,
                 descriptor=self.descriptor, seconds=self.seconds, place=self.place,
                 place_names=np.array(json.dumps(self.place_names)))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ShotBank:
        with np.load(path) as data:
            shots = len(data["seconds"])
            selection: list[list[list[int]]] = [[[] for _ in range(MAX_KEYFRAMES)]
                                                for _ in range(shots)]
            for s, k, row in data["selection"]:
                selection[s][k].append(int(row))
            return cls(data["images"], data["shot_start"],
                       [[np.array(r, np.int64) for r in per_k] for per_k in selection],
                       data["descriptor"], data["seconds"], data["place"],
                       json.loads(str(data["place_names"])))


def build_bank(places: Sequence[Place], shots_per_place: Sequence[int], seed: int,
               image_size: tuple[int, int],
               progress: Callable[[int, int], None] | None = None) -> ShotBank:
    """Render ``shots_per_place[p]`` shots of each place (deterministic for a seed)."""
    images: list[np.ndarray] = []
    starts = [0]
    selection: list[list[np.ndarray]] = []
    descriptors, seconds, place_ids = [], [], []
    total = int(sum(shots_per_place))
    done = 0
    for p, (place, count) in enumerate(zip(places, shots_per_place, strict=True)):
        rng = np.random.default_rng([seed, p, 0x53484F54])  # "SHOT"
        for _ in range(count):
            samples, length = _render_samples(place, rng)
            desc = np.stack([kf.frame_descriptor(s) for s in samples])
            base = starts[-1]
            index = list(range(len(samples)))
            selection.append([base + np.array(kf.select_by_descriptors(index, desc, k), np.int64)
                              for k in range(1, MAX_KEYFRAMES + 1)])
            images.extend(kf.keyframe_input(s, image_size) for s in samples)
            starts.append(base + len(samples))
            descriptors.append(kf.shot_embedding(desc))
            seconds.append(length)
            place_ids.append(p)
            done += 1
            if progress:
                progress(done, total)
    return ShotBank(np.stack(images), np.array(starts, np.int64), selection,
                    np.stack(descriptors).astype(np.float32), np.array(seconds, np.float32),
                    np.array(place_ids, np.int64), [p.name for p in places])


def bank_key(parts: dict[str, Any]) -> str:
    """A short hash naming a cached bank: its recipe and the composer's source."""
    source = Path(__file__).read_bytes()
    blob = json.dumps(parts, sort_keys=True).encode() + source
    return hashlib.sha256(blob).hexdigest()[:12]


# -- windows of scenes -----------------------------------------------------------------------


TRANSITION_KINDS: tuple[str, ...] = ("cut", "dissolve", "fade", "wipe")
"""How a shot is entered, as the shot detector reports it (index into this tuple)."""


@dataclass
class Window:
    """A run of shots from the bank: ``shots`` (bank ids) and ``ends[i]`` = 1 when a scene
    ends after shot ``i`` (the last shot's label says whether the next, unseen shot starts a
    new scene; training masks it). ``transition[i]`` is how shot ``i`` is entered (an index
    into :data:`TRANSITION_KINDS`) and ``transition_seconds[i]`` how long that takes (0 for a
    cut)."""

    shots: np.ndarray
    ends: np.ndarray
    transition: np.ndarray | None = None
    transition_seconds: np.ndarray | None = None


@dataclass(frozen=True)
class WindowStyle:
    """How scenes are drawn from the bank.

    ``scene_shots``: (low, high, decay) — shots per scene, geometric-like from ``low`` with
    weight ``decay ** (n - low)`` up to ``high``; ``one_shot_p``: chance that a scene is a
    single shot whatever that draw says; ``insert_p``: chance that a shot inside a scene
    (neither its first nor its last) is a cutaway to another place that stays in the scene;
    ``between`` / ``within``: transition mixes at a scene change and inside a scene (``None``:
    cuts only, no transition inputs).
    """

    scene_shots: tuple[int, int, float]
    one_shot_p: float = 0.0
    insert_p: float = 0.0
    between: dict[str, float] | None = None
    within: dict[str, float] | None = None


SHORT_STYLE = WindowStyle(scene_shots=(1, 20, 0.85))
"""The first scene model's material: short scenes, many of one shot, cuts only."""
FILM_STYLE = WindowStyle(
    scene_shots=(3, 40, 0.93), one_shot_p=0.02, insert_p=0.06,
    between={"cut": 0.55, "dissolve": 0.2, "fade": 0.2, "wipe": 0.05},
    within={"cut": 0.945, "dissolve": 0.04, "fade": 0.01, "wipe": 0.005})
"""A film's scene structure: 3–40 shots a scene (a handful most often, a long tail), rare
one-shot scenes, cutaways inside scenes, and gradual transitions that are evidence of a scene
change but no proof (most cross one, a few lie inside a scene)."""
GRADUAL_SECONDS = (0.3, 1.2)
"""Length range of a gradual transition."""


def _scene_length(rng: np.random.Generator, style: WindowStyle = SHORT_STYLE) -> int:
    lo, hi, decay = style.scene_shots
    if style.one_shot_p and rng.random() < style.one_shot_p:
        return 1
    weights = decay ** np.arange(hi - lo + 1)
    return int(lo + rng.choice(len(weights), p=weights / weights.sum()))


def _transitions(ends: Sequence[int], style: WindowStyle, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray] | None:
    """How each shot is entered (kind indices, seconds); ``None`` for a cuts-only style."""
    if style.between is None or style.within is None:
        return None
    kinds = np.zeros(len(ends), np.int64)
    seconds = np.zeros(len(ends), np.float32)
    for i in range(1, len(ends)):
        mix = style.between if ends[i - 1] else style.within
        names = list(mix)
        p = np.array([mix[k] for k in names], np.float64)
        kind = names[int(rng.choice(len(names), p=p / p.sum()))]
        kinds[i] = TRANSITION_KINDS.index(kind)
        if kind != "cut":
            seconds[i] = float(rng.uniform(*GRADUAL_SECONDS))
    return kinds, seconds


def sample_window(bank: ShotBank, by_place: list[np.ndarray], length: int,
                  rng: np.random.Generator, similar: np.ndarray | None = None,
                  dialogue: float = DIALOGUE_P, style: WindowStyle = SHORT_STYLE) -> Window:
    """``length`` shots in scenes (see the module docstring).

    ``similar[p]`` lists place ids in order of likeness to place ``p`` (most alike first);
    without it, the hard "similar place" case is skipped. ``dialogue`` is the chance that a
    scene cuts back and forth between two places (shot / reverse shot); ``style`` how long
    scenes are and what else happens in them (:class:`WindowStyle`)."""
    usable = [p for p, shots in enumerate(by_place) if len(shots)]
    if len(usable) < 3:
        raise ConfigError("scene windows need shots of at least three places")
    weights = {p: float(len(by_place[p])) for p in usable}
    used: dict[int, set[int]] = {}

    def pick(exclude: set[int], like: int | None) -> int:
        if like is not None and similar is not None and rng.random() < SIMILAR_P:
            near = [int(q) for q in similar[like] if int(q) not in exclude and len(by_place[q])]
            if near:
                return near[int(rng.integers(min(3, len(near))))]
        # Places weighted by their shot count: a clip with many shots (a rich place) is met as
        # often as its share of the bank, not as often as one procedural pattern.
        choices = [p for p in usable if p not in exclude]
        w = np.array([weights[p] for p in choices])
        return choices[int(rng.choice(len(choices), p=w / w.sum()))]

    def draw(place: int) -> int:
        pool = [int(s) for s in by_place[place] if int(s) not in used.setdefault(place, set())]
        if not pool:  # every shot of the place used: start over
            used[place] = set()
            pool = [int(s) for s in by_place[place]]
        shot = pool[int(rng.integers(len(pool)))]
        used[place].add(shot)
        return shot

    shots: list[int] = []
    ends: list[int] = []
    groups: list[tuple[int, ...]] = []
    longest = style.scene_shots[1]
    while len(shots) < length + longest:
        previous = set(groups[-1]) if groups else set()
        if len(groups) >= 2 and not set(groups[-2]) & previous and rng.random() < RETURN_P:
            group = groups[-2]
        else:
            like = groups[-1][-1] if groups else None
            first = pick(previous, like)
            group = (first,)
            if len(usable) - len(previous) >= 2 and rng.random() < dialogue:
                group = (first, pick(previous | {first}, None))
        groups.append(group)
        count = _scene_length(rng, style)
        if len(group) == 1:
            # Any shots of the place, in any order: shot order inside a scene is shuffled.
            count = min(count, len(by_place[group[0]]))
            sequence = [group[0]] * count
        else:
            # Back and forth, mostly alternating.
            count = min(max(count, 4), len(by_place[group[0]]) + len(by_place[group[1]]))
            current = int(rng.integers(2))
            sequence = []
            for _ in range(count):
                sequence.append(group[current])
                if rng.random() < 0.75:
                    current = 1 - current
            if min(sequence.count(group[0]), sequence.count(group[1])) < 2:
                sequence = [group[i % 2] for i in range(count)]  # strictly alternating
        if style.insert_p and count >= 3:
            # Cutaways: a shot of somewhere else that the scene returns from (it stays in).
            elsewhere = previous | set(group)
            for i in range(1, count - 1):
                if (rng.random() < style.insert_p and sequence[i - 1] == sequence[i + 1]
                        and len(usable) > len(elsewhere)):
                    sequence[i] = pick(elsewhere, None)
        for place in set(sequence):
            need = sequence.count(place)
            if len(by_place[place]) - len(used.setdefault(place, set())) < need:
                used[place] = set()  # start over rather than repeat a shot within the scene
        shots.extend(draw(place) for place in sequence)
        ends.extend([0] * (count - 1) + [1])
    entered = _transitions(ends, style, rng)
    # The window may start inside a scene: drop a random prefix of the first scene's shots
    # (the model must not learn that windows begin at scene starts).
    first_end = ends.index(1)
    cut = int(rng.integers(0, first_end + 1))
    window = slice(cut, cut + length)
    return Window(np.array(shots[window], np.int64), np.array(ends[window], np.int64),
                  *((entered[0][window], entered[1][window]) if entered else (None, None)))

