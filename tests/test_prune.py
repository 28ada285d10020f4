"""Pruning: targets, scores, N:M and unstructured masks, masks kept through training."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor, nn

from vidscene.errors import ConfigError
from vidscene.prune import (
    SCORERS,
    apply_masks,
    bake,
    check_nm,
    find_targets,
    load_packed,
    nm_mask,
    pack_nm,
    parse_pattern,
    save_packed,
    sparsity,
    to_semi_structured,
    unpack_nm,
    unstructured_masks,
    xavier_init,
)


class Tiny(nn.Module):
    """Embedding → one transformer layer → head, like the project's models."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 16)
        layer = nn.TransformerEncoderLayer(16, 2, 32, 0.0, batch_first=True)
        self.blocks = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.head = nn.Linear(16, 1)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.blocks(self.embed(x))).squeeze(-1)


def loss_fn(model: nn.Module, batch: Any) -> tuple[Tensor, Tensor]:
    x, y = batch
    out = model(x)
    return nn.functional.binary_cross_entropy_with_logits(out, y), out


def batch(seed: int = 0) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(8, 6, 4, generator=g)
    return x, (x[..., 0] > 0).float()


def test_targets_are_the_attention_and_feed_forward_weights_only() -> None:
    names = [t.name for t in find_targets(Tiny())]
    assert names == ["blocks.layers.0.self_attn.in_proj_weight",
                     "blocks.layers.0.self_attn.out_proj.weight",
                     "blocks.layers.0.linear1.weight", "blocks.layers.0.linear2.weight"]


def test_xavier_init_bounds() -> None:
    targets = find_targets(Tiny())
    xavier_init(targets, torch.Generator().manual_seed(0))
    for t in targets:
        bound = (6 / sum(t.weight.shape)) ** 0.5
        assert float(t.weight.detach().abs().max()) <= bound
        assert float(t.weight.detach().abs().max()) > 0.8 * bound


def test_nm_mask_keeps_the_top_n_of_each_group() -> None:
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.2, 4.0, 3.0, 2.0, 1.0]])
    assert nm_mask(scores, 2, 4).tolist() == [[False, True, True, False,
                                              True, True, False, False]]
    with pytest.raises(ConfigError, match="multiple"):
        nm_mask(torch.ones(2, 6), 2, 4)
    assert parse_pattern("2:4") == (2, 4)
    with pytest.raises(ConfigError):
        parse_pattern("4:2")


def test_unstructured_keeps_the_global_top_share() -> None:
    masks = unstructured_masks({"a": torch.tensor([[1.0, 5.0]]), "b": torch.tensor([[3.0, 2.0]])},
                               0.5)
    assert masks["a"].tolist() == [[False, True]] and masks["b"].tolist() == [[True, False]]


@pytest.mark.parametrize("method", ["snip", "attention-snip", "magnitude", "random"])
def test_scorers_give_normalised_non_negative_scores(method: str) -> None:
    model = Tiny()
    targets = find_targets(model)
    scores = SCORERS.create(method, model=model, targets=targets, batches=[batch()],
                            loss_fn=loss_fn, generator=torch.Generator().manual_seed(0))
    assert set(scores) == {t.name for t in targets}
    assert sum(float(s.sum()) for s in scores.values()) == pytest.approx(1.0, rel=1e-4)
    assert all((s >= 0).all() for s in scores.values())


def test_attention_terms_change_the_scores() -> None:
    model = Tiny()
    targets = find_targets(model)
    plain = SCORERS.create("snip", model=model, targets=targets, batches=[batch()],
                           loss_fn=loss_fn)
    aware = SCORERS.create("attention-snip", model=model, targets=targets, batches=[batch()],
                           loss_fn=loss_fn)
    name = targets[0].name
    assert not torch.allclose(plain[name], aware[name])


def test_masks_hold_through_training_and_after_baking() -> None:
    torch.manual_seed(0)
    model = Tiny()
    targets = find_targets(model)
    scores = SCORERS.create("attention-snip", model=model, targets=targets, batches=[batch()],
                            loss_fn=loss_fn)
    apply_masks(targets, {k: nm_mask(s, 2, 4) for k, s in scores.items()})
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    first = loss_fn(model, batch())[0].item()
    for step in range(30):
        loss, _ = loss_fn(model, batch(step % 3))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss_fn(model, batch())[0].item() < first  # it still learns
    bake(targets)
    assert all(check_nm(t.weight, 2, 4) for t in targets)
    assert sparsity(targets) == pytest.approx(0.5)
    # The masked entries are exactly zero in the stored weights too.
    assert all("parametrizations" not in k for k in model.state_dict())


def test_baking_a_copy_leaves_the_original_masked() -> None:
    # Export bakes a deep copy while the original goes on training; PyTorch's injected
    # parametrized classes are shared by such copies, so baking must not touch the original.
    import copy

    from vidscene.prune import bake_all

    torch.manual_seed(0)
    model = Tiny()
    targets = find_targets(model)
    apply_masks(targets, {t.name: nm_mask(torch.rand_like(t.weight), 2, 4) for t in targets},
                nm=(2, 4))
    before = loss_fn(model, batch())[0].item()
    packed = bake_all(copy.deepcopy(model))
    assert packed and all(nm == (2, 4) for nm in packed.values())
    assert loss_fn(model, batch())[0].item() == pytest.approx(before)  # still runs, unchanged
    assert any("parametrizations" in k for k in model.state_dict())  # still masked
    assert len(bake_all(model)) == len(packed)


# -- storage -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "m"), [(2, 4), (1, 4), (2, 8)])
def test_pack_round_trip(n: int, m: int) -> None:
    g = torch.Generator().manual_seed(n * 10 + m)
    scores = torch.rand(12, 32, generator=g)
    weight = torch.randn(12, 32, generator=g) * nm_mask(scores, n, m)
    weight[0, :m] = 0.0  # a group whose kept values are zero packs too
    values, positions = pack_nm(weight, n, m)
    assert values.shape == (12, 32 // m * n) and positions.dtype == torch.uint8
    assert torch.equal(unpack_nm(values, positions, (12, 32), n, m), weight)


def test_pack_refuses_a_dense_weight() -> None:
    with pytest.raises(ConfigError, match="not 2:4"):
        pack_nm(torch.ones(2, 8))


def test_packed_file_is_smaller_and_loads_back_dense(tmp_path: Any) -> None:
    torch.manual_seed(0)
    model = Tiny()
    targets = find_targets(model)
    linear = [t for t in targets if t.param == "weight"]
    apply_masks(linear, {t.name: nm_mask(t.weight.detach().abs(), 2, 4) for t in linear})
    bake(linear)
    state = model.state_dict()
    packed = {t.name: (2, 4) for t in linear}
    dense_path, packed_path = tmp_path / "dense.safetensors", tmp_path / "packed.safetensors"
    save_packed(state, dense_path, {})
    save_packed(state, packed_path, packed)
    loaded = load_packed(packed_path)
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    # The packed layers alone: values (half) + 2 bits per weight ≈ 53 % of dense float32.
    dense_bytes = sum(state[k].numel() * 4 for k in packed)
    packed_bytes = sum(pack_nm(state[k])[0].numel() * 4 + pack_nm(state[k])[1].numel()
                       for k in packed)
    assert packed_bytes / dense_bytes == pytest.approx(0.5 + 1 / 32, abs=1e-3)
    assert packed_path.stat().st_size < dense_path.stat().st_size


def test_semi_structured_needs_a_gpu() -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present: the conversion is checked on the device machine")
    with pytest.raises(ConfigError, match="CUDA"):
        to_semi_structured(Tiny())


# -- prune-train ---------------------------------------------------------------------------------


def build_tiny() -> nn.Module:
    return Tiny()


def tiny_task() -> Any:
    from vidscene.prune import PruneTask

    def validate(model: nn.Module) -> dict[str, float]:
        return {"val_loss": float(loss_fn(model, batch(99))[0])}

    return PruneTask(batches=lambda epoch: [batch(epoch * 10 + i) for i in range(4)],
                     loss_fn=loss_fn, validate=validate, lr=1e-2)


def test_prune_train_api_writes_a_packed_2_4_model(tmp_path: Any) -> None:
    from vidscene.prune import prune_train

    out = tmp_path / "tiny.safetensors"
    card = prune_train(build_tiny, tiny_task, epochs=3, out=out, progress=False)
    assert card["sparsity"] == pytest.approx(0.5) and len(card["history"]) == 3
    assert card["history"][-1]["loss"] < card["history"][0]["loss"]
    state = load_packed(out)
    model = Tiny()
    model.load_state_dict(state)
    assert all(check_nm(t.weight, 2, 4) for t in find_targets(model))
    assert not out.with_name(out.name + ".ckpt").exists()
    # Without re-initialisation the scores come from the network's own weights: magnitude
    # then keeps exactly the two largest initial weights of every group of four.
    torch.manual_seed(0)  # prune_train seeds the same way before building
    initial = {t.name: t.weight.detach().clone() for t in find_targets(Tiny())}
    own = tmp_path / "own.safetensors"
    card = prune_train(build_tiny, tiny_task, epochs=1, out=own, progress=False,
                       method="magnitude", reinit=False)
    assert card["pruning"]["reinit"] is False
    trained = load_packed(own)
    for name, w in initial.items():
        kept = w.abs().reshape(-1, 4).topk(2, dim=1).indices.sort(dim=1).values
        nonzero = (trained[name].reshape(-1, 4) != 0).nonzero()[:, 1].reshape(-1, 2)
        assert torch.equal(kept, nonzero)


def test_prune_train_unstructured_and_bad_arguments(tmp_path: Any) -> None:
    from vidscene.prune import prune_train

    card = prune_train(build_tiny, tiny_task, pattern=None, keep=0.3, method="snip",
                       out=tmp_path / "u.safetensors", progress=False)
    assert card["sparsity"] == pytest.approx(0.7, abs=0.01)
    with pytest.raises(ConfigError, match="exactly one"):
        prune_train(build_tiny, tiny_task, pattern="2:4", keep=0.5, out=tmp_path / "x",
                    progress=False)
    with pytest.raises(ConfigError, match="unknown pruning method"):
        prune_train(build_tiny, tiny_task, method="oracle", out=tmp_path / "x", progress=False)


def test_prune_train_resumes_from_its_checkpoint(tmp_path: Any) -> None:
    from vidscene.prune import prune_train

    full = prune_train(build_tiny, tiny_task, epochs=2, out=tmp_path / "full.safetensors",
                       progress=False)

    def failing_task() -> Any:
        task = tiny_task()
        good = task.batches

        def batches(epoch: int) -> Any:
            if epoch == 1:
                raise RuntimeError("power cut")
            return good(epoch)

        task.batches = batches
        return task

    out = tmp_path / "resumed.safetensors"
    with pytest.raises(RuntimeError, match="power cut"):
        prune_train(build_tiny, failing_task, epochs=2, out=out, progress=False)
    assert out.with_name(out.name + ".ckpt").is_file() and not out.exists()
    resumed = prune_train(build_tiny, tiny_task, epochs=2, out=out, progress=False, resume=True)
    # Epoch 2 ran again from the checkpoint, and the run ends where the uninterrupted one did.
    assert resumed["history"] == full["history"]
    a, b = load_packed(out), load_packed(tmp_path / "full.safetensors")
    assert all(torch.allclose(a[k], b[k]) for k in a)


def test_cli_prune_train(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from vidscene.cli import app
    from vidscene.model_store import ModelStore

    monkeypatch.setenv("VIDSCENE_MODELS", str(tmp_path / "store"))
    out = tmp_path / "cli.safetensors"
    r = CliRunner().invoke(app, ["prune-train", "--model", "test_prune:build_tiny", "--data",
                                 "test_prune:tiny_task", "--epochs", "1", "--out", str(out),
                                 "--name", "tiny-24", "--own-init", "-q"])
    assert r.exit_code == 0, r.output
    assert '"sparsity": 0.5' in r.output and out.is_file()
    stored = ModelStore().get("tiny-24")
    assert stored.version == "v1" and stored.card["pattern"] == "2:4"
    assert stored.card["pruning"]["reinit"] is False
    r = CliRunner().invoke(app, ["prune-train", "--model", "no_such_module:f", "--data",
                                 "test_prune:tiny_task", "--out", str(out)])
    assert r.exit_code == 1 and "cannot load no_such_module:f" in r.output


def test_structured_pruning_cuts_feed_forward_channels_and_keeps_the_function() -> None:
    from vidscene.prune import prune_ff_channels

    torch.manual_seed(0)
    model = Tiny().eval()
    targets = find_targets(model)
    scores = SCORERS.create("attention-snip", model=model, targets=targets, batches=[batch()],
                            loss_fn=loss_fn)
    x, _ = batch(5)
    with torch.no_grad():
        before = model(x)
    # Keeping every channel changes nothing.
    assert prune_ff_channels(model, scores, 1.0) == 0
    with torch.no_grad():
        assert torch.allclose(model(x), before, atol=1e-5)
    params = sum(p.numel() for p in model.parameters())
    assert prune_ff_channels(model, scores, 0.5) == 16
    layer = model.blocks.layers[0]
    assert (layer.linear1.out_features, layer.linear2.in_features) == (16, 16)
    assert sum(p.numel() for p in model.parameters()) == params - 16 * (16 + 1 + 16)
    with torch.no_grad():
        assert model(x).shape == before.shape


def test_prune_spec_checks_its_choice() -> None:
    from vidscene.prune import PruneSpec

    assert PruneSpec().nm == (2, 4)
    with pytest.raises(ConfigError, match="exactly one"):
        PruneSpec(pattern="2:4", ff_keep=0.5)
    with pytest.raises(ConfigError, match="unknown pruning method"):
        PruneSpec(method="lottery")
    with pytest.raises(ConfigError, match="keep share"):
        PruneSpec(pattern=None, keep=1.5)


def test_structured_pruning_gives_a_smaller_model_that_saves_and_loads(tmp_path: Any) -> None:
    from vidscene.nn import create_model, load_model, save_model
    from vidscene.prune import PruneSpec, bake_all, prune_model

    model = create_model("shot-transformer", window=16, layers=2, d_model=32, heads=2, ff=64)
    frames = torch.randint(0, 255, (2, 16, 36, 64, 3), dtype=torch.uint8)

    def loss_fn(m: nn.Module, batch: Tensor) -> tuple[Tensor, Any]:
        out = m(batch)
        return out["start"].sigmoid().mean(), out

    section = prune_model(model, PruneSpec(pattern=None, ff_keep=0.25), [frames], loss_fn)
    assert section["channels_removed"] == 2 * 48 and model.config.ff == 16
    assert bake_all(model) == {}
    path = tmp_path / "small.safetensors"
    save_model(model, path, {"pruning": section})
    loaded, card = load_model(path)
    assert loaded.config.ff == 16 and card["pruning"]["ff_keep"] == 0.25
    model.eval()
    with torch.no_grad():
        assert torch.allclose(loaded(frames)["start"], model(frames)["start"], atol=1e-5)
