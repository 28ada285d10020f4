"""Attributes: per-frame measurements (built-in and plugin) and their shot/scene/video levels.

Built-ins (registered names): ``brightness``, ``contrast``, ``colourfulness``, ``sharpness``,
``motion`` (numbers), ``palette`` (the dominant colours, a list) and ``cues`` (technical cues:
black frames, colour bars, freezes, letterbox; time segments in ``Analysis.cues``).
Third-party attributes join through the entry-point group ``vidscene.attributes`` (see
:mod:`vidscene.attributes._base`).
"""

from vidscene.attributes import _builtin, _cues, _palette  # noqa: F401  (register built-ins)
from vidscene.attributes._aggregate import aggregate_scenes, aggregate_shots, summarise_video
from vidscene.attributes._base import (
    ATTRIBUTE_KINDS,
    ATTRIBUTES,
    ENTRY_POINT_GROUP,
    SEGMENT_LISTS,
    Attribute,
    FrameSample,
    attribute_kind,
    create_attributes,
    load_plugins,
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
    "Brightness",
    "Colourfulness",
    "Contrast",
    "FrameSample",
    "Motion",
    "Sharpness",
    "aggregate_scenes",
    "attribute_kind",
    "aggregate_shots",
    "create_attributes",
    "load_plugins",
    "luma",
    "summarise_video",
]
