"""``faces``: the faces on screen and how close the camera is (the shot scale).

The detail copy (320 px on its long side: 7 ms a frame here, against 20 ms at 480 px) of the
first sample of every :data:`EVERY` seconds, and of every sample taken because the picture
changed (the first frame after a cut), goes through YuNet (``yuface``, its model inside the
wheel), so every shot after a cut has its face count and shot scale (a shot shorter than a
second that follows a gradual transition may have none). A frame's value is its faces: how
many, their boxes (x, y, w, h as shares of the frame) and the largest face's height as a
share of the frame's height. A shot's values:

- ``faces``: the median face count over its frames;
- ``face_height``: the median height of the largest face, over the frames that have one;
- ``shot_scale``: ``close-up`` / ``medium`` / ``wide`` from that height (a face box a third
  of the frame high or more is a close-up, an eighth or more a medium shot), or ``none`` when
  faces are on fewer than half of the shot's frames.

Faces smaller than :data:`MIN_FACE_SHARE` of the frame's height are not reported (a few
pixels at this size, where the detector guesses); faces much smaller than a tenth of the
frame are found less often, so a wide shot of distant people may read as ``none``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from vidscene.attributes._base import ATTRIBUTES, Attribute, FrameSample, require_extra

__all__ = ["Faces", "SHOT_SCALES", "shot_scale"]

DETAIL_SIZE = 320
CONFIDENCE = 0.8
"""YuNet's score a face needs: chosen on frames counted by hand (``bench/faces_tuning.json``),
not on the benchmark's (at 0.6 and 0.7 it also finds hands and blurred shapes; at 0.9 it
misses a third of the faces)."""
EVERY = 1.0
"""Seconds between the samples looked at; every sample taken because the picture changed
(the first frame after a cut) is looked at too, so each shot after a cut has a value."""
MIN_FACE_SHARE = 0.03
CLOSE_UP, MEDIUM = 0.35, 0.12
PRESENT_SHARE = 0.5
SHOT_SCALES = ("close-up", "medium", "wide", "none")

_lock = threading.Lock()


def shot_scale(face_height: float | None) -> str:
    """The shot scale of a largest-face height (a share of the frame's height)."""
    if face_height is None or face_height <= 0:
        return "none"
    return "close-up" if face_height >= CLOSE_UP else "medium" if face_height >= MEDIUM \
        else "wide"


def _fit(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` with its long side at most :data:`DETAIL_SIZE` (another attribute may have
    asked for a larger detail copy)."""
    h, w = rgb.shape[:2]
    if max(h, w) <= DETAIL_SIZE:
        return rgb
    import cv2

    scale = DETAIL_SIZE / max(h, w)
    return cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)


_threads = threading.local()


def _one_openmp_thread(yuface: Any) -> None:
    """Run YuNet's OpenMP loops on the calling thread alone. Its two-thread loops save no wall
    time here (5.7 ms a frame either way with waiting threads asleep) and cost a third more
    CPU, which the decoder and the other attributes need. Only this thread's setting changes
    (OpenMP keeps it per thread); a wheel without its own libgomp is left as it is."""
    if getattr(_threads, "done", False):
        return
    _threads.done = True
    import ctypes
    import glob
    import os

    libs = glob.glob(os.path.join(os.path.dirname(yuface.__file__), os.pardir, "yuface.libs",
                                  "libgomp*.so*"))
    try:
        if libs:
            ctypes.CDLL(libs[0]).omp_set_num_threads(1)
    except (OSError, AttributeError):
        pass


def _detect(bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    yuface = require_extra("yuface", "faces")
    _one_openmp_thread(yuface)
    with _lock:  # one detector state per process; calls are a few ms
        confs, boxes, _ = yuface.detect(np.ascontiguousarray(bgr), conf=CONFIDENCE)
    return np.asarray(confs), np.asarray(boxes, np.float64).reshape(-1, 4)


@ATTRIBUTES.register("faces")
class Faces(Attribute):
    name = "faces"
    description = "Faces on screen (median count) and the shot scale from the largest face."
    unit = "count; close-up / medium / wide / none"
    kind = "fields"
    fields = {"faces": "number", "face_height": "number", "shot_scale": "label"}
    default = False
    detail_size = DETAIL_SIZE

    def setup(self) -> None:
        _detect(np.zeros((DETAIL_SIZE * 9 // 16, DETAIL_SIZE, 3), np.uint8))  # loads the library

    def measure(self, sample: FrameSample) -> dict[str, Any] | None:
        if not sample.due_every(EVERY):
            return None
        frame = _fit(sample.detail if sample.detail is not None else sample.rgb)
        h, w = frame.shape[:2]
        _, boxes = _detect(frame[:, :, ::-1])
        boxes = boxes[boxes[:, 3] >= MIN_FACE_SHARE * h] if len(boxes) else boxes
        scaled = [[round(x / w, 4), round(y / h, 4), round(bw / w, 4), round(bh / h, 4)]
                  for x, y, bw, bh in boxes.tolist()]
        largest = max((b[3] for b in scaled), default=0.0)
        return {"count": len(scaled), "largest": largest, "boxes": scaled}

    def reduce_shot(self, values: Sequence[Any]) -> dict[str, Any] | None:
        frames = [v for v in values if isinstance(v, dict)]
        if not frames:
            return None
        counts = [v["count"] for v in frames]
        with_face = [v["largest"] for v in frames if v["count"] > 0]
        height = float(np.median(with_face)) if with_face else None
        present = len(with_face) >= PRESENT_SHARE * len(frames)
        out: dict[str, Any] = {"faces": float(np.median(counts)),
                               "shot_scale": shot_scale(height) if present else "none"}
        if height is not None:
            out["face_height"] = height
        return out
