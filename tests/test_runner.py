"""Job records through the command line, on the local executor: every input ends with a final
record, stored analyses are reused, two submitters make one analysis, cancel, retry, resume
after a killed run, and the store errors that stop a run before it starts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import _tool, free_port

VIDSCENE = [sys.executable, "-m", "vidscene.cli"]


def vidscene(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VIDSCENE, *args], capture_output=True, text=True, timeout=timeout)


def _jobs(db: Path | str) -> list[dict[str, Any]]:
    r = vidscene("jobs", "list", "--db", str(db), "--json", "--limit", "100")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return int(conn.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def _wait(condition: Any, proc: subprocess.Popen[Any], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the command ended first ({proc.returncode})"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_every_input_ends_with_a_final_record(synthetic_video, tmp_path: Path) -> None:
    good, _ = synthetic_video("runner", seed=70, n_shots=4)
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    db = tmp_path / "s.db"
    r = vidscene("analyze", str(good), str(bad), str(tmp_path / "missing.mp4"), "--db", str(db),
                 "-q")
    assert r.returncode == 1
    jobs = {Path(j["path"]).name: j for j in _jobs(db)}
    assert jobs[good.name]["state"] == "done" and jobs[good.name]["analysis_id"]
    assert jobs[good.name]["worker"] and jobs[good.name]["node"] == "local"
    assert jobs[good.name]["progress"]["frames_done"] == jobs[good.name]["frames_total"] > 0
    for name in ("notes.mp4", "missing.mp4"):
        assert jobs[name]["state"] == "failed"
        assert f"error: {jobs[name]['error']}" in r.stderr.splitlines()
    # The same file again: a new job, done at once, pointing at the stored analysis.
    again = vidscene("analyze", str(good), "--db", str(db), "-q")
    assert again.returncode == 0
    latest = _jobs(db)[0]
    assert latest["reused"] and latest["analysis_id"] == jobs[good.name]["analysis_id"]
    failed = vidscene("jobs", "list", "--state", "failed", "--db", str(db), "--json")
    assert len(json.loads(failed.stdout)) == 2
    shown = vidscene("jobs", "show", latest["id"][:8], "--db", str(db))
    assert shown.returncode == 0 and "reused" in shown.stdout
    assert vidscene("jobs", "list", "--state", "asleep", "--db", str(db)).returncode == 2
    assert vidscene("jobs", "show", "0000", "--db", str(db)).returncode == 1


def test_two_submitters_at_once_make_one_analysis(demo_video: Path, tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    video = tmp_path / "film.mp4"
    shutil.copy(demo_video, video)
    procs = [subprocess.Popen([*VIDSCENE, "analyze", str(video), "--db", str(db), "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    assert _count(db, "SELECT count(*) FROM analyses") == 1
    jobs = _jobs(db)
    assert all(j["state"] == "done" for j in jobs)
    assert len([j for j in jobs if not j["reused"]]) == 1  # analysed once


def test_a_running_job_is_cancelled_from_another_process_and_retried(demo_video: Path,
                                                         tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    proc = subprocess.Popen([*VIDSCENE, "analyze", str(demo_video), "--db", str(db), "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait(lambda: _count(db, "SELECT count(*) FROM jobs WHERE state = 'running'") == 1, proc)
    [job] = _jobs(db)
    cancel = vidscene("jobs", "cancel", job["id"][:10], "--db", str(db))
    assert cancel.returncode == 0, cancel.stderr
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "cancelled" in stderr
    [job] = _jobs(db)
    assert job["state"] == "cancelled" and job["analysis_id"] is None
    assert _count(db, "SELECT count(*) FROM analyses") == 0
    assert vidscene("jobs", "cancel", job["id"], "--db", str(db)).returncode == 1
    # A cancelled job runs again, the same job with one more attempt.
    r = vidscene("jobs", "retry", job["id"][:8], "--db", str(db))
    assert r.returncode == 0, r.stderr
    [again] = _jobs(db)
    assert again["id"] == job["id"] and again["state"] == "done"
    assert again["attempts"] == job["attempts"] + 1 and again["error"] is None
    assert _count(db, "SELECT count(*) FROM analyses") == 1


def test_a_job_without_a_readable_video_is_not_retried(tmp_path: Path) -> None:
    path = tmp_path / "late.mp4"
    path.write_bytes(b"\x00" * 100)
    db = tmp_path / "r.db"
    assert vidscene("analyze", str(path), "--db", str(db), "-q").returncode == 1
    [failed] = _jobs(db)
    assert failed["state"] == "failed" and failed["key"] is None
    r = vidscene("jobs", "retry", failed["id"], "--db", str(db))
    assert r.returncode == 1 and "no readable video" in r.stderr


def test_resume_continues_a_killed_run(synthetic_video, tmp_path: Path) -> None:
    videos = [synthetic_video("runner-resume", seed=80 + i, n_shots=10,
                              shot_frames=(40, 60))[0] for i in range(3)]
    db = tmp_path / "k.db"
    proc = subprocess.Popen([*VIDSCENE, "analyze", *map(str, videos), "--db", str(db), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait(lambda: _count(db, "SELECT count(*) FROM jobs WHERE state = 'done'") >= 1, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = [j for j in _jobs(db) if j["state"] in ("queued", "running")]
    assert left
    r = vidscene("analyze", "--resume", "--db", str(db), "-q")
    assert r.returncode == 0, r.stderr
    jobs = _jobs(db)
    assert len(jobs) == 3 and all(j["state"] == "done" for j in jobs)
    assert {j["id"] for j in left} <= {j["id"] for j in jobs if j["attempts"] >= 1}
    assert _count(db, "SELECT count(*) FROM analyses") == 3


def test_a_database_that_cannot_be_used_stops_the_run_before_it_starts(
        demo_video: Path, tmp_path: Path) -> None:
    r = vidscene("analyze", str(demo_video), "--db", f"mongodb://127.0.0.1:{free_port()}/vs",
                 timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error: mongodb://127.0.0.1:")
    assert "cannot reach the MongoDB server" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    server = _tool("secantusd-py")
    if server is None:
        pytest.skip("SecantusDB not installed")
    port = free_port()
    proc = subprocess.Popen([server, "--host", "127.0.0.1", "--port", str(port),
                             "--storage-path", str(tmp_path / "auth"), "--auth",
                             "--log-level", "ERROR"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            r = vidscene("analyze", str(demo_video), "--db",
                         f"mongodb://eve:guess@127.0.0.1:{port}/vs", timeout=60)
            if "refused the credentials" in r.stderr or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.returncode == 2, r.stderr
        assert "refused the credentials" in r.stderr and "guess" not in r.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_search_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    db = str(tmp_path / "q.db")
    for args in (["durations > 1"], ["duration >"], ["x", "--shots", "--scenes"],
                 ["", "--sort", "-nothing"]):
        r = vidscene("search", *args, "--db", db)
        assert r.returncode == 2, args
        assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    r = vidscene("search", "", "--db", db, "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == []
