"""The local executor: every stage in this process, one video at a time.

This is the default and the path of :func:`analyze`: the shot stage decodes the video once and
streams it through the detector, attributes and keyframes; the scene stage finishes it. With
``chunk_seconds`` it also runs long videos chunk by chunk, exactly as the Ray executor splits
them (useful to check a chunked result against a whole one without a cluster).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from vidscene import attributes as attrs
from vidscene.analysis import Analysis, AnalysisResult, Transition, VideoInfo
from vidscene.errors import VidsceneError
from vidscene.pipeline._executor import (
    EXECUTORS,
    Cancelled,
    Executor,
    Listener,
    TaskOutcome,
    VideoTask,
)
from vidscene.pipeline._plan import VideoPlan, VideoPlanner, whole_video
from vidscene.pipeline._scene_stage import SceneStage, VideoChunks, decoded_info
from vidscene.pipeline._settings import AnalyzeSettings
from vidscene.pipeline._shot_stage import (
    ChunkNotInStep,
    ChunkResult,
    Progress,
    ShotStage,
    _options,
    worker_name,
)
from vidscene.scenes import SEGMENTERS, SceneSegmenter, create_segmenter
from vidscene.shots import ShotDetector, create_detector, shots_from_transitions
from vidscene.video import FrameStream, SpanMismatch, probe


def analyze(
    path: str | Path,
    settings: AnalyzeSettings | None = None,
    *,
    info: VideoInfo | None = None,
    progress: Progress | None = None,
    detector: ShotDetector | None = None,
    segmenter: SceneSegmenter | None = None,
) -> AnalysisResult:
    """Analyse one video in this process: shots, keyframes, scenes and attributes, in one
    decoding pass.

    ``detector`` / ``segmenter``, when given, are used instead of creating
    ``settings.detector`` / ``settings.scenes`` (built with non-default options or weights, or
    a benchmark's stand-in); the Analysis's ``models`` records the ones that ran. For many
    videos, a cluster or job records, see :func:`vidscene.pipeline.analyze_videos`."""
    settings = settings or AnalyzeSettings()
    t0 = time.perf_counter()
    info = info or probe(path)
    segmenter = segmenter or create_segmenter(settings.scenes, **_options(
        SEGMENTERS, settings.scenes, weights=settings.scene_model))
    shots = ShotStage(settings, detector=detector, segmenter=segmenter)
    scenes = SceneStage(settings, segmenter=segmenter)
    plan = whole_video(path, info)
    result = shots(plan.chunks[0], progress)
    return scenes(VideoChunks(info, [result], elapsed_s=time.perf_counter() - t0))


@EXECUTORS.register("local")
class LocalExecutor(Executor):
    """Stages in this process, one video after another (see module doc).

    ``chunk_seconds``: split videos at least twice that long into chunks analysed one after
    another (``None``, the default: whole videos, the fastest way on one process)."""

    name = "local"

    def __init__(self, *, chunk_seconds: float | None = None) -> None:
        super().__init__()
        self.chunk_seconds = chunk_seconds
        self._stages: dict[str, tuple[ShotStage, SceneStage]] = {}

    def _stages_for(self, settings: AnalyzeSettings) -> tuple[ShotStage, SceneStage]:
        """One pair of stages per distinct settings (resumed jobs may differ), kept so the
        models load once."""
        key = repr(settings.to_dict())
        if key not in self._stages:
            segmenter = create_segmenter(settings.scenes, **_options(
                SEGMENTERS, settings.scenes, weights=settings.scene_model))
            self._stages[key] = (ShotStage(settings, segmenter=segmenter),
                                 SceneStage(settings, segmenter=segmenter))
        return self._stages[key]

    def run(self, tasks: Iterable[VideoTask], listener: Listener | None = None
            ) -> Iterator[TaskOutcome]:
        listener = listener or Listener()
        for task in tasks:
            if self.is_cancelled(task.job_id):
                yield TaskOutcome(task, cancelled=True)
                continue
            listener.on_started(task.job_id, worker_name())
            try:
                result, chunks = self._analyze(task, listener)
                yield TaskOutcome(task, result, workers=[worker_name()], nodes=["local"],
                                  chunks=chunks)
            except Cancelled:
                yield TaskOutcome(task, cancelled=True)
            except VidsceneError as e:
                yield TaskOutcome(task, error=str(e))

    def _analyze(self, task: VideoTask, listener: Listener) -> tuple[AnalysisResult, int]:
        t0 = time.perf_counter()
        shots, scenes = self._stages_for(task.settings)
        shots.setup()
        planner = VideoPlanner(task.path, task.info, shots.geometry,
                               chunk_seconds=self.chunk_seconds,
                               sample_fps=task.settings.sample_fps)
        plan = planner.plan()
        try:
            results = self._run_chunks(plan, planner, shots, task, listener)
            return scenes(VideoChunks(task.info, results, time.perf_counter() - t0)), \
                len(plan.chunks)
        except (ChunkNotInStep, SpanMismatch):
            # A chunk that cannot be made exact, or frames the index did not promise: the
            # video in one piece is always right.
            if not plan.chunked:
                raise
        whole = planner.whole()
        results = self._run_chunks(whole, planner, shots, task, listener)
        return scenes(VideoChunks(task.info, results, time.perf_counter() - t0)), 1

    def _run_chunks(self, plan: VideoPlan, planner: VideoPlanner, shots: ShotStage,
                    task: VideoTask, listener: Listener) -> list[ChunkResult]:
        total = max(task.info.frame_count, 1)
        done = 0
        results = []
        for chunk in plan.chunks:
            def progress(frames: int, expected: int, first: int = chunk.start,
                         before: int = done) -> None:
                if self.is_cancelled(task.job_id):
                    raise Cancelled(f"{task.path}: cancelled")
                listener.on_progress(task.job_id, min(before + frames - first, total), total)

            while True:
                try:
                    results.append(shots(chunk, progress))
                    break
                except ChunkNotInStep:  # not in step in time: the same core, decoded wider
                    wider = planner.widen(chunk)
                    if wider is None:
                        raise
                    chunk = wider
            done = results[-1].frame_count
        return results


def detect_shots(
    path: str | Path,
    detector: str = "transformer",
    *,
    info: VideoInfo | None = None,
    progress: Progress | None = None,
) -> Analysis:
    """Shot detection only (no analysis frames, keyframes, scenes or attributes): the fast
    path behind ``vidscene shots``."""
    t0 = time.perf_counter()
    info = info or probe(path)
    det = create_detector(detector)
    stream = FrameStream(path, info=info, with_analysis=False)
    transitions: list[Transition] = []
    times: list[float] = []
    t_detect = 0.0
    for batch in stream:
        times.extend(batch.times.tolist())
        td = time.perf_counter()
        transitions.extend(det.process(batch))
        t_detect += time.perf_counter() - td
        if progress:
            progress(stream.frame_count, max(info.frame_count, stream.frame_count))
    td = time.perf_counter()
    transitions.extend(det.flush())
    t_detect += time.perf_counter() - td
    video = decoded_info(info, stream.frame_count, stream.duration, stream.fps)
    shots = shots_from_transitions(transitions, video.frame_count, times, video.fps,
                                   video.duration)
    total = time.perf_counter() - t0
    analysis = Analysis(
        video=video,
        shots=shots,
        attributes=attrs.summarise_video(shots, [], video.duration),
        models={"shots": det.describe()},
        timing={"decode_s": total - t_detect, "shots_s": t_detect, "total_s": total},
        settings={"detector": detector},
    )
    analysis.check()
    return analysis


