"""vidscene: turn any video into shots, keyframes, scenes and attributes.

The stages live one per module (``vidscene.video``, ``vidscene.shots``, ``vidscene.keyframes``,
``vidscene.scenes``, ``vidscene.attributes``, ``vidscene.store``, ``vidscene.report``) and are
wired by ``vidscene.pipeline``. The names re-exported here are the stable public API.
"""

from vidscene.analysis import (
    SCHEMA,
    Analysis,
    AnalysisResult,
    Scene,
    Shot,
    Transition,
    VideoInfo,
)
from vidscene.errors import (
    ConfigError,
    ExportError,
    NotFoundInStore,
    NoVideoStream,
    StoreError,
    UnreadableVideo,
    UnsupportedVideo,
    VideoError,
    VideoNotFound,
    VidsceneError,
)

__version__ = "0.1.0"

__all__ = [
    "SCHEMA",
    "Analysis",
    "AnalysisResult",
    "ConfigError",
    "ExportError",
    "NoVideoStream",
    "NotFoundInStore",
    "Scene",
    "Shot",
    "StoreError",
    "Transition",
    "UnreadableVideo",
    "UnsupportedVideo",
    "VideoError",
    "VideoInfo",
    "VideoNotFound",
    "VidsceneError",
    "__version__",
]
