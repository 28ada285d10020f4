"""Job records: atomic states, one active job per file and settings, leases and take-over;
the same contract on every backend."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from vidscene.errors import StoreError
from vidscene.store import Job, JobNotFound, new_job, open_store, this_process
from vidscene.store._jobs import LEASE_SECONDS, owner_alive

KEY = "a" * 64 + ":0123456789abcdef"


def _job(key: str | None = KEY, path: str = "/v/a.mp4", **changes: object) -> Job:
    return replace(new_job(path, key, {"detector": "fast"}, "local"), **changes)


def _dead_owner() -> str:
    """The owner name of a process of this machine that has exited."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    host = this_process().split(":")[0]
    return f"{host}:{proc.stdout.strip()}:deadbeef"


def test_a_claimed_job_runs_to_done(any_store) -> None:
    jobs = any_store.jobs
    job, mine = jobs.claim(_job())
    assert mine and job.state == "queued" and job.owner == this_process()
    running = jobs.start(job, worker="host:1")
    assert running is not None and running.state == "running" and running.attempts == 1
    assert running.started and running.worker == "host:1"
    progressed = jobs.update(running, frames_done=50, frames_total=100, seconds_done=2.0)
    assert progressed is not None and progressed.progress["frames_done"] == 50
    done = jobs.finish(progressed, "done", analysis_id="f" * 32)
    assert done is not None and done.state == "done" and done.finished
    again = jobs.get(job.id[:10])
    assert again.state == "done" and again.analysis_id == "f" * 32
    assert again.to_dict()["progress"] == {"frames_done": 50, "frames_total": 100,
                                           "seconds_done": 2.0, "seconds_total": 0.0}
    # A final job cannot be moved on by its old owner.
    assert jobs.update(done, frames_done=99) is None
    assert jobs.finish(done, "failed", error="late") is None
    assert jobs.get(job.id).state == "done"


def test_one_active_job_per_key(any_store) -> None:
    jobs = any_store.jobs
    first, mine = jobs.claim(_job())
    assert mine
    other, mine = jobs.claim(_job(owner="elsewhere:1:x"))
    assert not mine and other.id == first.id  # a live job holds the key: follow it
    assert jobs.claim(_job(key="b" * 64 + ":k"))[1]  # another key is free
    jobs.finish(first, "failed", error="boom")
    fresh, mine = jobs.claim(_job())
    assert mine and fresh.id != first.id  # a final job releases the key
    assert [j.state for j in jobs.list()] == ["queued", "queued", "failed"]


def test_a_dead_owners_job_is_taken_over(any_store) -> None:
    jobs = any_store.jobs
    dead, _ = jobs.claim(_job(owner=_dead_owner()))
    jobs.start(dead)
    assert jobs.unfinished()[0].id == dead.id
    taken, mine = jobs.claim(_job())
    assert mine and taken.id == dead.id and taken.owner == this_process()
    assert taken.state == "queued" and taken.attempts == 1
    assert jobs.unfinished() == []
    # Elsewhere (another host): trusted until its lease runs out.
    far = _job(key="c" * 64 + ":k", owner="far-away-host:1:x")
    held, _ = jobs.claim(far)
    assert not jobs.claim(_job(key=far.key))[1]
    jobs.update(held, lease_until=time.time() - 1)
    assert jobs.claim(_job(key=far.key))[1]


def test_cancel_wins_over_a_late_finish(any_store) -> None:
    jobs = any_store.jobs
    job, _ = jobs.claim(_job())
    running = jobs.start(job)
    assert running is not None
    cancelled = jobs.cancel(job.id)
    assert cancelled.state == "cancelled"
    assert jobs.finish(running, "done", analysis_id="f" * 32) is None
    assert jobs.get(job.id).state == "cancelled"
    with pytest.raises(StoreError, match="nothing to cancel"):
        jobs.cancel(job.id)
    retried = jobs.requeue(job.id, this_process())
    assert retried.state == "queued" and retried.error is None
    with pytest.raises(StoreError, match="only failed or cancelled"):
        jobs.requeue(job.id, this_process())


def test_final_jobs_are_added_and_listed_by_state(any_store) -> None:
    jobs = any_store.jobs
    jobs.add(_job(key=None, path="/v/missing.mp4", state="failed", error="no such file"))
    jobs.add(_job(state="done", analysis_id="e" * 32, reused=True))
    with pytest.raises(StoreError):
        jobs.add(_job())  # an active job is claimed, not added
    assert [j.path for j in jobs.list("failed")] == ["/v/missing.mp4"]
    assert jobs.list("done")[0].reused is True
    assert len(jobs.list()) == 2 and len(jobs.list(limit=1)) == 1
    assert (jobs.count(), jobs.count("failed"), jobs.count("queued")) == (2, 1, 0)
    with pytest.raises(StoreError, match="unknown job state"):
        jobs.list("sleeping")
    with pytest.raises(StoreError, match="unknown job state"):
        jobs.count("sleeping")
    with pytest.raises(JobNotFound):
        jobs.get("0123")
    with pytest.raises(JobNotFound):
        jobs.get("not-hex")
    with pytest.raises(StoreError, match="no readable video"):
        jobs.requeue(jobs.list("failed")[0].id, this_process())


def test_racing_submitters_make_one_job(any_store, tmp_path) -> None:
    """Threads with their own handle on the same database claim one key at once."""
    location = getattr(any_store, "url", None) or str(getattr(any_store, "path", ""))
    if not location:
        pytest.skip("a memory store has no second handle")
    winners: list[str] = []
    errors: list[BaseException] = []

    def submit(n: int) -> None:
        try:
            with open_store(location) as store:
                job, mine = store.jobs.claim(_job(owner=f"{this_process()}-{n}"))
                if mine:
                    winners.append(job.id)
        except BaseException as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(winners) == 1
    assert len(any_store.jobs.list()) == 1


def test_owner_liveness() -> None:
    assert owner_alive(this_process()) is True
    assert owner_alive(_dead_owner()) is False
    assert owner_alive("another-host:1:x") is None
    assert owner_alive(f"{this_process().split(':')[0]}:{os.getpid()}:other") is True
    assert LEASE_SECONDS > 5
