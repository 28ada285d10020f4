"""The model package: registry, the shot transformer's contract and features, weights on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from vidscene.errors import ConfigError
from vidscene.nn import (
    MODELS,
    TRANSITION_CLASSES,
    ShotTransformer,
    ShotTransformerConfig,
    create_model,
    load_model,
    save_model,
)
from vidscene.nn.shot_transformer import widen_from

HEIGHT, WIDTH = 36, 64
SMALL: dict[str, Any] = {"d_model": 32, "layers": 1, "heads": 2, "ff": 64,
                         "stem_channels": [8, 16, 16]}
"""A narrow variant for tests that only need the architecture, not its size."""


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from threads, and on a busy two-core machine OpenMP threads
    waiting for a descheduled partner turn a one-second test into a minute."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def model(seed: int = 0, **overrides: Any) -> ShotTransformer:
    torch.manual_seed(seed)
    built = create_model("shot-transformer", **overrides)
    assert isinstance(built, ShotTransformer)
    return built.eval()


def texture(gen: torch.Generator, base: int, spread: int = 60) -> torch.Tensor:
    """A random picture (one 36×64×3 frame) around grey level ``base``."""
    noise = torch.randint(-spread, spread + 1, (HEIGHT, WIDTH, 3), generator=gen)
    return (noise + base).clamp(0, 255).to(torch.uint8)


def column(net: ShotTransformer, frames: torch.Tensor, name: str) -> torch.Tensor:
    """One named feature over time for the first window: ``(T,)``."""
    with torch.inference_mode():
        return net.features(frames)[0, :, net.feature_names().index(name)]


# -- registry and config ---------------------------------------------------------------------


def test_registry_creates_the_shot_transformer_by_name_with_overrides() -> None:
    assert "shot-transformer" in MODELS
    net = create_model("shot-transformer", layers=2, steps=[1, 3])
    assert isinstance(net, ShotTransformer)
    assert net.config.layers == 2 and net.config.steps == (1, 3)
    assert len(net.encoder.layers) == 2
    assert net.config.window == 96 and net.config.d_model == 128  # defaults kept


def test_unknown_model_name_and_bad_config_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown model 'no-such-model'"):
        create_model("no-such-model")
    with pytest.raises(ConfigError, match="unknown field"):
        create_model("shot-transformer", depth=3)
    with pytest.raises(ConfigError, match="multiple of heads"):
        ShotTransformerConfig(d_model=100, heads=3)
    with pytest.raises(ConfigError, match="steps"):
        ShotTransformerConfig(steps=(0, 2))


def test_config_round_trips_through_json() -> None:
    config = ShotTransformerConfig(window=48, steps=(1, 2, 3))
    again = ShotTransformerConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert again.steps == (1, 2, 3)


def test_parameter_count_fits_the_budget() -> None:
    count = sum(p.numel() for p in model().parameters())
    assert 200_000 < count <= 2_000_000


def test_same_seed_gives_same_weights_and_outputs() -> None:
    frames = torch.randint(0, 256, (1, 20, HEIGHT, WIDTH, 3), dtype=torch.uint8)
    a, b, c = model(seed=3), model(seed=3), model(seed=4)
    with torch.inference_mode():
        assert torch.equal(a(frames)["start"], b(frames)["start"])
        assert not torch.equal(a(frames)["start"], c(frames)["start"])


# -- forward contract ------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 5, 37, 96])
def test_output_shapes_and_dtypes(length: int) -> None:
    net = model()
    frames = torch.randint(0, 256, (2, length, HEIGHT, WIDTH, 3), dtype=torch.uint8)
    with torch.inference_mode():
        out = net(frames)
    assert set(out) == {"boundary", "start", "type"}
    assert out["boundary"].shape == (2, length)
    assert out["start"].shape == (2, length)
    assert out["type"].shape == (2, length, len(TRANSITION_CLASSES))
    assert all(v.dtype == torch.float32 and torch.isfinite(v).all() for v in out.values())


def test_rejects_windows_longer_than_the_config_and_non_uint8_frames() -> None:
    net = model(window=16, **SMALL)
    with pytest.raises(ValueError, match="window"):
        net(torch.zeros(1, 17, HEIGHT, WIDTH, 3, dtype=torch.uint8))
    with pytest.raises(ValueError, match="uint8"):
        net(torch.zeros(1, 8, HEIGHT, WIDTH, 3))


def test_untrained_heads_start_at_the_rarity_of_transitions() -> None:
    """Head biases encode the prior, so an untrained model calls almost nothing a boundary."""
    frames = torch.randint(0, 256, (1, 30, HEIGHT, WIDTH, 3), dtype=torch.uint8)
    with torch.inference_mode():
        out = model()(frames)
    assert torch.sigmoid(out["start"]).mean() < 0.2
    assert out["type"].softmax(-1)[..., 0].mean() > 0.7  # "none"


# -- change features -------------------------------------------------------------------------


def test_pixel_differences_peak_at_a_cut_and_respect_window_edges() -> None:
    gen = torch.Generator().manual_seed(1)
    a, b = texture(gen, 90), texture(gen, 170)
    frames = torch.stack([a] * 10 + [b] * 10)[None]
    net = model(**SMALL)
    back1, fwd1 = column(net, frames, "mad_back1"), column(net, frames, "mad_fwd1")
    assert back1[10] > 0.3 and float(back1[:10].abs().max()) == 0.0
    assert float(back1[11:].abs().max()) == 0.0
    assert fwd1[9] == pytest.approx(float(back1[10]))  # the same pair, seen from both sides
    back4 = column(net, frames, "mad_back4")
    assert back4[10:14].min() > 0.3 and back4[14:].max() == 0.0
    valid = column(net, frames, "valid_back4")
    assert valid[:4].tolist() == [0.0] * 4 and valid[4:].min() == 1.0
    assert column(net, frames, "valid_fwd8")[12:].max() == 0.0
    assert column(net, frames, "histogram_back1")[10] > 0.5


def test_structure_difference_ignores_brightness_and_histogram_ignores_panning() -> None:
    gen = torch.Generator().manual_seed(2)
    picture, other = texture(gen, 128, 100), texture(gen, 128, 100)
    dimmed = (picture.float() * 0.6).round().to(torch.uint8)
    panned = picture.roll(4, dims=1)  # content moves 4 pixels sideways, nothing new appears
    frames = torch.stack([picture, dimmed, other, panned, picture])[None]
    net = model(**SMALL)
    mad, structure = column(net, frames, "mad_back1"), column(net, frames, "structure_back1")
    histogram = column(net, frames, "histogram_back1")
    # frame 1 only dims frame 0: large pixel change, small structural change
    assert mad[1] > 0.3 and structure[1] < 0.4 * structure[2]
    # frame 4 is frame 3 moved back: pixels change, the colour distribution does not
    assert mad[4] > 0.3 and histogram[4] < 0.1 * histogram[2]


def test_mixture_residuals_tell_a_wipe_and_a_dissolve_from_a_drift() -> None:
    gen = torch.Generator().manual_seed(3)
    a, b = texture(gen, 128, 100), texture(gen, 128, 100)
    wiped = a.clone()
    wiped[:, WIDTH // 2:] = b[:, WIDTH // 2:]  # half old, half new: each pixel from one end
    blended = ((a.float() + b.float()) / 2).round().to(torch.uint8)
    drifted = a.roll(3, dims=1)  # the picture moved: most pixels match neither end
    net = model(**SMALL, mixture=True)
    for middle in (wiped, blended, drifted):
        frames = torch.stack([a, middle, b])[None]
        either, blend = column(net, frames, "either1"), column(net, frames, "blend1")
        assert either[0] == 0.0 and either[2] == 0.0  # an end outside the window: no value
        if middle is wiped:
            assert either[1] < 0.05 < blend[1]
        elif middle is blended:
            assert blend[1] < 0.05 < either[1]
        else:
            assert min(float(either[1]), float(blend[1])) > 0.2
    assert "either1" not in model(**SMALL).feature_names()  # v1/v2 configs stay as they were


def test_widening_carries_old_weights_over_and_starts_new_features_at_zero() -> None:
    old = model(0, **SMALL)
    wide = model(1, **SMALL, mixture=True)
    added = widen_from(wide, old)
    assert added == [f"{m}{k}" for k in (1, 2, 4, 8) for m in ("either", "blend")]
    frames = torch.randint(0, 256, (1, 24, HEIGHT, WIDTH, 3), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(4))
    with torch.inference_mode():
        before, after = old(frames), wide(frames)
    for key in before:
        assert torch.equal(before[key], after[key])
    with pytest.raises(ValueError, match="lacks input features"):
        widen_from(model(**SMALL), wide)  # narrowing would drop what the model relied on


# -- learning --------------------------------------------------------------------------------


def cut_windows(gen: torch.Generator, windows: int, length: int
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows of two textured shots each, joined by a cut at a random frame: the shots share
    their grey level, so only the change, not the palette, marks the cut."""
    frames = torch.empty(windows, length, HEIGHT, WIDTH, 3, dtype=torch.uint8)
    starts = torch.zeros(windows, length)
    for i in range(windows):
        cut = int(torch.randint(3, length - 3, (1,), generator=gen))
        level = int(torch.randint(60, 200, (1,), generator=gen))
        for first, stop in ((0, cut), (cut, length)):
            shot = texture(gen, level, 40).short()
            jitter = torch.randint(-6, 7, (stop - first, HEIGHT, WIDTH, 3), generator=gen)
            frames[i, first:stop] = (shot + jitter).clamp(0, 255).to(torch.uint8)
        starts[i, cut] = 1.0
    return frames, starts


def shot_loss(out: dict[str, torch.Tensor], starts: torch.Tensor) -> torch.Tensor:
    kinds = starts.long() * TRANSITION_CLASSES.index("cut")
    return (F.binary_cross_entropy_with_logits(out["start"], starts)
            + F.binary_cross_entropy_with_logits(out["boundary"], starts)
            + F.cross_entropy(out["type"].flatten(0, 1), kinds.flatten()))


def test_gradients_reach_every_parameter_and_training_learns_cuts() -> None:
    gen = torch.Generator().manual_seed(5)
    frames, starts = cut_windows(gen, windows=4, length=20)
    net = model(seed=5)
    with torch.no_grad():
        before = float(shot_loss(net(frames), starts))

    net.train()
    optimiser = torch.optim.AdamW(net.parameters(), lr=1e-3)
    warm_up = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: min(1.0, (step + 1) / 5))
    for step in range(30):
        optimiser.zero_grad()
        shot_loss(net(frames), starts).backward()
        if step == 0:
            broken = [name for name, p in net.named_parameters()
                      if p.grad is None or not torch.isfinite(p.grad).all()]
            assert broken == []
            first_conv = net.get_parameter("stem.body.0.weight").grad
            assert first_conv is not None and first_conv.abs().sum() > 0  # via learned features
        optimiser.step()
        warm_up.step()

    net.eval()
    with torch.no_grad():
        out = net(frames)
    assert float(shot_loss(out, starts)) < 0.3 * before
    # every cut frame now scores above every other frame of its window
    cut_scores = out["start"][starts.bool()]
    best_other = out["start"].masked_fill(starts.bool(), float("-inf")).max(dim=1).values
    assert (cut_scores > best_other).all()


# -- weights on disk -------------------------------------------------------------------------


def test_save_load_round_trip_reproduces_outputs_config_and_card(tmp_path: Path) -> None:
    net = model(seed=7, layers=2, steps=(1, 3, 6))
    card = {"name": "vidscene-shots-test", "metrics": {"f1": 0.91}, "thresholds": [0.5, 0.3]}
    path = tmp_path / "models" / "shots.safetensors"
    save_model(net, path, card)

    loaded, loaded_card = load_model(path)
    assert isinstance(loaded, ShotTransformer)
    assert loaded.config == net.config
    assert loaded_card == card
    assert not loaded.training
    frames = torch.randint(0, 256, (2, 40, HEIGHT, WIDTH, 3), dtype=torch.uint8)
    with torch.inference_mode():
        expected, got = net(frames), loaded(frames)
    for key in expected:
        assert torch.equal(expected[key], got[key])
    assert [p.name for p in path.parent.iterdir()] == ["shots.safetensors"]  # no temp files


def test_saving_again_replaces_the_file(tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_model(model(seed=1, **SMALL), path, {"version": 1})
    save_model(model(seed=2, **SMALL), path, {"version": 2})
    loaded, card = load_model(path)
    assert card == {"version": 2}
    assert torch.equal(loaded.state_dict()["head.weight"],
                       model(seed=2, **SMALL).state_dict()["head.weight"])


def test_loading_something_that_is_not_a_model_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such model file"):
        load_model(tmp_path / "missing.safetensors")
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ConfigError, match="junk.safetensors"):
        load_model(junk)
    with pytest.raises(ConfigError, match="JSON"):
        save_model(model(**SMALL), tmp_path / "x.safetensors", {"bad": object()})


# -- start-up cost ---------------------------------------------------------------------------


def test_cli_start_up_does_not_import_torch() -> None:
    """``vidscene --help`` must stay fast: importing torch costs seconds."""
    probe = "import sys, vidscene.cli; print(sorted({'torch', 'vidscene.nn'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=60)
    assert result.stdout.strip() == "[]"
