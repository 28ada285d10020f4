"""Synthetic videos with known transitions: the ground truth comes from how they are composed.

Unit tests, the shot benchmark, the bundled demo and model training all need footage whose
every cut, dissolve, fade and wipe is known to the frame. This module composes it from *frame
sources* (segments of real clips, or procedural patterns when no clips are around) and encodes
it with PyAV, writing the truth next to the video.

Lessons the composition follows (see ``docs/ARCHITECTURE.md``):

* Cuts are not only "palette changes": consecutive shots may come from the *same* clip far apart
  in time with another crop (a real same-set cut), and some shots are colour-matched to the one
  before, so that a detector has to look at change, not at appearance.
* Hard negatives (flashes, fast pans, fast zooms, lighting changes, text overlays, dim shots)
  are inserted on purpose and listed in the truth, so false alarms can be counted.
* Everything is drawn from generators seeded by ``seed``: the same inputs give the same video.
* Memory is bounded by one shot: shots are rendered, joined and encoded one after another.

Conventions (the Analysis contract's): a cut at frame ``f`` means ``f`` is the first frame of
the new shot (``first_frame == last_frame == f``); a gradual transition's inclusive span
``first_frame..last_frame`` are the mixed frames and the new shot starts at ``first_frame``.
Shot ranges are half-open.
"""

from __future__ import annotations

import colorsys
import csv
import functools
import json
import os
import string
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vidscene.errors import ConfigError, UnreadableVideo
from vidscene.video import probe

__all__ = [
    "DEFAULT_MIX",
    "NEGATIVE_KINDS",
    "PERMISSIVE_CLIPS",
    "PERMISSIVE_LICENCES",
    "PROCEDURAL_KINDS",
    "TRANSITION_KINDS",
    "TRUTH_SCHEMA",
    "ClipSource",
    "FrameSource",
    "GroundTruth",
    "NegativePlan",
    "ProceduralSource",
    "ShotPlan",
    "TruthEvent",
    "TruthTransition",
    "find_clips_dir",
    "is_permissive",
    "make_video",
    "plan_video",
    "read_manifest",
    "render_video",
]

TRUTH_SCHEMA = "vidscene.synth-truth/1"

DEFAULT_MIX: Mapping[str, float] = {"cut": 0.55, "dissolve": 0.2, "fade": 0.15, "wipe": 0.1}
"""Transition mix of :func:`make_video` when none is given (roughly that of edited footage)."""

SAME_SOURCE_P = 0.3
"""Chance that a shot comes from the same source as the one before (same-set cuts)."""

COLOUR_MATCH_P = 0.25
"""Chance that a shot's colours are matched to the shot before (defeats the palette shortcut)."""

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


# -- ground truth -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TruthTransition:
    """A composed boundary: a cut at ``first_frame`` or the inclusive span of mixed frames."""

    type: str
    first_frame: int
    last_frame: int

    @property
    def is_gradual(self) -> bool:
        return self.type != "cut"


@dataclass(frozen=True)
class TruthEvent:
    """A hard negative: frames that change a lot although no transition happens there."""

    type: str
    first_frame: int
    last_frame: int


@dataclass
class GroundTruth:
    """What a synthetic video contains, frame-exact.

    ``shots`` are half-open frame ranges that tile ``[0, frame_count)``; ``sources`` says per
    shot where its content came from (``"bikes.mp4@3.20s"``, ``"procedural:shapes"``);
    ``scenes`` are inclusive ``(first_shot, last_shot)`` runs of shots that belong together.
    """

    fps: float
    frame_count: int
    width: int
    height: int
    transitions: list[TruthTransition]
    negatives: list[TruthEvent]
    shots: list[tuple[int, int]]
    sources: list[str]
    scenes: list[tuple[int, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": TRUTH_SCHEMA,
            "fps": self.fps,
            "frame_count": self.frame_count,
            "width": self.width,
            "height": self.height,
            "transitions": [
                {"type": t.type, "first_frame": t.first_frame, "last_frame": t.last_frame}
                for t in self.transitions
            ],
            "negatives": [
                {"type": e.type, "first_frame": e.first_frame, "last_frame": e.last_frame}
                for e in self.negatives
            ],
            "shots": [list(s) for s in self.shots],
            "sources": list(self.sources),
            "scenes": [list(s) for s in self.scenes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GroundTruth:
        schema = data.get("schema", TRUTH_SCHEMA)
        if schema != TRUTH_SCHEMA:
            raise ConfigError(f"not a {TRUTH_SCHEMA} document: schema={schema!r}")
        return cls(
            fps=float(data["fps"]),
            frame_count=int(data["frame_count"]),
            width=int(data["width"]),
            height=int(data["height"]),
            transitions=[TruthTransition(**t) for t in data["transitions"]],
            negatives=[TruthEvent(**e) for e in data.get("negatives", [])],
            shots=[(int(a), int(b)) for a, b in data["shots"]],
            sources=[str(s) for s in data.get("sources", [])],
            scenes=[(int(a), int(b)) for a, b in data.get("scenes", [])],
        )

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def from_json(cls, path: str | Path) -> GroundTruth:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


# -- frame sources ------------------------------------------------------------------------------


@runtime_checkable
class FrameSource(Protocol):
    """Anything that can supply a run of consecutive frames of one shot.

    ``read`` returns ``(n, h, w, 3)`` ``uint8`` RGB for ``size == (w, h)``; every random choice
    comes from ``rng`` so compositions are reproducible. A source may also offer ``reset()``
    (forget what it returned before; called when a composition starts) and a ``last_read``
    string describing its last segment (recorded in the truth's ``sources``).
    """

    name: str

    def read(self, n: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray: ...


PatternFn = Callable[[int, int, int, np.random.Generator], np.ndarray]
_PATTERNS: dict[str, PatternFn] = {}


def _pattern(name: str) -> Callable[[PatternFn], PatternFn]:
    def register(fn: PatternFn) -> PatternFn:
        _PATTERNS[name] = fn
        return fn

    return register


def _smooth_noise(w: int, h: int, rng: np.random.Generator, cells: float,
                  octaves: int = 3) -> np.ndarray:
    """Value noise in [0, 1]: bicubic upsampling of random grids, finer octaves weaker."""
    total = np.zeros((h, w), np.float32)
    weight = 1.0
    for octave in range(octaves):
        gx = max(2, int(round(cells * 2**octave)) + 1)
        gy = max(2, int(round(cells * 2**octave * h / max(w, 1))) + 1)
        grid = rng.random((gy, gx), dtype=np.float32)
        img = Image.fromarray(grid, mode="F").resize((w, h), Image.Resampling.BICUBIC)
        total += weight * np.asarray(img, np.float32)
        weight *= 0.5
    lo, hi = float(total.min()), float(total.max())
    return (total - lo) / max(hi - lo, 1e-6)


def _palette(rng: np.random.Generator, k: int) -> np.ndarray:
    """``k`` colours (0..255 floats) spread around the hue circle from a random start."""
    hue0 = rng.random()
    colours = []
    for i in range(k):
        hue = (hue0 + i / k + rng.uniform(-0.08, 0.08)) % 1.0
        sat = rng.uniform(0.25, 0.9)
        val = rng.uniform(0.25, 0.95)
        colours.append(colorsys.hsv_to_rgb(hue, sat, val))
    return np.array(colours, np.float32) * 255.0


def _colourise(t: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """Map ``t`` in [0, 1] through a piecewise-linear ramp over ``colours``."""
    pos = np.clip(t, 0.0, 1.0) * (len(colours) - 1)
    lo = np.minimum(pos.astype(np.int32), len(colours) - 2)
    frac = (pos - lo)[..., None]
    return colours[lo] * (1.0 - frac) + colours[lo + 1] * frac


def _drift_crops(texture: Image.Image, n: int, w: int, h: int, start: tuple[float, float],
                 velocity: tuple[float, float]) -> np.ndarray:
    """``n`` frames cropped from a larger texture along a straight sub-pixel path."""
    out = np.empty((n, h, w, 3), np.uint8)
    for k in range(n):
        x0, y0 = start[0] + velocity[0] * k, start[1] + velocity[1] * k
        crop = texture.resize((w, h), Image.Resampling.BILINEAR, box=(x0, y0, x0 + w, y0 + h))
        out[k] = np.asarray(crop, np.uint8)
    return out


def _drifting_texture(n: int, w: int, h: int, rng: np.random.Generator, speed: float,
                      make: Callable[[int, int], np.ndarray]) -> np.ndarray:
    """Frames of a texture (built by ``make(w, h)``) sliding at up to ``speed`` px/frame."""
    angle = rng.uniform(0, 2 * np.pi)
    v = rng.uniform(0.3, 1.0) * speed
    vx, vy = v * np.cos(angle), v * np.sin(angle)
    margin_x, margin_y = int(np.ceil(abs(vx) * n)) + 2, int(np.ceil(abs(vy) * n)) + 2
    tw, th = w + margin_x, h + margin_y
    texture = Image.fromarray(np.clip(make(tw, th), 0, 255).astype(np.uint8), mode="RGB")
    start = (1.0 if vx >= 0 else tw - w - 1.0, 1.0 if vy >= 0 else th - h - 1.0)
    return _drift_crops(texture, n, w, h, start, (vx, vy))


@_pattern("gradient")
def _gradient(n: int, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth multi-colour gradient that turns and slides slowly, over fine static grain."""
    colours = _palette(rng, 3)
    theta0 = rng.uniform(0, 2 * np.pi)
    omega = np.deg2rad(rng.uniform(-0.6, 0.6))
    drift = rng.uniform(-0.008, 0.008)
    scale = rng.uniform(0.7, 1.6)
    grain = (_smooth_noise(w, h, rng, cells=w / 3, octaves=1) - 0.5) * 10.0
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xs = (xs - w / 2) / w
    ys = (ys - h / 2) / w
    out = np.empty((n, h, w, 3), np.uint8)
    for k in range(n):
        theta = theta0 + omega * k
        t = (xs * np.cos(theta) + ys * np.sin(theta)) * scale + 0.5 + drift * k
        t = 1.0 - np.abs(np.mod(t, 2.0) - 1.0)  # fold, so the ramp never wraps with a seam
        out[k] = np.clip(_colourise(t, colours) + grain[..., None], 0, 255).astype(np.uint8)
    return out


@_pattern("noise-texture")
def _noise_texture(n: int, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """Coloured fractal noise (clouds, marble) scrolling slowly in one direction."""
    colours = _palette(rng, int(rng.integers(3, 5)))
    cells = rng.uniform(3, 9)

    def make(tw: int, th: int) -> np.ndarray:
        return _colourise(_smooth_noise(tw, th, rng, cells * tw / w, octaves=4), colours)

    return _drifting_texture(n, w, h, rng, speed=1.0, make=make)


@dataclass
class _Shape:
    kind: str
    colour: tuple[int, int, int]
    radius: float
    x: float
    y: float
    vx: float
    vy: float
    angle: float
    spin: float

    def step(self, w: int, h: int) -> None:
        """Move one frame, bouncing off the frame edges."""
        self.x += self.vx
        self.y += self.vy
        self.angle += self.spin
        if not self.radius <= self.x <= w - self.radius:
            self.vx = -self.vx
            self.x = float(np.clip(self.x, self.radius, w - self.radius))
        if not self.radius <= self.y <= h - self.radius:
            self.vy = -self.vy
            self.y = float(np.clip(self.y, self.radius, h - self.radius))

    def draw(self, canvas: ImageDraw.ImageDraw) -> None:
        r = self.radius
        if self.kind == "ellipse":
            canvas.ellipse((self.x - r, self.y - 0.7 * r, self.x + r, self.y + 0.7 * r),
                           fill=self.colour)
            return
        corners = 3 if self.kind == "triangle" else 4
        angles = self.angle + np.arange(corners) * 2 * np.pi / corners
        points = [(self.x + r * np.cos(a), self.y + r * np.sin(a)) for a in angles]
        canvas.polygon(points, fill=self.colour)


@_pattern("shapes")
def _shapes(n: int, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """Coloured shapes gliding and turning over a slowly drifting textured background."""
    background_colours = _palette(rng, 2)
    background = _drifting_texture(
        n, w, h, rng, speed=0.5,
        make=lambda tw, th: _colourise(_smooth_noise(tw, th, rng, rng.uniform(2, 6)),
                                       background_colours),
    )
    colours = _palette(rng, 6)
    shapes = []
    for _ in range(int(rng.integers(3, 8))):
        radius = float(rng.uniform(0.08, 0.25) * h)
        speed = float(rng.uniform(0.002, 0.012) * w)
        heading = rng.uniform(0, 2 * np.pi)
        shapes.append(_Shape(
            kind=str(rng.choice(["ellipse", "rectangle", "triangle"])),
            colour=tuple(int(c) for c in colours[int(rng.integers(len(colours)))]),  # type: ignore[arg-type]
            radius=radius,
            x=float(rng.uniform(radius, w - radius)),
            y=float(rng.uniform(radius, max(radius, h - radius))),
            vx=speed * float(np.cos(heading)),
            vy=speed * float(np.sin(heading)),
            angle=float(rng.uniform(0, 2 * np.pi)),
            spin=float(np.deg2rad(rng.uniform(-2, 2))),
        ))
    for k in range(n):
        img = Image.fromarray(background[k], mode="RGB")
        canvas = ImageDraw.Draw(img)
        for shape in shapes:
            shape.draw(canvas)
            shape.step(w, h)
        background[k] = np.asarray(img, np.uint8)
    return background


PROCEDURAL_KINDS: tuple[str, ...] = tuple(sorted(_PATTERNS))


class ProceduralSource:
    """Generated content that needs no footage (tests, CI): every read draws a new look.

    ``kind`` is one of :data:`PROCEDURAL_KINDS` ("gradient", "noise-texture", "shapes"); each
    read draws colours, layout and motion from ``rng``, so two reads differ visibly.
    """

    def __init__(self, kind: str = "shapes") -> None:
        if kind not in _PATTERNS:
            raise ConfigError(
                f"unknown procedural kind {kind!r} (known: {', '.join(PROCEDURAL_KINDS)})")
        self.kind = kind
        self.name = f"procedural:{kind}"
        self.last_read = self.name

    def read(self, n: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
        w, h = size
        return _PATTERNS[self.kind](n, w, h, rng)

    def __repr__(self) -> str:
        return f"ProceduralSource({self.kind!r})"


def _smoothstep(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(p, 0.0, 1.0)
    return np.asarray(p * p * (3.0 - 2.0 * p))


@dataclass(frozen=True)
class _ClipLook:
    """The random treatment of one clip segment: crop path, flip and colour."""

    centre0: tuple[float, float]
    centre1: tuple[float, float]
    zoom0: float
    zoom1: float
    flip: bool
    gains: np.ndarray  # per-channel white balance × brightness
    contrast: float
    saturation: float


class ClipSource:
    """Segments of a real clip, each with its own crop, slow camera move, flip and colours.

    ``start`` pins the segment's start (seconds); otherwise each read draws one, away from the
    previous read's segment when the clip is long enough, so that two shots in a row from the
    same clip look like a real cut within one set. ``zoom`` is the range of crop zoom (1 = the
    largest crop of the output's aspect); ``centre`` pins where the crop sits within the room
    the zoom leaves (0..1 across, 0..1 down; default random); ``pan`` is the chance of a slow
    pan/zoom across the segment, ``hflip`` the chance of a mirror image, ``jitter`` the
    strength of the colour treatment (0 = none). With ``fps`` set, frames are taken at that
    rate of clip time (natural speed at that output rate); otherwise consecutive clip frames
    are used. A clip shorter than a request plays slower, never backwards, so no motion
    reversal looks like a cut.
    """

    def __init__(self, path: str | Path, start: float | None = None, *,
                 zoom: tuple[float, float] = (1.0, 1.5), centre: tuple[float, float] | None = None,
                 pan: float = 0.5, hflip: float = 0.5, jitter: float = 0.12,
                 fps: float | None = None) -> None:
        self.path = Path(path)
        self.name = self.path.name
        self.start = start
        self.zoom = zoom
        self.centre = centre
        self.pan = pan
        self.hflip = hflip
        self.jitter = jitter
        self.fps = fps
        info = probe(self.path, with_hash=False)
        self.width, self.height = info.width, info.height
        self.clip_fps = info.fps
        self.duration = info.duration if info.duration > 0 else info.frame_count / info.fps
        if self.duration <= 0:
            raise UnreadableVideo(self.path, "clip has no measurable duration")
        self._quarter_turns = int(round(info.rotation / 90)) % 4
        self._last_start: float | None = None
        self._last_look: _ClipLook | None = None
        self.last_read = self.name

    def __repr__(self) -> str:
        return f"ClipSource({str(self.path)!r}, start={self.start!r})"

    def reset(self) -> None:
        self._last_start = None
        self._last_look = None

    def read(self, n: int, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
        rate = self.fps or self.clip_fps
        span = n / rate
        if span >= self.duration:
            start, step = 0.0, self.duration / n  # slow motion over the whole clip
        else:
            start, step = self._choose_start(span, rng), 1.0 / rate
        look = self._choose_look(size, rng)
        self._last_start, self._last_look = start, look
        self.last_read = f"{self.name}@{start:.2f}s"
        targets = start + step * np.arange(n)
        return self._decode(targets, size, look)

    # -- choices -----------------------------------------------------------------------------
    def _choose_start(self, span: float, rng: np.random.Generator) -> float:
        latest = self.duration - span
        if self.start is not None:
            return float(min(max(self.start, 0.0), latest))
        start = float(rng.uniform(0.0, latest))
        if self._last_start is None:
            return start
        # Far apart from the previous segment: at least its length, or a third of the clip.
        gap = max(span, self.duration / 3)
        best = start
        for _ in range(16):
            if abs(start - self._last_start) >= gap:
                return start
            if abs(start - self._last_start) > abs(best - self._last_start):
                best = start
            start = float(rng.uniform(0.0, latest))
        return best

    def _choose_look(self, size: tuple[int, int], rng: np.random.Generator) -> _ClipLook:
        look = self._draw_look(size, rng)
        prev = self._last_look
        # A second segment of the same clip also gets a visibly different framing.
        for _ in range(8):
            if prev is None or _framing_distance(look, prev) > 0.15:
                break
            look = self._draw_look(size, rng)
        return look

    def _draw_look(self, size: tuple[int, int], rng: np.random.Generator) -> _ClipLook:
        zoom0 = float(rng.uniform(*self.zoom))
        centre0 = (float(rng.random()), float(rng.random()))  # within the free range, 0..1
        if self.centre is not None:
            centre0 = (float(np.clip(self.centre[0], 0, 1)), float(np.clip(self.centre[1], 0, 1)))
        if rng.random() < self.pan:
            zoom1 = float(np.clip(zoom0 * rng.uniform(0.92, 1.1), 1.0, max(self.zoom[1], 1.0)))
            shift = rng.uniform(-0.35, 0.35, 2)
            centre1 = (float(np.clip(centre0[0] + shift[0], 0, 1)),
                       float(np.clip(centre0[1] + shift[1], 0, 1)))
        else:
            zoom1, centre1 = zoom0, centre0
        j = self.jitter
        gains = (1.0 + rng.uniform(-j, j)) * (1.0 + rng.uniform(-j / 2, j / 2, 3))
        return _ClipLook(
            centre0=centre0, centre1=centre1, zoom0=zoom0, zoom1=zoom1,
            flip=bool(rng.random() < self.hflip),
            gains=gains.astype(np.float32),
            contrast=float(1.0 + rng.uniform(-j, j)),
            saturation=float(1.0 + rng.uniform(-1.5 * j, 1.5 * j)),
        )

    # -- decoding ------------------------------------------------------------------------------
    def _boxes(self, n: int, size: tuple[int, int], look: _ClipLook) -> np.ndarray:
        """Per output frame, the crop box ``(x0, y0, x1, y1)`` in display pixels of the clip."""
        w, h = size
        base_w = min(self.width, self.height * w / h)
        base_h = base_w * h / w
        p = _smoothstep(np.linspace(0.0, 1.0, n)) if n > 1 else np.zeros(1)
        zoom = look.zoom0 + (look.zoom1 - look.zoom0) * p
        fx = look.centre0[0] + (look.centre1[0] - look.centre0[0]) * p
        fy = look.centre0[1] + (look.centre1[1] - look.centre0[1]) * p
        bw, bh = base_w / zoom, base_h / zoom
        # Clipped: at zoom 1 the free range is 0 and rounding can leave -1e-14, which the
        # resampler refuses.
        x0 = np.maximum(fx * (self.width - bw), 0.0)
        y0 = np.maximum(fy * (self.height - bh), 0.0)
        x1 = np.minimum(x0 + bw, self.width)
        y1 = np.minimum(y0 + bh, self.height)
        return np.stack([x0, y0, x1, y1], axis=1)

    def _decode(self, targets: np.ndarray, size: tuple[int, int], look: _ClipLook) -> np.ndarray:
        n = len(targets)
        w, h = size
        boxes = self._boxes(n, size, look)
        # Decode at a working size just big enough for the tightest crop (fast and sharp).
        min_box_w = float(np.min(boxes[:, 2] - boxes[:, 0]))
        scale = min(1.0, 1.15 * w / max(min_box_w, 1.0))
        work_w = max(2, int(round(self.width * scale / 2)) * 2)
        work_h = max(2, int(round(self.height * scale / 2)) * 2)
        boxes = boxes * np.array([work_w / self.width, work_h / self.height] * 2)
        out = np.empty((n, h, w, 3), np.uint8)
        k = 0
        current: av.VideoFrame | None = None
        image: Image.Image | None = None  # ``current`` converted, once it is needed
        for t, frame in self._frames(targets[0]):
            # Each target shows the latest frame at or before it (frames repeat when slowed).
            while k < n and targets[k] < t - 1e-6 and current is not None:
                if image is None:
                    image = self._to_image(current, work_w, work_h)
                out[k] = self._render(image, boxes[k], size, look)
                k += 1
            if k >= n:
                break
            current, image = frame, None
        if current is None:
            raise UnreadableVideo(self.path, "no decodable frames in the requested segment")
        while k < n:
            if image is None:
                image = self._to_image(current, work_w, work_h)
            out[k] = self._render(image, boxes[k], size, look)
            k += 1
        return out

    def _frames(self, start: float) -> Iterator[tuple[float, av.VideoFrame]]:
        """``(time, frame)`` from about ``start`` on; time counts from the first frame."""
        from vidscene.video import open_video

        with open_video(self.path) as (container, stream):
            stream.thread_type = "AUTO"
            tb = float(stream.time_base) if stream.time_base else 0.0
            first_pts = stream.start_time if stream.start_time is not None else None
            if start > 1.0 and tb > 0 and first_pts is not None:
                container.seek(int(first_pts + (start - 0.5) / tb), stream=stream, backward=True)
            count = 0
            last = -np.inf
            for frame in container.decode(stream):
                if frame.pts is not None and tb > 0:
                    base = first_pts if first_pts is not None else 0
                    t = (frame.pts - base) * tb
                else:
                    t = count / self.clip_fps
                # Some files carry timestamps out of display order; the decoder's output order
                # is the one players show (and FrameStream counts), so time must not go back.
                t = max(t, last + 1e-6)
                last = t
                count += 1
                yield t, frame

    def _to_image(self, frame: av.VideoFrame, work_w: int, work_h: int) -> Image.Image:
        k = self._quarter_turns
        cw, ch = (work_h, work_w) if k % 2 else (work_w, work_h)
        rgb: np.ndarray = frame.reformat(cw, ch, format="rgb24",
                                         interpolation="BILINEAR").to_ndarray()
        if k:
            rgb = np.ascontiguousarray(np.rot90(rgb, k))
        return Image.fromarray(rgb, mode="RGB")

    def _render(self, image: Image.Image, box: np.ndarray, size: tuple[int, int],
                look: _ClipLook) -> np.ndarray:
        crop = image.resize(size, Image.Resampling.BILINEAR,
                            box=tuple(float(v) for v in box))  # type: ignore[arg-type]
        if look.flip:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        rgb = np.asarray(crop, np.uint8)
        if self.jitter <= 0:
            return rgb
        x = rgb.astype(np.float32) * look.gains
        luma = (x @ _LUMA)[..., None]
        x = luma + (x - luma) * look.saturation
        x = (x - 128.0) * look.contrast + 128.0
        return np.clip(x, 0, 255).astype(np.uint8)


def _framing_distance(a: _ClipLook, b: _ClipLook) -> float:
    dz = abs(a.zoom0 - b.zoom0) / max(a.zoom0, b.zoom0)
    dc = float(np.hypot(a.centre0[0] - b.centre0[0], a.centre0[1] - b.centre0[1]))
    return max(dz, dc / 2, 1.0 if a.flip != b.flip else 0.0)


# -- transitions ------------------------------------------------------------------------------

Compositor = Callable[[np.ndarray, np.ndarray, np.random.Generator, Mapping[str, Any]],
                      np.ndarray]
"""``(outgoing, incoming, rng, options) -> mixed``: arrays of the ``L`` frames to be mixed."""

_TRANSITIONS: dict[str, Compositor] = {}


def _transition(name: str) -> Callable[[Compositor], Compositor]:
    def register(fn: Compositor) -> Compositor:
        _TRANSITIONS[name] = fn
        return fn

    return register


def _progress(length: int) -> np.ndarray:
    """Mixing position of each mixed frame, strictly inside (0, 1): none is a pure end frame."""
    return (np.arange(length, dtype=np.float32) + 1.0) / (length + 1.0)


@_transition("cut")
def _cut(a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
         options: Mapping[str, Any]) -> np.ndarray:
    return b[:0]  # a cut has no mixed frames


_DISSOLVE_CURVE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda p: p,
    "smooth": _smoothstep,
    "ease-in": lambda p: p * p,  # slow start: the new shot shows late
    "ease-out": lambda p: 1.0 - (1.0 - p) ** 2,  # the new shot shows at once, settles slowly
}
"""The mixing curves editors' tools offer (the new shot's weight against the position)."""
_DISSOLVE_CURVES = tuple(_DISSOLVE_CURVE)


@_transition("dissolve")
def _dissolve(a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
              options: Mapping[str, Any]) -> np.ndarray:
    curve = options.get("curve") or str(rng.choice(_DISSOLVE_CURVES))
    weights = _DISSOLVE_CURVE[curve](_progress(len(a)))
    out = np.empty_like(a)
    for j, wb in enumerate(weights):
        out[j] = np.rint(a[j] * (1.0 - wb) + b[j] * wb).astype(np.uint8)
    return out


_FADE_COLOURS = {"black": 0.0, "white": 255.0}


@_transition("fade")
def _fade(a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
          options: Mapping[str, Any]) -> np.ndarray:
    """Out to a flat colour, maybe hold it a moment, and in again: one transition."""
    colour_name = options.get("colour") or str(rng.choice(
        ["black", "white", "other"], p=[0.7, 0.15, 0.15]))
    # A dip to black or white, or to another flat colour (a brand colour, a dip to red).
    colour = (_palette(rng, 1)[0].astype(np.float32) if colour_name == "other"
              else np.float32(_FADE_COLOURS[colour_name]))
    middle = float(options.get("middle", rng.uniform(0.4, 0.6)))
    hold = float(options.get("hold", rng.uniform(0.0, 0.2)))
    out_end, in_start = middle - hold / 2, middle + hold / 2
    out = np.empty_like(a)
    for j, p in enumerate(_progress(len(a))):
        if p < out_end:
            alpha = p / out_end
            x = a[j] * (1.0 - alpha) + colour * alpha
        elif p <= in_start:
            x = np.full(a[j].shape, colour, np.float32)
        else:
            beta = (p - in_start) / (1.0 - in_start)
            x = colour * (1.0 - beta) + b[j] * beta
        out[j] = np.rint(x).astype(np.uint8)
    return out


_WIPE_DIRECTIONS = {
    "right": (1.0, 0.0), "left": (-1.0, 0.0), "down": (0.0, 1.0), "up": (0.0, -1.0),
    "down-right": (1.0, 1.0), "down-left": (-1.0, 1.0), "up-right": (1.0, -1.0),
    "up-left": (-1.0, -1.0),
}


WIPE_STYLES: tuple[str, ...] = ("edge", "iris", "clock", "barn", "push", "slide")
_WIPE_STYLE_P = (0.4, 0.12, 0.1, 0.1, 0.16, 0.12)


def _wipe_field(style: str, h: int, w: int, rng: np.random.Generator,
                options: Mapping[str, Any]) -> np.ndarray:
    """For a wipe whose edge moves over the picture: when (0..1 of the way) the edge reaches
    each pixel. An edge sweeps straight in one of eight directions; an iris opens (or closes)
    a circle around a point; a clock hand sweeps round; barn doors open from the middle (or
    close onto it)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    x, y = xs / max(w - 1, 1), ys / max(h - 1, 1)
    if style == "edge":
        direction = options.get("direction") or str(rng.choice(sorted(_WIPE_DIRECTIONS)))
        dx, dy = _WIPE_DIRECTIONS[direction]
        u = x * dx + y * dy
    elif style == "iris":
        cx, cy = rng.uniform(0.3, 0.7, 2)
        u = np.hypot((x - cx) * w / h, y - cy)  # round on screen, not in unit coordinates
        if rng.random() < 0.3:
            u = -u  # closing: the old shot shrinks into the point
    elif style == "clock":
        start = rng.uniform(0, 2 * np.pi)
        u = (np.arctan2(y - 0.5, (x - 0.5) * w / h) - start) % (2 * np.pi)
        if rng.random() < 0.5:
            u = -u  # anticlockwise
    elif style == "barn":
        along = x if rng.random() < 0.6 else y
        u = np.abs(along - 0.5)
        if rng.random() < 0.4:
            u = -u  # doors closing onto the middle
    else:
        raise ConfigError(f"unknown wipe style {style!r}")
    return np.asarray((u - u.min()) / max(float(u.max() - u.min()), 1e-6))


@_transition("wipe")
def _wipe(a: np.ndarray, b: np.ndarray, rng: np.random.Generator,
          options: Mapping[str, Any]) -> np.ndarray:
    """A moving edge of many shapes (:data:`WIPE_STYLES`: straight in eight directions, iris,
    clock, barn doors), hard or soft; a push (the new shot shoves the old one out) or a slide
    (the new shot slides in over the old one, which stays)."""
    style = options.get("style") or str(rng.choice(WIPE_STYLES, p=_WIPE_STYLE_P))
    if style in ("push", "slide"):
        direction = options.get("direction") or str(rng.choice(["right", "left", "down", "up"]))
        return _push(a, b, direction, slide=style == "slide")
    # Soft edges too: a feathered wipe reads as a local dissolve.
    softness = float(options.get("softness", rng.choice(
        [rng.uniform(0.0, 0.08), rng.uniform(0.1, 0.35)], p=[0.6, 0.4])))
    h, w = a.shape[1:3]
    u = _wipe_field(style, h, w, rng, options)
    soft = max(softness, 1e-3)
    out = np.empty_like(a)
    for j, p in enumerate(_progress(len(a))):
        mask = np.clip((p * (1.0 + soft) - u) / soft, 0.0, 1.0)[..., None]
        out[j] = np.rint(a[j] * (1.0 - mask) + b[j] * mask).astype(np.uint8)
    return out


def _push(a: np.ndarray, b: np.ndarray, direction: str, *, slide: bool = False) -> np.ndarray:
    vertical = direction in ("down", "up")
    if vertical:  # work on transposed frames, so one horizontal routine serves both
        a, b = a.transpose(0, 2, 1, 3), b.transpose(0, 2, 1, 3)
    forward = direction in ("right", "down")
    w = a.shape[2]
    out = np.empty_like(a)
    for j, p in enumerate(_progress(len(a))):
        off = int(np.clip(round(float(p) * w), 1, w - 1))
        # A push moves the old shot out with the new one; a slide leaves it where it is.
        old = (a[j][:, off:] if forward else a[j][:, : w - off]) if slide else \
            (a[j][:, : w - off] if forward else a[j][:, off:])
        if forward:  # the new shot enters from the left/top
            out[j] = np.concatenate([b[j][:, w - off:], old], axis=1)
        else:
            out[j] = np.concatenate([old, b[j][:, :off]], axis=1)
    return out.transpose(0, 2, 1, 3).copy() if vertical else out


TRANSITION_KINDS: tuple[str, ...] = ("cut", "dissolve", "fade", "wipe")


# -- hard negatives ---------------------------------------------------------------------------

FrameEffect = Callable[[np.ndarray, int, int, np.random.Generator], None]
"""``(frames, first, last, rng)``: change ``frames`` in place (a lasting change persists to the
end of the shot's content, so that it never ends in a jump)."""

CameraEffect = Callable[[np.ndarray, int, int, np.random.Generator], None]
"""``(path, first, last, rng)``: change the per-frame crop ``path`` rows ``(cx, cy, scale)``."""


@dataclass(frozen=True)
class _NegativeKind:
    duration: Callable[[np.random.Generator], int] | None
    """Frames the event lasts; ``None``: the whole shot (a property of the shot, not a moment)."""
    frame_effect: FrameEffect | None = None
    camera_effect: CameraEffect | None = None


_NEGATIVES: dict[str, _NegativeKind] = {}

_CAMERA_CANVAS = 1.35
"""A shot with a camera negative is read this much larger, so the crop can move and zoom."""


def _negative(name: str, duration: Callable[[np.random.Generator], int] | None, *,
              camera: bool = False) -> Callable[[FrameEffect], FrameEffect]:
    def register(fn: FrameEffect) -> FrameEffect:
        _NEGATIVES[name] = _NegativeKind(duration, camera_effect=fn) if camera else \
            _NegativeKind(duration, frame_effect=fn)
        return fn

    return register


def _lerp_path(path: np.ndarray, first: int, last: int, target: np.ndarray) -> None:
    """Move the crop from its state before ``first`` to ``target`` by ``last``; hold after."""
    before = path[first - 1].copy() if first > 0 else path[0].copy()
    steps = last - first + 1
    p = _smoothstep((np.arange(steps) + 1.0) / steps)[:, None]
    path[first:last + 1] = before + (target - before) * p
    path[last + 1:] = target


@_negative("fast-pan", lambda rng: int(rng.integers(5, 13)), camera=True)
def _fast_pan(path: np.ndarray, first: int, last: int, rng: np.random.Generator) -> None:
    cx, cy, s = path[first - 1] if first > 0 else path[0]
    room = (1.0 - s) / 2
    target = np.array([cx, cy, s])
    for _ in range(8):  # a move of at least half the free room: a whip, not a drift
        target[:2] = 0.5 + rng.uniform(-room, room, 2)
        if np.hypot(target[0] - cx, target[1] - cy) >= room:
            break
    _lerp_path(path, first, last, target)


@_negative("zoom", lambda rng: int(rng.integers(5, 15)), camera=True)
def _fast_zoom(path: np.ndarray, first: int, last: int, rng: np.random.Generator) -> None:
    cx, cy, s = path[first - 1] if first > 0 else path[0]
    base = 1.0 / _CAMERA_CANVAS
    new_s = base if s < 0.9 * base else s / rng.uniform(1.3, 1.6)  # out if zoomed in, else in
    room = (1.0 - new_s) / 2
    target = np.array([np.clip(cx, 0.5 - room, 0.5 + room), np.clip(cy, 0.5 - room, 0.5 + room),
                       new_s])
    _lerp_path(path, first, last, target)


@_negative("flash", lambda rng: int(rng.integers(1, 4)))
def _flash(frames: np.ndarray, first: int, last: int, rng: np.random.Generator) -> None:
    strength = rng.uniform(0.5, 0.85)
    tint = np.array([255.0, rng.uniform(235, 255), rng.uniform(200, 255)], np.float32)
    for i, k in enumerate(range(first, last + 1)):
        alpha = strength * (0.75**i)  # a flash peaks at once and decays
        frames[k] = np.rint(frames[k] * (1.0 - alpha) + tint * alpha).astype(np.uint8)


def _brightness_duration(rng: np.random.Generator) -> int:
    return 1 if rng.random() < 0.5 else int(rng.integers(20, 61))


@_negative("brightness", _brightness_duration)
def _brightness(frames: np.ndarray, first: int, last: int, rng: np.random.Generator) -> None:
    """A sudden step (one frame: lights switched) or a slow change (clouds, iris), held after."""
    gain = rng.uniform(0.45, 0.7) if rng.random() < 0.5 else rng.uniform(1.3, 1.6)
    contrast = rng.uniform(0.75, 1.25)
    steps = last - first + 1
    for k in range(first, len(frames)):
        p = min(1.0, (k - first + 1) / steps)
        g, c = 1.0 + (gain - 1.0) * p, 1.0 + (contrast - 1.0) * p
        x = (frames[k].astype(np.float32) - 128.0) * c + 128.0
        frames[k] = np.clip(x * g, 0, 255).astype(np.uint8)


_CAPTION_WORDS = ("LIVE", "BREAKING", "Interview", "Chapter 2", "Episode 7", "Weather",
                  "Final score 2-1", "12:45", "Archive footage", "Coming up next", "Sports",
                  "The journey", "Day 3", "Morning news", "Subscribe")


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow built without FreeType: a fixed-size bitmap font
        return ImageFont.load_default()


@_negative("text", lambda rng: int(rng.integers(15, 61)))
def _text(frames: np.ndarray, first: int, last: int, rng: np.random.Generator) -> None:
    """A caption box that appears (and disappears) within the shot."""
    h, w = frames.shape[1:3]
    words = " ".join(rng.choice(_CAPTION_WORDS, size=int(rng.integers(1, 3)), replace=False))
    font = _font(max(8, int(h * rng.uniform(0.07, 0.12))))
    overlay = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    left, top, right, bottom = draw.textbbox((0, 0), words, font=font)
    pad = max(2, h // 40)
    tw, th = right - left + 2 * pad, bottom - top + 2 * pad
    x = int(rng.uniform(0.03, 0.97) * max(w - tw, 1)) if tw < w else 0
    y = int(h * rng.choice([rng.uniform(0.04, 0.2), rng.uniform(0.7, 0.9)]))
    y = min(y, max(h - th, 0))
    box = tuple(int(c) for c in _palette(rng, 1)[0] * 0.4)
    draw.rectangle((x, y, x + tw, y + th), fill=(*box, int(rng.integers(160, 240))))
    ink = (255, 255, 255, 255) if rng.random() < 0.7 else (255, 230, 60, 255)
    draw.text((x + pad - left, y + pad - top), words, font=font, fill=ink)
    rgba = np.asarray(overlay, np.float32)
    alpha = rgba[..., 3:] / 255.0
    colour = rgba[..., :3] * alpha
    for k in range(first, last + 1):
        frames[k] = np.rint(frames[k] * (1.0 - alpha) + colour).astype(np.uint8)


@_negative("occluder", lambda rng: int(rng.integers(3, 16)))
def _occluder(frames: np.ndarray, first: int, last: int, rng: np.random.Generator) -> None:
    """A large object sweeping through the frame in a few frames (a hand, an arm, a bird in
    front of the lens): a blurred dark or bright shape, or a textured one cut from elsewhere
    in the shot, from off one edge to off another, covering up to most of the picture."""
    n, h, w = frames.shape[:3]
    size = rng.uniform(0.35, 0.9) * h
    rx, ry = size * rng.uniform(0.5, 1.2) / 2, size / 2
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    # Enter and leave beyond opposite edges, through somewhere near the middle.
    angle = rng.uniform(0, 2 * np.pi)
    reach = 0.75 * np.hypot(w, h) + max(rx, ry)  # off screen from any point near the middle
    mid = np.array([w, h]) * rng.uniform(0.3, 0.7, 2)
    start = mid + reach * np.array([np.cos(angle), np.sin(angle)])
    end = mid - reach * np.array([np.cos(angle), np.sin(angle)])
    if rng.random() < 0.5:  # a blurred flat shape, dark or bright
        look = np.full((h, w, 3), rng.choice([rng.uniform(0, 40), rng.uniform(200, 255)]),
                       np.float32) * rng.uniform(0.8, 1.0, 3).astype(np.float32)
    else:  # texture from another moment of the shot, turned over: a foreign object
        look = frames[int(rng.integers(n))][::-1, ::-1].astype(np.float32)
    softness = rng.uniform(0.05, 0.3)
    steps = last - first + 1
    for i, k in enumerate(range(first, last + 1)):
        cx, cy = start + (end - start) * ((i + 0.5) / steps)
        d = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2
        alpha = np.clip((1.0 - d) / softness, 0.0, 1.0)[..., None]
        frames[k] = np.rint(frames[k] * (1.0 - alpha) + look * alpha).astype(np.uint8)


_TITLE_WORDS = ("THE END", "Part One", "NORTH", "A film by", "Prologue", "1987", "Summer",
                "Chapter IV", "Three years later", "PARIS", "Act II", "Credits", "Goodbye")


def _text_layer(w: int, h: int, lines: Sequence[str], size: int, ink: tuple[int, ...],
                spacing: float = 1.4) -> np.ndarray:
    """An RGBA layer (float, 0..255) with ``lines`` centred one under another from the top."""
    font = _font(size)
    layer = Image.new("RGBA", (w, max(h, int(len(lines) * size * spacing) + size)),
                      (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for i, line in enumerate(lines):
        left, top, right, _ = draw.textbbox((0, 0), line, font=font)
        draw.text(((w - (right - left)) / 2 - left, i * size * spacing - top), line,
                  font=font, fill=ink)
    return np.asarray(layer, np.float32)


@_negative("title", lambda rng: int(rng.integers(20, 81)))
def _title(frames: np.ndarray, first: int, last: int, rng: np.random.Generator) -> None:
    """A title over a shot that continues: it fades in, holds (maybe drifting), fades out,
    or pops on and off; large, centred or low in the frame."""
    h, w = frames.shape[1:3]
    words = str(rng.choice(_TITLE_WORDS))
    size = max(8, int(h * rng.uniform(0.1, 0.22)))
    ink = (255, 255, 255, 255) if rng.random() < 0.75 else tuple(
        int(c) for c in _palette(rng, 1)[0]) + (255,)
    layer = _text_layer(w, size * 2, [words], size, ink)
    top = int(h * rng.choice([rng.uniform(0.35, 0.5), rng.uniform(0.65, 0.8)]) - size / 2)
    steps = last - first + 1
    ramp = max(1, min(steps // 3, int(rng.integers(4, 16)))) if rng.random() < 0.75 else 1
    drift = rng.uniform(-0.15, 0.15) * w if rng.random() < 0.4 else 0.0
    for i, k in enumerate(range(first, last + 1)):
        envelope = min(1.0, (i + 1) / ramp, (steps - i) / ramp)
        dx = int(round(drift * i / max(steps - 1, 1)))
        shifted = np.roll(layer, dx, axis=1)
        y0, y1 = max(0, top), min(h, top + shifted.shape[0])
        if y1 <= y0:
            continue
        part = shifted[y0 - top:y1 - top]
        alpha = part[..., 3:] / 255.0 * envelope
        region = frames[k, y0:y1].astype(np.float32)
        frames[k, y0:y1] = np.rint(region * (1.0 - alpha) + part[..., :3] * alpha
                                   ).astype(np.uint8)


_CREDIT_NAMES = ("Director", "Producer", "Camera", "Editor", "Sound", "Music", "Cast",
                 "Lighting", "Costumes", "Make-up", "Written by", "Thanks to", "Grip")


@_negative("credits", None)
def _credits(frames: np.ndarray, first: int, last: int, rng: np.random.Generator) -> None:
    """Scrolling end credits, the whole shot: lines of names rolling up at a steady speed,
    over black (a black shot with credits on it) or over the picture."""
    n, h, w = frames.shape[:3]
    size = max(7, int(h * rng.uniform(0.05, 0.09)))
    letters = string.ascii_uppercase
    lines = []
    for _ in range(int(rng.integers(12, 30))):
        name = "".join(rng.choice(list(letters), int(rng.integers(4, 9)))).capitalize()
        lines.append(f"{rng.choice(_CREDIT_NAMES)}  {name}" if rng.random() < 0.6 else name)
    layer = _text_layer(w, h, lines, size, (255, 255, 255, 255))
    over_black = rng.random() < 0.6
    if over_black:  # a black shot with credits on it: nothing else moves
        frames[:] = np.uint8(np.rint(rng.uniform(0, 12)))
    steps = last - first + 1
    speed = rng.uniform(0.5, 2.0) * h / 100.0  # pixels a frame: slow to brisk
    # The roll stops where it is at ``last`` and stays to the shot's end: no jump.
    for k in range(first, n):
        i = min(k - first, steps - 1)
        top = int(round(h - speed * i)) if steps > 1 else 0
        y0, y1 = max(0, top), min(h, top + layer.shape[0])
        if y1 <= y0:
            continue
        part = layer[y0 - top:y1 - top]
        alpha = part[..., 3:] / 255.0
        region = frames[k, y0:y1].astype(np.float32)
        frames[k, y0:y1] = np.rint(region * (1.0 - alpha) + part[..., :3] * alpha
                                   ).astype(np.uint8)


@_negative("dim", None)
def _dim(frames: np.ndarray, first: int, last: int, rng: np.random.Generator) -> None:
    """A dark, low-contrast shot (night, underexposure): easily mistaken for a fade."""
    level = rng.uniform(0.15, 0.4)
    contrast = rng.uniform(0.3, 0.6)
    for k in range(len(frames)):
        x = frames[k].astype(np.float32)
        mean = float(x.mean())
        frames[k] = np.clip(((x - mean) * contrast + mean) * level, 0, 255).astype(np.uint8)


NEGATIVE_KINDS: tuple[str, ...] = tuple(sorted(_NEGATIVES))


# -- planning -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NegativePlan:
    """A hard negative at shot-local frames ``first..last`` (inclusive)."""

    type: str
    first: int
    last: int


@dataclass
class ShotPlan:
    """One shot of a composition, before rendering.

    ``length`` counts the shot's frames in the video, its incoming mixed frames included;
    ``transition`` and ``transition_frames`` say how it is entered (ignored for the first
    shot; 0 frames for a cut); ``transition_options`` pin a compositor's choices (for example
    ``{"colour": "black"}`` for a fade, ``{"style": "edge", "direction": "right"}`` for a wipe).
    Shots with equal ``scene`` in a row form a scene; with no scene ids at all, runs of shots
    from the same source do.
    """

    source: FrameSource
    length: int
    transition: str = "cut"
    transition_frames: int = 0
    transition_options: dict[str, Any] = field(default_factory=dict)
    negatives: list[NegativePlan] = field(default_factory=list)
    colour_match: bool = False
    scene: int | None = None


def _check_range(name: str, value: tuple[int, int], minimum: int) -> tuple[int, int]:
    lo, hi = int(value[0]), int(value[1])
    if lo < minimum or hi < lo:
        raise ConfigError(f"{name} must be (low, high) with {minimum} <= low <= high, got {value}")
    return lo, hi


def _weights(name: str, given: Mapping[str, float], known: Sequence[str]) -> dict[str, float]:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ConfigError(f"unknown {name} {', '.join(unknown)} (known: {', '.join(known)})")
    if any(v < 0 for v in given.values()):
        raise ConfigError(f"{name} weights must not be negative: {dict(given)}")
    return {k: float(given[k]) for k in known if k in given}


def plan_video(*, seed: int, sources: Sequence[FrameSource], n_shots: int = 8,
               shot_frames: tuple[int, int] = (20, 100), mix: Mapping[str, float] | None = None,
               gradual_frames: tuple[int, int] = (6, 30),
               negatives: Mapping[str, float] | None = None,
               transition_options: Mapping[str, Mapping[str, Any]] | None = None
               ) -> list[ShotPlan]:
    """Draw a composition: shot lengths, sources, transitions and hard negatives.

    ``transition_options`` pins a compositor's choices for every transition of a kind
    (``{"wipe": {"style": "edge"}}``: straight wipes only).

    A gradual transition never takes more than half of the shot it leads into, so every shot
    keeps unmixed frames (its span is clipped to that; it is at least one frame).
    """
    if not sources:
        raise ConfigError("make_video needs at least one frame source")
    if n_shots < 1:
        raise ConfigError(f"n_shots must be at least 1, got {n_shots}")
    shot_lo, shot_hi = _check_range("shot_frames", shot_frames, 2)
    grad_lo, grad_hi = _check_range("gradual_frames", gradual_frames, 1)
    mix_w = _weights("transition type", DEFAULT_MIX if mix is None else mix, TRANSITION_KINDS)
    total = sum(mix_w.values())
    if total <= 0:
        raise ConfigError(f"mix gives no transition a positive weight: {dict(mix or {})}")
    kinds = list(mix_w)
    probs = np.array([mix_w[k] for k in kinds]) / total
    neg_p = _weights("negative", negatives or {}, NEGATIVE_KINDS)
    if any(p > 1 for p in neg_p.values()):
        raise ConfigError(f"negative probabilities must be within [0, 1]: {dict(neg_p)}")

    rng = np.random.default_rng([seed, 0x504C414E])  # "PLAN": apart from the content draws
    lengths = rng.integers(shot_lo, shot_hi + 1, n_shots)
    plan: list[ShotPlan] = []
    index = int(rng.integers(len(sources)))
    for i in range(n_shots):
        if i > 0 and len(sources) > 1 and rng.random() >= SAME_SOURCE_P:
            others = [j for j in range(len(sources)) if j != index]
            index = others[int(rng.integers(len(others)))]
        length = int(lengths[i])
        kind, frames = "cut", 0
        if i > 0:
            kind = kinds[int(rng.choice(len(kinds), p=probs))]
            if kind != "cut":
                frames = max(1, min(int(rng.integers(grad_lo, grad_hi + 1)), length // 2))
        shot = ShotPlan(source=sources[index], length=length, transition=kind,
                        transition_frames=frames,
                        transition_options=dict((transition_options or {}).get(kind, {})))
        shot.negatives = _plan_negatives(rng, neg_p, length, frames)
        shot.colour_match = (i > 0 and rng.random() < COLOUR_MATCH_P
                             and all(e.type not in ("dim", "credits") for e in shot.negatives))
        plan.append(shot)
    return plan


def _plan_negatives(rng: np.random.Generator, probabilities: Mapping[str, float], length: int,
                    mixed: int) -> list[NegativePlan]:
    """Place events inside the shot's unmixed frames, apart from each other and the edges.

    Kinds are tried in a random order and none takes more than half the room, so that with
    several kinds asked for, a long one (a slow lighting change) does not crowd out the rest.
    """
    margin = 2
    lo, hi = mixed + margin, length - margin  # allowed [lo, hi)
    events: list[NegativePlan] = []
    for kind in rng.permutation(NEGATIVE_KINDS):
        kind = str(kind)
        p = probabilities.get(kind, 0.0)
        if p <= 0 or rng.random() >= p:
            continue
        draw = _NEGATIVES[kind].duration
        if draw is None:
            events.append(NegativePlan(kind, 0, length - 1))
            continue
        duration = min(draw(rng), max(1, (hi - lo) // 2))
        if duration < 1:
            continue
        for _ in range(8):
            first = int(rng.integers(lo, hi - duration + 1))
            last = first + duration - 1
            clash = any(first <= e.last + margin and e.first <= last + margin
                        for e in events if _NEGATIVES[e.type].duration is not None)
            if not clash:
                events.append(NegativePlan(kind, first, last))
                break
    return sorted(events, key=lambda e: (e.first, e.type))


# -- rendering -----------------------------------------------------------------------------------


class _Encoder:
    """H.264 yuv420p writer; frames go out as they come, so memory stays at one shot."""

    def __init__(self, path: Path, size: tuple[int, int], fps: float, crf: int,
                 preset: str) -> None:
        web = path.suffix.lower() in (".mp4", ".mov", ".m4v")
        # faststart: the index goes first, so the HTML report can play the file while loading.
        self.container = av.open(str(path), mode="w",
                                 options={"movflags": "+faststart"} if web else {})
        self.stream = self.container.add_stream("libx264",
                                                rate=Fraction(fps).limit_denominator(1001))
        self.stream.width, self.stream.height = size
        self.stream.pix_fmt = "yuv420p"
        codec_options: dict[str, object] = {"crf": str(crf), "preset": preset}
        cpu = _x264_cpu_without_avx512()
        if cpu:
            codec_options["x264-params"] = f"asm={cpu}"
        self.stream.options = codec_options
        # One encoder thread: threaded x264 gives slightly different pictures run to run, and
        # the same seed must give the same frames.
        self.stream.codec_context.thread_count = 1
        self.count = 0

    def write(self, frames: np.ndarray) -> None:
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame.pts = self.count
            self.count += 1
            for packet in self.stream.encode(frame):
                self.container.mux(packet)

    def close(self) -> None:
        for packet in self.stream.encode(None):
            self.container.mux(packet)
        self.container.close()


# /proc/cpuinfo flag -> x264 CPU capability names.
_X264_CPU_FLAGS = {
    "sse": "MMX2,SSE", "sse2": "SSE2", "pni": "SSE3", "ssse3": "SSSE3", "sse4_1": "SSE4.1",
    "sse4_2": "SSE4.2", "abm": "LZCNT", "avx": "AVX", "fma": "FMA3", "bmi1": "BMI1",
    "bmi2": "BMI2", "avx2": "AVX2",
}


@functools.cache
def _x264_cpu_without_avx512() -> str:
    """x264's CPU capabilities minus AVX-512, on x86 Linux machines that have AVX-512.

    With its AVX-512 code paths, x264 encodes the same frames slightly differently from run to
    run (seen on Xeon, x264 core 164); without them the output is bit-exact and no slower.
    Elsewhere: "" (let x264 detect the CPU itself).
    """
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    flags = set(line.partition(":")[2].split())
    if not any(f.startswith("avx512") for f in flags) or "sse2" not in flags:
        return ""
    return ",".join(name for flag, name in _X264_CPU_FLAGS.items() if flag in flags)


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    w, h = int(size[0]), int(size[1])
    if w < 16 or h < 16 or w % 2 or h % 2:
        raise ConfigError(f"size must be even and at least 16×16 (yuv420p), got {w}×{h}")
    return w, h


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def _render_shot(shot: ShotPlan, n: int, size: tuple[int, int],
                 rng: np.random.Generator) -> np.ndarray:
    """The shot's ``n`` content frames with its negatives applied."""
    w, h = size
    camera = [e for e in shot.negatives if _NEGATIVES[e.type].camera_effect is not None]
    read_size = (_even(w * _CAMERA_CANVAS), _even(h * _CAMERA_CANVAS)) if camera else size
    frames = shot.source.read(n, read_size, rng)
    expected = (n, read_size[1], read_size[0], 3)
    if frames.shape != expected or frames.dtype != np.uint8:
        raise ConfigError(f"frame source {shot.source.name!r} returned {frames.dtype} "
                          f"{frames.shape}, expected uint8 {expected}")
    if camera:
        frames = _camera_crop(frames, camera, size, rng)
    else:
        frames = np.array(frames, copy=True)  # sources may hand out read-only views
    for event in shot.negatives:
        effect = _NEGATIVES[event.type].frame_effect
        if effect is not None:
            effect(frames, event.first, event.last, rng)
    return frames


def _camera_crop(canvas: np.ndarray, events: list[NegativePlan], size: tuple[int, int],
                 rng: np.random.Generator) -> np.ndarray:
    """Crop the larger canvas along a path shaped by fast pans and zooms (with motion blur)."""
    n, ch, cw = canvas.shape[:3]
    base = 1.0 / _CAMERA_CANVAS
    start_scale = base if rng.random() < 0.5 else base / 1.4
    room = (1.0 - start_scale) / 2
    path = np.tile([0.5 + rng.uniform(-room, room), 0.5 + rng.uniform(-room, room),
                    start_scale], (n, 1))
    for event in sorted(events, key=lambda e: e.first):
        effect = _NEGATIVES[event.type].camera_effect
        assert effect is not None
        effect(path, event.first, event.last, rng)
    w, h = size
    out = np.empty((n, h, w, 3), np.uint8)
    for k in range(n):
        image = Image.fromarray(canvas[k], mode="RGB")
        prev = path[k - 1] if k > 0 else path[k]
        moving = np.abs(path[k] - prev).max() > 0.01
        # Fast camera moves blur: average three sub-frame crops along the move.
        states = [prev + (path[k] - prev) * f for f in (0.33, 0.67, 1.0)] if moving else [path[k]]
        acc = np.zeros((h, w, 3), np.float32)
        for cx, cy, s in states:
            bw, bh = s * cw, s * ch
            box = (cx * cw - bw / 2, cy * ch - bh / 2, cx * cw + bw / 2, cy * ch + bh / 2)
            acc += np.asarray(image.resize(size, Image.Resampling.BILINEAR, box=box), np.float32)
        out[k] = np.rint(acc / len(states)).astype(np.uint8)
    return out


def _match_colour(frames: np.ndarray, reference: np.ndarray) -> None:
    """Shift the shot's per-channel mean and spread toward the reference frame's, in place."""
    ref = reference.reshape(-1, 3).astype(np.float32)
    own = frames[0].reshape(-1, 3).astype(np.float32)
    ratio = np.clip((ref.std(0) + 1.0) / (own.std(0) + 1.0), 0.5, 2.0)
    shift = ref.mean(0) - own.mean(0) * ratio
    for k in range(len(frames)):
        frames[k] = np.clip(frames[k] * ratio + shift, 0, 255).astype(np.uint8)


def _scenes(shots: Sequence[ShotPlan]) -> list[tuple[int, int]]:
    """Inclusive shot runs with equal scene ids (or the same source, when no ids are given)."""
    if any(s.scene is not None for s in shots):
        keys: list[object] = [s.scene for s in shots]
    else:
        keys = [id(s.source) for s in shots]
    runs: list[tuple[int, int]] = []
    for i, key in enumerate(keys):
        if runs and keys[runs[-1][0]] == key:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def render_video(path: str | Path, shots: Sequence[ShotPlan], *, seed: int,
                 size: tuple[int, int] = (320, 180), fps: float = 25.0, crf: int = 20,
                 preset: str = "veryfast") -> GroundTruth:
    """Render a planned composition to ``path`` (H.264, yuv420p) and its truth next to it.

    Each shot is read with ``transition_frames`` of the *next* shot extra frames, which become
    the outgoing half of that transition; only those frames are kept between shots.
    """
    path = Path(path)
    size = _check_size(size)
    if not shots:
        raise ConfigError("a composition needs at least one shot")
    if fps <= 0:
        raise ConfigError(f"fps must be positive, got {fps}")
    for i, shot in enumerate(shots):
        _check_shot(i, shot)
    for source in {id(s.source): s.source for s in shots}.values():
        reset = getattr(source, "reset", None)
        if callable(reset):
            reset()

    transitions: list[TruthTransition] = []
    events: list[TruthEvent] = []
    ranges: list[tuple[int, int]] = []
    names: list[str] = []
    encoder = _Encoder(path, size, fps, crf, preset)
    try:
        position = 0
        tail = np.empty((0, size[1], size[0], 3), np.uint8)
        reference: np.ndarray | None = None
        for i, shot in enumerate(shots):
            mixed = shot.transition_frames if i > 0 else 0
            outgoing = shots[i + 1].transition_frames if i + 1 < len(shots) else 0
            content = _render_shot(shot, shot.length + outgoing, size,
                                   np.random.default_rng([seed, 1, i]))
            names.append(str(getattr(shot.source, "last_read", "") or shot.source.name))
            if shot.colour_match and reference is not None:
                _match_colour(content, reference)
            if i > 0:
                compose = _TRANSITIONS[shot.transition]
                encoder.write(compose(tail, content[:mixed], np.random.default_rng([seed, 2, i]),
                                      shot.transition_options))
                transitions.append(TruthTransition(shot.transition, position,
                                                   position + max(mixed, 1) - 1))
            encoder.write(content[mixed:shot.length])
            reference = content[shot.length - 1].copy()
            tail = content[shot.length:].copy()
            del content
            events.extend(TruthEvent(e.type, position + e.first, position + e.last)
                          for e in shot.negatives)
            ranges.append((position, position + shot.length))
            position += shot.length
        encoder.close()
    except BaseException:
        try:
            encoder.container.close()
        finally:
            path.unlink(missing_ok=True)
        raise
    truth = GroundTruth(fps=float(fps), frame_count=position, width=size[0], height=size[1],
                        transitions=transitions, negatives=events, shots=ranges, sources=names,
                        scenes=_scenes(shots))
    truth.to_json(path.with_suffix(".truth.json"))
    return truth


def _check_shot(i: int, shot: ShotPlan) -> None:
    if shot.length < 1:
        raise ConfigError(f"shot {i}: length must be at least 1, got {shot.length}")
    if i == 0:
        return
    if shot.transition not in _TRANSITIONS:
        raise ConfigError(f"shot {i}: unknown transition {shot.transition!r} "
                          f"(known: {', '.join(TRANSITION_KINDS)})")
    if shot.transition == "cut" and shot.transition_frames != 0:
        raise ConfigError(f"shot {i}: a cut has no mixed frames")
    if shot.transition != "cut" and not 1 <= shot.transition_frames <= shot.length:
        raise ConfigError(f"shot {i}: {shot.transition} needs 1..{shot.length} mixed frames, "
                          f"got {shot.transition_frames}")
    for e in shot.negatives:
        if e.type not in _NEGATIVES:
            raise ConfigError(f"shot {i}: unknown negative {e.type!r}")
        if not 0 <= e.first <= e.last < shot.length:
            raise ConfigError(f"shot {i}: negative {e.type} at {e.first}..{e.last} is outside "
                              f"the shot's {shot.length} frames")


def make_video(path: Path, *, seed: int, sources: Sequence[FrameSource], n_shots: int = 8,
               size: tuple[int, int] = (320, 180), fps: float = 25.0,
               shot_frames: tuple[int, int] = (20, 100), mix: Mapping[str, float] | None = None,
               gradual_frames: tuple[int, int] = (6, 30),
               negatives: Mapping[str, float] | None = None, crf: int = 20,
               transition_options: Mapping[str, Mapping[str, Any]] | None = None
               ) -> GroundTruth:
    """Compose, encode and describe a synthetic video: writes ``path`` and
    ``path.with_suffix(".truth.json")`` and returns the truth.

    ``mix`` weighs the transition types (default :data:`DEFAULT_MIX`); ``negatives`` gives,
    per kind in :data:`NEGATIVE_KINDS`, the chance that a shot contains one (default none);
    ``transition_options`` pins compositor choices per kind (see :func:`plan_video`).
    The same arguments and seed always give the same truth and the same frames.
    """
    plan = plan_video(seed=seed, sources=sources, n_shots=n_shots, shot_frames=shot_frames,
                      mix=mix, gradual_frames=gradual_frames, negatives=negatives,
                      transition_options=transition_options)
    return render_video(path, plan, seed=seed, size=size, fps=fps, crf=crf)


# -- the development clips -----------------------------------------------------------------------

PERMISSIVE_LICENCES: tuple[str, ...] = ("BSD", "MIT", "Apache-2.0", "CC0")
"""Licences that allow copying a clip into the project (with attribution in a NOTICE)."""

PERMISSIVE_CLIPS: tuple[str, ...] = (
    "Megamind.avi",
    "bikes.mp4",
    "box.mp4",
    "carphone_pristine.mp4",
    "cityCC0.mpg",
    "cup.mp4",
    "deer_sample.mp4",
    "gradio_world.mp4",
    "mmaction2_S001C001P001R001A001_rgb.avi",
    "mmaction2_demo.mp4",
    "mmaction2_demo_spatiotemporal_det.mp4",
    "mmaction2_test_test.avi",
    "mmaction2_test_test.mp4",
    "mmaction2_test_video_structuralize.mp4",
    "short_hamilton_clip.mp4",
    "tree.avi",
    "vtest.avi",
)
"""Clips in ``shared/data/clips`` whose manifest licence is BSD, MIT, Apache-2.0 or CC0."""


def is_permissive(licence: str) -> bool:
    """Whether a manifest licence entry allows copying ("Apache-2.0 (repository)" does,
    "PySceneDetect resources license: for testing only" and GPL do not)."""
    text = licence.strip()
    return any(text.startswith(name) for name in PERMISSIVE_LICENCES)


def read_manifest(clips_dir: str | Path) -> dict[str, dict[str, str]]:
    """Rows of ``MANIFEST.tsv`` (next to or inside the clips folder), keyed by file name."""
    clips = Path(clips_dir)
    for candidate in (clips.parent / "MANIFEST.tsv", clips / "MANIFEST.tsv"):
        if candidate.is_file():
            with candidate.open(newline="", encoding="utf-8") as f:
                return {row["file"]: dict(row) for row in csv.DictReader(f, delimiter="\t")}
    raise ConfigError(f"no MANIFEST.tsv next to {clips}")


def find_clips_dir() -> Path | None:
    """The development clips folder: ``$VIDSCENE_CLIPS``, else ``../shared/data/clips`` from
    the repository root or the working directory; ``None`` when there is none."""
    env = os.environ.get("VIDSCENE_CLIPS")
    if env:
        path = Path(env).expanduser()
        return path.resolve() if path.is_dir() else None
    repo_root = Path(__file__).resolve().parents[3]
    for base in (repo_root, Path.cwd()):
        path = base.parent / "shared" / "data" / "clips"
        if path.is_dir():
            return path.resolve()
    return None
