# One image for every role: `vidscene serve` (the default command), `vidscene analyze`, and
# the Ray head and workers (`ray start ...`, which KubeRay runs in it), so every process of a
# cluster runs the same code.
#
#   docker build -t vidscene:0.1.0 .
#   docker build -t vidscene:0.1.0-cuda --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 .
#
# Build arguments:
#   BASE             the Python base image (Debian-like: python3 with venv, apt-get, useradd)
#   TORCH_VERSION    PyTorch, pinned like pyproject.toml (torch==2.13.0)
#   TORCH_INDEX_URL  where PyTorch comes from: the CPU build by default (an unpinned index
#                    would bring a multi-GB CUDA build); a CUDA index for GPU workers
#   RAY_VERSION      Ray; keep equal to rayVersion in deploy/k8s/base/raycluster.yaml
#   EXTRAS           vidscene's extras to install
#   WHEELHOUSE       offline build: a folder of wheels inside the build context; when set,
#                    nothing is downloaded (pip --no-index --find-links), see
#                    scripts/container_smoke.sh
#   APT_PACKAGES     Debian packages for the final image; wget is for KubeRay releases that
#                    probe Ray pods with it (newer ones use HTTP probes). Empty: no apt-get
#                    (offline builds)
# PyAV's wheels bundle FFmpeg, so no system FFmpeg is needed.

ARG BASE=python:3.11-slim-bookworm

# -- builder: every wheel the image needs, into /wheels ----------------------------------------
FROM ${BASE} AS builder
ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG RAY_VERSION=2.60.0
ARG EXTRAS=server,ray,mongo,attributes
ARG WHEELHOUSE=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python3 -m venv /opt/build
COPY . /src
WORKDIR /src
# Ray's "default" extra is added because the Ray head needs it: the dashboard (the job API
# RayJob submits through) and the KubeRay autoscaler; vidscene's own ray extra is the client.
RUN set -eu; \
    pip=/opt/build/bin/pip; \
    if [ -n "$WHEELHOUSE" ]; then \
        $pip wheel --no-index --find-links "/src/$WHEELHOUSE" --wheel-dir /wheels \
            "torch==$TORCH_VERSION" ".[$EXTRAS]" "ray[default]==$RAY_VERSION"; \
    else \
        $pip download --no-deps --dest /wheels --index-url "$TORCH_INDEX_URL" \
            "torch==$TORCH_VERSION"; \
        # Pin the exact build just downloaded (2.13.0+cpu): PyPI's 2.13.0 would also match.
        ls /wheels/torch-*.whl | sed -E 's|.*/torch-([^-]+)-.*|torch==\1|' > /tmp/torch.txt; \
        $pip wheel --find-links /wheels --constraint /tmp/torch.txt --wheel-dir /wheels \
            ".[$EXTRAS]" "ray[default]==$RAY_VERSION"; \
    fi; \
    ls /wheels

# -- the image: a slim base, a virtual environment installed from /wheels only ----------------
FROM ${BASE}
ARG RAY_VERSION=2.60.0
ARG EXTRAS=server,ray,mongo,attributes
ARG APT_PACKAGES=wget
LABEL org.opencontainers.image.title="vidscene" \
      org.opencontainers.image.description="Video shot and scene analysis: CLI, HTTP API, Ray workers" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore \
    RAY_USAGE_STATS_ENABLED=0
RUN set -eu; \
    if [ -n "$APT_PACKAGES" ]; then \
        apt-get update; \
        apt-get install -y --no-install-recommends $APT_PACKAGES; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    python3 -m venv /opt/venv; \
    useradd --uid 10001 --user-group --create-home --home-dir /home/vidscene \
        --shell /bin/bash vidscene; \
    # Named volumes copy their mount point's owner: /data must be the user's to be writable.
    mkdir -p /data /media; \
    chown vidscene:vidscene /data; \
    # KubeRay starts Ray with `bash -l`, and Debian's /etc/profile resets PATH: put the
    # virtual environment back for login shells.
    echo 'export PATH=/opt/venv/bin:$PATH' > /etc/profile.d/vidscene.sh
# Mounted from the builder rather than copied, so the wheels are not a layer of the image.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels "vidscene[$EXTRAS]" "ray[default]==$RAY_VERSION" \
    && vidscene --help > /dev/null

USER 10001:10001
WORKDIR /home/vidscene
EXPOSE 8000
# No curl in a slim image: ask with Python. Only meaningful for the serve command; compose
# gives the Ray services their own checks, Kubernetes ignores this and uses its probes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["vidscene", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data", "--media-root", "/media"]
