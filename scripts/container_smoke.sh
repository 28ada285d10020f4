#!/usr/bin/env bash
# Build the vidscene image offline with Podman and try it: analyse the demo video, run the
# same analysis on Ray inside the container laid out like compose.yaml (a head with no CPUs,
# a worker node, the CLI as a Ray Client with token auth), start `vidscene serve` and ask
# /healthz. Not part of CI: it
# takes minutes of CPU and needs root, podman, runc and mmdebstrap
# (apt-get install podman runc mmdebstrap).
#
#   scripts/container_smoke.sh [WORKDIR]        # default WORKDIR: /tmp/vidscene-smoke
#
# Offline on purpose: no registry is needed. The base image is made with mmdebstrap from a
# Debian mirror, the wheels come from wherever this machine's pip finds them (pip wheel),
# and the build itself runs with --network=none from that wheelhouse (Dockerfile
# WHEELHOUSE). Every container runs with --network=none. Podman here needs runc and explicit
# ulimits. Set SKIP_SERVE=1 to skip the server check.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/vidscene-smoke}
python=${PYTHON:-$repo/.venv/bin/python}
base_tag=localhost/vidscene-base:bookworm
image=localhost/vidscene:smoke
server=vidscene-smoke-serve
podman=(podman --runtime runc)
limits=(--ulimit nofile=1024:1024 --ulimit nproc=1024:1024)
# --no-healthcheck: podman schedules image healthchecks through systemd, absent here.
run=("${podman[@]}" run --rm --network=none --no-healthcheck "${limits[@]}")
ray_version=$(sed -n 's/^ARG RAY_VERSION=//p' "$repo/Dockerfile" | head -n 1)
torch_version=$(sed -n 's/^ARG TORCH_VERSION=//p' "$repo/Dockerfile" | head -n 1)
t0=$(date +%s)

step() { printf '\n== %s  [%ss]\n' "$*" "$(($(date +%s) - t0))"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
for tool in podman runc mmdebstrap git; do
    command -v "$tool" > /dev/null || fail "$tool not found (apt-get install podman runc mmdebstrap)"
done
mkdir -p "$work"

step "base image $base_tag (mmdebstrap bookworm + podman import)"
if ! "${podman[@]}" image exists "$base_tag"; then
    # passwd: useradd, which the apt variant lacks; wget: for old KubeRay probes.
    mmdebstrap --variant=apt --include=python3,python3-venv,ca-certificates,passwd,wget \
        bookworm "$work/rootfs.tar"
    "${podman[@]}" import --change 'CMD ["/bin/bash"]' "$work/rootfs.tar" "$base_tag"
    rm -f "$work/rootfs.tar"
fi

step "build context: the working tree's files (tracked and new, not ignored)"
context="$work/context"
rm -rf "$context"
mkdir -p "$context"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard \
    | tar --null --ignore-failed-read -T - -cf - 2> /dev/null) | tar -xf - -C "$context"

step "wheelhouse (pip wheel: torch $torch_version, ray $ray_version)"
# Kept between runs; the build takes only what it needs from it.
"$python" -m pip wheel --quiet --wheel-dir "$work/wheelhouse" \
    "torch==$torch_version" \
    "$context[server,ray,mongo]" "ray[default]==$ray_version" "setuptools>=68" wheel
rm -f "$work"/wheelhouse/vidscene-*.whl  # the image builds its own from the context
cp -al "$work/wheelhouse" "$context/wheelhouse" 2> /dev/null \
    || cp -a "$work/wheelhouse" "$context/wheelhouse"
du -sh "$context/wheelhouse"

step "podman build (offline: --network=none, WHEELHOUSE=wheelhouse)"
build_start=$(date +%s)
# --format docker keeps HEALTHCHECK (the OCI format has no such field).
"${podman[@]}" build --network=none "${limits[@]}" --format docker \
    --build-arg BASE="$base_tag" --build-arg WHEELHOUSE=wheelhouse --build-arg APT_PACKAGES= \
    -t "$image" -f "$context/Dockerfile" "$context"
echo "build took $(($(date +%s) - build_start)) s"
"${podman[@]}" image inspect "$image" --format 'size {{.Size}} bytes, user {{.Config.User}}'

step "image checks: user, login-shell PATH (KubeRay runs bash -l), Ray's dashboard deps"
"${run[@]}" "$image" bash -lc 'id -u; command -v vidscene ray python3; ray --version;
    python3 -c "import aiohttp, ray.dashboard, torch; print(\"torch\", torch.__version__)"'

step "vidscene analyze examples/demo.mp4 --json - (local executor)"
"${run[@]}" -v "$repo/examples:/media:ro" "$image" \
    vidscene analyze /media/demo.mp4 --db memory: --json - > "$work/demo.json"
"$python" - "$work/demo.json" << 'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["schema"].startswith("vidscene.analysis/"), doc.get("schema")
print(f"ok: {len(doc['shots'])} shots, {len(doc['scenes'])} scenes, "
      f"{doc['video']['duration']:.1f} s of video")
PY

step "the same on Ray, laid out like compose.yaml: a 0-CPU head, a worker node, the CLI as a Ray Client, token auth"
# All in one container (no container network here): the head with no CPUs, one worker node
# with two, and the driver connecting through the client server as the API does.
"${run[@]}" --shm-size=1g -v "$repo/examples:/media:ro" \
    -e RAY_AUTH_MODE=token -e RAY_AUTH_TOKEN=smoke-ray-token "$image" bash -c '
    set -e
    common="--object-store-memory=200000000 --disable-usage-stats"
    ray start --head --port=6379 --num-cpus=0 --ray-client-server-port=10001 \
        --include-dashboard=false $common > /tmp/head.log 2>&1 || { cat /tmp/head.log; exit 1; }
    # Two nodes on one address: give the second its own agent and worker ports.
    ray start --address=127.0.0.1:6379 --num-cpus=2 --dashboard-agent-listen-port=52366 \
        --min-worker-port=20000 --max-worker-port=29999 $common > /tmp/worker.log 2>&1 \
        || { cat /tmp/worker.log; exit 1; }
    vidscene analyze /media/demo.mp4 --executor ray --ray-address ray://127.0.0.1:10001 \
        --db memory: --json - > /tmp/ray.json
    python3 -c "import json; d = json.load(open(\"/tmp/ray.json\")); print(\"ok on Ray:\", len(d[\"shots\"]), \"shots,\", len(d[\"scenes\"]), \"scenes\")"
    ray stop > /dev/null'

if [ -n "${SKIP_SERVE:-}" ]; then
    echo "SKIP_SERVE set: server check not run"
elif ! "${run[@]}" "$image" vidscene serve --help > /dev/null 2>&1; then
    step "vidscene serve: not in this build of vidscene yet, server check NOT run"
else
    step "vidscene serve (the image's default command) and GET /healthz from inside"
    "${podman[@]}" rm -f "$server" > /dev/null 2>&1 || true
    # Its HEALTHCHECK is kept (run by hand below); podman's systemd timer for it may complain.
    "${podman[@]}" run -d --name "$server" --network=none "${limits[@]}" \
        -e VIDSCENE_ADMIN_TOKEN=smoke-admin-token -e VIDSCENE_WEBHOOK_SECRET=smoke-webhook \
        "$image" > /dev/null
    trap '"${podman[@]}" rm -f "$server" > /dev/null 2>&1 || true' EXIT
    healthy=
    for _ in $(seq 60); do
        if "${podman[@]}" exec "$server" python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3).read().decode())" 2> /dev/null; then
            healthy=1
            break
        fi
        sleep 2
    done
    if [ -z "$healthy" ]; then
        "${podman[@]}" logs "$server" | tail -n 30
        fail "/healthz did not answer within 120 s"
    fi
    "${podman[@]}" healthcheck run "$server" && echo "HEALTHCHECK: healthy" \
        || echo "HEALTHCHECK: podman healthcheck run failed (needs systemd here?)"
fi

step "all checks passed"
echo "remove with: podman rmi $image $base_tag; rm -rf $work"
