"""The settings that shape an analysis: one name per concept, shared by CLI flags, the
store's settings key and the Analysis ``settings`` field."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from vidscene.errors import ConfigError


@dataclass(frozen=True)
class AnalyzeSettings:
    detector: str = "transformer"
    """Shot detector (``--detector``), a name in ``vidscene.shots.DETECTORS``: the learned
    ``transformer`` by default, ``fast`` for the classic one (no PyTorch)."""
    scenes: str = "transformer"
    """Scene segmenter (``--scenes``), a name in ``vidscene.scenes.SEGMENTERS``: the learned
    ``transformer`` by default, ``osg`` or ``stg`` for the classic ones."""
    shot_model: str | None = None
    """Weights of the learned detector (``--shot-model``): a file or a model-store reference
    (``name`` or ``name@version``); ``None`` means the shipped model."""
    scene_model: str | None = None
    """Weights of the learned scene segmenter (``--scene-model``), as ``shot_model``."""
    keyframes_per_shot: int = 1
    """Keyframes chosen per shot (``--keyframes-per-shot``); the transformer scene segmenter
    compares them all (on the scene benchmark one keyframe scored a little higher than three:
    ``BENCHMARKS.md``, Scenes)."""
    sample_fps: float = 2.0
    """Analysis frames per second for keyframes and attributes (``--sample-fps``)."""
    attributes: tuple[str, ...] | None = None
    """Attribute names (``--attributes``); ``None`` means every registered attribute."""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.keyframes_per_shot < 1:
            raise ConfigError("keyframes-per-shot must be at least 1")
        if not self.sample_fps > 0:
            raise ConfigError("sample-fps must be positive")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnalyzeSettings:
        """Inverse of :meth:`to_dict` (job records keep settings as JSON)."""
        values = dict(data)
        if values.get("attributes") is not None:
            values["attributes"] = tuple(values["attributes"])
        try:
            return cls(**values)
        except TypeError as e:
            raise ConfigError(f"settings that this vidscene cannot read: {e}") from None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["attributes"] = list(self.attributes) if self.attributes is not None else None
        if not d["extra"]:
            d.pop("extra")
        return d
