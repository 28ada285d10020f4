"""The learned scene segmenter: model, training material, training loop, segmenter, pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from test_scenes import assert_tiles, grouped_embeddings, make_shots
from vidscene.errors import ConfigError
from vidscene.nn import create_model, load_model, read_header, save_model
from vidscene.nn.scene_transformer import SceneTransformer
from vidscene.scenes import SEGMENTERS, TransformerSegmenter, create_segmenter
from vidscene.scenes._transformer import DEFAULT_SCENE_WEIGHTS
from vidscene.train import scenes_data as sd


def small_model(**overrides: object) -> SceneTransformer:
    torch.manual_seed(0)
    config = {"encoder_channels": [8, 16, 16], "embed_dim": 16, "d_model": 32, "layers": 1,
              "heads": 2, "ff": 32, "window": 8, "groups": 4, **overrides}
    model = create_model("scene-transformer", **config)
    assert isinstance(model, SceneTransformer)
    return model.eval()


def inputs(b: int, s: int, k: int, d: int = 16, seed: int = 0
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    keys = torch.nn.functional.normalize(torch.randn(b, s, k, d, generator=gen), dim=-1)
    kmask = torch.ones(b, s, k, dtype=torch.bool)
    seconds = torch.rand(b, s, generator=gen) * 5 + 0.5
    desc = torch.rand(b, s, 12, generator=gen)
    return keys, kmask, seconds, desc


# -- model -------------------------------------------------------------------------------------


def test_encoder_gives_unit_vectors_for_uint8_frames() -> None:
    model = small_model()
    frames = torch.randint(0, 256, (5, 54, 96, 3), dtype=torch.uint8)
    with torch.inference_mode():
        z = model.encoder(frames)
    assert z.shape == (5, 16)
    assert torch.allclose(z.norm(dim=1), torch.ones(5), atol=1e-5)


def test_padding_shots_and_missing_keyframes_do_not_change_the_real_ones() -> None:
    model = small_model()
    keys, kmask, seconds, desc = inputs(1, 8, 3)
    kmask[0, 5:] = False  # shots 5..7 are padding
    kmask[0, 2, 2] = False  # shot 2 has two keyframes
    with torch.inference_mode():
        a = model(keys, kmask, seconds, desc)
        noisy = keys.clone()
        noisy[0, 5:] = torch.randn_like(noisy[0, 5:])
        noisy[0, 2, 2] = torch.randn(16)
        b = model(noisy, kmask, seconds, desc)
    assert torch.allclose(a[0, :5], b[0, :5], atol=1e-5)
    assert (a[0, 5:] < -1e3).all()  # padding is never a scene end


def test_similarity_features_measure_neighbours() -> None:
    model = small_model()
    keys = torch.zeros(1, 3, 1, 16)
    keys[0, 0, 0, 0] = keys[0, 1, 0, 0] = 1.0  # shots 0 and 1 identical
    keys[0, 2, 0, 1] = 1.0  # shot 2 orthogonal
    kmask = torch.ones(1, 3, 1, dtype=torch.bool)
    desc = torch.nn.functional.normalize(torch.rand(1, 3, 4), dim=-1)
    feats = model.similarity_features(keys, kmask, desc)
    # Offset 1, forward: [best, mean, colour, present]; shot 0 → 1 identical, 1 → 2 orthogonal.
    assert feats[0, 0, 0] == pytest.approx(1.0) and feats[0, 1, 0] == pytest.approx(0.0)
    assert feats[0, 2, 3] == 0.0  # shot 2 has no next shot: not present, value zeroed
    # Backward part of shot 1 (towards shot 0) equals shot 0's forward part.
    assert torch.allclose(feats[0, 1, 4:8], feats[0, 0, 0:4])


def test_window_and_keyframe_limits_are_checked() -> None:
    model = small_model(max_keyframes=2)
    with pytest.raises(ValueError, match="window"):
        model(*inputs(1, 9, 1))
    with pytest.raises(ValueError, match="keyframes"):
        model(*inputs(1, 4, 3))


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ConfigError, match="heads"):
        create_model("scene-transformer", d_model=30, heads=4)
    with pytest.raises(ConfigError, match="unknown"):
        create_model("scene-transformer", colour="red")


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    model = small_model()
    path = tmp_path / "scenes.safetensors"
    save_model(model, path, {"threshold": 0.4})
    loaded, card = load_model(path)
    assert card == {"threshold": 0.4}
    args = inputs(2, 6, 2)
    with torch.inference_mode():
        assert torch.equal(model(*args), loaded(*args))
    assert read_header(path).model == "scene-transformer"


# -- training material -------------------------------------------------------------------------


def tiny_places(n: int = 4) -> list[sd.Place]:
    return [sd.procedural_place(1000 + i) for i in range(n)]


def test_bank_is_deterministic_and_consistent() -> None:
    places = tiny_places(2)
    a = sd.build_bank(places, [3, 2], seed=5, image_size=(32, 18))
    b = sd.build_bank(places, [3, 2], seed=5, image_size=(32, 18))
    assert np.array_equal(a.images, b.images) and np.array_equal(a.seconds, b.seconds)
    assert a.shots == 5 and a.place.tolist() == [0, 0, 0, 1, 1]
    assert a.shot_start[-1] == len(a.images) and a.images.shape[1:] == (18, 32, 3)
    for s in range(a.shots):
        lo, hi = a.shot_start[s], a.shot_start[s + 1]
        # The shot length decides how many analysis samples it has (2 per second).
        assert hi - lo == max(1, round(float(a.seconds[s]) * sd.SAMPLE_FPS))
        for k, rows in enumerate(a.selection[s], start=1):
            assert len(rows) == min(k, hi - lo)
            assert ((rows >= lo) & (rows < hi)).all()


def test_bank_save_load(tmp_path: Path) -> None:
    bank = sd.build_bank(tiny_places(2), [2, 2], seed=1, image_size=(32, 18))
    bank.save(tmp_path / "bank.npz")
    again = sd.ShotBank.load(tmp_path / "bank.npz")
    assert again.place_names == bank.place_names
    assert all(np.array_equal(x, y) for s in range(bank.shots)
               for x, y in zip(again.selection[s], bank.selection[s], strict=True))
    assert np.array_equal(again.images, bank.images)


def test_windows_change_scene_exactly_where_the_place_changes() -> None:
    bank = sd.build_bank(tiny_places(4), [6, 6, 6, 6], seed=2, image_size=(16, 9))
    rng = np.random.default_rng(0)
    for _ in range(20):
        w = sd.sample_window(bank, bank.shots_of_place(), 12, rng, dialogue=0.0)
        assert len(w.shots) == 12
        places = bank.place[w.shots]
        # No shot twice within a scene (a place whose shots ran out may reuse them later).
        scene_of = np.concatenate([[0], np.cumsum(w.ends[:-1])])
        for scene in set(scene_of.tolist()):
            members = w.shots[scene_of == scene].tolist()
            assert len(members) == len(set(members))
        # Inside the window a scene ends exactly where the place changes (two scenes in a row
        # never share a place).
        assert w.ends[:-1].tolist() == (places[1:] != places[:-1]).astype(int).tolist()


def test_dialogue_scenes_alternate_between_two_places_within_one_scene() -> None:
    bank = sd.build_bank(tiny_places(5), [8] * 5, seed=2, image_size=(16, 9))
    rng = np.random.default_rng(1)
    w = sd.sample_window(bank, bank.shots_of_place(), 40, rng, dialogue=1.0)
    places = bank.place[w.shots]
    scene_of = np.concatenate([[0], np.cumsum(w.ends[:-1])])
    sets = [set(places[scene_of == k].tolist()) for k in range(int(scene_of[-1]) + 1)]
    # Whole scenes inside the window (not the cut first or last) use exactly two places,
    # and neighbouring scenes share none.
    assert all(len(s) == 2 for s in sets[1:-1])
    assert all(not a & b for a, b in zip(sets, sets[1:], strict=False))


def test_film_windows_have_long_scenes_cutaways_and_telling_transitions() -> None:
    bank = sd.build_bank(tiny_places(8), [30] * 8, seed=2, image_size=(16, 9))
    rng = np.random.default_rng(4)
    lengths: list[int] = []
    cutaways = 0
    at_change: list[str] = []
    inside: list[str] = []
    for _ in range(40):
        w = sd.sample_window(bank, bank.shots_of_place(), 60, rng, dialogue=0.0,
                             style=sd.FILM_STYLE)
        assert w.transition is not None and w.transition_seconds is not None
        assert len(w.transition) == len(w.shots) == len(w.ends)
        kinds = [sd.TRANSITION_KINDS[t] for t in w.transition]
        assert all((k == "cut") == (sec == 0) for k, sec in zip(kinds, w.transition_seconds,
                                                                  strict=True))
        places = bank.place[w.shots]
        bounds = [0, *(np.flatnonzero(w.ends[:-1]) + 1).tolist(), len(w.shots)]
        lengths += [b - a for a, b in zip(bounds[1:-2], bounds[2:-1], strict=False)]
        for i in range(1, len(w.shots)):
            (at_change if w.ends[i - 1] else inside).append(kinds[i])
            if 0 < i < len(w.shots) - 1 and not w.ends[i - 1] and not w.ends[i]:
                cutaways += places[i] != places[i - 1] and places[i - 1] == places[i + 1]
    assert min(lengths) >= 1 and np.mean(np.array(lengths) >= 3) > 0.9
    assert max(lengths) > 12  # long scenes happen
    assert cutaways > 0
    share = {k: (at_change.count(k) / len(at_change), inside.count(k) / len(inside))
             for k in ("fade", "dissolve")}
    assert all(change > 3 * within for change, within in share.values())
    # The first model's material: cuts only, no transition inputs.
    w = sd.sample_window(bank, bank.shots_of_place(), 20, rng)
    assert w.transition is None


def test_transition_inputs_start_silent_and_then_count() -> None:
    from vidscene.nn.scene_transformer import transition_features

    features = transition_features([None, "cut", "fade", "dissolve", "wipe"],
                                   [0.0, 0.0, 0.8, 3.5, 0.4])
    assert np.allclose(features, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0.8],
                                  [1, 0, 0, 2.0], [0, 0, 1, 0.4]])
    plain = small_model()
    wide = small_model(transitions=True)
    missing, unexpected = wide.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and sorted(missing) == ["transition.bias", "transition.weight"]
    args = inputs(2, 6, 2)
    trans = torch.zeros(2, 6, 4)
    trans[:, 3, 1] = 1.0  # shot 3 is entered by a fade
    with torch.inference_mode():
        assert torch.allclose(plain(*args), wide(*args, trans))
        torch.nn.init.normal_(wide.transition.weight)
        assert not torch.allclose(plain(*args), wide(*args, trans))
        assert torch.allclose(plain(*args), wide(*args, torch.zeros(2, 6, 4)), atol=1e-6)


# -- training ----------------------------------------------------------------------------------


def test_train_scenes_writes_a_loadable_model_with_a_card(tmp_path: Path) -> None:
    from vidscene.train.scenes_train import SceneTrainConfig, train_scenes

    cfg = SceneTrainConfig(procedural_places=6, procedural_shots=4, val_procedural_places=3,
                           encoder_steps=3, places_per_batch=4, scene_steps=4,
                           windows_per_batch=4, validate_every=2, val_windows=4)
    out = tmp_path / "scene.safetensors"
    result = train_scenes(out=out, data_dir=tmp_path / "data", clips_dir=None, cfg=cfg,
                          progress=False, command="test",
                          model_config={"encoder_channels": [8, 8], "d_model": 16,
                                        "heads": 2, "ff": 16, "layers": 1, "window": 8,
                                        "embed_dim": 8})
    model, card = load_model(out)
    assert isinstance(model, SceneTransformer)
    assert card["command"] == "test" and card["file_size_bytes"] == out.stat().st_size
    assert [c["step"] for c in card["validation"]["curve"]] == [2, 4]
    assert 0.0 <= result["place_retrieval"] <= 1.0
    assert "best step" in out.with_suffix(".md").read_text()
    # The banks and the cross-fitted embeddings are cached: a second run reuses them.
    cached = sorted(p.name for p in (tmp_path / "data").iterdir())
    assert len(cached) == 3 and sum(n.startswith("scene-crossfit-") for n in cached) == 1
    decoder = card["decoder"]
    assert card["threshold"] == decoder["threshold"]
    assert decoder["prior"]["log_seconds_scale"] > 0 and 0 <= decoder["prior"]["weight"]
    assert len(decoder["calibration"]["grid"]) == 35
    again = train_scenes(out=tmp_path / "again.safetensors", data_dir=tmp_path / "data",
                         clips_dir=None, cfg=cfg, progress=False, command="test",
                         model_config={"encoder_channels": [8, 8], "d_model": 16,
                                       "heads": 2, "ff": 16, "layers": 1, "window": 8,
                                       "embed_dim": 8})
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == cached
    assert again["best"] == result["best"]


def test_supcon_loss_prefers_grouped_embeddings() -> None:
    from vidscene.train.scenes_train import supcon_loss

    labels = torch.tensor([0, 0, 1, 1])
    good = torch.nn.functional.normalize(torch.tensor(
        [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]), dim=1)
    bad = good[[0, 2, 1, 3]]
    assert supcon_loss(good, labels, 0.1) < supcon_loss(bad, labels, 0.1)


# -- segmenter ---------------------------------------------------------------------------------


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    path = tmp_path / "scene.safetensors"
    save_model(small_model(), path, {"threshold": 0.5})
    return path


def test_transformer_is_registered_and_checks_its_weights(tmp_path: Path) -> None:
    assert "transformer" in SEGMENTERS
    with pytest.raises(ConfigError, match="no weights"):
        TransformerSegmenter(tmp_path / "missing.safetensors")
    shot_weights = tmp_path / "shot.safetensors"
    save_model(create_model("shot-transformer", layers=1, d_model=16, heads=2, ff=16),
               shot_weights, {})
    with pytest.raises(ConfigError, match="not a scene-transformer"):
        TransformerSegmenter(shot_weights)


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 9, 23])
def test_segment_tiles_any_number_of_shots(weights: Path, n: int) -> None:
    seg = TransformerSegmenter(weights)
    shots = make_shots([2.0] * n)
    rng = np.random.default_rng(n)
    keyframes = [rng.normal(size=(1 + i % 3, 16)).astype(np.float32) for i in range(n)]
    scenes = seg.segment(shots, rng.random((n, 12)), keyframes)
    if n == 0:
        assert scenes == []
        return
    assert_tiles(scenes, shots)
    p = seg.end_probabilities(shots, rng.random((n, 12)), keyframes)
    assert p.shape == (max(n - 1, 0),) and ((p >= 0) & (p <= 1)).all()


def test_segment_follows_the_threshold(weights: Path) -> None:
    shots = make_shots([2.0] * 12)
    rng = np.random.default_rng(3)
    keyframes = [rng.normal(size=(2, 16)).astype(np.float32) for _ in shots]
    desc = grouped_embeddings([4, 4, 4], 0.1)
    p = TransformerSegmenter(weights).end_probabilities(shots, desc, keyframes)
    low = TransformerSegmenter(weights, threshold=float(p.min()) - 1e-6 if p.min() > 1e-6
                               else 1e-6)
    high = TransformerSegmenter(weights, threshold=min(float(p.max()) + 1e-6, 0.999999))
    assert len(low.segment(shots, desc, keyframes)) == int((p >= low.threshold).sum()) + 1
    assert len(high.segment(shots, desc, keyframes)) == 1


def test_segment_needs_keyframes(weights: Path) -> None:
    shots = make_shots([2.0] * 3)
    with pytest.raises(ValueError, match="keyframe embeddings"):
        TransformerSegmenter(weights).segment(shots, np.ones((3, 4)))


def test_embedder_prepares_and_embeds(weights: Path) -> None:
    embedder = TransformerSegmenter(weights).keyframe_embedder()
    small = embedder.prepare(np.zeros((126, 224, 3), np.uint8))
    assert small.shape == (54, 96, 3)
    assert embedder.embed(np.stack([small, small])).shape == (2, 16)
    assert embedder.embed(small[:0]).shape == (0, 16)


def test_keyframes_embed_alike_however_they_are_grouped(weights: Path) -> None:
    # The pipeline embeds many shots a call (a chunked or live analysis groups them
    # otherwise): a keyframe's numbers must not depend on its company.
    embedder = TransformerSegmenter(weights).keyframe_embedder()
    pictures = np.random.default_rng(0).integers(0, 256, (40, 54, 96, 3), dtype=np.uint8)
    together = embedder.embed(pictures)
    alone = np.concatenate([embedder.embed(pictures[i:i + 1]) for i in range(40)])
    grouped = np.concatenate([embedder.embed(pictures[a:b])
                              for a, b in ((0, 5), (5, 23), (23, 40))])
    assert np.array_equal(together, alone) and np.array_equal(together, grouped)


def test_closed_shots_wait_to_be_embedded_many_at_a_time(weights: Path) -> None:
    from vidscene.pipeline._shot_stage import ShotBuilder

    embedder = TransformerSegmenter(weights).keyframe_embedder()
    calls: list[int] = []
    real = embedder.embed
    embedder.embed = lambda p: (calls.append(len(p)), real(p))[1]  # type: ignore[method-assign]
    builder = ShotBuilder(1, lambda: (224, 126), embedder)
    rng = np.random.default_rng(1)
    for shot in range(6):
        for i in range(3):
            builder.add_sample(shot * 10 + i * 3,
                               rng.integers(0, 256, (126, 224, 3), dtype=np.uint8))
        builder.close_until(shot * 10 + 10)
    builder.embed(at_least=10)  # fewer wait: nothing happens yet
    assert calls == [] and all(c.keyframe_embeddings is None for c in builder.closed)
    builder.embed()
    assert calls == [6]
    assert all(c.keyframe_embeddings.shape == (1, 16) and c.prepared is None  # type: ignore[union-attr]
               for c in builder.closed)


@pytest.mark.skipif(not DEFAULT_SCENE_WEIGHTS.is_file(), reason="shipped weights not built")
def test_shipped_weights_are_a_scene_transformer() -> None:
    seg = create_segmenter("transformer")
    assert seg.describe().startswith("transformer (scene-transformer-v3")
    assert 0.0 < seg.threshold < 1.0
    assert seg.model().config.transitions and seg.prior is not None
    assert seg.model().config.sound and seg.listens
    assert TransformerSegmenter(prior_weight=0).prior.weight == 0  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="prior weight"):
        TransformerSegmenter(prior_weight=-1)


def test_shots_tell_the_segmenter_how_they_are_entered() -> None:
    from vidscene.analysis import Transition
    from vidscene.scenes._transformer import shot_transitions

    shots = make_shots([2.0, 2.0, 2.0, 2.0])
    shots[1].transition_in = Transition("cut", shots[1].start_frame, shots[1].start_frame, 1.0)
    # A fade over 20 frames (0.8 s at the test's 25 fps), a dissolve over 10.
    shots[2].transition_in = Transition("fade", shots[2].start_frame - 10,
                                        shots[2].start_frame + 9, 0.9)
    shots[3].transition_in = Transition("dissolve", shots[3].start_frame - 5,
                                        shots[3].start_frame + 4, 0.9)
    features = shot_transitions(shots)
    assert np.allclose(features, [[0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 0, 0.8], [1, 0, 0, 0.4]])


# -- pipeline ----------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3])
def test_pipeline_embeds_each_shots_keyframes_for_the_segmenter(
        weights: Path, synthetic_video: Any, k: int) -> None:
    from vidscene.pipeline import AnalyzeSettings, analyze

    video, _ = synthetic_video("mixed", seed=3, n_shots=8)
    settings = AnalyzeSettings(detector="fast", scenes="transformer", keyframes_per_shot=k)
    result = analyze(video, settings, segmenter=TransformerSegmenter(weights))
    shots = result.analysis.shots
    assert len(result.keyframe_embeddings) == len(shots)
    for shot, rows in zip(shots, result.keyframe_embeddings, strict=True):
        # One embedding per keyframe the shot shows, each a unit vector of the encoder.
        assert rows.shape == (len(shot.keyframes), 16)
        assert np.allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-4)
    assert_tiles(result.analysis.scenes, shots, attributes=True)
    assert result.analysis.models["scenes"].startswith("transformer (scene")


def test_classic_segmenters_need_no_keyframe_embeddings(synthetic_video: Any) -> None:
    from vidscene.pipeline import AnalyzeSettings, analyze

    video, _ = synthetic_video("mixed", seed=3, n_shots=8)
    result = analyze(video, AnalyzeSettings(detector="fast", scenes="osg"))
    assert result.keyframe_embeddings is None
    assert_tiles(result.analysis.scenes, result.analysis.shots, attributes=True)


# -- command line ------------------------------------------------------------------------------


def test_train_scenes_from_saved_weights_keeps_the_encoder(tmp_path: Path) -> None:
    from vidscene.train.scenes_train import SceneTrainConfig, train_scenes

    start = small_model()
    first = tmp_path / "start.safetensors"
    save_model(start, first, {"threshold": 0.5})
    cfg = SceneTrainConfig(procedural_places=6, procedural_shots=4, val_procedural_places=3,
                           encoder_steps=2, places_per_batch=4, scene_steps=2,
                           windows_per_batch=4, validate_every=2, val_windows=4, val_films=2)
    out = tmp_path / "next.safetensors"
    train_scenes(out=out, data_dir=tmp_path / "data", clips_dir=None, cfg=cfg, progress=False,
                 model_config={"transitions": True}, init_weights=first)
    model, card = load_model(out)
    assert isinstance(model, SceneTransformer) and model.config.transitions
    assert card["init_weights"] == "start.safetensors"
    for name, value in start.encoder.state_dict().items():
        assert torch.equal(model.encoder.state_dict()[name], value)
    seg = TransformerSegmenter(out)
    assert seg.prior is not None and seg.threshold == card["decoder"]["threshold"]
    assert "scene prior weight" in seg.describe() or card["decoder"]["prior"]["weight"] == 0
    with pytest.raises(ConfigError, match="no such model file"):
        train_scenes(out=out, data_dir=tmp_path / "data", clips_dir=None, cfg=cfg,
                     progress=False, init_weights=tmp_path / "absent.safetensors")


def test_cli_train_scenes_on_tiny_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    from typer.testing import CliRunner

    from vidscene.cli import app

    monkeypatch.setenv("VIDSCENE_CLIPS", str(tmp_path / "no-clips"))  # procedural only
    out = tmp_path / "scenes.safetensors"
    args = ["train", "scenes", "--out", str(out), "--data-dir", str(tmp_path / "data"),
            "--encoder-steps", "2", "--scene-steps", "2", "--procedural-places", "4",
            "--sound-beds", "3", "--threads", "1", "-q"]
    r = CliRunner().invoke(app, args, catch_exceptions=False)
    assert r.exit_code == 0, r.output
    header = read_header(out)
    assert header.model == "scene-transformer"
    assert header.card["command"].startswith("vidscene train scenes --out")
    # --sound is the default: the model hears, and the card says what it heard.
    assert header.config["sound"] is True
    assert sum(header.card["sound"]["train"]["beds"].values()) == 3
    assert "## Sound" in out.with_suffix(".md").read_text()
    assert out.with_suffix(".md").is_file()
    r = CliRunner().invoke(app, ["train", "scenes", "--clips", str(tmp_path / "absent")])
    assert r.exit_code == 1 and "clips folder not found" in r.output
    r = CliRunner().invoke(app, ["train", "scenes", "--material", "bogus", "--data-dir",
                                 str(tmp_path / "data")])
    assert r.exit_code == 1 and "unknown --material 'bogus'" in r.output
    r = CliRunner().invoke(app, ["train", "scenes", "--init-weights",
                                 str(tmp_path / "absent.safetensors")])
    assert r.exit_code == 1 and "--init-weights: no such file" in r.output


def test_train_scenes_can_prune_the_sequence_transformer(tmp_path: Path) -> None:
    from vidscene.prune import PruneSpec, check_nm, find_targets
    from vidscene.train.scenes_train import SceneTrainConfig, train_scenes

    cfg = SceneTrainConfig(procedural_places=6, procedural_shots=4, val_procedural_places=3,
                           encoder_steps=2, places_per_batch=4, scene_steps=2,
                           windows_per_batch=4, validate_every=2, val_windows=4)
    out = tmp_path / "scene.safetensors"
    train_scenes(out=out, data_dir=tmp_path / "data", clips_dir=None, cfg=cfg, progress=False,
                 model_config={"encoder_channels": [8, 8], "d_model": 16, "heads": 2,
                               "ff": 16, "layers": 1, "window": 8, "embed_dim": 8},
                 pruning=PruneSpec(score_batches=1))
    model, card = load_model(out)
    targets = find_targets(model)
    assert targets and all(t.name.startswith("context.") for t in targets)
    assert all(check_nm(t.weight, 2, 4) for t in targets)
    assert card["pruning"]["sparsity"] == 0.5
    assert not any(n.startswith("encoder.") for n in card["pruning"]["layers"])
