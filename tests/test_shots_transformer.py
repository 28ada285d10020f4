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
    p.start[31] = 0.7  # a cut right after the dissolve: its own start peak
    p.boundary[31] = 0.9
    _type(p, 31, 31, 1)
    found, resume = decode(p)
    assert [(t.type, t.first_frame, t.last_frame) for t in found] == [
        ("cut", 10, 10), ("dissolve", 20, 30), ("cut", 31, 31)]
    assert resume == 60  # everything decided


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
