"""``text``: what is written on screen, per shot; and opening and end credits as cues.

Text is read with RapidOCR (PP-OCR detection and recognition models run by ``onnxruntime``,
both inside the ``rapidocr`` wheel) on the detail copy, 480 px on its long side (boxes found at
:data:`DETECT_SIZE`), without the angle classifier. Reading costs over a hundred
milliseconds a frame on a small CPU, so not every sampled frame is read: the first frame
after each cut (it is sampled because the picture changed) and the first sampled frame of
every :data:`READ_EVERY` seconds. Which frames are read depends only on
their times, so a video split into chunks reads the same frames as a whole one.

Before reading, the learned ``text_present`` model (:mod:`vidscene.attributes._text_present`)
looks at the frame: below :data:`GATE` it is taken as free of text and not read, which saves
most reads on footage without text (``OnScreenText(gate=False)`` reads every due frame).

A shot's values, from the frames of it that were read:

- ``text``: the distinct lines read (a line seen on several frames once, the best-read copy;
  lines in reading order, joined by newlines), ``""`` when there is none or when none of the
  shot's frames was read (a short shot after a gradual transition);
- ``text_share``: the mean share of the frame covered by text boxes;
- ``text_confidence``: the recogniser's mean confidence over the lines kept.

Frames densely covered with lines of text form credits: at the start of the video they are
``opening_credits`` cues, at its end ``end_credits``.
"""

from __future__ import annotations

import difflib
import math
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from vidscene.attributes._base import ATTRIBUTES, Attribute, FrameSample, require_extra

__all__ = ["OnScreenText", "read_text"]

DETAIL_SIZE = 480
DETECT_SIZE = 352
"""Text boxes are found on the frame scaled to this long side (the detector's cost grows with
the pixels: 137 ms a read here against 244 ms at 480 px, at 0.975 against 1.0 recall on the
benchmark's rendered text) and read on crops of the 480 px copy."""
READ_EVERY = 4.0
GATE = 0.15
"""Frames the ``text_present`` model gives a lower chance of text are not read."""
MIN_CONFIDENCE = 0.75
MIN_CHARACTERS = 2
"""Lines read with less confidence, or of fewer letters and digits, are texture read as
text (a window, a pattern), not text."""
SAME_LINE = 0.8
"""Two lines this similar (difflib ratio, case and spacing ignored) are one line read twice."""
CREDIT_LINES = 3
CREDIT_SHARE = 0.04
CREDIT_EDGE = 0.25
"""Credits are dense text (this many lines, this share of the frame) in the first or last
quarter of the video."""

_engine: Any = None
_lock = threading.Lock()


def _ocr() -> Any:
    global _engine
    with _lock:
        if _engine is None:
            ocr = require_extra("rapidocr", "text")
            _engine = ocr.RapidOCR(params={
                "Global.use_cls": False, "Global.log_level": "error",
                "Det.limit_side_len": DETECT_SIZE, "Det.limit_type": "max",
                "EngineConfig.onnxruntime.intra_op_num_threads": 1,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1})
        return _engine


def read_text(rgb: np.ndarray) -> dict[str, Any]:
    """The lines read on an RGB frame (``[[text, confidence, [x, y, w, h]], ...]``, in
    reading order, boxes as shares of the frame) and the share of the frame they cover."""
    engine = _ocr()
    h, w = rgb.shape[:2]
    with _lock:  # the engine is not documented as thread-safe
        result = engine(np.ascontiguousarray(rgb[:, :, ::-1]), use_cls=False)
    boxes = getattr(result, "boxes", None)
    texts = getattr(result, "txts", None) or ()
    scores = getattr(result, "scores", None) or ()
    if boxes is None or len(boxes) == 0:
        return {"share": 0.0, "lines": []}
    mask = np.zeros((max(1, h // 4), max(1, w // 4)), bool)
    lines = []
    for quad, text, score in zip(boxes, texts, scores, strict=False):
        q = np.asarray(quad, np.float64)
        x0, y0 = np.clip(q.min(axis=0), 0, [w, h])
        x1, y1 = np.clip(q.max(axis=0), 0, [w, h])
        mask[int(y0) // 4:math.ceil(y1 / 4), int(x0) // 4:math.ceil(x1 / 4)] = True
        if sum(ch.isalnum() for ch in text or "") >= MIN_CHARACTERS \
                and float(score) >= MIN_CONFIDENCE:
            lines.append([text.strip(), round(float(score), 3),
                          [round(x0 / w, 4), round(y0 / h, 4), round((x1 - x0) / w, 4),
                           round((y1 - y0) / h, 4)]])
    lines.sort(key=lambda line: (round(line[2][1], 2), line[2][0]))
    return {"share": round(float(mask.mean()), 4), "lines": lines}


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def distinct_lines(lines: Sequence[Sequence[Any]]) -> list[tuple[str, float]]:
    """Lines read on several frames once each, the most confident copy, in first-seen order."""
    kept: list[list[Any]] = []
    for text, score, *_ in lines:
        key = _key(text)
        for k in kept:
            if difflib.SequenceMatcher(None, key, k[2]).ratio() >= SAME_LINE:
                if score > k[1]:
                    k[0], k[1], k[2] = text, score, key
                break
        else:
            kept.append([text, score, key])
    return [(text, score) for text, score, _ in kept]


@ATTRIBUTES.register("text")
class OnScreenText(Attribute):
    name = "text"
    description = "On-screen text: the distinct lines read in a shot and the share it covers."
    unit = "text; share 0..1; confidence 0..1"
    kind = "fields"
    fields = {"text": "text", "text_share": "number", "text_confidence": "number"}
    default = False
    detail_size = DETAIL_SIZE

    def __init__(self, gate: bool = True) -> None:
        self._gate: Any = None
        if gate:
            from vidscene.attributes._text_present import TextPresent

            self._gate = TextPresent()

    def setup(self) -> None:
        _ocr()
        if self._gate is not None:
            self._gate.setup()

    def measure(self, sample: FrameSample) -> dict[str, Any] | None:
        return self.measure_batch([sample])[0]

    def measure_batch(self, samples: Sequence[FrameSample]) -> list[dict[str, Any] | None]:
        # Not every sample is read: the cost of reading every one is not worth it.
        due = [s for s in samples if s.due_every(READ_EVERY)]
        if self._gate is not None and due:
            # The learned text_present model (a few ms) decides whether reading (over a
            # hundred ms here) is worth it; a frame it is sure has no text reads as empty.
            chances = self._gate.chances(due)
            self.model = self._gate.model
        else:
            chances = [1.0] * len(due)
        found: dict[int, dict[str, Any]] = {}
        for sample, chance in zip(due, chances, strict=True):
            if chance < GATE:
                found[id(sample)] = {"share": 0.0, "lines": []}
            else:
                frame = sample.detail if sample.detail is not None else sample.rgb
                found[id(sample)] = read_text(frame)
        return [found.get(id(s)) for s in samples]

    def reduce_shot(self, values: Sequence[Any]) -> dict[str, Any] | None:
        reads = [v for v in values if isinstance(v, dict)]
        if not reads:  # none of its frames was read: no text found, and no share measured
            return {"text": ""} if values else None
        lines = distinct_lines([line for r in reads for line in r["lines"]])
        out: dict[str, Any] = {"text": "\n".join(t for t, _ in lines),
                               "text_share": float(np.mean([r["share"] for r in reads]))}
        if lines:
            out["text_confidence"] = float(np.mean([s for _, s in lines]))
        return out

    def reduce_field(self, name: str, values: Sequence[Any], weights: Sequence[float]) -> Any:
        if name == "text":  # the distinct lines of all its shots, once each
            lines = [(line, 1.0) for v in values if v for line in str(v).split("\n") if line]
            return "\n".join(t for t, _ in distinct_lines(lines))
        return super().reduce_field(name, values, weights)

    def segments(self, samples: Sequence[tuple[int, Any]], times: Sequence[float],
                 fps: float) -> dict[str, list[dict[str, Any]]]:
        if not samples or not times:
            return {}
        duration = float(times[-1]) + (1.0 / fps if fps else 0.0)
        reads = [(float(times[f]), v) for f, v in samples
                 if isinstance(v, dict) and f < len(times)]
        dense = [(t, v) for t, v in reads
                 if len(v["lines"]) >= CREDIT_LINES and v["share"] >= CREDIT_SHARE]
        runs: list[list[Any]] = []
        for t, v in dense:
            if runs and t - runs[-1][1] <= READ_EVERY * 1.5:
                runs[-1][1] = t
                runs[-1][2].append(v)
            else:
                runs.append([t, t, [v]])
        cues = []
        for start, last, members in runs:
            end = min(duration, last + READ_EVERY)
            kind = ("opening_credits" if start <= CREDIT_EDGE * duration
                    else "end_credits" if end >= (1 - CREDIT_EDGE) * duration else None)
            if kind is None:
                continue
            confidence = min(1.0, 0.5 + 0.1 * float(np.mean([len(v["lines"]) for v in members])))
            cues.append({"type": kind, "start_time": round(start, 3),
                         "end_time": round(end, 3), "confidence": round(confidence, 3)})
        return {"cues": cues} if cues else {}
