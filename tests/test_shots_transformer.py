"""The learned detector's streaming and decoding (model quality is a benchmark matter)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidscene.errors import ConfigError
from vidscene.shots import create_detector
from vidscene.shots._transformer import Predictions, decode, window_positions
from vidscene.video import FrameBatch, FrameStream


def _pred(n: int) -> Predictions:
    return Predictions(np.zeros(n, np.float32), np.zeros(n, np.float32),
                       np.tile(np.array([1, 0, 0, 0, 0], np.float32), (n, 1)))


def _type(p: Predictions, a: int, b: int, k: int) -> None:
    p.type[a: b + 1] = 0
    p.type[a: b + 1, k] = 1


def test_decode_cut_dissolve_and_back_to_back() -> None:
    p = _pred(60)
    p.start[10] = p.boundary[10] = 0.9
    _type(p, 10, 10, 1)  # cut at 10
    p.start[20] = 0.8
    p.boundary[20:31] = 0.9
    _type(p, 20, 30, 2)  # dissolve 20..30
    p.start[31] = 0.95  # a cut right after the dissolve: its own strong start peak
    p.boundary[31] = 0.9
    _type(p, 31, 31, 1)
    found, resume = decode(p)
    assert [(t.type, t.first_frame, t.last_frame) for t in found] == [
        ("cut", 10, 10), ("dissolve", 20, 30), ("cut", 31, 31)]
    assert resume == 60  # everything decided


def test_decode_weak_peak_inside_a_run_does_not_split_it() -> None:
    p = _pred(60)
    p.start[20] = 0.8
    p.boundary[20:41] = 0.9
    p.start[30] = 0.6  # a dissolve's start head often wobbles: one transition, not two
    _type(p, 20, 40, 2)
    found, _ = decode(p)
    assert [(t.type, t.first_frame, t.last_frame) for t in found] == [("dissolve", 20, 40)]


def test_decode_joins_the_two_halves_of_a_fade_and_needs_confidence() -> None:
    p = _pred(80)
    p.start[10] = 0.9
    p.boundary[10:20] = 0.9  # fade out ...
    p.boundary[25:34] = 0.9  # ... hold black 5 frames, fade in
    p.start[25] = 0.6
    _type(p, 10, 33, 3)
    p.boundary[50:55] = 0.4  # a weak run the start head does not confirm: not a transition
    p.start[52] = 0.3
    _type(p, 50, 54, 2)
    p.start[70] = 0.8  # a lone start peak the boundary head missed: a cut
    _type(p, 70, 70, 1)
    found, _ = decode(p)
    assert [(t.type, t.first_frame, t.last_frame) for t in found] == [
        ("fade", 10, 33), ("cut", 70, 70)]
    assert found[0].confidence == pytest.approx(0.9)
    # Gradual transitions have their own threshold; cuts keep theirs.
    found, _ = decode(p, gradual_threshold=0.95)
    assert [(t.type, t.first_frame) for t in found] == [("cut", 70)]
    # Too far apart, the halves are two fades.
    found, _ = decode(p, fade_gap=3)
    assert [(t.type, t.first_frame, t.last_frame) for t in found][:2] == [
        ("fade", 10, 19), ("fade", 25, 33)]


def test_decode_waits_for_an_unfinished_span() -> None:
    p = _pred(30)
    p.start[20] = 0.9
    p.boundary[20:] = 0.9
    _type(p, 20, 29, 2)
    found, resume = decode(p, complete=False)
    assert found == [] and resume == 20
    found, _ = decode(p, complete=True)
    assert [(t.type, t.first_frame, t.last_frame) for t in found] == [("dissolve", 20, 29)]


def test_missing_weights_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no weights"):
        create_detector("transformer", weights=tmp_path / "none.safetensors")


def test_foreign_weights_are_refused_before_any_decoding(tmp_path: Path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ConfigError, match="not a readable vidscene model"):
        create_detector("transformer", weights=junk)
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(2, np.float32)}, str(other),
              metadata={"format": "vidscene.model/1", "model": "scene-transformer",
                        "config": "{}", "card": "{}"})
    with pytest.raises(ConfigError, match="not a shot-transformer"):
        create_detector("transformer", weights=other)


def test_streaming_does_not_depend_on_batch_sizes(synthetic_video, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from vidscene.nn import create_model, save_model

    torch.manual_seed(0)
    model = create_model("shot-transformer", window=48)
    weights = tmp_path / "m.safetensors"
    save_model(model, weights, {"name": "test", "threshold": 0.5})
    path, _ = synthetic_video("mixed", seed=3, n_shots=8)
    frames = np.concatenate([b.tiny for b in FrameStream(path, with_analysis=False)])

    def run(batch: int) -> list:
        det = create_detector("transformer", weights=weights, margin=8, threshold=0.0)
        found = []
        for start in range(0, len(frames), batch):
            chunk = frames[start: start + batch]
            found += det.process(FrameBatch(start, chunk, np.arange(len(chunk)) / 25.0))
        found += det.flush()
        return found

    a, b, c = run(7), run(64), run(len(frames))
    assert a == b == c
    # Every emitted transition tiles: in order, non-overlapping, inside the video.
    assert all(x.last_frame < y.first_frame for x, y in zip(a, a[1:], strict=False))
    assert all(0 <= t.first_frame <= t.last_frame < len(frames) for t in a)


def testwindow_positions_cover_every_frame_once_with_context() -> None:
    for n in (5, 32, 33, 100, 257):
        spans = window_positions(n, 32, 6)
        kept = [f for _, _, a, b in spans for f in range(a, b)]
        assert kept == list(range(n))
        for win_start, win_stop, a, b in spans:
            assert win_stop - win_start == min(32, n)
            assert win_start == 0 or a - win_start >= 6
            assert win_stop == n or win_stop - b >= 6
    with pytest.raises(ConfigError):
        window_positions(100, 32, 16)


class _JumpModel:
    """Stands in for the network: a "cut" wherever a frame's brightness jumps, so the detector's
    windowing and decoding can be checked against known answers."""

    def __init__(self, window: int) -> None:
        import torch

        self.torch = torch
        self.config = type("Config", (), {"window": window})()

    def frame_features(self, frames):  # (1, T, H, W, 3) uint8
        return {"level": frames.float().mean(dim=(2, 3, 4))}

    def forward_frame_features(self, per_frame):
        level = per_frame["level"]
        jump = self.torch.zeros_like(level)
        jump[:, 1:] = ((level[:, 1:] - level[:, :-1]).abs() > 40).float()
        logit = jump * 20 - 10
        kind = self.torch.full((*level.shape, 5), -10.0)
        kind[..., 1] = 10.0  # "cut"
        return {"start": logit, "boundary": logit, "type": kind}


@pytest.mark.parametrize("batch", [5, 32, 1000])
def test_every_frame_is_judged_up_to_the_last(tmp_path: Path, batch: int) -> None:
    # Cuts everywhere, including in the last window, which reaches back over frames the
    # earlier windows are done with: none may be lost, whatever the batch sizes.
    pytest.importorskip("torch")
    from vidscene.nn import create_model, save_model

    weights = tmp_path / "m.safetensors"
    save_model(create_model("shot-transformer", window=48), weights, {"name": "test"})
    det = create_detector("transformer", weights=weights, margin=8)
    det.model = _JumpModel(48)
    levels = np.zeros(259, np.uint8)
    cuts = [17, 60, 101, 150, 208, 231, 250, 257]
    for c in cuts:
        levels[c:] = 200 - levels[c - 1]
    frames = np.broadcast_to(levels[:, None, None, None], (259, 36, 64, 3)).copy()
    found = []
    for start in range(0, len(frames), batch):
        chunk = frames[start: start + batch]
        found += det.process(FrameBatch(start, chunk, np.arange(len(chunk)) / 25.0))
    found += det.flush()
    assert [(t.type, t.first_frame) for t in found] == [("cut", c) for c in cuts]
