"""Stage wiring: analyse a video in-process (``analyze``) or detect shots only."""

from vidscene.pipeline._local import Progress, analyze, detect_shots
from vidscene.pipeline._settings import AnalyzeSettings

__all__ = ["AnalyzeSettings", "Progress", "analyze", "detect_shots"]
