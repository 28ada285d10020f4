"""Wire the stages together for one video, in-process, in one decoding pass.

Data flow (see ``docs/ARCHITECTURE.md``)::

    FrameStream ──tiny frames──▶ ShotDetector ──transitions──▶ _ShotBuilder (closes shots)
         └──analysis frames──▶ attributes (scalars) + keyframe descriptors/JPEGs ──┘
    closed shots ──▶ keyframes.select_keyframes ──▶ scenes.segment ──▶ aggregate ──▶ Analysis
                                  └─▶ segmenter's keyframe embedder (learned scenes) ──┘

Shots are closed as soon as the detector reports the transition that ends them, and only the
sampled frames of still-open shots are held (as descriptors + small JPEGs), so memory does not
grow with the length of the video.
"""

from __future__ import annotations

import io
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from vidscene import attributes as attrs
from vidscene import keyframes as kf
from vidscene.analysis import Analysis, AnalysisResult, Shot, Transition, VideoInfo
from vidscene.pipeline._settings import AnalyzeSettings
from vidscene.scenes import KeyframeEmbedder, SceneSegmenter, create_segmenter
from vidscene.shots import (
    VIDEO_START,
    ShotDetector,
    create_detector,
    follows,
    shots_from_transitions,
)
from vidscene.video import FrameBatch, FrameStream, probe

Progress = Callable[[int, int], None]
"""Called as ``progress(frames_done, frames_expected)`` while decoding."""

_THUMB_QUALITY = 82
_TINY_RING = 512


@dataclass
class _Sample:
    index: int
    descriptor: np.ndarray
    jpeg: bytes
    prepared: np.ndarray | None = None
    """The segmenter's small copy for its keyframe embedder (learned segmenters only)."""


@dataclass
class _ClosedShot:
    start: int
    end: int
    keyframes: list[int]
    embedding: np.ndarray
    thumbnails: dict[int, bytes] = field(default_factory=dict)
    keyframe_embeddings: np.ndarray | None = None


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=_THUMB_QUALITY)
    return buf.getvalue()


class _ShotBuilder:
    """Holds the samples of the open shot(s) and closes a shot when its end is known."""

    def __init__(self, k: int, analysis_size: Callable[[], tuple[int, int]],
                 embedder: KeyframeEmbedder | None = None) -> None:
        self.k = k
        self.analysis_size = analysis_size
        self.embedder = embedder
        self.pending: deque[_Sample] = deque()
        self.tiny: deque[tuple[int, np.ndarray]] = deque(maxlen=_TINY_RING)
        self.closed: list[_ClosedShot] = []
        self.start = 0
        self.previous = VIDEO_START

    def add_sample(self, index: int, rgb: np.ndarray) -> None:
        self.pending.append(self._sample(index, rgb))

    def _sample(self, index: int, rgb: np.ndarray) -> _Sample:
        prepared = self.embedder.prepare(rgb) if self.embedder else None
        return _Sample(index, kf.frame_descriptor(rgb), _jpeg(rgb), prepared)

    def add_tiny(self, batch: FrameBatch) -> None:
        for i in range(len(batch)):
            self.tiny.append((batch.start + i, batch.tiny[i]))

    def accept(self, found: list[Transition]) -> list[Transition]:
        """Close the open shot at each transition; drop any that would not tile (a detector
        bug must not corrupt the Analysis), so closed shots and the shot list match 1:1."""
        kept = []
        for t in found:
            if t.first_frame == 0 and not self.closed and self.previous is VIDEO_START:
                self.previous = t  # opens the first shot (fade in from black)
                kept.append(t)
            elif follows(self.previous, t):
                self.close_until(t.first_frame)
                self.previous = t
                kept.append(t)
        return kept

    def close_until(self, end: int) -> None:
        """Close the open shot at ``end`` (exclusive)."""
        if end <= self.start:
            return
        samples = []
        while self.pending and self.pending[0].index < end:
            samples.append(self.pending.popleft())
        samples = [s for s in samples if s.index >= self.start]
        if not samples:
            samples = [self._fallback_sample(self.start, end)]
        descriptors = np.stack([s.descriptor for s in samples])
        chosen = kf.select_by_descriptors([s.index for s in samples], descriptors, self.k)
        by_index = {s.index: s for s in samples}
        keyframe_embeddings = None
        if self.embedder is not None:
            prepared = [by_index[i].prepared for i in chosen]
            keyframe_embeddings = self.embedder.embed(
                np.stack([p for p in prepared if p is not None]))
        self.closed.append(_ClosedShot(
            self.start, end, chosen, kf.shot_embedding(descriptors),
            {i: by_index[i].jpeg for i in chosen}, keyframe_embeddings,
        ))
        self.start = end

    def _fallback_sample(self, start: int, end: int) -> _Sample:
        """A shot with no sampled frame (shorter than the sampling interval and not caught by
        the change trigger): use its middle tiny frame, enlarged."""
        mid = (start + end - 1) // 2
        best = min(self.tiny, key=lambda it: abs(it[0] - mid), default=None)
        if best is None:
            rgb = np.zeros((self.analysis_size()[1], self.analysis_size()[0], 3), np.uint8)
            index = mid
        else:
            index = best[0] if start <= best[0] < end else mid
            rgb = np.asarray(Image.fromarray(best[1]).resize(self.analysis_size(),
                                                             Image.Resampling.BILINEAR))
        return self._sample(index, rgb)


def analyze(
    path: str | Path,
    settings: AnalyzeSettings | None = None,
    *,
    info: VideoInfo | None = None,
    progress: Progress | None = None,
    detector: ShotDetector | None = None,
    segmenter: SceneSegmenter | None = None,
) -> AnalysisResult:
    """Analyse one video: shots, keyframes, scenes and attributes, in one decoding pass.

    ``detector`` / ``segmenter``, when given, are used instead of creating
    ``settings.detector`` / ``settings.scenes`` (built with non-default options or weights, or
    a benchmark's stand-in); the Analysis's ``models`` records the ones that ran."""
    settings = settings or AnalyzeSettings()
    t0 = time.perf_counter()
    info = info or probe(path)
    detector = detector or create_detector(
        settings.detector, **({"weights": settings.shot_model} if settings.shot_model else {}))
    segmenter = segmenter or create_segmenter(
        settings.scenes, **({"weights": settings.scene_model} if settings.scene_model else {}))
    measures = attrs.create_attributes(settings.attributes)
    stream = FrameStream(path, info=info, sample_fps=settings.sample_fps)
    builder = _ShotBuilder(settings.keyframes_per_shot, lambda: stream.analysis_size,
                           segmenter.keyframe_embedder())
    values: dict[str, list[tuple[int, float]]] = {m.name: [] for m in measures}
    transitions: list[Transition] = []
    times: list[float] = []
    previous_tiny: np.ndarray | None = None
    t_detect = 0.0
    for batch in stream:
        times.extend(batch.times.tolist())
        builder.add_tiny(batch)
        for index, rgb in batch.analysis:
            j = index - batch.start
            prev = batch.tiny[j - 1] if j > 0 else previous_tiny
            sample = attrs.FrameSample(index, float(batch.times[j]), rgb, batch.tiny[j], prev)
            for m in measures:
                values[m.name].append((index, float(m.measure(sample))))
            builder.add_sample(index, rgb)
        previous_tiny = batch.tiny[-1]
        td = time.perf_counter()
        found = detector.process(batch)
        t_detect += time.perf_counter() - td
        transitions.extend(builder.accept(found))
        if progress:
            progress(stream.frame_count, max(info.frame_count, stream.frame_count))
    td = time.perf_counter()
    found = detector.flush()
    t_detect += time.perf_counter() - td
    transitions.extend(builder.accept(found))
    builder.close_until(stream.frame_count)
    t_decoded = time.perf_counter()

    video = _decoded_info(info, stream)
    shots = shots_from_transitions(transitions, video.frame_count, times, video.fps,
                                   video.duration)
    _attach_keyframes(shots, builder.closed)
    embeddings = (np.stack([c.embedding for c in builder.closed]) if builder.closed
                  else np.zeros((0, 1), np.float32))
    t_scenes = time.perf_counter()
    keyframe_embeddings = ([c.keyframe_embeddings for c in builder.closed
                            if c.keyframe_embeddings is not None]
                           if builder.embedder is not None else None)
    scenes = segmenter.segment(shots, embeddings, keyframe_embeddings)
    t_scenes = time.perf_counter() - t_scenes
    attrs.aggregate_shots(shots, values)
    attrs.aggregate_scenes(scenes, shots)
    summary = attrs.summarise_video(shots, scenes, video.duration)
    thumbnails = {i: jpeg for c in builder.closed for i, jpeg in c.thumbnails.items()}
    total = time.perf_counter() - t0
    analysis = Analysis(
        video=video,
        shots=shots,
        scenes=scenes,
        attributes=summary,
        models={"shots": detector.describe(), "scenes": segmenter.describe(),
                **{f"attribute {a.name}": a.model for a in measures if a.model}},
        timing={"decode_s": t_decoded - t0 - t_detect, "shots_s": t_detect,
                "scenes_s": t_scenes, "total_s": total},
        settings=settings.to_dict(),
    )
    analysis.check()
    return AnalysisResult(analysis, thumbnails, shot_embeddings=embeddings,
                          keyframe_embeddings=keyframe_embeddings)


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
    video = _decoded_info(info, stream)
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


def _decoded_info(info: VideoInfo, stream: FrameStream) -> VideoInfo:
    """The probe's metadata with frame count and duration replaced by what decoding found."""
    from dataclasses import replace

    return replace(info, frame_count=stream.frame_count, duration=round(stream.duration, 6),
                   fps=round(stream.fps, 6) if stream.fps else info.fps)


def _attach_keyframes(shots: list[Shot], closed: list[_ClosedShot]) -> None:
    """Give each shot the keyframes chosen when the builder closed it (they match 1:1)."""
    if [(c.start, c.end) for c in closed] != [(s.start_frame, s.end_frame) for s in shots]:
        raise RuntimeError("internal error: closed shots do not match the shot list")
    for shot, c in zip(shots, closed, strict=True):
        shot.keyframes = list(c.keyframes)
