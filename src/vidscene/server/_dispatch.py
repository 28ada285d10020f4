"""The server's worker: runs the jobs the API accepted, on the configured executor.

The API records a job (``queued``, owned by this process) as soon as a video is accepted, so
it is visible and cancellable at once; the dispatcher then hands queued jobs to the same
:class:`~vidscene.pipeline.JobRunner` that ``vidscene analyze`` uses (same stages, same job
rules), one at a time on the local executor or in batches on Ray. While a job waits, the
dispatcher renews its lease, so another process never mistakes it for an orphan; when the
server dies, the leases run out and the next server (or ``vidscene analyze --resume``) takes
the jobs over (:meth:`recover`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace

from vidscene.errors import VidsceneError
from vidscene.pipeline import Executor, JobRunner, RunEvents, VideoOutcome
from vidscene.store import Job, ResultStore, new_job
from vidscene.store._jobs import LEASE_SECONDS

log = logging.getLogger("vidscene.server")
HEARTBEAT_S = 5.0


class JobDispatcher:
    """A queue of accepted jobs and the thread that runs them (see module doc)."""

    def __init__(self, store: ResultStore, executor: Executor, *, batch: int = 1,
                 on_final: Callable[[Job], None] | None = None,
                 on_outcome: Callable[[VideoOutcome], None] | None = None) -> None:
        self.store = store
        self.executor = executor
        self.batch = max(1, batch)
        self.on_final = on_final
        self.on_outcome = on_outcome
        self.runner = JobRunner(store, executor, events=RunEvents(finished=self._finished))
        self._queue: queue.Queue[str] = queue.Queue()
        self._waiting: dict[str, Job] = {}
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # -- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.executor.start()
        for target, name in ((self._work, "vidscene-dispatch"), (self._beat, "vidscene-lease")):
            thread = threading.Thread(target=target, daemon=True, name=name)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for job_id in list(self._running):
            self.executor.cancel(job_id)  # the runner ends them as cancelled
        for thread in self._threads:
            thread.join(timeout)
        self.executor.close()

    # -- the API's side --------------------------------------------------------------------

    def submit(self, job: Job) -> None:
        """Queue a job this process holds (``queued``, owner = this process)."""
        with self._lock:
            self._waiting[job.id] = job
        self._queue.put(job.id)

    def depth(self) -> int:
        """Jobs accepted and not finished: waiting plus running."""
        with self._lock:
            return len(self._waiting) + len(self._running)

    def streams(self) -> dict[str, int]:
        return self.runner.stream_counts

    def recover(self) -> list[Job]:
        """Take over the API's jobs whose server died (their lease ran out): queue them
        again under this process, same ids; the runner counts the new attempt."""
        taken = []
        for old in self.store.jobs.unfinished():
            if old.key is None or old.source.get("via") != "api":
                continue
            fresh = replace(new_job(old.path, old.key, old.settings, self.executor.name),
                            source=old.source)
            held, mine = self.store.jobs.claim(fresh)
            if mine:
                self.submit(held)
                taken.append(held)
        return taken

    # -- the worker ------------------------------------------------------------------------

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                first = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            ids = [first]
            while len(ids) < self.batch:
                try:
                    ids.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            with self._lock:
                jobs = [self._waiting.pop(i) for i in ids if i in self._waiting]
                self._running.update(j.id for j in jobs)
            try:
                if jobs:
                    self.runner.run_claimed(jobs)
            except VidsceneError as e:  # the executor itself broke: end its jobs honestly
                log.error("executor failed: %s", e)
                for job in jobs:
                    ended = self.store.jobs.finish(job, "failed", error=f"executor: {e}")
                    if ended is not None and self.on_final:
                        self.on_final(ended)
            except Exception:  # keep serving; the job records say what was lost
                log.exception("dispatcher error")
                for job in jobs:
                    ended = self.store.jobs.finish(job, "failed", error="internal error")
                    if ended is not None and self.on_final:
                        self.on_final(ended)
            finally:
                with self._lock:
                    self._running.difference_update(j.id for j in jobs)

    def _finished(self, outcome: VideoOutcome) -> None:
        if self.on_outcome:
            self.on_outcome(outcome)
        if self.on_final and not outcome.job.active:
            self.on_final(outcome.job)

    def _beat(self) -> None:
        """Renew the leases of waiting jobs; forget those cancelled meanwhile."""
        while not self._stop.wait(HEARTBEAT_S):
            with self._lock:
                waiting = list(self._waiting.values())
            for job in waiting:
                try:
                    renewed = self.store.jobs.update(job, lease_until=time.time() + LEASE_SECONDS)
                except VidsceneError:
                    continue  # a store hiccup: the next beat tries again
                with self._lock:
                    if job.id not in self._waiting:
                        continue
                    if renewed is None:
                        del self._waiting[job.id]
                    else:
                        self._waiting[job.id] = renewed
