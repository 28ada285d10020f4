"""Shot detection: the ``ShotDetector`` interface, its registry and the built-in detectors."""

from vidscene.shots import _fast  # noqa: F401  (registers "fast")
from vidscene.shots._base import DETECTORS, ShotDetector, create_detector, shots_from_transitions
from vidscene.shots._fast import FastShotDetector

__all__ = ["DETECTORS", "FastShotDetector", "ShotDetector", "create_detector",
           "shots_from_transitions"]
