"""Sound as scene evidence: the features the pipeline measures, the soundtracks the training
material and the long benchmark films are given, and the model's sound input."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from test_scenes_transformer import inputs, small_model
from vidscene.nn import save_model
from vidscene.scenes import SOUND_FEATURES, TransformerSegmenter, shot_sound_features, sound_blocks
from vidscene.scenes._sound import BLOCK_S, SOUND_BANDS
from vidscene.train import scene_sound as ss

RATE = 16_000


def tone(seconds: float, hz: float, amplitude: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def noise(seconds: float, amplitude: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * RATE))
            * amplitude).astype(np.float32)


def test_blocks_hold_each_bands_power() -> None:
    blocks = sound_blocks(tone(2.05, 1000.0, 0.1), RATE)
    assert blocks.shape == (20, len(SOUND_BANDS))  # the partial last block is dropped
    band = next(i for i, (lo, hi) in enumerate(SOUND_BANDS) if lo <= 1000 < hi)
    assert (blocks[:, band] > 0.99 * blocks.sum(axis=1)).all()
    # A sine of amplitude 0.1 has a mean square of 0.005 (−23 dBFS); the bands sum to it.
    level = 10 * np.log10(blocks.sum(axis=1))
    assert np.allclose(level, 10 * np.log10(0.005), atol=0.3)
    assert sound_blocks(np.zeros(100, np.float32), RATE).shape == (0, len(SOUND_BANDS))


def test_a_change_of_sound_shows_at_the_cut_it_comes_with() -> None:
    # 10 s of a voice-like tone, then 10 s of loud noise: the shot entered at 10 s hears it.
    blocks = sound_blocks(np.concatenate([tone(10, 300.0, 0.05), noise(10, 0.2)]), RATE)
    starts, ends = [0.0, 5.0, 10.0, 15.0], [5.0, 10.0, 15.0, 20.0]
    f = shot_sound_features(blocks, starts, ends)
    assert f.shape == (4, len(SOUND_FEATURES))
    column = {name: i for i, name in enumerate(SOUND_FEATURES)}
    assert (f[:, column["present"]] == 1).all()
    for name in ("entry_change_1s", "entry_change_3s", "entry_level_step"):
        assert f[2, column[name]] > 3 * max(abs(f[1, column[name]]), abs(f[3, column[name]]),
                                            0.01), name
    # The third shot sounds unlike the one before it; the fourth like the third.
    assert f[2, column["unlike_previous_1"]] > 5 * f[3, column["unlike_previous_1"]]
    # The first shot is entered by nothing.
    assert f[0, column["entry_change_1s"]] == 0 and f[0, column["entry_level_step"]] == 0


def test_no_sound_gives_zeros() -> None:
    assert not shot_sound_features(None, [0.0, 2.0], [2.0, 4.0]).any()
    assert not shot_sound_features(np.zeros((0, 8)), [0.0], [1.0]).any()
    blocks = sound_blocks(noise(3, 0.1), RATE)
    past = shot_sound_features(blocks, [0.0, 5.0], [3.0, 8.0])  # the second is past the end
    assert past[0, 0] == 1 and not past[1].any()


def _bank() -> ss.SoundBank:
    blocks = [sound_blocks(noise(20, a, seed=i), RATE) for i, a in enumerate((0.01, 0.1, 0.3))]
    blocks.append(sound_blocks(tone(20, 440.0, 0.2), RATE))
    return ss.SoundBank(blocks, ["room", "street", "dialogue", "music"],
                        ["a", "b", "c", "d"])


def test_planned_sound_follows_the_scenes() -> None:
    rng = np.random.default_rng(0)
    seconds = [3.0] * 12
    ends = [0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1]
    for _ in range(50):
        segments = ss.plan_sound(seconds, ends, [0, 1, 2, 3], [20.0] * 4, [3], rng)
        main = [s for s in segments if not s.overlay]
        # The main sound tiles the composition.
        assert main[0].start == 0 and main[-1].end == 36.0
        assert all(a.end == b.start for a, b in zip(main, main[1:], strict=False))
        # Each change of bed lies within the J / L cut reach of a scene change.
        for a, b in zip(main, main[1:], strict=False):
            if a.bed != b.bed:
                assert min(abs(b.start - t) for t in (9.0, 21.0, 27.0)) <= ss.OFFSET_S + 1e-9
        for s in segments:
            if s.overlay:
                assert s.bed == 3


def test_window_sound_is_measured_like_the_pipeline_measures() -> None:
    bank = _bank()
    beds = ss.place_beds(["a", "procedural:credits:1", "procedural:x:2"], bank)
    assert bank.kinds[beds[1]] == "music"
    seconds = np.array([2.0, 3.0, 2.5, 4.0, 3.0])
    f = ss.window_sound(seconds, np.array([0, 1, 0, 0, 1]), np.array([0, 0, 2, 2, 2]), beds,
                        bank, np.random.default_rng(1))
    assert f.shape == (5, len(SOUND_FEATURES)) and (f[:, 0] == 1).all()
    # Planning and measuring by hand gives the same features.
    rng = np.random.default_rng(1)
    segments = ss.plan_sound(seconds.tolist(), [0, 1, 0, 0, 1], [int(beds[0]), int(beds[2])],
                             [len(b) * BLOCK_S for b in bank.blocks], bank.of_kind("music"), rng)
    cuts = np.concatenate([[0.0], np.cumsum(seconds)])
    blocks = ss.window_sound_blocks(segments, float(cuts[-1]), bank)
    assert np.allclose(f, shot_sound_features(blocks, cuts[:-1].tolist(), cuts[1:].tolist()))


def test_bank_round_trip(tmp_path: Path) -> None:
    bank = _bank()
    bank.save(tmp_path / "sound.npz")
    again = ss.SoundBank.load(tmp_path / "sound.npz")
    assert again.kinds == bank.kinds and again.names == bank.names
    assert all(np.array_equal(a, b) for a, b in zip(again.blocks, bank.blocks, strict=True))


@pytest.mark.parametrize("kind", ss.BED_KINDS)
def test_procedural_beds_sound_like_their_kind(kind: str) -> None:
    if kind == "dialogue" and shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed (make media-tools)")
    bed = ss.render_bed(kind, 7, ("en-us",), seconds=12.0)
    assert bed.shape == (12 * RATE,) and np.abs(bed).max() <= 1.0
    level = 10 * np.log10(np.mean(bed.astype(np.float64) ** 2))
    assert (level < -50) if kind == "quiet" else (-45 < level < -5)
    assert np.array_equal(bed, ss.render_bed(kind, 7, ("en-us",), seconds=12.0))


# -- the model and the segmenter -----------------------------------------------------------------


def test_sound_inputs_start_silent_and_then_count() -> None:
    plain = small_model(transitions=True)
    hearing = small_model(transitions=True, sound=True)
    missing, unexpected = hearing.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and sorted(missing) == ["hearing.bias", "hearing.weight"]
    args = inputs(2, 6, 2)
    trans = torch.zeros(2, 6, 4)
    sound = torch.rand(2, 6, len(SOUND_FEATURES))
    with torch.inference_mode():
        assert torch.allclose(plain(*args, trans), hearing(*args, trans, sound))
        torch.nn.init.normal_(hearing.hearing.weight)
        assert not torch.allclose(plain(*args, trans), hearing(*args, trans, sound))
        assert torch.allclose(plain(*args, trans),
                              hearing(*args, trans, torch.zeros_like(sound)), atol=1e-6)


def _with_soundtrack(video: Path, out: Path, seconds: float) -> Path:
    track = np.concatenate([tone(seconds / 2, 300.0, 0.05), noise(seconds / 2, 0.2)])
    wav = out.with_suffix(".wav")
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((track * 32767).astype(np.int16).tobytes())
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(video), "-i", str(wav), "-map",
                    "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", str(out)], check=True)
    return out


class _Listening(TransformerSegmenter):
    """The real segmenter, keeping the sound it was given (to check what reached it)."""

    heard: list[Any]

    def segment(self, shots: Any, embeddings: Any, keyframes: Any = None,
                sound: Any = None) -> Any:
        self.heard.append(sound)
        return super().segment(shots, embeddings, keyframes, sound)


def test_the_pipeline_hands_the_soundtrack_to_a_segmenter_that_listens(
        synthetic_video: Any, tmp_path: Path) -> None:
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg not installed")
    from vidscene.pipeline import AnalyzeSettings, analyze
    from vidscene.video import probe, read_audio

    video, _ = synthetic_video("mixed", seed=3, n_shots=8)
    heard_video = _with_soundtrack(video, tmp_path / "heard.mp4", probe(video).duration)
    model = small_model(transitions=True, sound=True)
    torch.nn.init.normal_(model.hearing.weight)
    path = tmp_path / "hearing.safetensors"
    save_model(model, path, {"threshold": 0.5})
    settings = AnalyzeSettings(detector="fast", scenes="transformer", attributes=("tone",))
    for source, expect_sound in ((heard_video, True), (video, False)):
        segmenter = _Listening(path)
        segmenter.heard = []
        assert segmenter.listens
        result = analyze(source, settings, segmenter=segmenter)
        (sound,) = segmenter.heard
        if expect_sound:
            track = read_audio(source)
            assert track is not None
            assert np.array_equal(sound, sound_blocks(track.mono, track.rate))
        else:
            assert sound is None
        assert result.analysis.scenes
    # A model without the sound input does not listen.
    plain_path = tmp_path / "plain.safetensors"
    save_model(small_model(), plain_path, {"threshold": 0.5})
    assert not TransformerSegmenter(plain_path).listens
