"""``cues``: technical cues of the picture as time segments (``Analysis.cues``).

Measured on every decoded frame's 64×36 copy, so cue edges are timed to the frame rather than
to the 2-per-second analysis samples:

* ``black_frames``: the whole picture dark (mean luma < 0.06 and no pixel above 0.15);
* ``color_bars``: seven vertical bands over the top two thirds, each flat, their luma falling
  from left to right and all but the first strongly coloured (the SMPTE/EBU layout);
* ``freeze_frame``: at least a second of frames identical to the one before (mean luma change
  below 0.0001; a static shot still changes by ~0.0003 from sensor and codec noise, a repeated
  frame decodes the same but for keyframe refreshes, which runs bridge), black frames and bars
  excepted;
* ``letterbox`` / ``pillarbox``: dark bands of at least 8 % of the height at the top and the
  bottom (or of the width at both sides) for at least a second, with the picture starting
  sharply inside them (dark content around a subject is not a bar).

Each frame's evidence is one small integer of flags (and the change since the frame before),
so a two-hour film costs a few megabytes in flight.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vidscene.attributes._base import ATTRIBUTES, Attribute, FrameSample

BLACK, BARS, FROZEN, LETTERBOX, PILLARBOX = 1, 2, 4, 8, 16
_REC709 = np.array([0.2126, 0.7152, 0.0722], np.float32) / 255.0
BLACK_MEAN, BLACK_MAX = 0.06, 0.15
FROZEN_CHANGE = 0.0001
BAR_FLATNESS = 14.0
"""Largest standard deviation (8-bit levels) inside one colour bar."""
BAND_DARK = 0.05
BAND_RINGING = 0.12
PICTURE_EDGE = 0.08
"""The first line inside a bar has a median luma at least this: the picture starts sharply
there (dark content beside a subject, such as space around a planet, is not a bar)."""
MIN_SECONDS = {"black_frames": 0.0, "color_bars": 0.5, "freeze_frame": 1.0, "letterbox": 1.0,
               "pillarbox": 1.0}
FLAGS = {"black_frames": BLACK, "color_bars": BARS, "freeze_frame": FROZEN,
         "letterbox": LETTERBOX, "pillarbox": PILLARBOX}
CONFIDENCE = 0.9
GAP = 3
"""Frames without the flag that a run may cross."""


def _bars(tiny: np.ndarray) -> bool:
    top = tiny[: tiny.shape[0] * 2 // 3].astype(np.float32)
    edges = np.linspace(0, top.shape[1], 8).round().astype(int)
    means, lumas = [], []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        band = top[:, a + 1 : b - 1] if b - a > 3 else top[:, a:b]
        if band.reshape(-1, 3).std(axis=0).max() > BAR_FLATNESS:
            return False  # not flat: no bar
        mean = band.reshape(-1, 3).mean(axis=0)
        means.append(mean)
        lumas.append(float(mean @ (_REC709 * 255.0)))
    if not all(x > y + 5 for x, y in zip(lumas, lumas[1:], strict=False)):
        return False
    saturation = [float(m.max() - m.min()) for m in means[1:]]
    return min(saturation) > 60


def _bar(luma: np.ndarray) -> int:
    """How many of the first rows of ``luma`` form a dark bar (0: none). A bar row is dark
    in the middle and nearly everywhere (the codec rings a little along the bar's edge)."""
    dark = (np.median(luma, axis=1) < BAND_DARK) & (luma.max(axis=1) < BAND_RINGING)
    if dark.all() or not dark[0]:
        return 0
    n = int(np.argmin(dark))
    edge = np.median(luma[n : n + 2], axis=1)
    return n if float(edge.max()) >= PICTURE_EDGE else 0


@ATTRIBUTES.register("cues")
class Cues(Attribute):
    name = "cues"
    description = ("Technical cues as time segments: black frames, colour bars, freeze "
                   "frames, letterbox and pillarbox bars.")
    unit = "segments (Analysis.cues)"
    kind = "segments"
    every_frame = True

    def measure(self, sample: FrameSample) -> Any:
        return self.measure_frames(sample.tiny[None], sample.tiny_previous)[0]

    def measure_frames(self, tiny: np.ndarray, tiny_previous: np.ndarray | None
                       ) -> list[int]:
        # The cheap tests (luma, darkness, change) on the whole batch at once; the shape tests
        # (bars, letterbox) only on the frames that are not black.
        luma = tiny.astype(np.float32) @ _REC709  # N×h×w
        flat = luma.reshape(len(luma), -1)
        black = (flat.mean(axis=1) < BLACK_MEAN) & (flat.max(axis=1) < BLACK_MAX)
        before = np.concatenate([(tiny_previous.astype(np.float32) @ _REC709)[None], luma[:-1]]) \
            if tiny_previous is not None else luma[:-1]
        change = np.abs(luma[len(luma) - len(before):] - before).reshape(len(before), -1)
        frozen = np.zeros(len(luma), bool)
        frozen[len(luma) - len(before):] = change.mean(axis=1) < FROZEN_CHANGE
        # Quick rejections for the batch, so the per-frame shape tests run only where they
        # can succeed: bars need a picture flat from the top to half-way down in every column,
        # a letterbox dark first and last rows, a pillarbox dark first and last columns.
        top = tiny[:, : tiny.shape[1] // 2].astype(np.float32)
        maybe_bars = top.std(axis=1).max(axis=(1, 2)) <= BAR_FLATNESS
        edge_rows = np.maximum(luma[:, 0].max(axis=1), luma[:, -1].max(axis=1))
        edge_cols = np.maximum(luma[:, :, 0].max(axis=1), luma[:, :, -1].max(axis=1))
        out = []
        tall, wide = luma.shape[1:]
        for k in range(len(luma)):
            if black[k]:
                out.append(BLACK)
                continue
            flags = 0
            if maybe_bars[k] and _bars(tiny[k]):
                flags |= BARS
            elif frozen[k]:
                flags |= FROZEN
            if edge_rows[k] < BAND_RINGING and \
                    min(_bar(luma[k]), _bar(luma[k][::-1])) >= 0.08 * tall:
                flags |= LETTERBOX
            if edge_cols[k] < BAND_RINGING and \
                    min(_bar(luma[k].T), _bar(luma[k].T[::-1])) >= 0.08 * wide:
                flags |= PILLARBOX
            out.append(flags)
        return out

    def reduce_shot(self, values: Sequence[Any]) -> Any:
        return None  # segments of the video, not a value of each shot

    def reduce_span(self, values: Sequence[Any], weights: Sequence[float]) -> Any:
        return None

    def segments(self, samples: Sequence[tuple[int, Any]], times: Sequence[float],
                 fps: float) -> dict[str, list[dict[str, Any]]]:
        frame_s = 1.0 / fps if fps > 0 else 0.04
        ordered = sorted(samples, key=lambda s: s[0])
        frames = np.array([f for f, _ in ordered], np.int64)
        flags = np.array([int(v) for _, v in ordered], np.int64)

        def at(frame: int) -> float:
            return float(times[frame]) if frame < len(times) else frame * frame_s

        cues: list[dict[str, Any]] = []
        for kind, bit in FLAGS.items():
            for first, last in _runs(frames[(flags & bit) != 0]):
                start, end = at(first), at(last) + frame_s
                if end - start >= MIN_SECONDS[kind] - 1e-9:
                    cues.append({"type": kind, "start_time": round(start, 3),
                                 "end_time": round(end, 3), "confidence": CONFIDENCE})
        return {"cues": cues}


def _runs(frames: np.ndarray) -> list[tuple[int, int]]:
    """``(first, last)`` of runs of flagged frames, bridging gaps of up to :data:`GAP`
    frames (a keyframe refresh in a frozen picture, one noisy frame in a letterbox)."""
    if len(frames) == 0:
        return []
    breaks = np.flatnonzero(np.diff(frames) > GAP + 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [len(frames) - 1]])
    return [(int(frames[a]), int(frames[b])) for a, b in zip(starts, ends, strict=True)]
