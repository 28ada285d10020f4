"""The job runner: videos in, job records and stored analyses out, on any executor.

It is what ``vidscene analyze``, ``vidscene jobs retry`` and the HTTP API call. For every input
it keeps a job record (``vidscene.store._jobs``) from submission to a final state, whatever
the executor does:

* a file that cannot be read gets a ``failed`` job with the reason, and the others go on;
* a file whose key (content hash + settings) is already analysed gets a ``done`` job pointing
  at the stored analysis (unless ``force``);
* otherwise the runner claims the key: if another live process holds it, the runner waits for
  that job and returns its analysis (two submitters, one analysis); if its holder died, the
  runner takes the job over (a crashed batch continues where it stopped);
* the analysis is saved, then the job is marked ``done`` (a crash between the two leaves a
  stored analysis that the next run finds, never a ``done`` job without one);
* while the executor works, a heartbeat renews the leases of this process's jobs and notices
  jobs cancelled from elsewhere (``vidscene jobs cancel``), which it asks the executor to stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from vidscene.analysis import AnalysisResult, VideoInfo
from vidscene.errors import StoreError, VideoError, VidsceneError
from vidscene.pipeline._executor import Executor, Listener, TaskOutcome, VideoTask
from vidscene.pipeline._settings import AnalyzeSettings
from vidscene.store import Job, ResultStore, new_job, settings_key, this_process
from vidscene.store._base import utc_now
from vidscene.store._jobs import LEASE_SECONDS
from vidscene.video import probe

HEARTBEAT_SECONDS = 5.0
PROGRESS_WRITE_SECONDS = 1.0
"""Progress is written to the job record at most this often per job."""


@dataclass
class VideoOutcome:
    """How one input ended: its final job record and, if done, the analysis."""

    path: str
    job: Job
    result: AnalysisResult | None = None
    reused: bool = False
    """The analysis was already stored (or another submitter made it)."""

    @property
    def error(self) -> str | None:
        return None if self.job.state == "done" else (self.job.error or self.job.state)


@dataclass
class RunEvents:
    """What the runner reports to its caller (a progress bar, a log); all optional."""

    progress: Callable[[str, int, int], None] | None = None
    """``(path, frames_done, frames_total)``."""
    finished: Callable[[VideoOutcome], None] | None = None


def job_key(info: VideoInfo, settings: AnalyzeSettings) -> tuple[str, str]:
    """``(settings key, job key)`` of a video under these settings."""
    skey = settings_key(settings.to_dict())
    return skey, f"{info.sha256}:{skey}"


@dataclass
class Claim:
    """What submitting one readable video recorded (:func:`claim_video`)."""

    job: Job
    cached: AnalysisResult | None = None
    """The stored analysis the job reuses (then ``job`` is done)."""
    mine: bool = False
    """This process holds the active job and must run it; otherwise ``job`` is done or is
    another live process's, to follow."""


def claim_video(store: ResultStore, info: VideoInfo, path: str, settings: AnalyzeSettings,
                executor: str, *, force: bool = False,
                source: dict[str, object] | None = None) -> Claim:
    """Record the job of a probed video (see the module doc): reused if the store has its
    analysis, shared if a live process is analysing it, else held by this process."""
    jobs = store.jobs
    skey, key = job_key(info, settings)
    job = replace(new_job(path, key, settings.to_dict(), executor),
                  frames_total=info.frame_count, seconds_total=round(info.duration, 3),
                  source=dict(source or {}))
    done: dict[str, Any] = {"analysis_id": None, "reused": True,
                            "frames_done": info.frame_count,
            "seconds_done": round(info.duration, 3)}
    cached = None if force else store.find(info.sha256, skey)
    if cached is not None:
        held, mine = jobs.claim(job)
        done["analysis_id"] = cached.id
        record = jobs.finish(held, "done", **done) if mine else None
        if record is None:  # a live process is re-analysing it (--force): not ours
            record = jobs.add(replace(job, state="done", finished=utc_now(), owner="", **done))
        return Claim(record, cached)
    held, mine = jobs.claim(job)
    if not mine:
        return Claim(held)
    # Another process may have saved it and ended its job between our look and our claim:
    # then it is done, not to be analysed again.
    cached = None if force else store.find(info.sha256, skey)
    if cached is not None:
        done["analysis_id"] = cached.id
        return Claim(jobs.finish(held, "done", **done) or jobs.get(held.id), cached)
    return Claim(held, mine=True)


class JobRunner:
    """Runs videos through ``executor`` with job records in ``store`` (see module doc)."""

    def __init__(self, store: ResultStore, executor: Executor, *, force: bool = False,
                 events: RunEvents | None = None,
                 heartbeat_s: float = HEARTBEAT_SECONDS) -> None:
        self.store = store
        self.executor = executor
        self.force = force
        self.events = events or RunEvents()
        self.heartbeat_s = heartbeat_s
        self._lock = threading.Lock()
        self._mine: dict[str, Job] = {}  # active jobs this run owns, by id
        self._paths: dict[str, str] = {}
        self._written: dict[str, float] = {}
        self._started_at: dict[str, float] = {}
        self._counts: dict[str, int] = {}  # working copies of each stage, as last reported

    @property
    def stream_counts(self) -> dict[str, int]:
        """Working copies of each stage, as the executor last reported them."""
        with self._lock:
            return dict(self._counts)

    # -- entry points ----------------------------------------------------------------------

    def run(self, paths: Sequence[str | Path], settings: AnalyzeSettings
            ) -> list[VideoOutcome]:
        """Analyse ``paths`` (in this order in the result; any order of work)."""
        outcomes: dict[int, VideoOutcome] = {}
        tasks: list[tuple[int, VideoTask]] = []
        followed: list[tuple[int, Job, AnalysisResult | None]] = []
        for i, path in enumerate(map(str, paths)):
            submitted = self._submit(path, settings)
            if isinstance(submitted, VideoOutcome):
                outcomes[i] = self._report(submitted)
            elif isinstance(submitted, VideoTask):
                tasks.append((i, submitted))
            else:
                followed.append((i, submitted, None))
        outcomes.update(self._execute(tasks))
        for i, job, _ in followed:
            outcomes[i] = self._report(self._follow(job, settings))
        return [outcomes[i] for i in sorted(outcomes)]

    def resume(self) -> list[VideoOutcome]:
        """Continue every unfinished job of the store whose owner is gone."""
        tasks = []
        for i, old in enumerate(self.store.jobs.unfinished()):
            settings = AnalyzeSettings.from_dict(old.settings)
            submitted = self._submit(old.path, settings)
            if isinstance(submitted, VideoTask):
                tasks.append((i, submitted))
        return [o for _, o in sorted(self._execute(tasks).items())]

    def retry(self, job_id: str) -> VideoOutcome:
        """Run a failed or cancelled job again (same id, one more attempt)."""
        job = self.store.jobs.requeue(job_id, this_process())
        [outcome] = self.run_claimed([job])
        return outcome

    def run_claimed(self, jobs: Sequence[Job]) -> list[VideoOutcome]:
        """Run queued jobs this process already holds (a requeued job, or jobs the HTTP API
        recorded at submission), in this order in the result. A job that is no longer
        queued and ours (cancelled meanwhile) is returned as it now is, not run."""
        outcomes: dict[int, VideoOutcome] = {}
        tasks: list[tuple[int, VideoTask]] = []
        for i, job in enumerate(jobs):
            settings = AnalyzeSettings.from_dict(job.settings)
            try:
                info = probe(job.path)
            except VideoError as e:
                failed = self.store.jobs.finish(job, "failed", error=str(e))
                outcomes[i] = self._report(VideoOutcome(job.path, failed or
                                                        self.store.jobs.get(job.id)))
                continue
            held = self.store.jobs.update(job, frames_total=info.frame_count,
                                          seconds_total=round(info.duration, 3),
                                          executor=self.executor.name)
            if held is None or held.state != "queued":
                outcomes[i] = VideoOutcome(job.path, self.store.jobs.get(job.id))
                continue
            self._own(held, held.path)
            tasks.append((i, VideoTask(held.id, held.path, info, settings)))
        outcomes.update(self._execute(tasks))
        return [outcomes[i] for i in sorted(outcomes)]

    # -- submission ------------------------------------------------------------------------

    def _submit(self, path: str, settings: AnalyzeSettings) -> VideoOutcome | VideoTask | Job:
        """A final outcome (unreadable, or already stored), a task to run, or another live
        process's job to follow."""
        jobs = self.store.jobs
        try:
            info = probe(path)
        except VideoError as e:
            job = replace(new_job(path, None, settings.to_dict(), self.executor.name),
                          state="failed", error=str(e), finished=utc_now(), owner="")
            return VideoOutcome(path, jobs.add(job))
        claim = claim_video(self.store, info, path, settings, self.executor.name,
                            force=self.force)
        if claim.cached is not None:
            return VideoOutcome(path, claim.job, claim.cached, reused=True)
        if not claim.mine:
            return claim.job
        self._own(claim.job, path)
        return VideoTask(claim.job.id, path, info, settings)

    def _follow(self, job: Job, settings: AnalyzeSettings) -> VideoOutcome:
        """Wait for another process's job on the same key; take over if its owner dies."""
        final = self.store.jobs.wait(job.id)
        if final.active:  # its owner died: run it ourselves
            again = self.run([final.path], settings)
            return again[0]
        if final.state == "done" and final.analysis_id:
            return VideoOutcome(final.path, final, self.store.get(final.analysis_id),
                                reused=True)
        return VideoOutcome(final.path, final)

    # -- execution -------------------------------------------------------------------------

    def _execute(self, tasks: Iterable[tuple[int, VideoTask]]) -> dict[int, VideoOutcome]:
        tasks = list(tasks)
        if not tasks:
            return {}
        order = {task.job_id: i for i, task in tasks}
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(stop,), daemon=True,
                                name="vidscene-heartbeat")
        beat.start()
        listener = Listener(started=self._started, progress=self._progress,
                            streams=self._streams)
        results: dict[int, VideoOutcome] = {}
        try:
            for outcome in self.executor.run([t for _, t in tasks], listener):
                results[order[outcome.task.job_id]] = self._report(self._complete(outcome))
        finally:
            stop.set()
            beat.join()
        # An executor must answer every task; if one did not, its job must still end.
        for job_id, i in order.items():
            if i not in results:
                job = self._mine.get(job_id)
                if job is not None:
                    ended = self.store.jobs.finish(job, "failed",
                                                   error="the executor returned no result")
                    results[i] = self._report(VideoOutcome(job.path, ended or job))
        return results

    def _complete(self, outcome: TaskOutcome) -> VideoOutcome:
        """Save the analysis, then end the job (in that order: see module doc)."""
        task = outcome.task
        with self._lock:
            job = self._mine.pop(task.job_id)
        jobs = self.store.jobs
        extra: dict[str, object] = {"streams": job.streams, "chunks": outcome.chunks,
                                    "retries": outcome.retries}
        if outcome.workers:
            extra["worker"] = ", ".join(sorted(set(outcome.workers)))[:500]
        if outcome.nodes:
            extra["node"] = ", ".join(sorted(set(outcome.nodes)))[:500]
        if outcome.result is not None and not (now := jobs.get(job.id)).active:
            # Cancelled while its last piece finished: a cancelled job leaves no analysis.
            return VideoOutcome(task.path, now)
        if outcome.result is not None:
            skey = settings_key(task.settings.to_dict())
            try:
                analysis_id = self.store.save(outcome.result, skey)
            except StoreError as e:
                ended = jobs.finish(job, "failed", error=str(e), **extra)
                return VideoOutcome(task.path, ended or jobs.get(job.id))
            ended = jobs.finish(job, "done", analysis_id=analysis_id,
                                frames_done=outcome.result.analysis.video.frame_count,
                                seconds_done=round(outcome.result.analysis.video.duration, 3),
                                **extra)
            if ended is not None:
                return VideoOutcome(task.path, ended, outcome.result)
            return VideoOutcome(task.path, jobs.get(job.id))  # cancelled meanwhile
        if outcome.cancelled:
            ended = jobs.finish(job, "cancelled", error="cancelled", **extra)
        else:
            ended = jobs.finish(job, "failed", error=outcome.error or "failed", **extra)
        return VideoOutcome(task.path, ended or jobs.get(job.id))

    def _report(self, outcome: VideoOutcome) -> VideoOutcome:
        if self.events.finished:
            self.events.finished(outcome)
        return outcome

    # -- listener callbacks and heartbeat ----------------------------------------------------

    def _own(self, job: Job, path: str) -> None:
        with self._lock:
            self._mine[job.id] = job
            self._paths[job.id] = path

    def _started(self, job_id: str, worker: str) -> None:
        with self._lock:
            job = self._mine.get(job_id)
        if job is None or job.state != "queued":
            return
        started = self.store.jobs.start(job, worker)
        with self._lock:
            if started is not None and job_id in self._mine:
                # The streams at work when it starts; later changes are appended.
                started.streams.append([0.0, self._counts.get("shots", 0),
                                        self._counts.get("scenes", 0)])
                self._mine[job_id] = started
                self._started_at[job_id] = time.monotonic()

    def _progress(self, job_id: str, done: int, total: int) -> None:
        path = self._paths.get(job_id, "")
        if self.events.progress:
            self.events.progress(path, done, total)
        now = time.monotonic()
        with self._lock:
            job = self._mine.get(job_id)
            # The last frames are always written: the scene step that follows reports none.
            recent = now - self._written.get(job_id, 0.0) < PROGRESS_WRITE_SECONDS
            if job is None or (recent and done < total):
                if job is not None:
                    job.frames_done = done
                return
            self._written[job_id] = now
        fps = job.frames_total / job.seconds_total if job.seconds_total else 25.0
        self._write(job, frames_done=done, seconds_done=round(done / fps, 3))

    def _streams(self, counts: dict[str, int]) -> None:
        now = time.monotonic()
        with self._lock:
            self._counts = dict(counts)
            for job_id, job in self._mine.items():
                if job.state == "running":
                    t = round(now - self._started_at.get(job_id, now), 3)
                    job.streams.append([t, counts.get("shots", 0), counts.get("scenes", 0)])

    def _write(self, job: Job, **changes: object) -> None:
        updated = self.store.jobs.update(job, lease_until=time.time() + LEASE_SECONDS,
                                         streams=job.streams, **changes)
        with self._lock:
            if job.id not in self._mine:
                return
            if updated is not None:
                self._mine[job.id] = updated
            else:
                self._lost(job)

    def _lost(self, job: Job) -> None:
        """Our job is no longer ours to run: cancelled elsewhere (stop it) or taken over."""
        self.executor.cancel(job.id)

    def _heartbeat(self, stop: threading.Event) -> None:
        while not stop.wait(self.heartbeat_s):
            with self._lock:
                held = list(self._mine.values())
            for job in held:
                try:
                    self._write(job)
                except VidsceneError:
                    continue  # a store hiccup: the next beat tries again


def analyze_videos(paths: Sequence[str | Path], settings: AnalyzeSettings | None = None, *,
                   store: ResultStore | str | None = None, executor: Executor | str = "local",
                   force: bool = False, **executor_options: object) -> list[VideoOutcome]:
    """Analyse many videos with job records, on the executor named (``"local"``, ``"ray"``
    with ``address=...``) or given; the Python face of ``vidscene analyze PATH...``.

    ``store``: a :class:`ResultStore`, a location (``mongodb://…``, a path), or ``None`` for
    the default store."""
    from vidscene.pipeline._executor import create_executor
    from vidscene.store import open_store

    settings = settings or AnalyzeSettings()
    opened = store if isinstance(store, ResultStore) else open_store(store)
    try:
        runner_executor = (executor if isinstance(executor, Executor)
                           else create_executor(executor, **executor_options))
        with runner_executor:
            return JobRunner(opened, runner_executor, force=force).run(paths, settings)
    finally:
        if opened is not store:
            opened.close()
