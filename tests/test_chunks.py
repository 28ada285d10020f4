"""Long videos split into chunks: the frame index, spans, and chunked results equal to whole
ones (same transitions to the frame, same keyframes, scenes and attributes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vidscene.pipeline import AnalyzeSettings, LocalExecutor, VideoTask
from vidscene.pipeline._plan import ChunkGeometry, VideoPlanner, plan_video
from vidscene.video import FrameStream, build_index, probe

EDGE_VIDEO: dict[str, Any] = {"n_shots": 12, "shot_frames": (20, 45), "gradual_frames": (6, 16),
                              "mix": {"cut": 0.4, "dissolve": 0.2, "fade": 0.2, "wipe": 0.2}}
"""About 400 frames with every transition type; chunk edges are placed on and near them."""


def _analysis(path: Path, detector: str, chunk_seconds: float | None) -> tuple[dict, int]:
    """The Analysis (without timing) with everything the pipeline derived but does not put in
    the JSON (thumbnails, shot and keyframe embeddings), and how many chunks produced it."""
    task = VideoTask("job", str(path), probe(path), AnalyzeSettings(detector=detector))
    [outcome] = LocalExecutor(chunk_seconds=chunk_seconds).run([task])
    assert outcome.error is None, outcome.error
    result = outcome.result
    assert result is not None
    doc = result.analysis.to_dict()
    doc.pop("timing")
    doc["thumbnails"] = result.thumbnails
    doc["shot_embeddings"] = result.shot_embeddings.tolist()
    doc["keyframe_embeddings"] = [k.tolist() for k in result.keyframe_embeddings or []]
    return doc, outcome.chunks


def test_index_numbers_every_frame_as_decoding_does(synthetic_video) -> None:
    path, truth = synthetic_video("chunks-edges", seed=3, **EDGE_VIDEO)
    index = build_index(path)
    assert index is not None
    assert index.frame_count == truth.frame_count
    assert index.keyframes[0] == 0 and np.all(np.diff(index.keyframes) > 0)
    times = np.concatenate([b.times for b in FrameStream(path, with_analysis=False)])
    assert [index.time(i) for i in range(0, truth.frame_count, 37)] == list(times[::37])


@pytest.mark.parametrize("start,stop", [(0, 90), (64, 200), (131, 260), (300, 10_000)])
def test_a_span_delivers_the_frames_of_a_whole_pass(synthetic_video, start: int,
                                                    stop: int) -> None:
    path, _ = synthetic_video("chunks-edges", seed=3, **EDGE_VIDEO)
    whole = list(FrameStream(path, sample_fps=4.0))
    tiny = np.concatenate([b.tiny for b in whole])
    times = np.concatenate([b.times for b in whole])
    samples = {i: rgb for b in whole for i, rgb in b.analysis}
    index = build_index(path)
    assert index is not None
    span = index.span(start, stop)
    part = list(FrameStream(path, sample_fps=4.0, span=span))
    stop = min(stop, index.frame_count)
    assert part[0].start == start
    # Batches end where a whole pass's batches end, whatever frame the span starts at.
    assert all(b.stop % 64 == 0 for b in part[:-1])
    assert np.array_equal(np.concatenate([b.tiny for b in part]), tiny[start:stop])
    assert np.array_equal(np.concatenate([b.times for b in part]), times[start:stop])
    got = {i: rgb for b in part for i, rgb in b.analysis}
    expected = {i for i in samples if start <= i < stop}
    # Time-sampled frames always agree; the change trigger agrees once it has seen a frame.
    assert {i for i in expected if i > start + 8} <= set(got)
    assert all(np.array_equal(got[i], samples[i]) for i in got if i in samples)


def _edge_chunks(truth_frames: list[int], fps: float) -> list[float]:
    """Chunk lengths (seconds) that put a chunk edge on, one and two frames before and after
    a transition."""
    lengths = set()
    for first in truth_frames:
        for delta in (-2, -1, 0, 1, 2):
            if first + delta >= 40:
                lengths.add(first + delta)
        if len(lengths) >= 10:
            break
    return [n / fps for n in sorted(lengths)]


@pytest.mark.parametrize("detector", ["transformer", "fast"])
def test_chunked_analysis_equals_the_whole_one(synthetic_video, detector: str) -> None:
    path, truth = synthetic_video("chunks-edges", seed=3, **EDGE_VIDEO)
    whole, chunks = _analysis(path, detector, None)
    assert chunks == 1
    assert len(whole["shots"]) >= 8
    fps = truth.frame_count / probe(path).duration
    firsts = [t.first_frame for t in truth.transitions]
    gradual_middles = [(t.first_frame + t.last_frame) // 2 for t in truth.transitions
                       if t.is_gradual]
    # and chunks shorter than shots, so a shot spans whole chunks
    lengths = _edge_chunks(firsts, fps) + _edge_chunks(gradual_middles, fps)[:3] + [0.6, 1.0]
    for seconds in lengths:
        chunked, n = _analysis(path, detector, seconds)
        assert n >= 2, f"{seconds:.2f} s chunks were not used"
        assert chunked == whole, f"{detector}, {seconds:.3f} s chunks ({n})"


def test_shots_longer_than_a_chunks_tail_are_joined_across_chunks(synthetic_video) -> None:
    # Shots of 10-12 s outlast a chunk's tail (8 s): chunks hand their samples on and the scene
    # stage closes the shot; every sample must arrive exactly once.
    path, _ = synthetic_video("chunks-long-shots", seed=5, n_shots=3, shot_frames=(250, 300))
    whole, _ = _analysis(path, "transformer", None)
    for seconds in (1.5, 2.9):
        chunked, n = _analysis(path, "transformer", seconds)
        assert n >= 8
        assert chunked == whole


def test_chunked_demo_equals_the_whole_one(demo_video: Path) -> None:
    whole, _ = _analysis(demo_video, "transformer", None)
    for seconds in (4.0, 7.3):
        chunked, n = _analysis(demo_video, "transformer", seconds)
        assert n >= 6
        assert chunked == whole


def test_short_videos_and_detectors_without_warmup_are_not_split(synthetic_video) -> None:
    path, _ = synthetic_video("chunks-edges", seed=3, **EDGE_VIDEO)
    info = probe(path)
    geometry = ChunkGeometry(128, 64)
    assert not plan_video(path, info, geometry, chunk_seconds=info.duration,
                          sample_fps=2.0).chunked
    assert not plan_video(path, info, ChunkGeometry(None), chunk_seconds=2.0,
                          sample_fps=2.0).chunked
    plan = plan_video(path, info, geometry, chunk_seconds=2.0, sample_fps=2.0)
    assert plan.chunked
    cores = [(c.start, c.stop) for c in plan.chunks]
    assert cores[0][0] == 0 and cores[-1][1] is None
    assert all(a[1] == b[0] for a, b in zip(cores, cores[1:], strict=False))
    for chunk in plan.chunks[1:]:
        assert chunk.span is not None
        assert chunk.span.start % 64 == 0 and chunk.span.start <= chunk.start - 128 or \
            chunk.span.start == 0


def test_a_chunk_is_widened_then_its_video_analysed_whole(synthetic_video) -> None:
    path, _ = synthetic_video("chunks-edges", seed=3, **EDGE_VIDEO)
    planner = VideoPlanner(path, probe(path), ChunkGeometry(16, 64), chunk_seconds=2.0,
                           sample_fps=2.0)
    chunk = planner.plan().chunks[3]
    wider = planner.widen(chunk)
    widest = planner.widen(wider) if wider else None
    assert wider is not None and widest is not None and planner.widen(widest) is None
    assert (wider.start, wider.stop) == (widest.start, widest.stop) == (chunk.start, chunk.stop)
    assert chunk.span.start >= wider.span.start >= widest.span.start  # type: ignore[union-attr]
    assert chunk.max_tail < wider.max_tail < widest.max_tail
    assert not planner.whole().chunked


def test_chunks_that_do_not_fall_in_step_are_retried_wider(synthetic_video,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from vidscene.shots._transformer import TransformerShotDetector

    path, _ = synthetic_video("chunks-edges", seed=3, **EDGE_VIDEO)
    whole, _ = _analysis(path, "transformer", None)
    widened: list[int] = []
    real_widen = VideoPlanner.widen

    def counting_widen(self: VideoPlanner, chunk: Any) -> Any:
        widened.append(chunk.number)
        return real_widen(self, chunk)

    # A warm-up too short to fall in step: chunks must be decoded wider to be exact.
    monkeypatch.setattr(TransformerShotDetector, "chunk_warmup", 8)
    monkeypatch.setattr(VideoPlanner, "widen", counting_widen)
    chunked, n = _analysis(path, "transformer", 1.3)
    assert widened and n >= 5
    assert chunked == whole


def test_a_seek_decodes_the_pixels_of_a_whole_pass(clips_dir: Path) -> None:
    # This clip's encoder announces itself in its first SEI, which changes how FFmpeg decodes
    # every later frame; a chunk that seeks primes the decoder with the first packet.
    path = clips_dir / "cockatoo.mp4"
    index = build_index(path)
    assert index is not None and len(index.keyframes) >= 3
    whole = np.concatenate([b.tiny for b in FrameStream(path, with_analysis=False)])
    start = int(index.keyframes[1]) + 5
    part = np.concatenate([b.tiny for b in FrameStream(path, with_analysis=False,
                                                       span=index.span(start, 10_000))])
    assert np.array_equal(part, whole[start:])


def test_chunks_that_decode_a_seam_differently_give_way_to_the_whole_video(
        synthetic_video, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidscene.pipeline import _shot_stage

    path, _ = synthetic_video("chunks-edges", seed=3, **EDGE_VIDEO)
    whole, _ = _analysis(path, "transformer", None)
    calls = iter(range(10**9))
    # Every frame hashes differently each time: neighbouring chunks never agree.
    monkeypatch.setattr(_shot_stage, "frame_hash", lambda tiny: next(calls))
    chunked, n = _analysis(path, "transformer", 2.0)
    assert n == 1 and chunked == whole
