"""Attributes: per-frame measurements (built-in and plugin) and their shot/scene/video levels.

Built-ins (registered names): ``brightness``, ``contrast``, ``colourfulness``, ``sharpness``,
``motion``. Third-party attributes join through the entry-point group ``vidscene.attributes``
(see :mod:`vidscene.attributes._base`).
"""

from vidscene.attributes import _builtin  # noqa: F401  (registers the built-ins)
from vidscene.attributes._aggregate import aggregate_scenes, aggregate_shots, summarise_video
from vidscene.attributes._base import (
    ATTRIBUTES,
    ENTRY_POINT_GROUP,
    Attribute,
    FrameSample,
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
    "ATTRIBUTES",
    "ENTRY_POINT_GROUP",
    "Attribute",
    "Brightness",
    "Colourfulness",
    "Contrast",
    "FrameSample",
    "Motion",
    "Sharpness",
    "aggregate_scenes",
    "aggregate_shots",
    "create_attributes",
    "load_plugins",
    "luma",
    "summarise_video",
]
