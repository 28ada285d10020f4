"""Training the learned shot detector: targets, data recipe, the loop and `vidscene train shots`.

Everything runs on tiny procedural videos (96×54 and a few dozen frames), so the whole file
takes seconds; model quality is a benchmark matter, not a unit test's.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from vidscene.errors import ConfigError
from vidscene.train.shots_data import (
    DATASET_FILE,
    TARGET_CLASSES,
    _apply_box,
    build_dataset,
    clip_family,
    load_dataset,
    load_video,
    material_clips,
    split_clips,
    targets_from_truth,
)
from vidscene.train.synth import GroundTruth, TruthTransition

TINY_RECIPE = {"n_shots": 3, "shot_frames": (14, 30), "gradual_frames": (4, 8)}


def _truth(transitions: list[TruthTransition], frames: int = 70) -> GroundTruth:
    return GroundTruth(fps=25.0, frame_count=frames, width=96, height=54,
                       transitions=transitions, negatives=[], shots=[(0, frames)], sources=[])


# -- targets ---------------------------------------------------------------------------------


def test_targets_mark_starts_spans_and_types_exactly() -> None:
    truth = _truth([TruthTransition("cut", 10, 10), TruthTransition("dissolve", 20, 25),
                    TruthTransition("fade", 40, 49), TruthTransition("cut", 50, 50),
                    TruthTransition("wipe", 60, 63)])
    t = targets_from_truth(truth)
    assert all(a.dtype == np.uint8 and a.shape == (70,) for a in (t.start, t.boundary, t.type))
    assert np.flatnonzero(t.start).tolist() == [10, 20, 40, 50, 60]
    assert np.flatnonzero(t.boundary).tolist() == [10, *range(20, 26), *range(40, 51),
                                                   *range(60, 64)]
    expected = np.zeros(70, np.uint8)
    expected[10] = expected[50] = TARGET_CLASSES.index("cut")
    expected[20:26] = TARGET_CLASSES.index("dissolve")
    expected[40:50] = TARGET_CLASSES.index("fade")
    expected[60:64] = TARGET_CLASSES.index("wipe")
    assert t.type.tolist() == expected.tolist()
    assert TARGET_CLASSES == ("none", "cut", "dissolve", "fade", "wipe")


@pytest.mark.parametrize("bad", [TruthTransition("zoom", 5, 6), TruthTransition("cut", 70, 70)])
def test_targets_refuse_unknown_types_and_frames_outside_the_video(bad) -> None:
    with pytest.raises(ConfigError):
        targets_from_truth(_truth([bad]))


# -- material and split ----------------------------------------------------------------------


def _fake_clips(root: Path) -> tuple[Path, Path]:
    clips = root / "clips"
    clips.mkdir()
    rows = [("plain.mp4", "PyPI somepkg", "4.0"), ("annotated.mp4", "PyPI other", "5.0"),
            ("peer.mp4", "GitHub Breakthrough/PySceneDetect, branch resources", "3.0"),
            ("extra-cuts.mkv", "PyPI x", "2.0"), ("counter.mp4", "somewhere", "3.0"),
            ("long.avi", "OpenCV samples", "20.0"), ("notes.txt", "PyPI docs", "0")]
    for name, _, _ in rows:
        (clips / name).write_bytes(b"")
    (clips / "unlisted.mp4").write_bytes(b"")  # not in the manifest: provenance unknown
    lines = ["file\tsource\tduration_s"] + ["\t".join(r) for r in rows]
    (root / "MANIFEST.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    real_cuts = root / "real_cuts.json"
    real_cuts.write_text(json.dumps({
        "clips": {"annotated.mp4": {"transitions": []}},
        "source_clips_with_cuts": {"description": "more", "clips": {"extra-cuts.mkv": "a cut"}},
    }), encoding="utf-8")
    return clips, real_cuts


def test_material_excludes_clips_with_cuts_peer_tests_and_unknown_files(tmp_path: Path) -> None:
    clips, real_cuts = _fake_clips(tmp_path)
    paths, durations = material_clips(clips, real_cuts)
    assert [p.name for p in paths] == ["long.avi", "plain.mp4"]
    assert durations == {"long.avi": 20.0, "plain.mp4": 4.0}


def test_real_material_has_no_annotated_or_peer_clip(clips_dir: Path) -> None:
    from vidscene.train.shots_data import REAL_CUTS
    from vidscene.train.synth import read_manifest

    if not REAL_CUTS.is_file():
        pytest.skip("bench/real_cuts.json not present")
    paths, _ = material_clips(clips_dir)
    names = {p.name for p in paths}
    labels = json.loads(REAL_CUTS.read_text(encoding="utf-8"))
    manifest = read_manifest(clips_dir)
    assert names and not names & set(labels["clips"])
    assert not names & {"counter.mp4", "issue-134-rotate.mp4", "issue-236-split-copy.mkv"}
    assert all("PySceneDetect" not in manifest[n]["source"] for n in names)


def test_split_holds_out_whole_families_deterministically() -> None:
    durations = {"a.mp4": 10.0, "b.mp4": 10.0, "c.mp4": 10.0, "d.mp4": 10.0, "e.mp4": 10.0,
                 "psychopy_jwpIntro.mp4": 6.0, "psychopy_testMovie.mp4": 8.0}
    assert clip_family("psychopy_testMovie.mp4") == clip_family("psychopy_jwpIntro.mp4")
    for seed in range(12):
        train, held = split_clips(durations, seed)
        assert split_clips(durations, seed) == (train, held)
        assert held and train and not set(train) & set(held)
        assert set(train) | set(held) == set(durations)
        psychopy = {"psychopy_jwpIntro.mp4", "psychopy_testMovie.mp4"}
        assert psychopy <= set(held) or not psychopy & set(held)
        share = sum(durations[n] for n in held) / sum(durations.values())
        assert 0.15 <= share <= 0.35
    assert split_clips({"only.mp4": 3.0}, 0) == (["only.mp4"], [])


def test_bars_stay_flat_and_the_picture_sits_inside() -> None:
    frames = np.full((2, 36, 64, 3), 200, np.uint8)
    boxed = _apply_box(frames, (64, 24), level=5)
    assert boxed.shape == frames.shape
    assert (boxed[:, :6] == 5).all() and (boxed[:, 30:] == 5).all()
    assert (boxed[:, 6:30] == 200).all()


# -- a tiny dataset -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shots-data")
    build_dataset(root, videos=2, seed=3, clips_dir=None, size=(96, 54), **TINY_RECIPE)
    return root


def test_dataset_caches_frames_targets_and_a_split(tiny_data: Path) -> None:
    index = load_dataset(tiny_data)
    assert [e["split"] for e in index["files"]] == ["train", "val"]
    assert index["held_out_clips"] == [] and index["seed"] == 3
    for entry in index["files"]:
        video = load_video(entry["path"])
        n = len(video)
        assert entry["frames"] == n and 3 * 14 <= n <= 3 * 30
        assert video.frames.dtype == np.uint8 and video.frames.shape == (n, 36, 64, 3)
        assert len(video.transitions) == 2 == int(video.targets.start.sum())
        # The stored targets are those of the stored truth, frame for frame.
        truth = _truth([TruthTransition(b.type or "", b.first_frame, b.last_frame)
                        for b in video.transitions], frames=n)
        expected = targets_from_truth(truth)
        for name in ("start", "boundary", "type"):
            assert np.array_equal(getattr(video.targets, name), getattr(expected, name))
        with np.load(entry["path"]) as data:
            assert data["clips"].size == 0 and len(data["sources"]) == 3


def test_dataset_is_reused_and_deterministic(tiny_data: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import vidscene.train.shots_data as shots_data

    files = sorted(p.name for p in tiny_data.glob("*.npz"))

    def no_compose(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached video was composed again")

    with monkeypatch.context() as m:
        m.setattr(shots_data, "_compose", no_compose)
        again = build_dataset(tiny_data, videos=2, seed=3, clips_dir=None, size=(96, 54),
                              **TINY_RECIPE)
    assert sorted(p.name for p in again) == files
    # The same seed elsewhere composes the same first video, pixel for pixel.
    fresh = build_dataset(tmp_path, videos=1, seed=3, clips_dir=None, size=(96, 54),
                          **TINY_RECIPE)
    assert fresh[0].name == files[0]
    a, b = load_video(fresh[0]), load_video(tiny_data / files[0])
    assert np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.targets.type, b.targets.type)


def test_parallel_composition_gives_the_same_videos(tiny_data: Path, tmp_path: Path) -> None:
    files = build_dataset(tmp_path, videos=2, seed=3, clips_dir=None, size=(96, 54), jobs=2,
                          **TINY_RECIPE)
    assert [p.name for p in files] == sorted(p.name for p in tiny_data.glob("*.npz"))
    for path in files:
        a, b = load_video(path), load_video(tiny_data / path.name)
        assert np.array_equal(a.frames, b.frames)
        assert np.array_equal(a.targets.boundary, b.targets.boundary)


def test_dataset_refuses_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        build_dataset(tmp_path, videos=0, seed=0, clips_dir=None)
    with pytest.raises(ConfigError):
        build_dataset(tmp_path, videos=1, seed=0, clips_dir=tmp_path / "missing")
    with pytest.raises(ConfigError):
        build_dataset(tmp_path, videos=1, seed=0, clips_dir=None, colour="red")
    with pytest.raises(ConfigError, match="jobs"):
        build_dataset(tmp_path, videos=1, seed=0, clips_dir=None, jobs=0)
    with pytest.raises(ConfigError):
        load_dataset(tmp_path / "nothing-here")


# -- training -------------------------------------------------------------------------------




def test_two_steps_write_weights_card_and_a_resumable_checkpoint(tiny_data: Path,
                                                                  tmp_path: Path) -> None:
    from vidscene.nn import load_model
    from vidscene.train.shots_train import checkpoint_path, train_shots

    out = tmp_path / "model" / "shots.safetensors"
    settings = dict(data_dir=tiny_data, out=out, batch_size=2, window=32, steps_per_epoch=2,
                    seed=1, threads=1, progress=False, model_config={"layers": 1})
    result = train_shots(epochs=1, **settings)
    assert result["best_epoch"] == 1 and result["steps_per_epoch"] == 2
    model, card = load_model(out)
    assert model.config.window == 32 and model.config.layers == 1
    assert card["parameters"] == sum(p.numel() for p in model.parameters())
    assert card["file_size_bytes"] == out.stat().st_size
    assert card["data"]["seed"] == 3 and card["data"]["train_videos"] == 1
    assert card["training"]["epochs_done"] == 1 and card["training"]["steps_per_epoch"] == 2
    assert [c["epoch"] for c in card["curve"]] == [1]
    assert {"val_loss", "val_f1_cut", "val_f1_gradual", "val_f1_by_type"} <= set(card["curve"][0])
    assert 0.0 <= card["validation"]["f1"] <= 1.0
    assert "Validation" in out.with_suffix(".md").read_text(encoding="utf-8")
    assert checkpoint_path(out).is_file()

    resumed = train_shots(epochs=2, resume=True, **settings)
    assert [c["epoch"] for c in resumed["curve"]] == [1, 2]
    assert resumed["curve"][0] == result["curve"][0]  # epoch 1 was not run again
    _, card = load_model(out)
    assert card["training"]["epochs_done"] == 2 and len(card["curve"]) == 2


def test_resume_without_checkpoint_is_a_clear_error(tiny_data: Path, tmp_path: Path) -> None:
    from vidscene.train.shots_train import train_shots

    with pytest.raises(ConfigError, match="nothing to resume"):
        train_shots(data_dir=tiny_data, out=tmp_path / "m.safetensors", epochs=1, resume=True,
                    progress=False)


# -- the command line -------------------------------------------------------------------------


def _cli():
    from vidscene.cli import app

    return app


def test_cli_train_shots_on_tiny_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setenv("VIDSCENE_CLIPS", str(tmp_path / "no-clips"))  # procedural only
    out = tmp_path / "m.safetensors"
    data = tmp_path / "data"
    args = ["train", "shots", "--videos", "2", "--epochs", "1", "--out", str(out),
            "--data-dir", str(data), "--seed", "4", "--threads", "1", "--size", "64x36",
            "--batch-size", "2", "-q"]
    r = CliRunner().invoke(_cli(), args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    from vidscene.nn import load_model

    _, card = load_model(out)
    assert card["training"]["command"].startswith("vidscene train shots --videos 2")
    assert (data / DATASET_FILE).is_file() and out.with_suffix(".md").is_file()
    # The same, pruned at the model's own initialisation (the dataset is reused).
    pruned = tmp_path / "p.safetensors"
    r = CliRunner().invoke(_cli(), [*args[:7], str(pruned), *args[8:], "--prune", "random",
                                    "--own-init"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    _, card = load_model(pruned)
    assert card["pruning"]["method"] == "random" and card["pruning"]["reinit"] is False
    assert card["training"]["command"].endswith("--prune random --pattern 2:4 --own-init")


def test_cli_bad_input_is_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    r = runner.invoke(_cli(), ["train", "shots", "--clips", str(tmp_path / "absent"),
                               "--data-dir", str(tmp_path)])
    assert r.exit_code == 1
    assert "clips folder not found" in r.output and "Traceback" not in r.output
    r = runner.invoke(_cli(), ["train", "shots", "--size", "wide", "--data-dir", str(tmp_path)])
    assert r.exit_code == 2 and "WIDTHxHEIGHT" in r.output
    r = runner.invoke(_cli(), ["train", "shots", "--videos", "1"])
    assert r.exit_code == 2


def test_cli_help_states_the_time_budget() -> None:
    r = CliRunner().invoke(_cli(), ["train", "shots", "--help"])
    assert r.exit_code == 0
    assert "2 hours" in r.output and "--resume" in r.output


def test_pruned_training_keeps_2_4_through_resume_and_saves_packed(tiny_data: Path,
                                                                    tmp_path: Path) -> None:
    from vidscene.nn import load_model
    from vidscene.prune import PruneSpec, check_nm, find_targets
    from vidscene.train.shots_train import train_shots

    dense_out, out = tmp_path / "dense.safetensors", tmp_path / "pruned.safetensors"
    settings = dict(data_dir=tiny_data, batch_size=2, window=32, steps_per_epoch=2, seed=1,
                    threads=1, progress=False, model_config={"layers": 1})
    train_shots(out=dense_out, epochs=1, **settings)
    spec = PruneSpec(method="attention-snip", pattern="2:4", score_batches=1)
    # Two epochs in one run: exporting the best epoch must leave the training model masked.
    train_shots(out=out, epochs=2, pruning=spec, **settings)
    resumed = train_shots(out=out, epochs=3, pruning=spec, resume=True, **settings)
    assert [c["epoch"] for c in resumed["curve"]] == [1, 2, 3]
    model, card = load_model(out)  # packed layers come back dense
    targets = find_targets(model)
    assert targets and all(check_nm(t.weight, 2, 4) for t in targets)
    assert card["pruning"]["method"] == "attention-snip"
    assert card["pruning"]["sparsity"] == pytest.approx(0.5)
    assert "`attention-snip` scores at Xavier re-initialisation; 2:4 mask" in \
        out.with_suffix(".md").read_text(encoding="utf-8")
    assert out.stat().st_size < 0.7 * dense_out.stat().st_size


def test_magnitude_pruning_starts_from_given_weights(tiny_data: Path, tmp_path: Path) -> None:
    from vidscene.nn import load_model
    from vidscene.prune import PruneSpec, check_nm, find_targets
    from vidscene.train.shots_train import train_shots

    dense = tmp_path / "dense.safetensors"
    settings = dict(data_dir=tiny_data, batch_size=2, window=32, steps_per_epoch=1, seed=1,
                    threads=1, progress=False, model_config={"layers": 1})
    train_shots(out=dense, epochs=1, **settings)
    start, _ = load_model(dense)
    out = tmp_path / "magnitude.safetensors"
    # No training step at all (lr ~ 0) isolates the mask: it must keep the 2 largest of 4.
    train_shots(out=out, epochs=1, lr=1e-12, init_weights=dense,
                pruning=PruneSpec(method="magnitude", reinit=False, score_batches=1),
                **settings)
    model, card = load_model(out)
    assert card["init_weights"] == "dense.safetensors"
    for before, after in zip(find_targets(start), find_targets(model), strict=True):
        assert check_nm(after.weight, 2, 4)
        kept = before.weight.abs().reshape(-1, 4).topk(2, dim=1).indices
        assert torch.all(after.weight.reshape(-1, 4).gather(1, kept) != 0)
    with pytest.raises(ConfigError, match="does not fit"):
        train_shots(out=tmp_path / "x.safetensors", epochs=1, init_weights=dense,
                    **{**settings, "model_config": {"layers": 2}})
