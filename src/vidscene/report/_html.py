"""``html``: one self-contained page that shows a person what the analysis found.

Self-contained means one file with no network access at all: styles are inline, pictures are
``data:`` URIs, charts are inline SVG, and there is no script. It can be mailed, archived or
opened offline years later and still look the same.

The page is built in two steps: Python turns the Analysis into a small view model of
ready-to-print strings and geometry (``_Page``), and a Jinja2 template (autoescaped, so file
names and attribute values cannot inject markup) lays it out. Geometry lives in Python so it can
be tested; layout lives in the template so it can be restyled without touching code.

Size stays bounded on long videos: the timeline and each chart are single SVGs whose elements
grow linearly with the shot count, and the number and size of thumbnails per shot shrink as the
shot count grows (see :class:`HtmlExporter`).
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, UnidentifiedImageError

from vidscene.analysis import Analysis, AnalysisResult, Scene, Shot
from vidscene.errors import ConfigError
from vidscene.report._base import EXPORTERS, Exporter, scene_index_of_shots
from vidscene.report._timecode import seconds_to_timecode

if TYPE_CHECKING:
    import jinja2

TEMPLATE = "report.html.j2"

# Scene colours: distinct hues of similar lightness, so white text and thin bars stay legible on
# every one of them; scenes beyond twelve reuse the cycle (neighbours still differ).
SCENE_COLOURS: tuple[str, ...] = (
    "#3b73b9", "#e07b39", "#3d9a5b", "#c4463a", "#7d5cb4", "#8a6a4f",
    "#d35d9e", "#6f7a86", "#a3a13a", "#2f9fb0", "#b0683f", "#5566c8",
)
UNSCENED_COLOURS: tuple[str, str] = ("#56606b", "#7b8590")
"""Shots outside any scene alternate two greys, so that shot boundaries stay visible."""

TRANSITION_COLOURS: dict[str, str] = {
    "cut": "#1f2328",
    "dissolve": "#8e44ad",
    "fade": "#505050",
    "wipe": "#d98c00",
    "other": "#16a085",
}

TIMELINE_WIDTH = 1000.0
"""SVG user units across the timeline and every chart; the SVGs stretch to the page width."""

MIN_SPAN = 3.0
"""Narrowest gradual-transition marker, in timeline units (about 3 px at full width)."""

DENSE_CUTS = 200
"""Above this many shots, cut strokes on the timeline start to fade (see ``cut_opacity``)."""

_TICK_STEPS: tuple[float, ...] = (
    0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400,
)


_INDENT = re.compile(r"\n[ \t]+")

# ---------------------------------------------------------------------------- view model


@dataclass
class _Thumb:
    frame: int
    timecode: str
    src: str | None
    """A ``data:`` URI, or ``None`` for the placeholder."""


@dataclass
class _Item:
    """A label and a display value (attribute, metadata); a palette is shown as colour
    swatches (``#rrggbb``, share) instead of text."""

    name: str
    value: str
    swatches: list[tuple[str, float]] = field(default_factory=list)


def _item(name: str, value: Any) -> _Item:
    if isinstance(value, list) and value and all(
            isinstance(c, dict) and "rgb" in c and "share" in c for c in value):
        try:
            swatches = [("#{:02x}{:02x}{:02x}".format(*(int(v) for v in c["rgb"][:3])),
                         float(c["share"])) for c in value]
        except (TypeError, ValueError):
            return _Item(name, _display(value))
        return _Item(name, "", swatches)
    return _Item(name, _display(value))


@dataclass
class _ShotCard:
    number: int
    anchor: str
    colour: str
    start: str
    end: str
    duration: str
    frames: int
    transition: str
    transition_confidence: str
    transition_colour: str
    """Badge colour for gradual transitions; empty for cuts (a plain badge)."""
    thumbs: list[_Thumb]
    hidden_keyframes: int
    attributes: list[_Item]


@dataclass
class _SceneGroup:
    number: int | None
    anchor: str
    colour: str
    title: str
    subtitle: str
    attributes: list[_Item]
    shots: list[_ShotCard] = field(default_factory=list)


@dataclass
class _Rect:
    x: str
    width: str
    colour: str
    dim: bool
    """Every other shot is drawn lighter, so neighbours of one scene stay apart."""
    href: str
    title: str


@dataclass
class _Marker:
    """A gradual transition on the timeline (cuts are drawn together as one path)."""

    type: str
    colour: str
    x: str
    width: str
    title: str


@dataclass
class _LegendEntry:
    type: str
    count: int
    colour: str


@dataclass
class _Tick:
    percent: str
    label: str


@dataclass
class _Chart:
    name: str
    low: str
    high: str
    mean: str
    paths: list[tuple[str, str]]
    """``(colour, path data)`` per scene colour: one path per colour keeps the SVG small."""
    zero_y: str | None
    """Baseline height when values are of both signs, else ``None``."""
    missing: int


@dataclass
class _Page:
    title: str
    path: str
    facts: list[_Item]
    video_attributes: list[_Item]
    cues: list[_Item]
    """Technical cues and speech segments: type, then start – end."""
    scene_rects: list[_Rect]
    shot_rects: list[_Rect]
    markers: list[_Marker]
    cut_path: str
    """All cuts as one SVG path of vertical strokes: thousands of cuts stay a few kilobytes."""
    cut_colour: str
    cut_opacity: str
    """Fainter when cuts are dense, so thousands of them read as a shade, not a black bar."""
    ticks: list[_Tick]
    legend: list[_LegendEntry]
    scene_swatch: str
    charts: list[_Chart]
    groups: list[_SceneGroup]
    details: list[_Item]
    thumb_aspect: str
    shot_count: int
    scene_count: int
    thumbs_per_shot: int


# ---------------------------------------------------------------------------- formatting


def _number(value: float) -> str:
    """A number for people: four significant digits, no exponent for everyday magnitudes."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return "—"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.3g}"
    return f"{value:.4g}"


def _display(value: Any) -> str:
    """Any attribute or metadata value as short text (nested values as compact JSON)."""
    if value is None:
        return "—"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, str):
        return value
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return text if len(text) <= 200 else text[:199] + "…"


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 60 else f"{value / 60:.1f} min"


def _clock(seconds: float, with_hours: bool, fractional: bool) -> str:
    """Axis label: ``m:ss`` (or ``h:mm:ss``), tenths only when ticks are under a second."""
    tenths = round(seconds * 10)
    whole, tenth = divmod(tenths, 10)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    if with_hours:
        text = f"{hours}:{minutes:02d}:{secs:02d}"
    else:
        text = f"{minutes + 60 * hours}:{secs:02d}"
    return f"{text}.{tenth}" if fractional else text


def _coord(value: float) -> str:
    """SVG coordinate with two decimals: a hundredth of a unit is far below a pixel."""
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def _fps(fps: float) -> str:
    return f"{fps:.3f}".rstrip("0").rstrip(".")


def _sniff_media_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def _thumbnail_uri(data: bytes, max_width: int) -> str | None:
    """``data:`` URI of a thumbnail, shrunk to ``max_width`` if wider; ``None`` if unreadable.

    Opening reads only the header, so thumbnails that are already small are embedded as they are,
    without decoding or re-encoding.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width > max_width:
                size = (max_width, max(1, round(height * max_width / width)))
                image.draft("RGB", size)  # JPEG: decode at reduced scale, much faster
                small = image.convert("RGB").resize(size, Image.Resampling.LANCZOS)
                out = io.BytesIO()
                small.save(out, "JPEG", quality=80, optimize=True)
                data = out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError):
        return None
    encoded = base64.b64encode(data).decode("ascii")
    return f"data:{_sniff_media_type(data)};base64,{encoded}"


# ---------------------------------------------------------------------------- geometry


class _TimeScale:
    """Maps seconds onto ``[0, TIMELINE_WIDTH]``."""

    def __init__(self, total: float) -> None:
        self.total = total if total > 0 else 1.0

    def x(self, seconds: float) -> float:
        return min(max(seconds, 0.0), self.total) / self.total * TIMELINE_WIDTH

    def span(self, start: float, end: float) -> tuple[str, str]:
        x0, x1 = self.x(start), self.x(end)
        return _coord(x0), _coord(max(x1 - x0, 0.0))


def _ticks(total: float) -> list[_Tick]:
    """Five to nine round-numbered axis labels across the video."""
    if total <= 0:
        return []
    step = next((s for s in _TICK_STEPS if total / s <= 8), _TICK_STEPS[-1])
    with_hours, fractional = total >= 3600, step < 1
    ticks, k = [], 0
    while k * step <= total + 1e-9:
        t = k * step
        ticks.append(_Tick(_coord(t / total * 100), _clock(t, with_hours, fractional)))
        k += 1
    return ticks


def _shot_colour(scene_index: int | None, shot_index: int) -> str:
    if scene_index is None:
        return UNSCENED_COLOURS[shot_index % 2]
    return SCENE_COLOURS[scene_index % len(SCENE_COLOURS)]


def _scene_shots(scene: Scene) -> str:
    """The shots a scene holds, counted from 1 as on the cards: ``shots 3–5`` or ``shot 3``."""
    first, last = scene.first_shot + 1, scene.last_shot + 1
    return f"shot {first}" if first == last else f"shots {first}–{last}"


def _transition_colour(kind: str) -> str:
    return TRANSITION_COLOURS.get(kind, TRANSITION_COLOURS["other"])


def _transition_time(shot: Shot, fps: float) -> tuple[float, float]:
    """Start and end time of the transition into ``shot`` (the shot starts with it)."""
    t = shot.transition_in
    if t is None or not t.is_gradual:
        return shot.start_time, shot.start_time
    frames = max(1, t.last_frame - t.first_frame + 1)
    length = frames / fps if fps > 0 else 0.0
    return shot.start_time, min(shot.start_time + length, shot.end_time)


def _chart(
    name: str, shots: Sequence[Shot], colours: Sequence[str], scale: _TimeScale, height: float,
) -> _Chart | None:
    """A bar chart of one attribute over time: one bar per shot, as wide as the shot."""
    values: list[float | None] = []
    for shot in shots:
        v = shot.attributes.get(name)
        ok = isinstance(v, int | float) and math.isfinite(v)
        values.append(float(v) if ok else None)  # type: ignore[arg-type]
    present = [v for v in values if v is not None]
    if not present:
        return None
    low, high = min(present), max(present)
    # Bars grow from zero, the honest baseline for a bar chart; a flat series still shows.
    bottom, top = min(low, 0.0), max(high, 0.0)
    if top == bottom:
        top = bottom + 1.0
    pad = 2.0  # keeps the tallest bar off the frame edge

    def y(v: float) -> float:
        return pad + (top - v) / (top - bottom) * (height - 2 * pad)

    zero = y(0.0)
    by_colour: dict[str, list[str]] = {}
    for shot, value, colour in zip(shots, values, colours, strict=True):
        if value is None:
            continue
        x0, x1 = scale.x(shot.start_time), scale.x(shot.end_time)
        y0, y1 = sorted((zero, y(value)))
        if y1 - y0 < 0.5:  # a zero or near-zero value still leaves a visible sliver
            y0 = y1 - 0.5
        by_colour.setdefault(colour, []).append(
            f"M{_coord(x0)} {_coord(y0)}H{_coord(x1)}V{_coord(y1)}H{_coord(x0)}Z"
        )
    return _Chart(
        name=name,
        low=_number(low),
        high=_number(high),
        mean=_number(sum(present) / len(present)),
        paths=[(colour, "".join(parts)) for colour, parts in by_colour.items()],
        zero_y=_coord(zero) if bottom < 0 < top else None,
        missing=len(values) - len(present),
    )


# ---------------------------------------------------------------------------- exporter


@EXPORTERS.register("html")
class HtmlExporter(Exporter):
    """The self-contained HTML report.

    ``thumbnail_budget`` caps keyframe pictures in the whole page: each shot shows up to
    ``max_thumbnails_per_shot`` while the budget allows and always at least one (so a 2,000-shot
    film gets one per shot). Thumbnails wider than ``thumbnail_width`` px (or half of it above
    ``many_shots`` shots) are shrunk before embedding.
    """

    name = "html"
    extension = ".html"
    media_type = "text/html"

    def __init__(
        self,
        max_thumbnails_per_shot: int = 3,
        thumbnail_budget: int = 600,
        thumbnail_width: int = 320,
        many_shots: int = 300,
        chart_height: int = 56,
    ) -> None:
        if max_thumbnails_per_shot < 0 or thumbnail_budget < 0 or thumbnail_width < 16:
            raise ConfigError("html report: thumbnail limits must be positive")
        self.max_thumbnails_per_shot = max_thumbnails_per_shot
        self.thumbnail_budget = thumbnail_budget
        self.thumbnail_width = thumbnail_width
        self.many_shots = many_shots
        self.chart_height = chart_height

    def render(self, result: AnalysisResult) -> str:
        html = _template().render(page=self._page(result), chart_height=self.chart_height)
        # Indentation keeps the template readable but would add a fifth to a long report; no
        # element here (no <pre>, no <textarea>) gives leading whitespace a meaning.
        return _INDENT.sub("\n", html) + "\n"

    def _page(self, result: AnalysisResult) -> _Page:
        analysis = result.analysis
        video, shots, scenes = analysis.video, analysis.shots, analysis.scenes
        end = max([video.duration, *(s.end_time for s in shots), *(s.end_time for s in scenes)])
        scale = _TimeScale(end)
        scene_of = scene_index_of_shots(analysis)
        colours = [_shot_colour(sc, s.index) for s, sc in zip(shots, scene_of, strict=True)]

        name = Path(video.path).name or video.path or "video"
        width, height = video.width, video.height
        if video.rotation % 180 == 90:  # thumbnails come from the displayed (rotated) picture
            width, height = height, width

        per_shot = self.max_thumbnails_per_shot
        if shots:
            per_shot = max(1, min(per_shot, self.thumbnail_budget // len(shots)))
        thumb_width = self.thumbnail_width
        if len(shots) > self.many_shots:
            thumb_width = max(16, thumb_width // 2)

        cards = [
            self._card(shot, colour, per_shot, thumb_width, result.thumbnails)
            for shot, colour in zip(shots, colours, strict=True)
        ]
        return _Page(
            title=name,
            path=video.path,
            facts=self._facts(analysis, width, height),
            video_attributes=[_item(k, v) for k, v in analysis.attributes.items()],
            cues=[_Item(str(c.get("type", "speech")).replace("_", " "),
                        f"{seconds_to_timecode(float(c['start_time']))} – "
                        f"{seconds_to_timecode(float(c['end_time']))}")
                  for c in [*analysis.cues, *analysis.speech]
                  if "start_time" in c and "end_time" in c],
            scene_rects=[
                _Rect(*scale.span(sc.start_time, sc.end_time),
                      colour=SCENE_COLOURS[sc.index % len(SCENE_COLOURS)], dim=False,
                      href=f"#scene-{sc.index + 1}",
                      title=f"Scene {sc.index + 1} · {seconds_to_timecode(sc.start_time)}"
                            f" – {seconds_to_timecode(sc.end_time)} · {_scene_shots(sc)}"
                            f" · confidence {_number(sc.confidence)}")
                for sc in scenes
            ],
            shot_rects=[
                _Rect(*scale.span(s.start_time, s.end_time), colour=colour,
                      dim=s.index % 2 == 1,
                      href=f"#shot-{s.index + 1}",
                      title=f"Shot {s.index + 1} · {seconds_to_timecode(s.start_time)}"
                            f" – {seconds_to_timecode(s.end_time)}")
                for s, colour in zip(shots, colours, strict=True)
            ],
            markers=list(self._markers(shots, scale, video.fps)),
            cut_path="".join(
                f"M{_coord(scale.x(s.start_time))} 58V76"
                for s in shots[1:]
                if s.transition_in is not None and not s.transition_in.is_gradual
            ),
            cut_colour=TRANSITION_COLOURS["cut"],
            cut_opacity=_coord(min(1.0, max(0.2, DENSE_CUTS / max(1, len(shots))))),
            ticks=_ticks(end),
            legend=self._legend(shots),
            scene_swatch=f"linear-gradient(90deg, {SCENE_COLOURS[0]} 33%,"
                         f" {SCENE_COLOURS[1]} 33% 66%, {SCENE_COLOURS[2]} 66%)",
            charts=[
                chart
                for attr in sorted({k for s in shots for k in s.attributes})
                if (chart := _chart(attr, shots, colours, scale, self.chart_height)) is not None
            ],
            groups=self._groups(analysis, cards, scene_of),
            details=self._details(analysis),
            thumb_aspect=f"{max(width, 1)} / {max(height, 1)}",
            shot_count=len(shots),
            scene_count=len(scenes),
            thumbs_per_shot=per_shot,
        )

    def _facts(self, analysis: Analysis, width: int, height: int) -> list[_Item]:
        video = analysis.video
        facts = [
            _Item("Duration", seconds_to_timecode(video.duration)),
            _Item("Resolution", f"{width} × {height}"),
            _Item("Frame rate", f"{_fps(video.fps)} fps"),
            _Item("Frames", f"{video.frame_count:,}"),
            _Item("Shots", f"{len(analysis.shots):,}"),
            _Item("Scenes", f"{len(analysis.scenes):,}"),
            _Item("Audio", "yes" if video.has_audio else "no"),
        ]
        if video.codec:
            facts.append(_Item("Codec", video.codec))
        if analysis.shots:
            mean = sum(s.duration for s in analysis.shots) / len(analysis.shots)
            facts.append(_Item("Mean shot", _seconds(mean)))
        return facts

    def _card(
        self, shot: Shot, colour: str, per_shot: int, thumb_width: int,
        thumbnails: dict[int, bytes],
    ) -> _ShotCard:
        fps = (shot.end_frame - shot.start_frame) / shot.duration if shot.duration > 0 else 0.0
        thumbs = []
        for frame in shot.keyframes[:per_shot]:
            data = thumbnails.get(frame)
            # The keyframe's time, interpolated inside the shot: the document has no per-frame
            # timestamps, and within one shot the rate is close enough to constant.
            at = shot.start_time + ((frame - shot.start_frame) / fps if fps > 0 else 0.0)
            src = _thumbnail_uri(data, thumb_width) if data else None
            thumbs.append(_Thumb(frame, seconds_to_timecode(at), src))
        if not thumbs and per_shot > 0:  # a shot without keyframes still gets its tile
            thumbs.append(_Thumb(shot.start_frame, seconds_to_timecode(shot.start_time), None))
        t = shot.transition_in
        if t is not None and shot.index == 0 and not t.is_gradual:
            t = None  # the video's first frame is a start, not a cut
        return _ShotCard(
            number=shot.index + 1,
            anchor=f"shot-{shot.index + 1}",
            colour=colour,
            start=seconds_to_timecode(shot.start_time),
            end=seconds_to_timecode(shot.end_time),
            duration=_seconds(shot.duration),
            frames=shot.frame_count,
            transition=t.type if t else "",
            transition_confidence=_number(t.confidence) if t else "",
            transition_colour=_transition_colour(t.type) if t and t.is_gradual else "",
            thumbs=thumbs,
            hidden_keyframes=max(0, len(shot.keyframes) - per_shot),
            attributes=[_item(k, v) for k, v in sorted(shot.attributes.items())],
        )

    @staticmethod
    def _markers(shots: Iterable[Shot], scale: _TimeScale, fps: float) -> Iterable[_Marker]:
        for shot in shots:
            t = shot.transition_in
            if t is None or not t.is_gradual:
                continue
            start, end = _transition_time(shot, fps)
            # At least MIN_SPAN units wide, so a short dissolve in a long video stays visible.
            x0 = scale.x(start)
            width = max(scale.x(end) - x0, MIN_SPAN)
            yield _Marker(
                t.type, _transition_colour(t.type), _coord(min(x0, TIMELINE_WIDTH - width)),
                _coord(width),
                f"{t.type} into shot {shot.index + 1} at {seconds_to_timecode(start)}"
                f" (confidence {_number(t.confidence)})",
            )

    @staticmethod
    def _legend(shots: Sequence[Shot]) -> list[_LegendEntry]:
        """Transition types present, with their counts, in the canonical order."""
        counts: dict[str, int] = {}
        for shot in shots:
            t = shot.transition_in
            if t is not None and (shot.index > 0 or t.is_gradual):
                counts[t.type] = counts.get(t.type, 0) + 1
        order = list(TRANSITION_COLOURS)
        return [
            _LegendEntry(kind, counts[kind], _transition_colour(kind))
            for kind in sorted(counts, key=lambda k: (order.index(k) if k in order else 99, k))
        ]

    @staticmethod
    def _groups(
        analysis: Analysis, cards: list[_ShotCard], scene_of: list[int | None]
    ) -> list[_SceneGroup]:
        """Shot cards grouped by scene, in time order; shots outside scenes form their own run."""
        groups: list[_SceneGroup] = []
        scenes = {sc.index: sc for sc in analysis.scenes}
        for card, scene_index in zip(cards, scene_of, strict=True):
            if groups and groups[-1].number == (None if scene_index is None else scene_index + 1):
                groups[-1].shots.append(card)
                continue
            if scene_index is None:
                group = _SceneGroup(None, f"shots-{card.number}", UNSCENED_COLOURS[0],
                                    "Shots" if not scenes else "Shots outside scenes", "", [])
            else:
                sc = scenes[scene_index]
                group = _SceneGroup(
                    scene_index + 1, f"scene-{scene_index + 1}",
                    SCENE_COLOURS[scene_index % len(SCENE_COLOURS)],
                    f"Scene {scene_index + 1}",
                    f"{seconds_to_timecode(sc.start_time)} – {seconds_to_timecode(sc.end_time)}"
                    f" · {_seconds(sc.end_time - sc.start_time)} · {_scene_shots(sc)}"
                    f" · confidence {_number(sc.confidence)}",
                    [_item(k, v) for k, v in sorted(sc.attributes.items())],
                )
            group.shots.append(card)
            groups.append(group)
        return groups

    @staticmethod
    def _details(analysis: Analysis) -> list[_Item]:
        video = analysis.video
        items = [_Item("Path", video.path), _Item("SHA-256", video.sha256 or "—"),
                 _Item("Schema", analysis.schema)]
        items += [_Item(f"Model · {k}", v) for k, v in analysis.models.items()]
        items += [_Item(f"Timing · {k}", f"{v:.2f} s") for k, v in analysis.timing.items()]
        items += [_Item(f"Setting · {k}", _display(v)) for k, v in analysis.settings.items()]
        return items


@cache
def _template() -> jinja2.Template:
    import jinja2  # imported here: only an HTML export pays for it (start-up time)

    source = resources.files("vidscene.report").joinpath("templates", TEMPLATE).read_text("utf-8")
    env = jinja2.Environment(
        autoescape=True,  # file names and attribute values are untrusted text
        undefined=jinja2.StrictUndefined,  # a typo in the template fails loudly in tests
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.from_string(source)
