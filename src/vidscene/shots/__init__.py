"""Shot detection: the ``ShotDetector`` interface, its registry and the built-in detectors."""

from vidscene.shots import _fast  # noqa: F401  (registers "fast")
from vidscene.shots._base import (
    DETECTORS,
    VIDEO_START,
    ShotDetector,
    create_detector,
    follows,
    shots_from_transitions,
)
from vidscene.shots._fast import FastShotDetector

__all__ = ["DETECTORS", "VIDEO_START", "FastShotDetector", "ShotDetector", "create_detector",
           "follows", "shots_from_transitions"]
