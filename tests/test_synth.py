"""Synthetic transition videos: the truth must describe exactly what was encoded."""

from __future__ import annotations

import re
from pathlib import Path

import av
import numpy as np
import pytest

from vidscene.errors import ConfigError
from vidscene.train.synth import (
    NEGATIVE_KINDS,
    PERMISSIVE_CLIPS,
    PROCEDURAL_KINDS,
    TRANSITION_KINDS,
    ClipSource,
    GroundTruth,
    NegativePlan,
    ProceduralSource,
    ShotPlan,
    find_clips_dir,
    is_permissive,
    make_video,
    read_manifest,
    render_video,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SMALL = {"n_shots": 4, "size": (96, 54), "shot_frames": (12, 24), "gradual_frames": (4, 8)}


def procedural_sources() -> list[ProceduralSource]:
    return [ProceduralSource(kind) for kind in PROCEDURAL_KINDS]


def decode(path: Path) -> np.ndarray:
    """Every frame of ``path`` as float32 RGB, shape (n, h, w, 3)."""
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    return np.stack(frames).astype(np.float32)


def step_differences(frames: np.ndarray) -> np.ndarray:
    """``d[i]`` = mean absolute change from frame ``i - 1`` to frame ``i`` (``d[0]`` = 0)."""
    d = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
    return np.concatenate([[0.0], d])


# -- composition and truth ------------------------------------------------------------------


def test_same_seed_gives_same_truth_and_same_frames(tmp_path: Path) -> None:
    a = make_video(tmp_path / "a.mp4", seed=5, sources=procedural_sources(), **SMALL)
    b = make_video(tmp_path / "b.mp4", seed=5, sources=procedural_sources(), **SMALL)
    c = make_video(tmp_path / "c.mp4", seed=6, sources=procedural_sources(), **SMALL)
    assert a == b
    assert np.array_equal(decode(tmp_path / "a.mp4"), decode(tmp_path / "b.mp4"))
    assert (a.shots, a.transitions) != (c.shots, c.transitions)


def test_truth_is_written_next_to_the_video_and_reads_back(synthetic_video) -> None:
    path, truth = synthetic_video("default", seed=1)
    assert path.is_file()
    assert GroundTruth.from_json(path.with_suffix(".truth.json")) == truth


def test_encoded_frame_count_and_size_match_the_truth(synthetic_video) -> None:
    path, truth = synthetic_video("default", seed=1)
    assert 100 <= truth.frame_count <= 300
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 90)
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert float(stream.average_rate) == pytest.approx(truth.fps)
        decoded = sum(1 for _ in container.decode(stream))
    assert decoded == truth.frame_count


def test_shots_tile_the_video_and_start_at_transitions(synthetic_video) -> None:
    _, truth = synthetic_video("default", seed=1)
    assert truth.shots[0][0] == 0 and truth.shots[-1][1] == truth.frame_count
    for (_, end), (start, _) in zip(truth.shots, truth.shots[1:], strict=False):
        assert end == start
    assert [t.first_frame for t in truth.transitions] == [s for s, _ in truth.shots[1:]]
    for t, (start, end) in zip(truth.transitions, truth.shots[1:], strict=True):
        assert start <= t.first_frame <= t.last_frame < end  # mixed frames belong to the new shot
    assert len(truth.sources) == len(truth.shots) == 7
    flat = [i for first, last in truth.scenes for i in range(first, last + 1)]
    assert flat == list(range(len(truth.shots)))


@pytest.mark.parametrize("kind", TRANSITION_KINDS)
def test_each_transition_type_in_its_own_composition(synthetic_video, kind: str) -> None:
    _, truth = synthetic_video(f"only-{kind}", seed=11, mix={kind: 1.0})
    assert len(truth.transitions) == 6
    assert {t.type for t in truth.transitions} == {kind}
    for t, (start, end) in zip(truth.transitions, truth.shots[1:], strict=True):
        span = t.last_frame - t.first_frame + 1
        if kind == "cut":
            assert span == 1
        else:  # drawn from gradual_frames, but never more than half of the new shot
            assert 1 <= span <= min(12, (end - start) // 2)


def test_a_cut_is_a_large_pixel_jump_exactly_at_its_first_frame(synthetic_video) -> None:
    path, truth = synthetic_video("only-cut", seed=11, mix={"cut": 1.0})
    d = step_differences(decode(path))
    for t in truth.transitions:
        f = t.first_frame
        assert d[f] > 10.0, f"cut at {f} changes only {d[f]:.1f} levels"
        assert d[f] > 4 * max(d[f - 1], d[f + 1]), f"cut at {f}: {d[f - 2:f + 3]}"
        assert int(np.argmax(d[f - 3:f + 4])) == 3


def test_a_fade_passes_through_a_flat_frame(synthetic_video) -> None:
    path, truth = synthetic_video("only-fade", seed=11, mix={"fade": 1.0})
    frames = decode(path)
    spread = frames.std(axis=(1, 2, 3))
    for t in truth.transitions:
        inside = spread[t.first_frame:t.last_frame + 1].min()
        around = min(spread[t.first_frame - 1], spread[t.last_frame + 1])
        assert inside < 0.25 * around, f"fade {t}: flattest {inside:.1f} vs {around:.1f}"


def test_a_dissolve_frame_is_a_mixture_of_its_two_shots(synthetic_video) -> None:
    path, truth = synthetic_video("only-dissolve", seed=11, mix={"dissolve": 1.0})
    frames = decode(path)
    for t in truth.transitions:
        before, after = frames[t.first_frame - 1], frames[t.last_frame + 1]
        middle = frames[(t.first_frame + t.last_frame) // 2]
        # Best blend weight by least squares; the blend must explain the middle frame.
        delta = after - before
        w = float(np.sum((middle - before) * delta) / np.sum(delta * delta))
        residual = np.abs(middle - (before + w * delta)).mean()
        assert 0.1 < w < 0.9
        assert residual < 0.35 * np.abs(delta).mean(), f"dissolve {t}"


def test_negatives_lie_inside_shot_bodies_and_a_flash_is_bright(synthetic_video) -> None:
    path, truth = synthetic_video("negatives", seed=4, n_shots=8, shot_frames=(90, 140),
                                  negatives=dict.fromkeys(NEGATIVE_KINDS, 1.0))
    assert {e.type for e in truth.negatives} == set(NEGATIVE_KINDS)
    for e in truth.negatives:
        shot = next(s for s in truth.shots if s[0] <= e.first_frame < s[1])
        assert e.last_frame < shot[1], f"{e} leaves its shot {shot}"
        if e.type in ("dim", "credits"):  # a property of the whole shot
            assert (e.first_frame, e.last_frame + 1) == shot
            continue
        for t in truth.transitions:
            assert e.last_frame < t.first_frame or e.first_frame > t.last_frame, f"{e} on {t}"
    frames = decode(path)
    luma = frames.mean(axis=(1, 2, 3))
    flashes = [e for e in truth.negatives if e.type == "flash"]
    assert flashes
    for e in flashes:
        assert luma[e.first_frame] > luma[e.first_frame - 1] + 25


def test_render_video_follows_a_hand_made_plan(tmp_path: Path) -> None:
    source = ProceduralSource("gradient")
    plan = [
        ShotPlan(source, 20, scene=0),
        ShotPlan(source, 20, "wipe", 8, {"style": "edge", "direction": "right"}, scene=0),
        ShotPlan(source, 24, "fade", 10, {"colour": "white", "middle": 0.5, "hold": 0.2},
                 negatives=[NegativePlan("text", 12, 20)], scene=1),
    ]
    truth = render_video(tmp_path / "plan.mp4", plan, seed=3, size=(96, 54))
    assert truth.shots == [(0, 20), (20, 40), (40, 64)]
    assert [(t.type, t.first_frame, t.last_frame) for t in truth.transitions] == [
        ("wipe", 20, 27), ("fade", 40, 49)]
    assert [(e.type, e.first_frame, e.last_frame) for e in truth.negatives] == [("text", 52, 60)]
    assert truth.scenes == [(0, 1), (2, 2)]
    frames = decode(tmp_path / "plan.mp4")
    # A left-to-right wipe: half-way, the left edge already shows the new shot, the right the old.
    mid, old, new = frames[23], frames[19], frames[28]

    def distance(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.abs(x - y).mean())

    assert distance(mid[:, :8], new[:, :8]) < distance(mid[:, :8], old[:, :8])
    assert distance(mid[:, -8:], old[:, -8:]) < distance(mid[:, -8:], new[:, -8:])
    assert frames[40:50].mean(axis=(1, 2, 3)).max() > 240  # through white


# -- sources ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", PROCEDURAL_KINDS)
def test_procedural_source_moves_and_differs_per_seed(kind: str) -> None:
    source = ProceduralSource(kind)
    a = source.read(8, (64, 36), np.random.default_rng(1))
    b = source.read(8, (64, 36), np.random.default_rng(2))
    again = source.read(8, (64, 36), np.random.default_rng(1))
    assert a.shape == (8, 36, 64, 3) and a.dtype == np.uint8
    assert np.array_equal(a, again)
    motion = np.abs(np.diff(a.astype(np.float32), axis=0)).mean()
    assert 0.05 < motion < 8.0  # some motion, nothing like a cut
    assert np.abs(a.astype(np.float32) - b).mean() > 15.0


def test_bad_settings_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="procedural kind"):
        ProceduralSource("plasma")
    sources = procedural_sources()
    with pytest.raises(ConfigError, match="swirl"):
        make_video(tmp_path / "x.mp4", seed=0, sources=sources, mix={"swirl": 1.0})
    with pytest.raises(ConfigError, match="explosion"):
        make_video(tmp_path / "x.mp4", seed=0, sources=sources, negatives={"explosion": 0.5})
    with pytest.raises(ConfigError, match="even"):
        make_video(tmp_path / "x.mp4", seed=0, sources=sources, size=(161, 90))
    with pytest.raises(ConfigError, match="at least one frame source"):
        make_video(tmp_path / "x.mp4", seed=0, sources=[])
    assert not (tmp_path / "x.mp4").exists()


# -- the development clips ----------------------------------------------------------------------


def test_find_clips_dir_honours_the_environment(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VIDSCENE_CLIPS", str(tmp_path))
    assert find_clips_dir() == tmp_path.resolve()
    monkeypatch.setenv("VIDSCENE_CLIPS", str(tmp_path / "missing"))
    assert find_clips_dir() is None


def test_licence_rule() -> None:
    assert is_permissive("Apache-2.0 (repository)") and is_permissive("CC0 (per file name)")
    assert not is_permissive("PySceneDetect resources license: for testing only")
    assert not is_permissive("GPL-3.0-or-later") and not is_permissive("none stated")


def test_permissive_clips_are_those_the_manifest_allows(clips_dir: Path) -> None:
    manifest = read_manifest(clips_dir)
    allowed = {name for name, row in manifest.items() if is_permissive(row["license"])}
    assert set(PERMISSIVE_CLIPS) == allowed
    assert all((clips_dir / name).is_file() for name in PERMISSIVE_CLIPS)


def test_clip_source_segments_are_reproducible_and_apart(clips_dir: Path) -> None:
    def reads(seed: int) -> tuple[np.ndarray, np.ndarray, list[float]]:
        source = ClipSource(clips_dir / "vtest.avi")
        rng = np.random.default_rng(seed)
        first = source.read(6, (96, 54), rng)
        starts = [float(re.findall(r"@([\d.]+)s", source.last_read)[0])]
        second = source.read(6, (96, 54), rng)
        starts.append(float(re.findall(r"@([\d.]+)s", source.last_read)[0]))
        return first, second, starts

    first, second, starts = reads(7)
    again, _, _ = reads(7)
    assert first.shape == (6, 54, 96, 3)
    assert np.array_equal(first, again)
    assert abs(starts[1] - starts[0]) >= 79.5 / 3 - 1e-6  # same set, far apart in time


def test_make_video_from_clips(clips_dir: Path, tmp_path: Path) -> None:
    sources = [ClipSource(clips_dir / "cup.mp4"), ClipSource(clips_dir / "tree.avi")]
    truth = make_video(tmp_path / "clips.mp4", seed=2, sources=sources, n_shots=3, size=(96, 54),
                       shot_frames=(10, 14), gradual_frames=(4, 6))
    assert len(decode(tmp_path / "clips.mp4")) == truth.frame_count
    assert all(name.split("@")[0] in ("cup.mp4", "tree.avi") for name in truth.sources)


# -- the bundled demo -----------------------------------------------------------------------------


def test_demo_matches_its_truth_and_licences(demo_video: Path) -> None:
    truth = GroundTruth.from_json(demo_video.with_suffix(".truth.json"))
    with av.open(str(demo_video)) as container:
        stream = container.streams.video[0]
        assert not container.streams.audio
        assert stream.codec_context.name == "h264"
        packets = sum(1 for p in container.demux(stream) if p.size)
    assert packets == truth.frame_count
    assert 30 <= truth.frame_count / truth.fps <= 90
    assert demo_video.stat().st_size < 5_000_000
    assert {t.type for t in truth.transitions} == set(TRANSITION_KINDS)
    assert len(truth.scenes) >= 3 and any(last > first for first, last in truth.scenes)
    notice = (demo_video.parent / "NOTICE").read_text(encoding="utf-8")
    for clip in {name.split("@")[0] for name in truth.sources}:
        assert clip in PERMISSIVE_CLIPS
        assert clip in notice


def test_crop_boxes_stay_inside_the_clip_at_full_frame() -> None:
    # At zoom 1 the free range is zero and rounding once gave a box 1e-14 left of the picture,
    # which the resampler refuses: boxes must be clipped to the picture.
    from vidscene.train.synth import _ClipLook

    source = object.__new__(ClipSource)
    source.width, source.height = 352, 288
    look = _ClipLook(centre0=(0.884, 0.7309), centre1=(1.0, 0.4036), zoom0=1.0554, zoom1=1.0,
                     flip=False, gains=np.ones(3, np.float32), contrast=1.0, saturation=1.0)
    boxes = source._boxes(400, (100, 178), look)
    assert (boxes[:, :2] >= 0).all()
    assert (boxes[:, 2] <= 352).all() and (boxes[:, 3] <= 288).all()
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


# -- the compositors and negatives, on exact arrays ------------------------------------------------
def _two_shots(n: int = 12, h: int = 36, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    a = np.full((n, h, w, 3), 40, np.uint8)
    b = np.full((n, h, w, 3), 220, np.uint8)
    return a, b


@pytest.mark.parametrize("style", ["edge", "iris", "clock", "barn"])
def test_a_hard_edged_wipe_of_every_shape_uncovers_the_new_shot_steadily(style: str) -> None:
    from vidscene.train.synth import _TRANSITIONS

    a, b = _two_shots()
    mixed = _TRANSITIONS["wipe"](a, b, np.random.default_rng(1),
                                 {"style": style, "softness": 0.0})
    share = (mixed[..., 0] > 130).mean(axis=(1, 2))  # share of the new shot in each frame
    assert np.all(np.diff(share) >= 0) and share[0] < 0.2 and share[-1] > 0.8
    assert np.isin(mixed, (40, 220)).mean() > 0.97  # every pixel from one shot or the other


def test_a_soft_wipe_blends_along_its_edge() -> None:
    from vidscene.train.synth import _TRANSITIONS

    a, b = _two_shots()
    mixed = _TRANSITIONS["wipe"](a, b, np.random.default_rng(1),
                                 {"style": "edge", "direction": "right", "softness": 0.3})
    middle = mixed[len(mixed) // 2, 18, :, 0].astype(int)
    assert np.all(np.diff(middle) <= 0)  # the new shot on the left, fading into the old
    assert ((middle > 45) & (middle < 215)).sum() >= 10  # a wide blended band


def test_a_slide_leaves_the_old_shot_in_place_and_a_push_moves_it() -> None:
    from vidscene.train.synth import _TRANSITIONS

    n, h, w = 9, 8, 40
    ramp = np.broadcast_to(np.arange(w, dtype=np.uint8)[None, :, None], (h, w, 3))
    a = np.broadcast_to(ramp, (n, h, w, 3)).copy()  # column index as the value
    b = np.full((n, h, w, 3), 255, np.uint8)
    rng = np.random.default_rng(0)
    slide = _TRANSITIONS["wipe"](a, b, rng, {"style": "slide", "direction": "left"})
    push = _TRANSITIONS["wipe"](a, b, rng, {"style": "push", "direction": "left"})
    k = n // 2
    old = slide[k, 0, :, 0] != 255
    assert np.array_equal(slide[k, 0, old, 0], np.arange(w)[old])  # not moved
    kept = push[k, 0, push[k, 0, :, 0] != 255, 0]
    assert kept[0] > 0 and np.all(np.diff(kept.astype(int)) == 1)  # shifted left


def test_dissolve_curves_and_dips_to_other_colours() -> None:
    from vidscene.train.synth import _TRANSITIONS

    a, b = _two_shots(n=11)
    rng = np.random.default_rng(2)
    weight = {c: (float(_TRANSITIONS["dissolve"](a, b, rng, {"curve": c})[5].mean()) - 40) / 180
              for c in ("linear", "ease-in", "ease-out")}
    assert weight["ease-in"] < weight["linear"] - 0.1 < weight["ease-out"] - 0.2
    dip = _TRANSITIONS["fade"](a, b, np.random.default_rng(3),
                               {"colour": "other", "middle": 0.5, "hold": 0.2})[5]
    assert dip.reshape(-1, 3).std(axis=0).max() < 1  # a flat frame in the middle ...
    assert 10 < dip.mean() < 245 and np.ptp(dip[0, 0]) > 5  # ... of a colour, not grey


def test_an_occluder_crosses_the_frame_and_leaves_the_rest_of_the_shot_alone() -> None:
    from vidscene.train.synth import _NEGATIVES

    frames = np.full((30, 36, 64, 3), 128, np.uint8)
    before = frames.copy()
    _NEGATIVES["occluder"].frame_effect(frames, 10, 16, np.random.default_rng(5))
    changed = (frames != before).any(axis=(1, 2, 3))
    assert not changed[:10].any() and not changed[17:].any()
    covered = (frames[10:17] != before[10:17]).any(axis=3).mean(axis=(1, 2))
    assert covered.max() > 0.15  # a large object at its widest


def test_credits_roll_up_through_the_whole_shot() -> None:
    from vidscene.train.synth import _NEGATIVES

    rng = np.random.default_rng(7)
    frames = np.full((60, 90, 160, 3), 90, np.uint8)
    _NEGATIVES["credits"].frame_effect(frames, 0, 59, rng)
    bright = (frames.mean(axis=3) > 200)
    rows = [np.flatnonzero(f.any(axis=1)) for f in bright]
    tops = [r.min() for r in rows if len(r)]
    assert len(tops) > 40 and tops[-1] < tops[len(tops) // 3]  # the text moves up


def test_transition_options_pin_a_compositor_for_every_transition_of_a_kind() -> None:
    from vidscene.train.synth import plan_video

    plan = plan_video(seed=1, sources=procedural_sources(), n_shots=6,
                      mix={"wipe": 0.5, "cut": 0.5},
                      transition_options={"wipe": {"style": "iris"}})
    wipes = [s for s in plan[1:] if s.transition == "wipe"]
    assert wipes and all(s.transition_options == {"style": "iris"} for s in wipes)
    assert all(s.transition_options == {} for s in plan[1:] if s.transition == "cut")
