"""The deployment files: Kubernetes manifests (rendered and validated offline by
scripts/validate_k8s.py), the Dockerfile and compose.yaml.

The validator's checks are shown to fail where they should (unknown kinds and fields, wrong
types), not only to pass on the shipped manifests.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
K8S = REPO / "deploy" / "k8s"


def _load_validator() -> Any:
    spec = importlib.util.spec_from_file_location("validate_k8s", REPO / "scripts" /
                                                  "validate_k8s.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["validate_k8s"] = module
    spec.loader.exec_module(module)
    return module


vk = _load_validator()


@pytest.fixture(scope="module")
def base() -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in vk.render(K8S / "base")}


def problems(*objects: dict[str, Any]) -> list[str]:
    return vk.validate_objects([copy.deepcopy(o) for o in objects], "test")


def only_problem(found: list[str], *fragments: str) -> None:
    assert len(found) == 1, found
    for fragment in fragments:
        assert fragment in found[0], found


# -- the shipped manifests ------------------------------------------------------------------

def test_every_tree_renders_and_validates() -> None:
    trees = vk.kustomizations()
    names = {str(t.relative_to(K8S)) for t in trees}
    assert {"base", "overlays/trial", "overlays/production", "jobs"} <= names
    for tree in trees:
        count, found = vk.validate_path(tree)
        assert count > 0 and found == [], (tree, found)


def test_command_line_exit_status_and_notes(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "validate_k8s.py")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " 0 problems " in done.stdout
    assert "not checked offline: CEL rules" in done.stdout  # says what it does not cover
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n---\n"
                   "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: 1}\n")
    assert vk.main([str(bad)]) == 1


def test_the_kinds_shipped() -> None:
    kinds = {o["kind"] for t in vk.kustomizations() for o in vk.render(t)}
    assert {"Namespace", "Secret", "PersistentVolumeClaim", "Deployment", "Service",
            "RayCluster", "RayJob", "StatefulSet", "Ingress", "NetworkPolicy"} <= kinds


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl to compare with")
def test_render_matches_kubectl_kustomize() -> None:
    """The small renderer gives exactly what the real Kustomize gives, for every tree."""
    for tree in vk.kustomizations():
        done = subprocess.run(["kubectl", "kustomize", str(tree)], capture_output=True,
                              text=True, timeout=60)
        if done.returncode != 0:
            pytest.skip(f"kubectl kustomize failed here: {done.stderr.strip()[:200]}")
        theirs = [d for d in yaml.safe_load_all(done.stdout) if d]
        key = lambda o: (o["kind"], o["metadata"]["name"])  # noqa: E731
        assert sorted(vk.render(tree), key=key) == sorted(theirs, key=key), tree


def test_references_between_objects_resolve() -> None:
    """What no schema checks: names one object gives another (in every tree)."""
    for tree in vk.kustomizations():
        objects = vk.render(tree) + (vk.render(K8S / "base") if tree.name == "jobs" else [])
        secrets = {o["metadata"]["name"]: set(o.get("stringData", {})) | set(o.get("data", {}))
                   for o in objects if o["kind"] == "Secret"}
        claims = {o["metadata"]["name"] for o in objects if o["kind"] == "PersistentVolumeClaim"}
        text = json.dumps(objects)
        for ref in re.findall(r'"secretKeyRef": (\{[^}]*\})', text):
            ref = json.loads(ref)
            assert ref["key"] in secrets.get(ref["name"], set()), (tree, ref)
        for claim in re.findall(r'"claimName": "([^"]+)"', text):
            assert claim in claims, (tree, claim)
        clusters = [o for o in objects if o["kind"] == "RayCluster"]
        for cluster in clusters:
            assert cluster["spec"]["authOptions"]["secretName"] in secrets
        for job in (o for o in objects if o["kind"] == "RayJob"):
            selected = job["spec"]["clusterSelector"]["ray.io/cluster"]
            assert selected in {c["metadata"]["name"] for c in clusters}, tree
            # KubeRay pastes the entrypoint into a shell line: it must stay one plain command.
            assert not re.search(r"[$;&|`'\"<>]", job["spec"]["entrypoint"])


def test_api_talks_to_the_ray_head_service(base: dict[tuple[str, str], Any]) -> None:
    cluster = base[("RayCluster", "vidscene-ray")]
    api = base[("Deployment", "vidscene-api")]["spec"]["template"]["spec"]["containers"][0]
    head_ports = {p["name"]: p["containerPort"] for p in
                  cluster["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["ports"]}
    expected = f"--ray-address=ray://{cluster['metadata']['name']}-head-svc:{head_ports['client']}"
    assert expected in api["args"]
    probes = [api[p]["httpGet"]["path"] for p in ("readinessProbe", "livenessProbe")]
    assert probes == ["/healthz", "/healthz"]


def test_versions_agree_with_the_dockerfile(base: dict[tuple[str, str], Any]) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    ray = re.search(r"^ARG RAY_VERSION=(\S+)", dockerfile, re.M)
    torch = re.search(r"^ARG TORCH_VERSION=(\S+)", dockerfile, re.M)
    assert ray and torch
    assert base[("RayCluster", "vidscene-ray")]["spec"]["rayVersion"] == ray.group(1)
    assert f'"torch=={torch.group(1)}"' in (REPO / "pyproject.toml").read_text()


def test_vendored_crds_are_the_upstream_files() -> None:
    notice = (K8S / "crds" / "NOTICE.md").read_text()
    assert (K8S / "crds" / "LICENSE").read_text().lstrip().startswith("Apache License")
    for path in sorted((K8S / "crds").glob("*.yaml")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert f"`{path.name}`" in notice and digest in notice, path.name
        shared = REPO.parent / "shared" / "k8s" / "crds" / path.name
        if shared.is_file():  # where the shared copy is visible, it is the same file
            assert hashlib.sha256(shared.read_bytes()).hexdigest() == digest


# -- the validator fails where it should ----------------------------------------------------

def test_unknown_kind_fails() -> None:
    # kubernetes-validate alone would only warn about it and pass.
    only_problem(problems({"apiVersion": "example.com/v1", "kind": "Widget",
                           "metadata": {"name": "w"}}), "Widget/w", "no validator covers")
    # A real kind in an API version that no longer exists is no better.
    only_problem(problems({"apiVersion": "extensions/v1beta1", "kind": "Deployment",
                           "metadata": {"name": "d"}, "spec": {}}), "no validator covers")


def test_unknown_field_in_a_deployment_fails(base: dict[tuple[str, str], Any]) -> None:
    deployment = copy.deepcopy(base[("Deployment", "vidscene-api")])
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    only_problem(problems(deployment), "Deployment/vidscene-api",
                 "spec.template.spec.containers.0", "'imagePullPolicyy' was unexpected")


def test_wrong_types_fail(base: dict[tuple[str, str], Any]) -> None:
    deployment = copy.deepcopy(base[("Deployment", "vidscene-api")])
    deployment["spec"]["replicas"] = "1"
    only_problem(problems(deployment), "spec.replicas", "'1' is not of type 'integer'")
    cluster = copy.deepcopy(base[("RayCluster", "vidscene-ray")])
    cluster["spec"]["workerGroupSpecs"][0]["maxReplicas"] = "8"
    only_problem(problems(cluster), "spec.workerGroupSpecs.0.maxReplicas", "not of type")
    cluster = copy.deepcopy(base[("RayCluster", "vidscene-ray")])
    cluster["spec"]["headGroupSpec"]["rayStartParams"]["num-cpus"] = 0  # must be a string
    only_problem(problems(cluster), "rayStartParams.num-cpus")
    cluster = copy.deepcopy(base[("RayCluster", "vidscene-ray")])
    cluster["spec"]["workerGroupSpecs"][0]["maxReplicas"] = 2**31  # format int32
    only_problem(problems(cluster), "maxReplicas", "int32")
    cluster = copy.deepcopy(base[("RayCluster", "vidscene-ray")])
    cluster["spec"]["authOptions"]["mode"] = "tokens"
    only_problem(problems(cluster), "spec.authOptions.mode", "is not one of")


def test_unknown_fields_in_ray_resources_fail(base: dict[tuple[str, str], Any]) -> None:
    cluster = base[("RayCluster", "vidscene-ray")]
    top = copy.deepcopy(cluster)
    top["spec"]["enableInTreeAutoScaling"] = True  # the real one is enableInTreeAutoscaling
    only_problem(problems(top), "RayCluster/vidscene-ray: spec:",
                 "'enableInTreeAutoScaling' was unexpected")
    deep = copy.deepcopy(cluster)
    deep["spec"]["workerGroupSpecs"][0]["template"]["spec"]["containers"][0]["bogus"] = 1
    only_problem(problems(deep), "workerGroupSpecs.0.template.spec.containers.0", "'bogus'")
    meta = copy.deepcopy(cluster)
    meta["metadata"]["labls"] = {}
    only_problem(problems(meta), "metadata", "'labls' was unexpected")
    job = copy.deepcopy(vk.render(K8S / "jobs")[0])
    job["spec"]["entryPoint"] = "x"
    only_problem(problems(job), "RayJob/", "'entryPoint' was unexpected")


def test_nulls_and_defaults_as_the_api_server_does(base: dict[tuple[str, str], Any]) -> None:
    cluster = copy.deepcopy(base[("RayCluster", "vidscene-ray")])
    cluster["status"] = {"lastUpdateTime": None}  # nullable: true
    assert problems(cluster) == []
    cluster["status"] = {"lastUpdateTime": 5}
    only_problem(problems(cluster), "status.lastUpdateTime")
    # minReplicas/maxReplicas are required, and defaulted: absent or null, they pass.
    cluster = copy.deepcopy(base[("RayCluster", "vidscene-ray")])
    group = cluster["spec"]["workerGroupSpecs"][0]
    del group["minReplicas"]
    group["maxReplicas"] = None
    assert problems(cluster) == []
    crd = vk.load_crds()[("ray.io", "RayCluster")]
    prepared = crd.raw["v1"]
    assert vk.prepare(copy.deepcopy(cluster), prepared)["spec"]["workerGroupSpecs"][0][
        "minReplicas"] == 0
    # Without the defaults the same object would fail: that is why they are filled in.
    assert any("'minReplicas' is a required property" in e.message
               for e in crd.validators["v1"].iter_errors(cluster))


def test_int_or_string_and_list_maps(base: dict[tuple[str, str], Any]) -> None:
    cluster = base[("RayCluster", "vidscene-ray")]
    head = ("spec", "headGroupSpec", "template", "spec", "containers", 0)

    def edit(change: Any) -> dict[str, Any]:
        copied = copy.deepcopy(cluster)
        node = copied
        for part in head:
            node = node[part]
        change(node)
        return copied

    assert problems(edit(lambda c: c["resources"]["limits"].update(cpu=2))) == []
    only_problem(problems(edit(lambda c: c["resources"]["limits"].update(cpu=True))),
                 "resources.limits.cpu")
    # ports is a list-type map keyed by containerPort and protocol (protocol defaults to TCP).
    duplicate = edit(lambda c: c["ports"].append({"name": "again", "containerPort": 6379}))
    only_problem(problems(duplicate), "ports", "duplicate entry")


def test_schema_translation() -> None:
    validator = vk._validator_class()

    def ok(schema: dict[str, Any], value: Any) -> bool:
        return validator(vk._translate(schema), format_checker=vk._format_checker()).is_valid(
            value)

    closed = {"type": "object", "properties": {"a": {"type": "string"}}}
    assert ok(closed, {"a": "x"}) and not ok(closed, {"a": "x", "b": 1})
    assert not ok({"type": "object"}, {"b": 1})  # no properties named: all pruned, strict
    preserved = {**closed, "x-kubernetes-preserve-unknown-fields": True}
    assert ok(preserved, {"a": "x", "b": 1})
    nullable_enum = {"type": "string", "enum": ["a"], "nullable": True}
    assert ok(nullable_enum, None) and ok(nullable_enum, "a") and not ok(nullable_enum, "b")
    assert not ok({"type": "string"}, None)
    int_or_string = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"},
                                                                   {"type": "string"}]}
    assert ok(int_or_string, 1) and ok(int_or_string, "1") and not ok(int_or_string, 1.5)
    assert ok({"x-kubernetes-int-or-string": True, "nullable": True}, None)
    assert not ok({"type": "array", "x-kubernetes-list-type": "set"}, [1, 1])


def test_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
                                      "data: {a: b}\n")
    kustomization = tmp_path / "kustomization.yaml"
    kustomization.write_text("resources: [cm.yaml]\nimages: [{name: x, newTag: y}]\n")
    with pytest.raises(vk.RenderError, match="images"):
        vk.render(tmp_path)
    (tmp_path / "patch.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n"
                                         "metadata: {name: c}\ndata: {a: [1]}\n")
    kustomization.write_text("resources: [cm.yaml]\npatches: [{path: patch.yaml}]\n")
    with pytest.raises(vk.RenderError, match="lists"):
        vk.render(tmp_path)
    (tmp_path / "patch.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n"
                                         "metadata: {name: other}\ndata: {a: c}\n")
    with pytest.raises(vk.RenderError, match="matches 0 objects"):
        vk.render(tmp_path)
    (tmp_path / "patch.yaml").write_text("apiVersion: v1\nkind: ConfigMap\n"
                                         "metadata: {name: c}\ndata: {a: c, d: e}\n")
    kustomization.write_text("namespace: n\nresources: [cm.yaml]\n"
                             "patches: [{path: patch.yaml}]\n")
    assert vk.render(tmp_path) == [{"apiVersion": "v1", "kind": "ConfigMap", "data":
                                    {"a": "c", "d": "e"},
                                    "metadata": {"name": "c", "namespace": "n"}}]


def test_secrets_are_marked_as_examples() -> None:
    for doc in vk.load_yaml(K8S / "base" / "secrets.yaml"):
        assert all("REPLACE-ME" in v for v in doc["stringData"].values()), doc["metadata"]


# -- the image and compose ------------------------------------------------------------------

def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", re.sub(r"(?m)^\s*#.*\n", "", dockerfile))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1])
            for line in joined.splitlines() if line.strip()]


def test_dockerfile() -> None:
    steps = _instructions((REPO / "Dockerfile").read_text())
    froms = [args for op, args in steps if op == "FROM"]
    assert steps[0] == ("ARG", "BASE=python:3.11-slim-bookworm")  # before any FROM
    assert len(froms) == 2 and froms[0] == "${BASE} AS builder" and froms[1] == "${BASE}"
    final = steps[[i for i, (op, _) in enumerate(steps) if op == "FROM"][-1]:]
    users = [args for op, args in final if op == "USER"]
    assert users and users[-1].split(":")[0] == "10001"  # numeric: runAsNonRoot can check it
    assert any(op == "HEALTHCHECK" and "/healthz" in args and "python3" in args
               for op, args in final)
    assert ("EXPOSE", "8000") in final
    cmd = json.loads(next(args for op, args in final if op == "CMD"))
    assert cmd[:2] == ["vidscene", "serve"] and "--data-dir" in cmd and "--media-root" in cmd
    installs = [args for op, args in final if op == "RUN" and "pip install" in args]
    assert installs and all("--no-index" in args for args in installs)
    builder = " ".join(args for op, args in steps[:len(steps) - len(final)])
    assert "TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in builder
    assert "WHEELHOUSE" in builder and "--find-links" in builder


def test_dockerignore() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".git", ".venv", "bench/out", "demo-output", "deploy/compose/*.env"} <= ignored


def test_compose() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"api", "ray-head", "ray-worker", "mongo"}
    api, head, worker = services["api"], services["ray-head"], services["ray-worker"]
    assert api["ports"] == ["127.0.0.1:8000:8000"]
    assert "ray://ray-head:10001" in api["command"] and "serve" in api["command"]
    assert "--no-auth" not in api["command"]
    assert services["mongo"]["image"].startswith("mongo:8")
    assert worker["deploy"]["replicas"] >= 1 and "--address=ray-head:6379" in worker["command"]
    assert "--head" in head["command"] and "--num-cpus=0" in head["command"]
    for name in ("api", "ray-head", "ray-worker"):
        service = services[name]
        assert service["image"] == api["image"]
        assert service["environment"]["RAY_AUTH_MODE"] == "token"
        assert service["environment"]["RAY_USAGE_STATS_ENABLED"] == "0"
        assert "${VIDSCENE_MEDIA:-./media}:/media:ro" in service["volumes"]
        for env_file in service["env_file"]:  # each has its committed example
            assert (REPO / f"{env_file}.example").is_file(), env_file
    assert "data:/data" in api["volumes"] and "data:/data:ro" in worker["volumes"]
    examples = (REPO / "deploy" / "compose").glob("*.env.example")
    keys = {line.split("=")[0] for f in examples for line in f.read_text().splitlines()
            if line and not line.startswith("#")}
    assert {"VIDSCENE_DB", "VIDSCENE_ADMIN_TOKEN", "VIDSCENE_WEBHOOK_SECRET",
            "RAY_AUTH_TOKEN"} <= keys
