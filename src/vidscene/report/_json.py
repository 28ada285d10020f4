"""``json``: the Analysis document itself, the lossless export every other tool can read."""

from __future__ import annotations

import json
import math
from typing import Any

from vidscene.analysis import AnalysisResult
from vidscene.report._base import EXPORTERS, Exporter


def _finite(value: Any) -> Any:
    """Replace NaN and ±inf by ``None``: they are not JSON, and strict parsers reject them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


@EXPORTERS.register("json")
class JsonExporter(Exporter):
    """``Analysis.to_dict()`` as indented UTF-8 JSON with a trailing newline.

    Thumbnails stay out: they are binary, and the document must stay small and diffable.
    """

    name = "json"
    extension = ".json"
    media_type = "application/json"

    def __init__(self, indent: int | None = 2) -> None:
        self.indent = indent

    def render(self, result: AnalysisResult) -> str:
        document = _finite(result.analysis.to_dict())
        return json.dumps(document, indent=self.indent, ensure_ascii=False, allow_nan=False) + "\n"
