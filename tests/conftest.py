"""Shared fixtures: small synthetic videos with known transitions, the dev clips, the demo.

Synthetic videos use procedural content only, so the suite needs nothing outside the
repository; they are small (160×90, 100–300 frames) and cached per name for the session.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from vidscene.train.synth import (
    PROCEDURAL_KINDS,
    GroundTruth,
    ProceduralSource,
    find_clips_dir,
    make_video,
)

REPO_ROOT = Path(__file__).resolve().parents[1]

SMALL_VIDEO: dict[str, Any] = {
    "n_shots": 7,
    "size": (160, 90),
    "shot_frames": (16, 40),
    "gradual_frames": (6, 12),
}
"""Defaults of ``synthetic_video``: 7 shots of 16–40 frames, so 112–280 frames in all."""

SyntheticVideo = Callable[..., tuple[Path, GroundTruth]]


@pytest.fixture(scope="session")
def synthetic_video(tmp_path_factory: pytest.TempPathFactory) -> SyntheticVideo:
    """``make(name, seed=0, **make_video_kwargs) -> (path, truth)``, built once per arguments.

    Defaults are :data:`SMALL_VIDEO` with one :class:`ProceduralSource` of each kind; any
    ``make_video`` keyword overrides them. The cache key is the name *and* the arguments, so
    tests in different files may reuse a name ("only-cut") with settings of their own.
    """
    root = tmp_path_factory.mktemp("synthetic")
    cache: dict[str, tuple[Path, GroundTruth]] = {}

    def make(name: str, seed: int = 0, **kwargs: Any) -> tuple[Path, GroundTruth]:
        key = f"{name}|{seed}|{sorted(kwargs.items())!r}"
        if key not in cache:
            digest = hashlib.sha1(key.encode()).hexdigest()[:8]
            options = {"sources": [ProceduralSource(k) for k in PROCEDURAL_KINDS],
                       **SMALL_VIDEO, **kwargs}
            path = root / f"{name}-{digest}.mp4"
            cache[key] = (path, make_video(path, seed=seed, **options))
        return cache[key]

    return make


@pytest.fixture(scope="session")
def clips_dir() -> Path:
    """The development clips (``../shared/data/clips`` or ``$VIDSCENE_CLIPS``); skips if absent."""
    found = find_clips_dir()
    if found is None:
        pytest.skip("development clips not found (set VIDSCENE_CLIPS or add ../shared/data/clips)")
    return found


@pytest.fixture(scope="session")
def demo_video() -> Path:
    """The bundled demo ``examples/demo.mp4`` (its truth is ``examples/demo.truth.json``)."""
    path = REPO_ROOT / "examples" / "demo.mp4"
    if not path.is_file():
        pytest.skip("examples/demo.mp4 not built (run scripts/make_demo.py)")
    return path


def write_audio_only(path: Path) -> Path:
    """A one-second AAC tone with no video stream (a file vidscene must refuse clearly)."""
    import av
    import numpy as np

    with av.open(str(path), "w") as c:
        stream = c.add_stream("aac", rate=16000)
        samples = (np.sin(2 * np.pi * 440 * np.arange(16000) / 16000) * 0.3).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    return path


@pytest.fixture
def audio_only_file(tmp_path: Path) -> Path:
    return write_audio_only(tmp_path / "tone.m4a")


def free_port() -> int:
    """A TCP port nothing listens on now, on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tool(name: str) -> str | None:
    """A console script of this environment (next to the interpreter) or on PATH."""
    return shutil.which(name, path=os.pathsep.join([str(Path(sys.executable).parent),
                                                    os.environ.get("PATH", "")]))


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MongoDB-wire server (SecantusDB) on a free loopback port for the session;
    stopped by its PID at the end. Yields ``mongodb://127.0.0.1:PORT``."""
    server = _tool("secantusd-py")
    try:
        import pymongo
    except ImportError:
        pymongo = None  # type: ignore[assignment]
    if server is None or pymongo is None:
        pytest.skip("SecantusDB or pymongo not installed (make test installs both)")
    root = tmp_path_factory.mktemp("secantus")
    port = free_port()
    log = (root / "server.log").open("wb")
    # Run in its own folder, so no secantusd.toml of the working directory is picked up.
    proc = subprocess.Popen([server, "--host", "127.0.0.1", "--port", str(port),
                             "--storage-path", str(root / "data"), "--log-level", "WARNING"],
                            cwd=root, stdout=log, stderr=subprocess.STDOUT)
    url = f"mongodb://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with pymongo.MongoClient(url, serverSelectionTimeoutMS=500) as client:
                    client.admin.command("ping")
                break
            except pymongo.errors.PyMongoError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("SecantusDB did not start: "
                                       + (root / "server.log").read_text()[-2000:]) from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def mongo_url(mongo_server: str) -> Iterator[str]:
    """A fresh database on the session's server (dropped afterwards)."""
    import pymongo

    name = f"t{uuid.uuid4().hex[:12]}"
    yield f"{mongo_server}/{name}"
    with pymongo.MongoClient(mongo_server, serverSelectionTimeoutMS=2000) as client:
        client.drop_database(name)


@pytest.fixture(params=["memory", "sqlite", "mongodb"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """An empty store of each backend (MongoDB: a real SecantusDB server)."""
    from vidscene.store import open_store

    location = {"memory": "memory:", "sqlite": str(tmp_path / "vidscene.db")}.get(
        request.param) or request.getfixturevalue("mongo_url")
    with open_store(location) as store:
        yield store
