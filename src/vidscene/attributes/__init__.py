"""Attributes: per-frame measurements (built-in and plugin) and their shot/scene/video levels.

Built-ins (registered names): ``brightness``, ``contrast``, ``colourfulness``, ``sharpness``,
``motion`` (numbers), ``palette`` (the dominant colours, a list), ``cues`` (technical cues:
black frames, colour bars, freezes, letterbox; time segments in ``Analysis.cues``),
``tone`` (warm/cool, black-and-white), ``audio`` (loudness, silence, speech; speech segments
in ``Analysis.speech``), and, off by default for their cost, ``camera`` (camera motion),
``faces`` (face count and shot scale), ``text`` (on-screen text; credits as cues) and
``text_present`` (a learned model). ``--attributes all`` turns every one on.
Third-party attributes join through the entry-point group ``vidscene.attributes`` (see
:mod:`vidscene.attributes._base`).
"""

from vidscene.attributes import (  # noqa: F401  (register built-ins)
    _audio,
    _builtin,
    _camera,
    _cues,
    _faces,
    _palette,
    _text,
    _text_present,
    _tone,
)
from vidscene.attributes._aggregate import (
    aggregate_scenes,
    aggregate_shots,
    rounded,
    summarise_video,
)
from vidscene.attributes._base import (
    ATTRIBUTE_KINDS,
    ATTRIBUTES,
    ENTRY_POINT_GROUP,
    SEGMENT_LISTS,
    Attribute,
    AudioMeasure,
    FrameSample,
    attribute_fields,
    attribute_kind,
    create_attributes,
    load_plugins,
    reduce_kind,
    resolve_attribute_names,
)
from vidscene.attributes._builtin import (
    Brightness,
    Colourfulness,
    Contrast,
    Motion,
    Sharpness,
    luma,
)

__all__ = [
    "ATTRIBUTE_KINDS",
    "ATTRIBUTES",
    "ENTRY_POINT_GROUP",
    "SEGMENT_LISTS",
    "Attribute",
    "AudioMeasure",
    "Brightness",
    "Colourfulness",
    "Contrast",
    "FrameSample",
    "Motion",
    "Sharpness",
    "aggregate_scenes",
    "attribute_fields",
    "attribute_kind",
    "aggregate_shots",
    "create_attributes",
    "load_plugins",
    "luma",
    "reduce_kind",
    "resolve_attribute_names",
    "rounded",
    "summarise_video",
]
