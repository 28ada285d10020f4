"""Job records: one per submitted video, in the same database as the analyses.

A job says what is being done with a video and by whom: its state (``queued``, ``running``,
``done``, ``failed``, ``cancelled``), progress, attempts, the workers that ran it, the error
that ended it, and the stored analysis it produced. They are what lets a batch survive a crash
(a new run picks up what the dead one left), lets two submitters of the same file share one
analysis, and lets the CLI and the HTTP API show the state of every stream.

Rules every backend keeps (the shared logic lives here, backends only move records):

* state changes are atomic compare-and-set operations (``transition``): a job leaves a state
  only if it is still in it, so a cancel and a finish can never both win;
* at most one *active* (queued or running) job per key (content hash + settings key): a unique
  index in each database, so two submitters racing on one file make one job;
* an active job is owned by the process that runs it (``owner``) and kept alive by a lease it
  renews; a job whose owner died (its lease ran out, or it was a process on this machine that
  no longer exists) may be taken over by the next submitter (``claim``).
"""

from __future__ import annotations

import builtins
import os
import socket
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from vidscene.errors import NotFoundInStore, StoreError
from vidscene.store._base import prefix_pattern, utc_now

JOB_STATES: tuple[str, ...] = ("queued", "running", "done", "failed", "cancelled")
ACTIVE_STATES: frozenset[str] = frozenset({"queued", "running"})
FINAL_STATES: frozenset[str] = frozenset({"done", "failed", "cancelled"})

LEASE_SECONDS = 30.0
"""How long an active job stays owned without its owner renewing the lease."""


class JobNotFound(NotFoundInStore):
    """No job with that id (or unique id prefix)."""


def this_process() -> str:
    """The owner name of this process: ``host:pid:token`` (the token tells a restarted
    process that reuses a pid from the one that died)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_TOKEN}"


_TOKEN = uuid.uuid4().hex[:8]


def owner_alive(owner: str) -> bool | None:
    """Whether the process ``owner`` names still runs: known only for this machine's
    processes (``None`` for another machine's: trust its lease)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    if owner == this_process():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Job:
    """One submitted video (see the module doc)."""

    id: str
    path: str
    key: str | None
    """``sha256:settings_key`` of the video and settings; ``None`` if the file could not be
    read at all (then the job failed at once)."""
    state: str = "queued"
    settings: dict[str, Any] = field(default_factory=dict)
    executor: str = "local"
    frames_done: int = 0
    frames_total: int = 0
    seconds_done: float = 0.0
    seconds_total: float = 0.0
    attempts: int = 0
    worker: str = ""
    """The worker processes (``host:pid``) that analysed it."""
    node: str = ""
    """The cluster nodes they ran on (Ray node ids; ``local`` in-process)."""
    chunks: int = 0
    retries: int = 0
    """Chunks (or the scene step) given to another worker because theirs died."""
    error: str | None = None
    analysis_id: str | None = None
    reused: bool = False
    """Done at once: the store already held an analysis of this file with these settings."""
    owner: str = ""
    lease_until: float = 0.0
    created: str = ""
    started: str | None = None
    finished: str | None = None
    source: dict[str, Any] = field(default_factory=dict)
    """How it was submitted, when not by ``vidscene analyze``: ``{"via": "api", "upload":
    bool, "name": the uploaded file's name, "callback_url": …}``."""
    streams: list[list[float]] = field(default_factory=list)
    """``[seconds since started, active shot-stage copies, active scene-stage copies]`` each
    time the number of working copies changed while the job ran."""

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def progress(self) -> dict[str, float]:
        return {"frames_done": self.frames_done, "frames_total": self.frames_total,
                "seconds_done": self.seconds_done, "seconds_total": self.seconds_total}

    def live(self, now: float | None = None) -> bool:
        """An active job whose owner may still be working on it."""
        if not self.active:
            return False
        alive = owner_alive(self.owner) if self.owner else False
        if alive is False:
            return False
        return (now or time.time()) < self.lease_until

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["progress"] = self.progress
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def new_job(path: str, key: str | None, settings: dict[str, Any], executor: str) -> Job:
    """A queued job owned by this process, with a fresh lease."""
    return Job(id=uuid.uuid4().hex, path=path, key=key, settings=dict(settings),
               executor=executor, owner=this_process(), lease_until=time.time() + LEASE_SECONDS,
               created=utc_now())


class JobStore(ABC):
    """The job records of one database (``ResultStore.jobs``); see the module doc.

    Backends implement five small primitives; the rules are written once, here."""

    # -- primitives (per backend) ----------------------------------------------------------

    @abstractmethod
    def _insert(self, job: Job) -> bool:
        """Insert ``job``; ``False`` (nothing written) if it is active and another active job
        has its key."""

    @abstractmethod
    def _load(self, job_id: str) -> Job | None:
        """The job with exactly this id."""

    @abstractmethod
    def _ids(self, prefix: str) -> builtins.list[str]:
        """Ids starting with ``prefix``."""

    @abstractmethod
    def _cas(self, job_id: str, states: frozenset[str], changes: dict[str, Any],
             owner: str | None = None) -> Job | None:
        """Apply ``changes`` if the job is in one of ``states`` (and owned by ``owner`` when
        given), atomically; the updated job, or ``None`` if the condition failed. A change of
        ``state`` to a final one releases the key for a new active job."""

    @abstractmethod
    def _find(self, *, key: str | None = None, states: frozenset[str] | None = None,
              limit: int = 0, offset: int = 0) -> builtins.list[Job]:
        """Jobs matching, newest first (``limit`` 0: all)."""

    # -- the interface ---------------------------------------------------------------------

    def add(self, job: Job) -> Job:
        """Record a job that needs no claim (a final one: failed at once, or reused)."""
        if job.active:
            raise StoreError("an active job is recorded with claim()")
        if not self._insert(job):
            raise StoreError(f"job {job.id} could not be recorded")
        return job

    def claim(self, job: Job) -> tuple[Job, bool]:
        """Record the active ``job`` unless another live active job has its key.

        Returns ``(job, True)`` when this process now owns a job for the key (``job`` itself,
        or a dead owner's job taken over: same id, one more attempt), else the other live job
        and ``False`` (wait for it: :meth:`wait`)."""
        if job.key is None or not job.active:
            raise StoreError("only an active job with a key is claimed")
        for _ in range(10):
            if self._insert(job):
                return job, True
            found = self._find(key=job.key, states=ACTIVE_STATES, limit=1)
            if not found:
                continue  # it ended between our insert and our look: try again
            other = found[0]
            if other.live():
                return other, False
            taken = self._cas(other.id, ACTIVE_STATES, {
                "state": "queued", "owner": job.owner, "lease_until": job.lease_until,
                "settings": job.settings, "executor": job.executor, "path": job.path,
                "error": None, "worker": "", "node": "", "streams": [],
                "frames_done": 0, "seconds_done": 0.0}, owner=other.owner)
            if taken is not None:
                return taken, True
        raise StoreError(f"could not claim a job for {job.path}: too much contention")

    def get(self, job_id: str) -> Job:
        """The job with this id or unique id prefix; :class:`JobNotFound` otherwise."""
        try:
            prefix = prefix_pattern(job_id)
        except NotFoundInStore:
            raise JobNotFound(f"no job with id {job_id!r}") from None
        ids = sorted(self._ids(prefix))
        if prefix in ids:
            ids = [prefix]
        if len(ids) > 1:
            shown = ", ".join(i[:12] for i in ids[:5]) + (", …" if len(ids) > 5 else "")
            raise JobNotFound(f"id {job_id!r} is ambiguous: it matches {len(ids)} jobs "
                              f"({shown}); give more characters")
        job = self._load(ids[0]) if ids else None
        if job is None:
            raise JobNotFound(f"no job with id {job_id!r}")
        return job

    def list(self, state: str | None = None, *, limit: int = 0,
             offset: int = 0) -> builtins.list[Job]:
        """Jobs, newest first, optionally in one state."""
        if state is not None and state not in JOB_STATES:
            raise StoreError(f"unknown job state {state!r} (known: {', '.join(JOB_STATES)})")
        return self._find(states=frozenset({state}) if state else None, limit=limit,
                          offset=offset)

    def count(self, state: str | None = None) -> int:
        """How many jobs (in one state)."""
        if state is not None and state not in JOB_STATES:
            raise StoreError(f"unknown job state {state!r} (known: {', '.join(JOB_STATES)})")
        return self._count(frozenset({state}) if state else None)

    def _count(self, states: frozenset[str] | None) -> int:
        """Backends with an index override this; the default reads every record."""
        return len(self._find(states=states))

    def unfinished(self) -> builtins.list[Job]:
        """Active jobs whose owner is gone: what ``analyze --resume`` continues."""
        return [j for j in self._find(states=ACTIVE_STATES) if not j.live()]

    def start(self, job: Job, worker: str = "") -> Job | None:
        """``queued`` → ``running`` (this owner only)."""
        changes: dict[str, Any] = {"state": "running", "started": utc_now(),
                                   "attempts": job.attempts + 1}
        if worker:
            changes["worker"] = worker
        return self._cas(job.id, frozenset({"queued"}), changes, owner=job.owner)

    def update(self, job: Job, **changes: Any) -> Job | None:
        """Progress, lease, workers or streams of an active job this owner holds; ``None``
        if it is no longer active or no longer ours (cancelled, taken over)."""
        if "state" in changes:
            raise StoreError("states change through transition()")
        return self._cas(job.id, ACTIVE_STATES, changes, owner=job.owner)

    def finish(self, job: Job, state: str, **changes: Any) -> Job | None:
        """An active job this owner holds → ``done`` / ``failed`` / ``cancelled``."""
        if state not in FINAL_STATES:
            raise StoreError(f"{state!r} is not a final job state")
        return self._cas(job.id, ACTIVE_STATES, {"state": state, "finished": utc_now(),
                                                 **changes}, owner=job.owner)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job (any owner): its owner stops it at its next look.
        A final job is left as it is (:class:`StoreError` says why)."""
        job = self.get(job_id)
        done = self._cas(job.id, ACTIVE_STATES, {"state": "cancelled", "finished": utc_now(),
                                                 "error": "cancelled"})
        if done is None:
            raise StoreError(f"job {job.id[:12]} is {self.get(job.id).state}: nothing to cancel")
        return done

    def requeue(self, job_id: str, owner: str) -> Job:
        """A failed or cancelled job → ``queued`` again under ``owner`` (``jobs retry``)."""
        job = self.get(job_id)
        if job.key is None:
            raise StoreError(f"job {job.id[:12]} has no readable video to retry "
                             f"({job.error or 'unreadable'})")
        if job.state not in {"failed", "cancelled"}:
            raise StoreError(f"job {job.id[:12]} is {job.state}: only failed or cancelled "
                             "jobs are retried")
        if self._find(key=job.key, states=ACTIVE_STATES, limit=1):
            raise StoreError(f"another job is already analysing {job.path}")
        again = self._cas(job.id, frozenset({"failed", "cancelled"}), {
            "state": "queued", "owner": owner, "lease_until": time.time() + LEASE_SECONDS,
            "error": None, "finished": None, "analysis_id": None, "frames_done": 0,
            "seconds_done": 0.0, "streams": []})
        if again is None:
            raise StoreError(f"job {job.id[:12]} changed while it was being retried")
        return again

    def wait(self, job_id: str, *, poll: float = 0.5, timeout: float | None = None) -> Job:
        """Block until the job is final (or its owner died: then it is returned active)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if not job.live():
                return job
            if deadline is not None and time.monotonic() > deadline:
                return job
            time.sleep(poll)
