"""Video input: probing, one-pass decoding, exact timestamps, rotation, and bad files."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vidscene.errors import NoVideoStream, UnreadableVideo, VideoNotFound
from vidscene.video import TINY_SIZE, FrameStream, probe


def _encode(path: Path, frames: int, *, fps: int = 25, size=(96, 64), pts_of=None,
            rotation: int | None = None) -> Path:
    """A small H.264 file with a moving gradient; ``pts_of(i)`` sets custom timestamps."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height = size
        s.pix_fmt = "yuv420p"
        if pts_of is not None:
            s.time_base = Fraction(1, 1000)
            s.codec_context.time_base = Fraction(1, 1000)
        for i in range(frames):
            img = np.zeros((size[1], size[0], 3), np.uint8)
            img[..., 0] = (np.arange(size[0]) * 2 + i * 5) % 256
            img[: size[1] // 2, :, 1] = 200  # top half green: orientation marker
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts_of is not None:
                f.pts = pts_of(i)
                f.time_base = Fraction(1, 1000)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_probe_reads_metadata(tmp_path: Path) -> None:
    info = probe(_encode(tmp_path / "a.mp4", 30))
    assert (info.width, info.height) == (96, 64)
    assert info.fps == pytest.approx(25.0)
    assert info.frame_count == 30
    assert info.has_audio is False
    assert len(info.sha256) == 64


def test_stream_yields_every_frame_once_with_tiny_and_sampled_frames(tmp_path: Path) -> None:
    path = _encode(tmp_path / "a.mp4", 130)
    stream = FrameStream(path, sample_fps=5.0, batch_size=32)
    batches = list(stream)
    assert [b.start for b in batches] == [0, 32, 64, 96, 128]
    assert sum(len(b) for b in batches) == stream.frame_count == 130
    assert batches[0].tiny.shape[1:] == (TINY_SIZE[1], TINY_SIZE[0], 3)
    times = np.concatenate([b.times for b in batches])
    assert times[0] == 0.0
    np.testing.assert_allclose(np.diff(times), 1 / 25, atol=1e-6)
    sampled = [i for b in batches for i, _ in b.analysis]
    # 5 per second at 25 fps: every 5th frame (plus change-triggered extras, none here)
    assert sampled[:4] == [0, 5, 10, 15]
    rgb = batches[0].analysis[0][1]
    assert rgb.shape == (149, 224, 3) or rgb.shape[1] == 224
    assert stream.duration == pytest.approx(130 / 25, abs=1e-6)


def test_variable_frame_rate_times_come_from_pts(tmp_path: Path) -> None:
    # 20 frames at 40 ms, then 20 frames at 100 ms: times must follow pts, not a nominal rate.
    def pts(i: int) -> int:
        return i * 40 if i < 20 else 800 + (i - 20) * 100

    path = _encode(tmp_path / "vfr.mkv", 40, pts_of=pts)
    times = np.concatenate([b.times for b in FrameStream(path, with_analysis=False)])
    assert len(times) == 40
    np.testing.assert_allclose(times, [pts(i) / 1000 for i in range(40)], atol=1e-6)


def test_rotation_metadata_is_honoured(tmp_path: Path) -> None:
    path = _encode(tmp_path / "r.mp4", 10, size=(96, 64))
    rotated = tmp_path / "rot.mp4"
    # Re-mux with a display matrix: PyAV sets it through the stream's side data API.
    with av.open(str(path)) as src, av.open(str(rotated), "w") as dst:
        s_in = src.streams.video[0]
        s_out = dst.add_stream_from_template(s_in)
        try:
            s_out.set_display_rotation(90)  # type: ignore[attr-defined]
        except AttributeError:
            pytest.skip("this PyAV cannot write rotation metadata")
        for p in src.demux(s_in):
            if p.dts is None:
                continue
            p.stream = s_out
            dst.mux(p)
    info = probe(rotated)
    assert info.rotation in (90, -90)
    assert (info.width, info.height) == (64, 96)
    batch = next(iter(FrameStream(rotated, sample_fps=25)))
    rgb = batch.analysis[0][1]
    assert rgb.shape[0] > rgb.shape[1]  # portrait after rotation
    # The green half (top in the stored picture) is now on the left or right side.
    g = rgb[..., 1].astype(float)
    w = rgb.shape[1]
    assert abs(g[:, : w // 2].mean() - g[:, w // 2:].mean()) > 60


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoNotFound, match="no such file"):
        probe(tmp_path / "nope.mp4")


def test_zero_byte_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(UnreadableVideo, match="empty"):
        probe(p)


def test_not_a_video(tmp_path: Path) -> None:
    p = tmp_path / "notes.mp4"
    p.write_text("this is not a video\n" * 50)
    with pytest.raises(UnreadableVideo):
        probe(p)


def test_audio_only_file(audio_only_file: Path) -> None:
    with pytest.raises(NoVideoStream, match="no video stream"):
        probe(audio_only_file)


def test_truncated_file_keeps_what_decodes_or_fails_cleanly(tmp_path: Path) -> None:
    good = _encode(tmp_path / "good.mkv", 60, size=(160, 96))
    data = good.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 2 // 3])
    stream = FrameStream(cut, with_analysis=False)
    n = sum(len(b) for b in stream)
    assert 0 < n < 60
    head = tmp_path / "head.mkv"
    head.write_bytes(data[:200])
    with pytest.raises(UnreadableVideo):
        probe(head)
