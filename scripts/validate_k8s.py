#!/usr/bin/env python3
"""Render vidscene's Kubernetes manifests and validate every object, offline.

    python scripts/validate_k8s.py                # every kustomization under deploy/k8s
    python scripts/validate_k8s.py PATH...        # kustomization folders or manifest files
    python scripts/validate_k8s.py --render DIR   # print what DIR renders to (YAML)

Nothing here needs a cluster, kubectl or kustomize:

* Rendering implements the small part of Kustomize the project's trees use: ``resources``
  (files, or folders holding a kustomization.yaml), ``namespace`` and ``patches`` given as
  ``path:`` to a strategic-merge patch of maps only. Any other field is an error rather than
  being ignored, so what is validated is what ``kubectl apply -k`` would send.
* Core kinds are validated with kubernetes-validate against a pinned Kubernetes version, in
  strict mode (unknown fields are errors). It passes kinds it has no schema for with only a
  warning; here such a kind is a problem unless a CRD below covers it.
* Custom resources (KubeRay's RayCluster, RayJob) are validated with jsonschema against the
  ``openAPIV3Schema`` of the CRDs in deploy/k8s/crds, after doing what kube-apiserver does
  first: drop nulls of fields that are not ``nullable``, then fill in ``default`` values.
  The OpenAPI schema is translated to JSON Schema: ``nullable`` allows null,
  ``x-kubernetes-int-or-string`` allows an integer or a string, objects reject unknown
  fields unless ``x-kubernetes-preserve-unknown-fields`` (the strict field validation of
  ``kubectl --validate=strict``), list types ``set`` and ``map`` reject duplicates, formats
  int32/int64 are range-checked. ``metadata`` is checked as an ObjectMeta.

Not covered, and said so in the output: the CRDs' CEL rules (``x-kubernetes-validations``),
the KubeRay operator's own checks, admission webhooks and policies, and whether referenced
Secrets, PVCs or images exist.

Exit status 0 when every object passes, 1 with one line per problem otherwise, 2 when the
tools themselves are missing or unusable.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import yaml

try:  # the C loader reads the 1-2 MB CRD files several times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

REPO = Path(__file__).resolve().parent.parent
K8S_DIR = REPO / "deploy" / "k8s"
CRD_DIR = K8S_DIR / "crds"
KUBERNETES_VERSION = "1.33"

# Kinds without a namespace that these trees might hold; Kustomize's namespace field leaves
# them alone.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass"}
KUSTOMIZATION_FIELDS = {"apiVersion", "kind", "namespace", "resources", "patches"}
NOT_COVERED = ("not checked offline: CEL rules of the CRDs (x-kubernetes-validations: {cel} in "
               "the CRDs used), the KubeRay operator's own checks, admission webhooks and "
               "policies, and whether referenced Secrets, volumes and images exist")


class RenderError(Exception):
    """A kustomization this renderer cannot render faithfully."""


# -- loading and rendering ------------------------------------------------------------------

def load_yaml(path: Path) -> list[Any]:
    """Every non-empty document of a YAML file, as plain JSON data.

    The JSON round trip copies what YAML anchors share (an alias is otherwise the same dict,
    and filling defaults into one object would change another) and turns what YAML reads as
    dates into the strings Kubernetes sees.
    """
    with path.open(encoding="utf-8") as f:
        docs = [d for d in yaml.load_all(f, Loader=_Loader) if d is not None]
    return json.loads(json.dumps(docs, default=str))


def render(directory: Path) -> list[dict[str, Any]]:
    """The objects ``kustomize build directory`` gives, for the subset described above."""
    kfile = directory / "kustomization.yaml"
    if not kfile.is_file():
        raise RenderError(f"{directory}: no kustomization.yaml")
    docs = load_yaml(kfile)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise RenderError(f"{kfile}: expected one mapping")
    kustomization = docs[0]
    unknown = sorted(set(kustomization) - KUSTOMIZATION_FIELDS)
    if unknown:
        raise RenderError(f"{kfile}: fields this renderer does not implement: "
                          f"{', '.join(unknown)} (render with kustomize, or avoid them)")
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources") or []:
        path = directory / entry
        if path.is_dir():
            objects += render(path)
        elif path.is_file():
            objects += load_yaml(path)
        else:
            raise RenderError(f"{kfile}: resource {entry!r} does not exist")
    for patch in kustomization.get("patches") or []:
        if not isinstance(patch, dict) or set(patch) != {"path"}:
            raise RenderError(f"{kfile}: only patches of the form {{path: FILE}} are "
                              f"implemented, not {patch!r}")
        for doc in load_yaml(directory / patch["path"]):
            apply_patch(objects, doc, f"{directory / patch['path']}")
    namespace = kustomization.get("namespace")
    if namespace:
        for obj in objects:
            if isinstance(obj, dict) and obj.get("kind") not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = namespace
    check_unique(objects, kfile)
    return objects


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0] if "/" in api_version else ""


def apply_patch(objects: list[dict[str, Any]], patch: dict[str, Any], source: str) -> None:
    """Merge a strategic-merge patch into the one object with its group, kind and name."""
    meta = patch.get("metadata") or {}
    targets = [o for o in objects
               if _group(o.get("apiVersion", "")) == _group(patch.get("apiVersion", ""))
               and o.get("kind") == patch.get("kind")
               and (o.get("metadata") or {}).get("name") == meta.get("name")
               and meta.get("namespace") in (None, (o.get("metadata") or {}).get("namespace"))]
    if len(targets) != 1:
        raise RenderError(f"{source}: patch for {patch.get('kind')}/{meta.get('name')} "
                          f"matches {len(targets)} objects, expected 1")
    _merge(targets[0], patch, source)


def _merge(target: dict[str, Any], patch: dict[str, Any], source: str) -> None:
    for key, value in patch.items():
        if value is None:  # the strategic-merge way to delete a field
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value, source)
        elif isinstance(value, list):
            # Real strategic merge merges some lists by key (containers by name, ...);
            # rather than imitate that per field, patches here must not touch lists.
            raise RenderError(f"{source}: patches with lists ({key}) are not implemented")
        else:
            target[key] = value


def check_unique(objects: list[dict[str, Any]], where: Path) -> None:
    seen: set[tuple[str, str, str, str]] = set()
    for obj in objects:
        meta = obj.get("metadata") or {} if isinstance(obj, dict) else {}
        key = (_group(obj.get("apiVersion", "")), obj.get("kind", ""),
               meta.get("namespace", ""), meta.get("name", ""))
        if key in seen:
            raise RenderError(f"{where}: {key[1]}/{key[3]} defined twice")
        seen.add(key)


def kustomizations(root: Path = K8S_DIR) -> list[Path]:
    """Every folder under root with a kustomization.yaml (the base, overlays, jobs)."""
    return sorted(p.parent for p in root.rglob("kustomization.yaml"))


# -- custom resources: the CRD schema, as the API server applies it ------------------------

def _translate(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI v3 structural schema (Kubernetes dialect) as JSON Schema (draft 4)."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: _translate(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties"
                                        and isinstance(value, dict)):
            out[key] = _translate(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [_translate(sub) for sub in value]
        elif key.startswith("x-kubernetes-") or key in ("nullable", "default", "description",
                                                        "example", "externalDocs"):
            continue  # handled below, or annotation only
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    is_object = schema.get("type") == "object" or "properties" in schema
    if (is_object and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        # The API server prunes fields a schema does not name; strict validation (what
        # `kubectl apply` asks for by default since 1.27) reports them as errors.
        out["additionalProperties"] = False
    if schema.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        for name in ("apiVersion", "kind"):
            props.setdefault(name, {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    list_type = schema.get("x-kubernetes-list-type")
    if list_type == "set":
        out["uniqueItems"] = True
    elif list_type == "map" and schema.get("x-kubernetes-list-map-keys"):
        out["x-unique-keys"] = schema["x-kubernetes-list-map-keys"]
    if schema.get("nullable"):
        if isinstance(out.get("type"), str) and "anyOf" not in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def prepare(value: Any, schema: dict[str, Any]) -> Any:
    """Drop nulls of non-nullable fields, then fill defaults (in place, like the API server).

    Only the structural parts (properties, items, additionalProperties) carry defaults; a
    default is applied where its parent object exists and the field is absent.
    """
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key in list(value):
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if value[key] is None and sub is not None and not sub.get("nullable"):
                del value[key]
        for key, sub in props.items():
            if key not in value and "default" in sub:
                value[key] = json.loads(json.dumps(sub["default"]))
        for key, item in value.items():
            sub = props.get(key, extra if isinstance(extra, dict) else None)
            if sub is not None:
                prepare(item, sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            prepare(item, schema["items"])
    return value


def _unique_keys(validator: Any, keys: list[str], instance: Any, schema: Any) -> Iterator[Any]:
    """x-kubernetes-list-type: map - no two items with the same key fields."""
    import jsonschema

    if not validator.is_type(instance, "array"):
        return
    seen: set[str] = set()
    for item in instance:
        if isinstance(item, dict):
            key = json.dumps([item.get(k) for k in keys])
            if key in seen:
                yield jsonschema.ValidationError(f"duplicate entry for key {keys}: {key}")
            seen.add(key)


@functools.cache
def _validator_class() -> Any:
    import jsonschema

    return jsonschema.validators.extend(jsonschema.Draft4Validator,
                                        {"x-unique-keys": _unique_keys})


@functools.cache
def _format_checker() -> Any:
    import jsonschema

    checker = jsonschema.FormatChecker(formats=())
    # Like the API server: an integer field declared int32/int64 must fit. Other formats
    # (date-time, byte, ...) are left unchecked, as jsonschema does without extra packages.
    for name, bits in (("int32", 32), ("int64", 64)):
        checker.checks(name)(functools.partial(_fits, bits=bits))
    return checker


def _fits(value: Any, bits: int) -> bool:
    if isinstance(value, bool) or not isinstance(value, int):
        return True  # formats only constrain the type they are written for
    return -(2 ** (bits - 1)) <= value < 2 ** (bits - 1)


class Crd:
    """One CustomResourceDefinition: its group, kind and the schema of each served version."""

    def __init__(self, path: Path) -> None:
        (crd,) = load_yaml(path)
        spec = crd["spec"]
        self.path, self.group, self.kind = path, spec["group"], spec["names"]["kind"]
        self.cel_rules = _count_cel(crd)
        self.raw: dict[str, dict[str, Any]] = {}
        self.validators: dict[str, Any] = {}
        for version in spec["versions"]:
            if not version.get("served", True):
                continue
            raw = version["schema"]["openAPIV3Schema"]
            schema = _translate(raw)
            # The object's own metadata is an ObjectMeta, checked separately (check_metadata).
            schema.setdefault("properties", {})["metadata"] = {"type": "object"}
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
            self.raw[version["name"]] = raw
            self.validators[version["name"]] = _validator_class()(
                schema, format_checker=_format_checker())

    def problems(self, obj: dict[str, Any]) -> list[tuple[str, str]]:
        version = obj["apiVersion"].rpartition("/")[2]
        if version not in self.validators:
            return [("apiVersion", f"{obj['apiVersion']} is not served by {self.path.name} "
                                   f"(served: {', '.join(sorted(self.validators))})")]
        obj = prepare(json.loads(json.dumps(obj)), self.raw[version])  # the caller's stays
        errors = self.validators[version].iter_errors(obj)
        return [(_path(e.absolute_path), e.message)
                for e in sorted(errors, key=lambda e: list(map(str, e.absolute_path)))]


def _count_cel(node: Any) -> int:
    if isinstance(node, dict):
        own = len(node.get("x-kubernetes-validations") or [])
        return own + sum(_count_cel(v) for v in node.values())
    if isinstance(node, list):
        return sum(_count_cel(v) for v in node)
    return 0


@functools.cache
def load_crds(directory: Path = CRD_DIR) -> dict[tuple[str, str], Crd]:
    crds = (Crd(p) for p in sorted(directory.glob("*.yaml")))
    return {(c.group, c.kind): c for c in crds}


# -- validation ----------------------------------------------------------------------------

def _path(parts: Iterable[Any]) -> str:
    return ".".join(str(p) for p in parts) or "(root)"


def _fatal(message: str) -> NoReturn:
    """The tools cannot check anything: status 2, not the 1 that means problems found."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _kubernetes_validate() -> Any:
    try:
        import kubernetes_validate
    except ImportError as e:
        _fatal(f"kubernetes-validate is not installed ({e}); pip install kubernetes-validate")
    return kubernetes_validate


def check_metadata(obj: dict[str, Any], version: str) -> list[tuple[str, str]]:
    """A custom resource's ObjectMeta, strictly (core kinds have it in their own schema)."""
    kv = _kubernetes_validate()
    try:  # kubernetes-validate knows ObjectMeta through the kinds that hold one
        kv.validate({"apiVersion": "v1", "kind": "ConfigMap", "metadata": obj["metadata"]},
                    version, strict=True)
    except kv.ValidationError as e:
        return [(_path(e.path), e.message)]  # the path starts at metadata
    return []


def validate_objects(objects: Iterable[Any], source: str, *,
                     version: str = KUBERNETES_VERSION,
                     crds: dict[tuple[str, str], Crd] | None = None) -> list[str]:
    """One line per problem: ``SOURCE: KIND/NAME: FIELD: MESSAGE``."""
    kv = _kubernetes_validate()
    crds = load_crds() if crds is None else crds
    problems = []
    for obj in objects:
        if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind"):
            problems.append(f"{source}: not a Kubernetes object (apiVersion and kind needed): "
                            f"{str(obj)[:80]}")
            continue
        meta = obj.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        where = f"{source}: {obj['kind']}/{name or '?'}"
        if not name:
            problems.append(f"{where}: metadata.name: missing (Kustomize and kubectl apply "
                            "need one)")
            continue
        crd = crds.get((_group(obj["apiVersion"]), obj["kind"]))
        if crd is not None:
            found = check_metadata(obj, version) + crd.problems(obj)
        else:
            found = _core_problems(kv, obj, version)
        problems += [f"{where}: {field}: {message}" for field, message in found]
    return problems


def _core_problems(kv: Any, obj: dict[str, Any], version: str) -> list[tuple[str, str]]:
    from kubernetes_validate.utils import VersionNotSupportedError

    try:
        kv.validate(obj, version, strict=True)
    except kv.ValidationError as e:
        return [(_path(e.path), e.message)]
    except (kv.SchemaNotFoundError, kv.InvalidSchemaError):
        # kubernetes-validate itself would only warn and pass this object.
        return [("kind", f"no validator covers {obj['kind']} in {obj['apiVersion']} (not a "
                         f"Kubernetes {version} kind, and no CRD for it in "
                         f"{CRD_DIR.relative_to(REPO)})")]
    except VersionNotSupportedError:
        _fatal(f"kubernetes-validate has no schemas for Kubernetes {version}")
    return []


def validate_path(path: Path, version: str = KUBERNETES_VERSION) -> tuple[int, list[str]]:
    """(objects checked, problems) for a kustomization folder or a plain manifest file."""
    source = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
    try:
        objects = render(path) if path.is_dir() else load_yaml(path)
    except (RenderError, OSError, yaml.YAMLError) as e:
        return 0, [f"{source}: cannot render: {' '.join(str(e).split())}"]
    return len(objects), validate_objects(objects, source, version=version)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", type=Path,
                        help="kustomization folders or manifest files (default: every "
                             "kustomization under deploy/k8s)")
    parser.add_argument("--kubernetes-version", default=KUBERNETES_VERSION,
                        help=f"the Kubernetes schemas to use (default {KUBERNETES_VERSION})")
    parser.add_argument("--render", type=Path, metavar="DIR",
                        help="print the objects DIR renders to, as YAML, and exit")
    args = parser.parse_args(argv)
    if args.render:
        try:
            yaml.safe_dump_all(render(args.render.resolve()), sys.stdout, sort_keys=False)
        except RenderError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        return 0
    paths = [p.resolve() for p in args.paths] or kustomizations()
    if not paths:
        print(f"error: no kustomization.yaml under {K8S_DIR}", file=sys.stderr)
        return 2
    total, problems = 0, []
    for path in paths:
        count, found = validate_path(path, args.kubernetes_version)
        total += count
        problems += found
    for line in problems:
        print(line)
    kv_version = getattr(_kubernetes_validate(), "__version__", "?")
    crds = load_crds()
    print(f"{total} objects in {len(paths)} tree{'s' * (len(paths) != 1)}: "
          f"{len(problems)} problem{'s' * (len(problems) != 1)} "
          f"(Kubernetes {args.kubernetes_version} via kubernetes-validate {kv_version}, strict; "
          f"{', '.join(sorted(k for _, k in crds))} via the CRDs in "
          f"{CRD_DIR.relative_to(REPO)})")
    print(NOT_COVERED.format(cel=sum(c.cel_rules for c in crds.values())))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
