"""The attribute plugin interface, its registry and plugin discovery.

An attribute is measured on each sampled frame (brightness, motion, the frame's colours, ...).
Shot, scene and video values are reductions of those measurements
(:mod:`vidscene.attributes._aggregate`). For a number, the reductions are given: a shot's
mean, a scene's duration-weighted mean, and the video's mean, minimum and maximum over its
shots, so a plugin author writes only the per-frame measurement. An attribute whose value is
not a number (a label, a text, a list such as a palette) says so in ``kind`` and writes its own
two reductions: :meth:`Attribute.reduce_shot` (a shot's samples) and
:meth:`Attribute.reduce_span` (a scene's or the whole video's shots, weighted by duration).

Third-party packages add attributes through the entry-point group ``vidscene.attributes``::

    [project.entry-points."vidscene.attributes"]
    faces = "my_package.attributes:FaceCount"

The entry-point name is the attribute's name (the ``--attributes`` value and the JSON key) and
must equal the class's ``name``; the object it points to is an :class:`Attribute` subclass
that can be built without arguments, or a ready instance.
"""

from __future__ import annotations

import math
import warnings
import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from vidscene.registry import Registry

if TYPE_CHECKING:
    from vidscene.video import AudioTrack

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_KINDS",
    "AudioMeasure",
    "SEGMENT_LISTS",
    "ENTRY_POINT_GROUP",
    "Attribute",
    "FrameSample",
    "attribute_fields",
    "attribute_kind",
    "create_attributes",
    "reduce_kind",
    "resolve_attribute_names",
    "load_plugins",
]

ENTRY_POINT_GROUP = "vidscene.attributes"


@dataclass(frozen=True, eq=False)
class FrameSample:
    """One sampled frame, in the forms attributes need.

    ``rgb`` is the analysis copy (``uint8``, ~224 px wide); ``tiny`` the 64×36 copy of the same
    frame and ``tiny_previous`` that of the frame just before it (``None`` for frame 0), so a
    motion measure needs no second decode. Compared by identity: arrays have no useful ``==``.
    """

    index: int
    time: float
    rgb: np.ndarray
    tiny: np.ndarray
    tiny_previous: np.ndarray | None = None
    detail: np.ndarray | None = None
    """A larger copy (long side :attr:`Attribute.detail_size` px, the most any attribute of
    the run asked for) for detectors that need pixels: faces, text. ``None`` when none asked."""
    detail_previous: np.ndarray | None = None
    """The frame just before (optical flow), its long side the largest ``detail_size`` of the
    attributes that asked for it (:attr:`Attribute.detail_previous`); ``None`` unless asked
    for, or at frame 0."""
    interval: float = 0.0
    """Seconds between the frame before and this one (``0.0`` at frame 0)."""
    on_rate: bool = True
    """Sampled by the sampling rate (the first frame of its slot); ``False``: sampled
    because the picture changed (the first frame after a cut, mostly)."""
    memo: dict[str, Any] = field(default_factory=dict)
    """What one attribute computed on this frame that another may reuse, by a key the two
    agree on (the ``text`` attribute's gate reads the ``text_present`` model's chance here
    when both run, rather than running the model twice)."""

    def due_every(self, seconds: float) -> bool:
        """Whether a costly measure should look at this sample when it looks only every
        ``seconds``: the first frame of each ``seconds``-long stretch of the video, the first
        frame of the video, and every frame sampled because the picture changed (so a new
        shot is looked at at once). It depends on times only: a video split into chunks
        gives the same answers as a whole one."""
        if not self.on_rate or self.index == 0 or seconds <= 0:
            return True
        return math.floor(self.time / seconds + 1e-9) != \
            math.floor((self.time - self.interval) / seconds + 1e-9)


@dataclass
class AudioMeasure:
    """What an audio attribute found (:meth:`Attribute.measure_audio`): the values of each
    span asked for (``{field: value}``, in the order of the spans) and the video's time
    segments by top-level list (``{"speech": [{"start_time", "end_time"}]}``)."""

    values: list[dict[str, Any]]
    segments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


ATTRIBUTE_KINDS: tuple[str, ...] = ("number", "label", "text", "list", "segments", "fields")
"""What an attribute's value is: a float; one of a few names (``shot_scale``); free text
(recognised text); a JSON list (a palette); ``segments``: per-frame evidence that only
becomes the video's segments (:meth:`Attribute.segments`), with no shot value; or
``fields``: several named values, each of one of the first four kinds
(:attr:`Attribute.fields`), such as a face detector's count and shot scale. Queries compare
numbers, and match labels and texts with ``=``/``~``."""

SEGMENT_LISTS: tuple[str, ...] = ("cues", "speech")
"""The Analysis's top-level lists of time segments that attributes fill."""


def reduce_kind(kind: str, values: Sequence[Any], weights: Sequence[float]) -> Any:
    """The default reduction of a span's values of one kind, weighted by duration: a
    number's weighted mean, a label's weighted majority (ties: the first seen), a text's
    distinct lines in order, a list's items in order. ``None``: no value."""
    if kind == "number":
        pairs = [(float(v), max(float(w), 0.0)) for v, w in zip(values, weights, strict=True)
                 if _is_number(v)]
        if not pairs:
            return None
        numbers, mass = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
        if mass.sum() <= 0:
            mass = np.ones_like(numbers)
        return float(np.average(numbers, weights=mass))
    if kind == "label":
        votes: dict[Any, float] = {}
        for v, w in zip(values, weights, strict=True):
            if v is not None:
                votes[v] = votes.get(v, 0.0) + max(float(w), 1e-9)
        return max(votes, key=lambda k: votes[k]) if votes else None
    if kind == "text":
        lines = [line for v in values if v for line in str(v).split("\n") if line]
        return "\n".join(dict.fromkeys(lines))
    if kind == "list":
        items = [item for v in values if v for item in v]
        return items or None
    return None


def _mean(values: Sequence[Any]) -> float | None:
    numbers = [float(v) for v in values if _is_number(v)]
    return float(np.mean(numbers)) if numbers else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        bool(np.isfinite(value))


class Attribute(ABC):
    """Measures one value on a :class:`FrameSample` (a number unless ``kind`` says other)."""

    name: str = ""
    """Registry name and JSON key (``brightness``)."""
    description: str = ""
    """One line for people: what the number means."""
    unit: str = ""
    """What the number counts in, or its range (``luma 0..1``)."""
    model: str = ""
    """For an attribute measured by a learned model: which one, as
    :func:`vidscene.model_store.load` identifies it (``name@version sha256:…``); every
    analysis records it in its ``models``. A plugin loads a stored model with
    ``model, card, self.model = vidscene.model_store.load("name@v2")``."""

    kind: str = "number"
    """One of :data:`ATTRIBUTE_KINDS`."""
    fields: dict[str, str] = {}
    """With kind ``fields``: the JSON keys this attribute writes on shots, scenes and the
    video, each with its kind (``{"faces": "number", "shot_scale": "label"}``). Its
    :meth:`measure` returns what :meth:`reduce_shot` understands, and :meth:`reduce_shot`
    a ``{field: value}`` dict; scenes and the video reduce each field by its kind
    (:meth:`reduce_field`)."""
    default: bool = True
    """Whether the attribute is on when ``--attributes`` is not given. Costly detectors
    (faces, text) are off by default and on with ``--attributes all`` or by name."""
    detail_size: int = 0
    """The long side, in px, of the :attr:`FrameSample.detail` copy the attribute needs
    (0: none; the analysis copy is ~224 px wide)."""
    detail_previous: bool = False
    """Whether it needs :attr:`FrameSample.detail_previous` (motion between frames)."""
    audio: bool = False
    """Measured on the soundtrack (:meth:`measure_audio`) instead of frames; a video without
    audio gets no value at all (absent, not zero)."""
    every_frame: bool = False
    """Measure every decoded frame's tiny copy (:meth:`measure_frames`) instead of the
    sampled analysis frames: for what must be timed to the frame (black frames, freezes)."""

    def setup(self) -> None:  # noqa: B027  (optional hook)
        """Load what measuring needs (a model, a native library) before the first frame.
        The shot stage calls it once per process, on a thread of its own while decoding
        starts, so a model's load overlaps other work; :meth:`measure` must still work
        without it (loading on first use, under a lock). Default: nothing to load."""

    def measure_frames(self, tiny: np.ndarray, tiny_previous: np.ndarray | None
                       ) -> list[Any]:
        """With ``every_frame``: one value per frame of a run of consecutive frames' 64×36
        RGB copies (``tiny``: N×36×64×3; ``tiny_previous``: the frame before the first, or
        ``None`` at the start of the video). A whole decoded batch at a time, so the work is
        vectorised rather than done frame by frame."""
        raise NotImplementedError(f"{self.name} measures sampled frames")

    def segments(self, samples: Sequence[tuple[int, Any]], times: Sequence[float],
                 fps: float) -> dict[str, list[dict[str, Any]]]:
        """Time segments of the whole video from its ``(frame, value)`` samples, by top-level
        list (:data:`SEGMENT_LISTS`): ``{"cues": [{"type", "start_time", "end_time",
        "confidence"}]}``. ``times[f]`` is frame ``f``'s time. Default: none."""
        return {}

    def measure_audio(self, track: AudioTrack, spans: Sequence[tuple[float, float]]
                      ) -> AudioMeasure:
        """With ``audio``: the values of each ``(start, end)`` span in seconds (the video's
        shots, then its scenes, then the whole video) from its soundtrack, decoded once for
        every audio attribute (:class:`vidscene.video.AudioTrack`: 16 kHz samples, at most
        two channels, and the K-weighted power of each 100 ms for loudness)."""
        raise NotImplementedError(f"{self.name} measures frames")

    @abstractmethod
    def measure(self, sample: FrameSample) -> Any:
        """The attribute's value on ``sample``: a plain ``float`` for a number, else any
        JSON-able value its reductions understand."""

    def measure_batch(self, samples: Sequence[FrameSample]) -> list[Any]:
        """The values of several consecutive samples (those of one decoded batch, in time
        order), one per sample. Default: :meth:`measure` on each; override it where the work
        vectorises (one forward pass of a network over a stack of frames costs little more
        than one frame's)."""
        return [self.measure(sample) for sample in samples]

    def reduce_shot(self, values: Sequence[Any]) -> Any:
        """A shot's value from its samples' values, in time order; ``None``: no value (the
        shot gets no entry). Numbers: the mean of the finite ones."""
        return _mean(values)

    def reduce_span(self, values: Sequence[Any], weights: Sequence[float]) -> Any:
        """A scene's (or, for values that are not numbers, the video's) value from its shots'
        values and durations. Numbers: the duration-weighted mean (a plain mean when every
        shot lasts zero seconds)."""
        return reduce_kind(self.kind if self.kind in ("label", "text", "list") else "number",
                           values, weights)

    def reduce_field(self, name: str, values: Sequence[Any], weights: Sequence[float]) -> Any:
        """With kind ``fields``: a scene's (or the video's) value of field ``name`` from its
        shots' values and durations; default: by the field's kind (:func:`reduce_kind`)."""
        return reduce_kind(self.fields.get(name, "number"), values, weights)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


ATTRIBUTES: Registry[Attribute] = Registry("attribute")

# For each registry, the plugins already loaded into it (name -> entry-point value). Loading
# again is then a no-op instead of a name clash, and discovery runs on first use only, so a
# broken plugin warns once rather than on every video.
_PLUGINS: weakref.WeakKeyDictionary[Registry[Attribute], dict[str, str]] = (
    weakref.WeakKeyDictionary()
)


def load_plugins(registry: Registry[Attribute] = ATTRIBUTES) -> list[str]:
    """Register the attributes found in the ``vidscene.attributes`` entry-point group.

    Returns the names added by this call (none when they were loaded before). A plugin that
    fails to import, is not an attribute, or takes a name already in use is skipped with a
    :class:`RuntimeWarning`: one broken package must not stop every analysis.
    """
    loaded = _PLUGINS.setdefault(registry, {})
    added: list[str] = []
    from importlib import metadata  # here, not at import: it costs start-up time

    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        name = entry_point.name
        if loaded.get(name) == entry_point.value:
            continue
        try:
            if name in registry:
                raise ValueError("that name is already taken")
            registry.add(name, _plugin_factory(name, entry_point.load()))
        except Exception as error:  # a plugin's own bug: report it, keep going
            warnings.warn(
                f"skipping attribute plugin {name!r} ({entry_point.value}): {error}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        loaded[name] = entry_point.value
        added.append(name)
    return added


def attribute_kind(name: str, registry: Registry[Attribute] = ATTRIBUTES) -> str:
    """The ``kind`` of a registered attribute, without building it (``number`` if its
    factory does not say)."""
    return str(getattr(registry.factory(name), "kind", "number"))


def require_extra(module: str, attribute: str) -> Any:
    """``import module`` for an attribute whose library comes with the ``attributes`` extra;
    a missing one is a :class:`~vidscene.errors.ConfigError` saying what to install."""
    import importlib

    from vidscene.errors import ConfigError

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"the {attribute} attribute needs the 'attributes' extra "
                          "(pip install 'vidscene[attributes]')") from None


def attribute_fields(name: str, registry: Registry[Attribute] = ATTRIBUTES) -> dict[str, str]:
    """The JSON keys a registered attribute writes, with their kinds, without building it:
    its ``fields``, or its own name and kind."""
    factory = registry.factory(name)
    fields = getattr(factory, "fields", None)
    return dict(fields) if fields else {name: attribute_kind(name, registry)}


def resolve_attribute_names(names: Sequence[str] | None,
                            registry: Registry[Attribute] = ATTRIBUTES) -> list[str]:
    """The attribute names a selection means: ``None`` or ``default`` the default set (every
    registered attribute whose ``default`` is true), ``all`` every one; other names as given,
    repeats once."""
    if registry not in _PLUGINS:
        load_plugins(registry)
    every = registry.names()
    defaults = [n for n in every if getattr(registry.factory(n), "default", True)]
    wanted: list[str] = []
    for name in (["default"] if names is None else names):
        wanted.extend(every if name == "all" else defaults if name == "default" else [name])
    return list(dict.fromkeys(wanted))


def create_attributes(
    names: Sequence[str] | None = None, *, registry: Registry[Attribute] = ATTRIBUTES
) -> list[Attribute]:
    """Build the attributes called ``names`` (``None``: the default set; ``all`` and
    ``default`` may appear among the names, see :func:`resolve_attribute_names`).

    Plugins are discovered on first use. Repeated names are built once; an unknown name
    raises :class:`~vidscene.errors.ConfigError`.
    """
    return [registry.create(name) for name in resolve_attribute_names(names, registry)]


def _plugin_factory(name: str, loaded: object) -> Callable[[], Attribute]:
    """A zero-argument factory for what an entry point loaded, after checking its shape."""
    if isinstance(loaded, Attribute):
        instance = loaded
        factory: Callable[[], Attribute] = lambda: instance  # noqa: E731
        # (attribute_kind reads it without building the plugin)
        for declared_attr in ("kind", "fields", "default"):
            setattr(factory, declared_attr, getattr(instance, declared_attr))
        declared = instance.name
    elif isinstance(loaded, type) and issubclass(loaded, Attribute):
        factory = loaded
        declared = loaded.name
    else:
        raise TypeError(f"{loaded!r} is not an Attribute subclass or instance")
    if declared != name:
        raise ValueError(f"its name is {declared!r}, the entry point says {name!r}")
    return factory
