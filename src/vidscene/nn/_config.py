"""What every model config shares: strict building from JSON and plain JSON output."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any, ClassVar, Self

from vidscene.errors import ConfigError

__all__ = ["ModelConfig"]


class ModelConfig:
    """Mixin for the frozen dataclass configs of registered models (saved with the weights).

    ``model_name`` labels error messages ("shot-transformer config: …")."""

    model_name: ClassVar[str] = "model"

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Self:
        """Build from a (JSON) mapping; unknown keys raise ``ConfigError`` rather than vanish."""
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"{cls.model_name} config: unknown field(s) {', '.join(unknown)}")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v
                for k, v in asdict(self).items()}  # type: ignore[call-overload]
