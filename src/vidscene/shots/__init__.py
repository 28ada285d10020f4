"""Shot detection: the ``ShotDetector`` interface, its registry and the built-in detectors."""

from vidscene.shots import _fast, _transformer  # noqa: F401  (register "fast", "transformer")
from vidscene.shots._base import (
    DETECTORS,
    VIDEO_START,
    ShotDetector,
    create_detector,
    follows,
    shots_from_transitions,
)
from vidscene.shots._fast import FastShotDetector
from vidscene.shots._transformer import TransformerShotDetector

__all__ = ["DETECTORS", "VIDEO_START", "FastShotDetector", "ShotDetector",
           "TransformerShotDetector", "create_detector", "follows", "shots_from_transitions"]
