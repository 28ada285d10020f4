"""Stage wiring and executors.

``analyze`` analyses one video in this process; ``detect_shots`` finds shots only. The stages
(``ShotStage``: decoding, shot detection, attributes and keyframes of a chunk or a whole video;
``SceneStage``: joining chunks, scenes, aggregation) are the same wherever they run; executors
(``EXECUTORS``: ``local``, ``ray``) decide where, and ``LiveAnalysis`` drives them over a live
input.
"""

from vidscene.pipeline._executor import (
    EXECUTORS,
    Cancelled,
    Executor,
    ExecutorError,
    Listener,
    TaskOutcome,
    VideoTask,
    create_executor,
)
from vidscene.pipeline._live import LiveAnalysis, WatchSettings
from vidscene.pipeline._local import LocalExecutor, analyze, detect_shots
from vidscene.pipeline._plan import (
    DEFAULT_CHUNK_SECONDS,
    Chunk,
    VideoPlan,
    VideoPlanner,
    plan_video,
)
from vidscene.pipeline._runner import JobRunner, RunEvents, VideoOutcome, analyze_videos
from vidscene.pipeline._scene_stage import SceneStage, VideoChunks
from vidscene.pipeline._settings import AnalyzeSettings
from vidscene.pipeline._shot_stage import ChunkResult, Progress, ShotStage
from vidscene.pipeline._stage import Resources, Stage

__all__ = [
    "DEFAULT_CHUNK_SECONDS",
    "EXECUTORS",
    "AnalyzeSettings",
    "Cancelled",
    "Chunk",
    "ChunkResult",
    "Executor",
    "ExecutorError",
    "JobRunner",
    "Listener",
    "LiveAnalysis",
    "LocalExecutor",
    "Progress",
    "Resources",
    "RunEvents",
    "SceneStage",
    "ShotStage",
    "Stage",
    "TaskOutcome",
    "VideoChunks",
    "VideoOutcome",
    "VideoPlan",
    "VideoPlanner",
    "VideoTask",
    "WatchSettings",
    "analyze",
    "analyze_videos",
    "create_executor",
    "detect_shots",
    "plan_video",
]
