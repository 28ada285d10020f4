"""``camera``: how the camera moves in a shot: static, pan, tilt, zoom or handheld.

On each sampled frame and the frame just before it (both at 320 px on the long side), corners
are tracked with pyramidal Lucas-Kanade flow (OpenCV) and a similarity transform is fitted
with RANSAC, so people and cars moving through the picture do not count as camera motion. The
frame's value is the motion of the picture's centre (x, y, as shares of the frame's width and
height per second) and the zoom rate (log scale per second), or nothing when too few points
agree (a cut or a flash between the two frames, a blank picture).

A shot's ``camera_motion`` comes from the median of its frames' motions and their spread:
motion that changes direction from frame to frame is ``handheld``; a steady one is a pan, a
tilt or a zoom by its largest part (``pan_left`` means the camera turns left, the picture moves
right); below :data:`PAN` and :data:`ZOOM` it is ``static``. ``camera_speed`` is that largest part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vidscene.attributes._base import ATTRIBUTES, Attribute, FrameSample, require_extra

__all__ = ["Camera", "CAMERA_MOTIONS", "classify_motion"]

FLOW_SIZE = 320
MIN_POINTS = 12
MIN_INLIERS = 0.5
PAN = 0.06
"""A steady pan or tilt moves the picture at least this share of the frame per second (one
pixel of tracking error at 320 px and 25 fps reads as 0.08/s on a single frame pair, so
the median over the shot's frames is what is compared)."""
ZOOM = 0.08
"""A steady zoom changes the scale at least this much (log scale) per second."""
HANDHELD = 0.12
"""A frame-to-frame spread of the motion above this, and well above the steady part, is a
handheld camera."""
CAMERA_MOTIONS = ("static", "pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in",
                  "zoom_out", "handheld")


def _cv2() -> Any:
    return require_extra("cv2", "camera")


def _gray(cv2: Any, rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = FLOW_SIZE / max(h, w)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if scale < 1:
        gray = cv2.resize(gray, (max(2, round(w * scale)), max(2, round(h * scale))),
                          interpolation=cv2.INTER_AREA)
    return gray


def frame_motion(previous: np.ndarray, current: np.ndarray, interval: float
                 ) -> list[float] | None:
    """``[dx, dy, zoom]`` per second between two RGB frames, or ``None`` (see module doc)."""
    cv2 = _cv2()
    a, b = _gray(cv2, previous), _gray(cv2, current)
    h, w = a.shape
    points = cv2.goodFeaturesToTrack(a, maxCorners=200, qualityLevel=0.01, minDistance=7,
                                     blockSize=7)
    if points is None or len(points) < MIN_POINTS or interval <= 0:
        return None
    moved, status, _ = cv2.calcOpticalFlowPyrLK(a, b, points, None, winSize=(21, 21),
                                                maxLevel=3)
    found = status.reshape(-1) == 1
    if found.sum() < MIN_POINTS:
        return None
    # RANSAC draws from OpenCV's per-thread generator, whose state depends on everything the
    # thread did before: seeded per call, a frame pair gives the same answer in any worker.
    cv2.setRNGSeed(0)
    matrix, inliers = cv2.estimateAffinePartial2D(points[found], moved[found],
                                                  method=cv2.RANSAC,
                                                  ransacReprojThreshold=1.5)
    if matrix is None or inliers is None or inliers.mean() < MIN_INLIERS:
        return None
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    centre = np.array([w / 2, h / 2, 1.0])
    shift = matrix @ centre - centre[:2]
    return [float(shift[0] / w / interval), float(shift[1] / h / interval),
            float(np.log(max(scale, 1e-6)) / interval)]


def classify_motion(motions: Sequence[Sequence[float]]) -> tuple[str, float]:
    """A shot's camera motion and speed from its frames' ``[dx, dy, zoom]`` (see module)."""
    m = np.asarray(motions, np.float64).reshape(-1, 3)
    steady = np.median(m, axis=0)
    # Each part relative to its threshold: the largest decides, and none above 1 is static.
    parts = {"pan": abs(steady[0]) / PAN, "tilt": abs(steady[1]) / PAN,
             "zoom": abs(steady[2]) / ZOOM}
    largest = max(parts, key=lambda k: parts[k])
    speed = float(abs(steady[{"pan": 0, "tilt": 1, "zoom": 2}[largest]]))
    # How far the frames' motions stray from the steady part: the median distance (one
    # frame misread at a flash or a passing subject does not make a shot handheld).
    spread = (float(np.median(np.hypot(*(m[:, :2] - steady[:2]).T))) if len(m) > 2 else 0.0)
    if spread > HANDHELD and spread > float(np.hypot(steady[0], steady[1])):
        return "handheld", round(spread, 4)
    if parts[largest] < 1:
        return "static", round(speed, 4)
    if largest == "zoom":
        return ("zoom_in" if steady[2] > 0 else "zoom_out"), round(speed, 4)
    if largest == "pan":  # the picture moves right when the camera turns left
        return ("pan_left" if steady[0] > 0 else "pan_right"), round(speed, 4)
    return ("tilt_up" if steady[1] > 0 else "tilt_down"), round(speed, 4)


@ATTRIBUTES.register("camera")
class Camera(Attribute):
    name = "camera"
    description = "Camera motion: static, pan, tilt, zoom or handheld, and its speed."
    unit = "label; speed in frame shares (or log zoom) per second"
    kind = "fields"
    fields = {"camera_motion": "label", "camera_speed": "number"}
    default = False  # ~0.7 s a minute of 720p here (flow, and a second scaled copy a sample)
    detail_size = FLOW_SIZE
    detail_previous = True

    def setup(self) -> None:
        _cv2()

    def measure(self, sample: FrameSample) -> list[float] | None:
        if sample.detail is None or sample.detail_previous is None:
            return None
        return frame_motion(sample.detail_previous, sample.detail, sample.interval)

    def reduce_shot(self, values: Sequence[Any]) -> dict[str, Any] | None:
        motions = [v for v in values if v is not None]
        if not motions:
            return None
        motion, speed = classify_motion(motions)
        return {"camera_motion": motion, "camera_speed": speed}
