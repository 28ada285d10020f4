"""The Ray executor against a real two-node Ray cluster on loopback, through the command line:
the same analyses as the local executor, job records and search in MongoDB, a killed worker
node, a killed driver, bad input, an unreachable cluster."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import free_port
from ray_cluster import RayCluster, env, loopback_only, ray_available

pytestmark = [
    pytest.mark.skipif(not ray_available(), reason="Ray not installed (make test installs it)"),
    pytest.mark.skipif(not loopback_only(), reason="Ray binds every interface: run the suite "
                       "in a loopback-only network namespace (make test does)"),
]

VIDSCENE = [sys.executable, "-m", "vidscene.cli"]
BATCH_VIDEO: dict[str, Any] = {"n_shots": 8, "shot_frames": (30, 50), "gradual_frames": (6, 14)}
"""About 12 s each at 160×90: with 3 s chunks, four chunks a video."""


def vidscene(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VIDSCENE, *args], capture_output=True, text=True, env=env(),
                          timeout=timeout)


def _doc(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    doc.pop("timing")
    return doc


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    c = RayCluster(free_port(), workers=1)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def batch(synthetic_video) -> list[Path]:
    return [synthetic_video("ray-batch", seed=40 + i, **BATCH_VIDEO)[0] for i in range(5)]


def test_cluster_and_mongodb_give_the_local_analysis(cluster: RayCluster, mongo_url: str,
                                                     demo_video: Path, batch: list[Path],
                                                     tmp_path: Path) -> None:
    videos = [str(demo_video), str(batch[0])]
    r = vidscene("analyze", *videos, "--executor", "ray", "--ray-address", cluster.address,
                 "--db", mongo_url, "--json", str(tmp_path / "ray" / "{stem}.json"),
                 "--chunk-seconds", "3", "-q")
    assert r.returncode == 0, r.stderr
    local = vidscene("analyze", *videos, "--db", str(tmp_path / "local.sqlite"), "--json",
                     str(tmp_path / "local" / "{stem}.json"), "-q")
    assert local.returncode == 0, local.stderr
    for video in videos:
        stem = Path(video).stem
        assert _doc(tmp_path / "ray" / f"{stem}.json") == \
            _doc(tmp_path / "local" / f"{stem}.json")

    jobs = json.loads(vidscene("jobs", "list", "--db", mongo_url, "--json").stdout)
    assert sorted(j["path"] for j in jobs) == sorted(videos)
    assert all(j["state"] == "done" and j["analysis_id"] and j["chunks"] >= 1 for j in jobs)
    assert max(j["chunks"] for j in jobs) >= 4  # the long one was split
    assert all(j["streams"] and j["worker"] for j in jobs)
    found = json.loads(vidscene("search", "duration > 5", "--db", mongo_url, "--json").stdout)
    assert sorted(v["path"] for v in found) == sorted(videos)
    shots = json.loads(vidscene("search", "start_time >= 0", "--shots", "--db", mongo_url,
                                "--json", "--limit", "500").stdout)
    demo = _doc(tmp_path / "ray" / f"{demo_video.stem}.json")
    assert len([s for s in shots if s["path"] == str(demo_video)]) == len(demo["shots"])


def test_a_killed_worker_node_loses_and_duplicates_nothing(batch: list[Path],
                                                           tmp_path: Path) -> None:
    own = RayCluster(free_port(), workers=1)
    db = tmp_path / "fault.sqlite"
    try:
        driver = subprocess.Popen([*VIDSCENE, "analyze", *map(str, batch), "--executor", "ray",
                                   "--ray-address", own.address, "--db", str(db),
                                   "--chunk-seconds", "3", "-q"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  env=env())
        # Kill the second node while its actor is analysing a chunk (with more queued).
        _wait_for(lambda: own.running(1, "StageActor.run"), driver, timeout=180)
        own.kill_raylet(1)
        _, stderr = driver.communicate(timeout=300)
        assert driver.returncode == 0, stderr
    finally:
        own.stop()
    jobs = _jobs(db)
    assert len(jobs) == len(batch) and all(j["state"] == "done" for j in jobs)
    assert sum(j["retries"] for j in jobs) >= 1  # the node's pieces went elsewhere
    analyses = _rows(db, "SELECT sha256, json FROM analyses")
    assert len(analyses) == len(batch) == len({sha for sha, _ in analyses})
    local = vidscene("analyze", *map(str, batch), "--db", str(tmp_path / "local.sqlite"),
                     "--json", str(tmp_path / "local" / "{stem}.json"), "-q")
    assert local.returncode == 0
    by_path = {json.loads(text)["video"]["path"]: json.loads(text) for _, text in analyses}
    for video in batch:
        doc = by_path[str(video)]
        doc.pop("timing")
        assert doc == _doc(tmp_path / "local" / f"{video.stem}.json")


def test_a_killed_driver_is_continued_by_the_same_command(cluster: RayCluster,
                                                          batch: list[Path],
                                                          tmp_path: Path) -> None:
    db = tmp_path / "resume.sqlite"
    command = ["analyze", *map(str, batch), "--executor", "ray", "--ray-address",
               cluster.address, "--db", str(db), "--chunk-seconds", "3", "--max-streams", "1",
               "-q"]  # one worker: the videos finish one after another
    driver = subprocess.Popen([*VIDSCENE, *command], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=env())
    _wait_for(lambda: _count(db, "SELECT count(*) FROM jobs WHERE state = 'done'") >= 1,
              driver, timeout=180)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait()
    first = {j["path"]: j for j in _jobs(db)}
    finished = {p for p, j in first.items() if j["state"] == "done"}
    interrupted = {p for p, j in first.items() if j["state"] in ("queued", "running")}
    assert finished and interrupted
    stored_before = dict(_rows(db, "SELECT path, created FROM analyses"))

    again = vidscene(*command)
    assert again.returncode == 0, again.stderr
    jobs = _jobs(db)
    assert not [j for j in jobs if j["state"] in ("queued", "running")]
    latest = {}
    for j in sorted(jobs, key=lambda j: j["created"]):
        latest[j["path"]] = j
    assert set(latest) == {str(v) for v in batch}
    assert all(j["state"] == "done" for j in latest.values())
    for path in finished:  # not redone: the stored analysis is reused, untouched
        assert latest[path]["reused"] is True
        assert dict(_rows(db, "SELECT path, created FROM analyses"))[path] == \
            stored_before[path]
    for path in interrupted:  # the same job, taken over and run again from its start
        assert latest[path]["id"] == first[path]["id"]
        assert latest[path]["attempts"] == first[path]["attempts"] + 1
    assert _count(db, "SELECT count(*) FROM analyses") == len(batch)


def test_a_bad_file_fails_its_own_job_only(cluster: RayCluster, batch: list[Path],
                                           tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(4000))
    db = tmp_path / "bad.sqlite"
    r = vidscene("analyze", str(bad), str(batch[1]), "--executor", "ray", "--ray-address",
                 cluster.address, "--db", str(db), "-q")
    local = vidscene("analyze", str(bad), "--db", str(tmp_path / "l.sqlite"), "-q")
    assert r.returncode == 1 and local.returncode == 1
    reason = [line for line in local.stderr.splitlines() if line.startswith("error:")]
    assert reason and reason[0] in r.stderr.splitlines()
    assert "Traceback" not in r.stderr
    states = {Path(j["path"]).name: (j["state"], j["error"]) for j in _jobs(db)}
    assert states[batch[1].name][0] == "done"
    assert states["broken.mp4"][0] == "failed" and states["broken.mp4"][1] in reason[0]


def test_an_unreachable_cluster_is_one_line_and_writes_nothing(tmp_path: Path,
                                                               demo_video: Path) -> None:
    db = tmp_path / "never.sqlite"
    r = vidscene("analyze", str(demo_video), "--executor", "ray", "--ray-address",
                 f"127.0.0.1:{free_port()}", "--db", str(db), timeout=60)
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("error: cannot reach the Ray cluster at 127.0.0.1:")
    assert "Traceback" not in r.stderr
    assert not db.exists()


# -- helpers -----------------------------------------------------------------------------------


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # tables not made yet
            return []


def _count(db: Path, sql: str) -> int:
    rows = _rows(db, sql)
    return int(rows[0][0]) if rows else 0


def _jobs(db: Path) -> list[dict[str, Any]]:
    return [json.loads(text) for (text,) in _rows(db, "SELECT json FROM jobs")]


def _wait_for(condition: Any, proc: subprocess.Popen[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the command ended first (exit code {proc.returncode})")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("timed out")
        time.sleep(0.3)
