"""The model store: shipped models listed, immutable numbered versions, export, removal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from vidscene.cli import app
from vidscene.errors import ConfigError, NotFoundInStore
from vidscene.model_store import SHIPPED, ModelStore
from vidscene.nn import create_model, save_model
from vidscene.prune import save_packed


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "scene.safetensors"
    save_model(create_model("scene-transformer", encoder_channels=[8, 8], d_model=16, heads=2,
                            ff=16, layers=1, embed_dim=8, window=8),
               path, {"metrics": {"f1": 0.5}})
    return path


def test_shipped_models_are_listed_and_cannot_be_removed(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "store")
    shipped = [m for m in store.list() if m.version == SHIPPED]
    assert {m.name for m in shipped} >= {"shot-transformer-v1"}
    assert all(len(m.card["sha256"]) == 64 for m in shipped)
    with pytest.raises(ConfigError, match="ships with vidscene"):
        store.remove(f"{shipped[0].name}@{SHIPPED}")


def test_versions_are_numbered_immutable_and_carry_their_card(tmp_path: Path,
                                                              model_file: Path) -> None:
    store = ModelStore(tmp_path / "store")
    first = store.add(model_file, "scenes-small")
    second = store.add(model_file, "scenes-small", {"note": "again"})
    assert (first.version, second.version) == ("v1", "v2")
    assert store.get("scenes-small").ref == "scenes-small@v2"  # newest by default
    assert store.get("scenes-small@v1").card["architecture"] == "scene-transformer"
    assert store.get("scenes-small@v1").card["metrics"] == {"f1": 0.5}
    assert not (first.path.stat().st_mode & 0o222)  # read-only for everyone
    out = store.export("scenes-small@v1", tmp_path)
    assert out.read_bytes() == model_file.read_bytes()
    store.remove("scenes-small@v1")
    assert [m.ref for m in store.list() if m.name == "scenes-small"] == ["scenes-small@v2"]
    with pytest.raises(NotFoundInStore):
        store.get("scenes-small@v1")
    with pytest.raises(ConfigError, match="bad model name"):
        store.add(model_file, "a/b")


def test_pruned_files_can_be_stored(tmp_path: Path) -> None:
    path = tmp_path / "pruned.safetensors"
    save_packed({"w": torch.zeros(4, 8)}, path, {"w": (2, 4)},
                {"card": json.dumps({"sparsity": 0.5, "method": "attention-snip"})})
    m = ModelStore(tmp_path / "store").add(path, "mine")
    assert m.card["sparsity"] == 0.5 and m.card["method"] == "attention-snip"


def test_cli_models(tmp_path: Path, model_file: Path) -> None:
    runner = CliRunner()
    store = ["--store", str(tmp_path / "store")]
    r = runner.invoke(app, ["models", "import", str(model_file), "--name", "tiny", *store])
    assert r.exit_code == 0 and "stored tiny@v1" in r.output
    r = runner.invoke(app, ["models", "list", *store])
    assert r.exit_code == 0 and "tiny@v1" in r.output and "shot-transformer-v1" in r.output
    r = runner.invoke(app, ["models", "show", "tiny", *store])
    assert r.exit_code == 0 and json.loads(r.output)["architecture"] == "scene-transformer"
    r = runner.invoke(app, ["models", "export", "tiny@v1", "-o", str(tmp_path / "x.st"), *store])
    assert r.exit_code == 0 and (tmp_path / "x.st").is_file()
    r = runner.invoke(app, ["models", "remove", "tiny@v1", *store])
    assert r.exit_code == 0
    r = runner.invoke(app, ["models", "show", "tiny", *store])
    assert r.exit_code == 1 and "no model 'tiny'" in r.output


def test_references_resolve_to_files_and_files_to_versions(tmp_path: Path, model_file: Path
                                                           ) -> None:
    from vidscene.model_store import identify, load, resolve

    store = ModelStore(tmp_path / "store")
    stored = store.add(model_file, "scenes-small")
    assert resolve("scenes-small", store) == stored.path
    assert resolve("scenes-small@v1", store) == stored.path
    assert resolve(model_file, store) == model_file
    missing = tmp_path / "missing.safetensors"
    assert resolve(missing, store) == missing  # a path stays a path: its user says it is missing
    with pytest.raises(ConfigError, match="no such model file"):
        load(missing, store)
    with pytest.raises(NotFoundInStore):
        resolve("scenes-large", store)
    # The same bytes anywhere are recognised as the stored version.
    assert identify(model_file, store).startswith("scenes-small@v1 sha256:")
    shipped = next(m for m in store.list() if m.version == SHIPPED)
    assert identify(shipped.path, store).startswith(f"{shipped.name}@shipped sha256:")
    model, card, identity = load("scenes-small", store)
    assert card["metrics"] == {"f1": 0.5} and identity.startswith("scenes-small@v1")
    assert not model.training


class _StoredModelAttribute:
    """An attribute plugin measured by a model from the store (the documented pattern)."""

    name = "stored-embedding"
    description = "first component of a stored keyframe encoder's embedding"
    unit = "-1..1"

    def __init__(self, ref: str, store: ModelStore) -> None:
        from vidscene.model_store import load

        self.net, _card, self.model = load(ref, store)

    def measure(self, sample: object) -> float:
        rgb = torch.from_numpy(sample.tiny)[None]  # type: ignore[attr-defined]
        with torch.no_grad():
            return float(self.net.encoder(rgb)[0, 0])


def test_analyses_record_the_model_versions_that_produced_them(
        tmp_path: Path, model_file: Path, synthetic_video: object,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from vidscene.attributes import ATTRIBUTES, Attribute
    from vidscene.pipeline import AnalyzeSettings, analyze

    store = ModelStore(tmp_path / "store")
    monkeypatch.setenv("VIDSCENE_MODELS", str(store.root))
    store.add(model_file, "scenes-small")
    cls = type("StoredEmbedding", (_StoredModelAttribute, Attribute), {})
    monkeypatch.setitem(ATTRIBUTES._factories, "stored-embedding",
                        lambda: cls("scenes-small", store))
    path, _truth = synthetic_video("stored-models")  # type: ignore[operator]
    settings = AnalyzeSettings(detector="fast", scenes="osg",
                               attributes=("brightness", "stored-embedding"))
    result = analyze(path, settings)
    models = result.analysis.models
    assert models["attribute stored-embedding"].startswith("scenes-small@v1 sha256:")
    shots = result.analysis.shots
    assert all(-1.0 <= s.attributes["stored-embedding"] <= 1.0 for s in shots)
    # The learned stages name their weights the same way, shipped ones as @shipped.
    learned = analyze(path, AnalyzeSettings())
    assert "shot-transformer-v2@shipped sha256:" in learned.analysis.models["shots"]
    assert "scene-transformer-v3@shipped sha256:" in learned.analysis.models["scenes"]
