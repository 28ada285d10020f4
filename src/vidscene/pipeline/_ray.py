"""The Ray executor: the same stages in long-lived Ray actors, many videos and chunks at once.

``vidscene analyze PATH... --executor ray [--ray-address ADDRESS]`` (extra ``ray``). Without an
address a Ray instance is started on this machine for the run; with one (``auto``,
``HOST:PORT``, ``ray://HOST:PORT``) the work goes to that cluster.

How the work flows (``docs/ARCHITECTURE.md``, "The Ray executor"):

* the driver (this process) plans each video (probe, frame index, chunks) only when the
  shot stage is about to run short of work, so nothing grows with the size of the batch;
* **shot stage** actors (decoding, shot detection, attributes, keyframes; they hold the
  detector and the keyframe encoder, loaded once) take chunks from a bounded queue: at most
  ``queue_depth`` calls wait at each actor, and the driver keeps the rest;
* when all chunks of a video are in, a **scene stage** actor (the scene model) joins them;
* the number of actors of each stage follows the backlog between ``min_actors`` and
  ``max_actors`` (default: what the cluster's CPUs allow, re-read as nodes come and go); an
  actor Ray cannot place yet (no free CPU) waits as a resource demand, which is what the Ray
  autoscaler (KubeRay) adds nodes for;
* a chunk whose actor died (its worker process or its whole node) is given to another actor,
  at most ``max_attempts`` times, then its video fails with the reason; a stage error (a bad
  file) fails its own video only.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from vidscene.errors import VidsceneError
from vidscene.pipeline._executor import (
    EXECUTORS,
    Executor,
    ExecutorError,
    Listener,
    TaskOutcome,
    VideoTask,
)
from vidscene.pipeline._plan import (
    DEFAULT_CHUNK_SECONDS,
    Chunk,
    ChunkGeometry,
    VideoPlan,
    VideoPlanner,
)
from vidscene.pipeline._scene_stage import SceneStage, VideoChunks
from vidscene.pipeline._settings import AnalyzeSettings
from vidscene.pipeline._shot_stage import ChunkNotInStep, ChunkResult, ShotStage, worker_name
from vidscene.pipeline._stage import Resources, Stage
from vidscene.video import SpanMismatch

CONNECT_TIMEOUT_S = 30.0
_POLL_S = 0.2


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError("--executor ray needs Ray: pip install 'vidscene[ray]'") from None
    return ray


class StageActor:
    """One copy of a stage in a Ray actor: set up once, then one call per item. The stage
    code is the local executor's; this only adds where it ran."""

    def __init__(self, stage: Stage[Any, Any]) -> None:
        import ray

        self.stage = stage
        warm_up = getattr(stage, "warm_up", None)
        (warm_up if callable(warm_up) else stage.setup)()
        self.node = ray.get_runtime_context().get_node_id()
        self.worker = worker_name()

    def ready(self) -> tuple[str, str]:
        return self.node, self.worker

    def geometry(self) -> ChunkGeometry:
        return getattr(self.stage, "geometry", ChunkGeometry(None))

    def run(self, item: Any) -> tuple[Any, str, str]:
        return self.stage(item), self.node, self.worker


@dataclass
class _Member:
    handle: Any
    ready_ref: Any
    ready: bool = False
    busy: int = 0
    idle_since: float = field(default_factory=time.monotonic)


class _Pool:
    """Actors of one stage whose number follows the backlog (see module doc)."""

    def __init__(self, ray: Any, name: str, stage: Stage[Any, Any], resources: Resources, *,
                 min_size: int, max_size: int | None, depth: int, idle_s: float) -> None:
        self.ray, self.name, self.stage = ray, name, stage
        self.resources = resources
        self.min_size, self.max_size = min_size, max_size
        self.depth, self.idle_s = depth, idle_s
        self.members: list[_Member] = []
        self.broken: str | None = None
        """Why actors of this stage cannot start (their setup failed): its videos fail."""
        self._failures = 0
        self._remote = ray.remote(StageActor)
        self._cpus = (0.0, 0.0)  # (when read, cluster CPUs)

    def _limit(self) -> int:
        """The most actors worth having: the setting, else what the cluster's CPUs hold
        (read again every few seconds, as nodes join and leave)."""
        if self.max_size is not None:
            return self.max_size
        if self.resources.num_cpus <= 0:
            return 2
        now = time.monotonic()
        if now - self._cpus[0] > 2.0:
            self._cpus = (now, float(self.ray.cluster_resources().get("CPU", 1.0)))
        return max(1, math.floor(self._cpus[1] / self.resources.num_cpus + 1e-9))

    def _start_one(self) -> None:
        r = self.resources
        handle = self._remote.options(
            num_cpus=r.num_cpus, num_gpus=r.num_gpus or None, max_restarts=0,
            max_task_retries=0, max_concurrency=1, name=None).remote(self.stage)
        self.members.append(_Member(handle, handle.ready.remote()))

    def scale(self, backlog: int) -> bool:
        """Start actors while work waits and free slots do not cover it; stop actors idle
        for ``idle_s`` beyond ``min_size``. Returns whether the number changed."""
        if self.broken:
            return False
        changed = False
        while len(self.members) < self.min_size:
            self._start_one()
            changed = True
        pending = sum(1 for m in self.members if not m.ready)
        free = sum(self.depth - m.busy for m in self.members if m.ready)
        wanted = math.ceil(max(0, backlog - free - pending * self.depth) / self.depth)
        for _ in range(min(wanted, self._limit() - len(self.members))):
            self._start_one()
            changed = True
        if backlog:  # work waits: no actor is idle for long
            return changed
        now = time.monotonic()
        for m in list(self.members):
            if len(self.members) <= self.min_size:
                break
            if m.ready and m.busy == 0 and now - m.idle_since > self.idle_s:
                self.ray.kill(m.handle)
                self.members.remove(m)
                changed = True
        return changed

    def waiting_refs(self) -> list[Any]:
        return [m.ready_ref for m in self.members if not m.ready]

    def mark(self, ref: Any) -> bool:
        """A ``ready`` answer arrived; ``False`` if it is not one of ours. An actor that
        failed to start is dropped (the next ``scale`` starts another)."""
        for m in self.members:
            if m.ready_ref == ref:
                try:
                    self.ray.get(ref)
                    m.ready = True
                    m.idle_since = time.monotonic()
                    self._failures = 0
                except self.ray.exceptions.RayError as e:
                    self.members.remove(m)  # a dead actor: the next scale starts another
                    self._failures += 1
                    cause = _cause(e)
                    if isinstance(cause, VidsceneError) or self._failures >= 3:
                        self.broken = (str(cause) if isinstance(cause, VidsceneError) else
                                       f"the {self.name} stage cannot start: {_line(cause)}")
                return True
        return False

    def free(self) -> _Member | None:
        best = min((m for m in self.members if m.ready and m.busy < self.depth),
                   key=lambda m: m.busy, default=None)
        return best

    def submit(self, member: _Member, item: Any) -> Any:
        member.busy += 1
        return member.handle.run.remote(item)

    def done(self, member: _Member, *, dead: bool = False) -> None:
        member.busy = max(0, member.busy - 1)
        if member.busy == 0:
            member.idle_since = time.monotonic()
        if dead and member in self.members:
            self.members.remove(member)
            try:
                self.ray.kill(member.handle)
            except Exception:  # noqa: BLE001,S110  (already gone)
                pass

    def active(self) -> int:
        return sum(1 for m in self.members if m.ready)

    def close(self) -> None:
        for m in self.members:
            try:
                self.ray.kill(m.handle)
            except Exception:  # noqa: BLE001,S110  (already gone)
                pass
        self.members.clear()


@dataclass
class _Video:
    task: VideoTask
    planner: VideoPlanner
    plan: VideoPlan
    t0: float = field(default_factory=time.perf_counter)
    results: dict[int, ChunkResult] = field(default_factory=dict)
    attempts: dict[int, int] = field(default_factory=dict)
    """Per chunk (``-1``: the scene step), how many of its workers died so far."""
    retries: dict[int, int] = field(default_factory=dict)
    """The same, kept across plans (for the job record)."""
    workers: set[str] = field(default_factory=set)
    nodes: set[str] = field(default_factory=set)
    generation: int = 0
    """Bumped when the video is planned again, so answers for an older plan are dropped."""
    started: bool = False


@EXECUTORS.register("ray")
class RayExecutor(Executor):
    """Stages in Ray actors (see module doc).

    ``address``: a cluster (``auto``, ``HOST:PORT``, ``ray://HOST:PORT``), or ``None`` to start
    Ray on this machine for the run. ``chunk_seconds``: chunk length for long videos (``None``:
    never split). ``num_cpus`` / ``num_gpus``: what each shot-stage actor asks for (GPUs: a
    quarter of one by default when the cluster has any, so four detectors share it); its
    threads follow its CPUs. ``batch``: detector windows per model call (0: from the
    hardware, see :class:`Resources`).
    """

    name = "ray"

    def __init__(self, *, address: str | None = None,
                 chunk_seconds: float | None = DEFAULT_CHUNK_SECONDS, min_actors: int = 1,
                 max_actors: int | None = None, num_cpus: float = 1.0,
                 num_gpus: float | None = None, scene_cpus: float = 0.0, batch: int = 0,
                 queue_depth: int = 2, max_attempts: int = 3, idle_s: float = 30.0,
                 init_options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.address = address
        self.chunk_seconds = chunk_seconds
        self.min_actors, self.max_actors = min_actors, max_actors
        self.num_cpus, self.num_gpus, self.scene_cpus = num_cpus, num_gpus, scene_cpus
        self.batch = batch
        self.queue_depth, self.max_attempts, self.idle_s = queue_depth, max_attempts, idle_s
        self.init_options = dict(init_options or {})
        self._ray: Any = None
        self._owns = False
        self._pools: dict[str, tuple[_Pool, _Pool]] = {}
        self._geometry: dict[str, ChunkGeometry] = {}

    # -- connection ------------------------------------------------------------------------

    def start(self) -> None:
        ray = _import_ray()
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        self._ray = ray
        if ray.is_initialized():
            return
        if self.address not in (None, "auto"):
            _check_reachable(self.address)
        # Ray's own INFO lines and its thread warning would mix with the CLI's output.
        options: dict[str, Any] = {"log_to_driver": False, "namespace": "vidscene",
                                   "logging_level": logging.ERROR, **self.init_options}
        if self.address is None:
            options.setdefault("include_dashboard", False)
        where = self.address or "a new local instance"
        failure: list[BaseException] = []

        def connect() -> None:
            try:
                ray.init(address=self.address or "local", **options)
            except BaseException as e:  # noqa: BLE001  (reported by the caller)
                failure.append(e)

        if self.address is None:
            # In this thread: the local instance's processes are tied to the thread that
            # starts them (they die with it), and a local start cannot hang on a network.
            connect()
        else:
            # ray.init waits a long time on a port that answers but is not Ray: bound it.
            thread = threading.Thread(target=connect, daemon=True, name="vidscene-ray-init")
            thread.start()
            thread.join(CONNECT_TIMEOUT_S)
            if thread.is_alive():
                raise ExecutorError(f"cannot reach the Ray cluster at {where}: no answer "
                                    f"within {CONNECT_TIMEOUT_S:.0f} s")
        if failure:
            message = " ".join(str(failure[0]).split())[:240] or type(failure[0]).__name__
            raise ExecutorError(f"cannot reach the Ray cluster at {where}: {message}")
        self._owns = True

    def close(self) -> None:
        for shots, scenes in self._pools.values():
            shots.close()
            scenes.close()
        self._pools.clear()
        self._geometry.clear()
        if self._ray is not None and self._owns and self._ray.is_initialized():
            self._ray.shutdown()
        self._owns = False

    # -- the work --------------------------------------------------------------------------

    def run(self, tasks: Iterable[VideoTask], listener: Listener | None = None
            ) -> Iterator[TaskOutcome]:
        if self._ray is None:
            self.start()
        yield from _Batch(self, list(tasks), listener or Listener()).run()

    def pools(self, settings: AnalyzeSettings) -> tuple[_Pool, _Pool]:
        """The shot and scene stage actors for these settings: kept for the executor's life
        (so a service keeps its models loaded between jobs), grown and shrunk with the
        backlog."""
        key = repr(settings.to_dict())
        if key not in self._pools:
            ray = self._ray
            gpus = float(ray.cluster_resources().get("GPU", 0.0))
            num_gpus = self.num_gpus if self.num_gpus is not None else (0.25 if gpus else 0.0)
            shots = Resources(self.num_cpus, num_gpus, max(1, int(self.num_cpus)),
                              "cuda" if num_gpus else "cpu", self.batch)
            scenes = Resources(self.scene_cpus, 0.0, 1, "cpu")
            self._pools[key] = (
                _Pool(ray, "shots", ShotStage(settings, shots), shots,
                      min_size=max(1, self.min_actors), max_size=self.max_actors,
                      depth=self.queue_depth, idle_s=self.idle_s),
                _Pool(ray, "scenes", SceneStage(settings, scenes), scenes, min_size=1,
                      max_size=None, depth=self.queue_depth, idle_s=self.idle_s))
        return self._pools[key]

    def geometry(self, settings: AnalyzeSettings) -> ChunkGeometry:
        """The shot detector's chunk needs, asked of a shot-stage actor (the driver never
        loads a model); a stage that cannot start is a :class:`VidsceneError`."""
        key = repr(settings.to_dict())
        if key not in self._geometry:
            shots, _ = self.pools(settings)
            shots.scale(1)
            member = shots.members[0]
            try:
                self._geometry[key] = self._ray.get(member.handle.geometry.remote())
            except self._ray.exceptions.RayError as e:
                shots.done(member, dead=True)
                cause = _cause(e)
                shots.broken = (str(cause) if isinstance(cause, VidsceneError)
                                else f"the shots stage cannot start: {_line(cause)}")
                raise VidsceneError(shots.broken) from None
        return self._geometry[key]


_InFlight = tuple[str, str, int, Chunk | None, _Pool, _Member]
"""What a call in flight is: (``chunk`` or ``finish``, job id, plan generation, chunk, pool,
actor)."""


class _Batch:
    """One ``run``: the videos, the queues in front of each stage, the calls in flight."""

    def __init__(self, executor: RayExecutor, tasks: list[VideoTask],
                 listener: Listener) -> None:
        self.ex = executor
        self.ray = executor._ray
        self.listener = listener
        self.waiting = deque(tasks)
        self.videos: dict[str, _Video] = {}
        self.chunk_queue: deque[tuple[str, int, Chunk]] = deque()
        self.finish_queue: deque[str] = deque()
        self.in_flight: dict[Any, _InFlight] = {}
        self.outcomes: list[TaskOutcome] = []
        self.counts: dict[str, int] = {}

    def run(self) -> Iterator[TaskOutcome]:
        # Start the actors the first videos will need now, side by side: each takes seconds
        # (PyTorch, the models), and the planner waits for the first to learn the detector's
        # chunk needs.
        for task in list(self.waiting)[:1]:
            shots, _ = self.ex.pools(task.settings)
            shots.scale(len(self.waiting) * self.ex.queue_depth)
        while True:
            self._plan()
            while self.outcomes:
                yield self.outcomes.pop(0)
            self._check_videos()
            self._dispatch()
            self._scale()
            pending = list(self.in_flight) + [r for pools in self._pools()
                                              for pool in pools for r in pool.waiting_refs()]
            if not pending:
                if not (self.waiting or self.videos or self.outcomes):
                    return
                time.sleep(_POLL_S)
                continue
            ready, _ = self.ray.wait(pending, num_returns=1, timeout=_POLL_S)
            for ref in ready:
                entry = self.in_flight.pop(ref, None)
                if entry is not None:
                    self._answer(ref, entry)
                else:
                    any(p.mark(ref) for pools in self._pools() for p in pools)

    def _pools(self) -> list[tuple[_Pool, _Pool]]:
        return list(self.ex._pools.values())

    def _plan(self) -> None:
        """Plan more videos while the shot stage's queue is short and few videos are open
        (backpressure: a slow stage holds back planning, so memory stays bounded)."""
        actors = max(1, sum(p[0].active() for p in self._pools()))
        room = 2 * actors * self.ex.queue_depth
        while self.waiting and len(self.chunk_queue) < room and len(self.videos) < max(4, room):
            task = self.waiting.popleft()
            if self.ex.is_cancelled(task.job_id):
                self.outcomes.append(TaskOutcome(task, cancelled=True))
                continue
            try:
                planner = VideoPlanner(task.path, task.info, self.ex.geometry(task.settings),
                                       chunk_seconds=self.ex.chunk_seconds,
                                       sample_fps=task.settings.sample_fps)
                video = _Video(task, planner, planner.plan())
            except VidsceneError as e:
                self.outcomes.append(TaskOutcome(task, error=str(e)))
                continue
            self.videos[task.job_id] = video
            self._enqueue(video)

    def _enqueue(self, video: _Video) -> None:
        for chunk in video.plan.chunks:
            self.chunk_queue.append((video.task.job_id, video.generation, chunk))

    def _whole(self, video: _Video) -> None:
        """Analyse the video in one piece after all (a chunk that cannot be made exact, or
        an index that does not match decoding); what the chunks produced is dropped."""
        video.generation += 1
        video.results.clear()
        video.attempts.clear()
        video.plan = video.planner.whole()
        self._enqueue(video)

    def _end(self, video: _Video, result: Any = None, error: str | None = None,
             cancelled: bool = False) -> None:
        """The video's outcome; its queued work and late answers are dropped from now on."""
        del self.videos[video.task.job_id]
        self.outcomes.append(TaskOutcome(
            video.task, result, error=error, cancelled=cancelled,
            workers=sorted(video.workers), nodes=sorted(video.nodes),
            chunks=len(video.plan.chunks), retries=sum(video.retries.values())))

    def _check_videos(self) -> None:
        """Cancelled jobs end (queued work is dropped, answers still running are ignored);
        a stage whose actors cannot start fails the videos that need it."""
        for video in list(self.videos.values()):
            if self.ex.is_cancelled(video.task.job_id):
                self._end(video, cancelled=True)
                continue
            broken = [p.broken for p in self.ex.pools(video.task.settings) if p.broken]
            if broken:
                self._end(video, error=broken[0])

    def _scale(self) -> None:
        for shots, scenes in self._pools():
            shots.scale(len(self.chunk_queue))
            scenes.scale(len(self.finish_queue))
        counts = {"shots": sum(p[0].active() for p in self._pools()),
                  "scenes": sum(p[1].active() for p in self._pools())}
        if counts != self.counts:
            self.counts = counts
            self.listener.on_streams(counts)

    def _dispatch(self) -> None:
        """Hand queued work to actors with a free slot (the bounded buffers)."""
        while self.chunk_queue:
            job_id, generation, chunk = self.chunk_queue[0]
            video = self.videos.get(job_id)
            if video is None or generation != video.generation:
                self.chunk_queue.popleft()
                continue
            shots, _ = self.ex.pools(video.task.settings)
            member = shots.free()
            if member is None:
                break
            self.chunk_queue.popleft()
            ref = shots.submit(member, chunk)
            self.in_flight[ref] = ("chunk", job_id, generation, chunk, shots, member)
            if not video.started:
                video.started = True
                self.listener.on_started(job_id, "")
        while self.finish_queue:
            video = self.videos.get(self.finish_queue[0])
            if video is None:
                self.finish_queue.popleft()
                continue
            _, scenes = self.ex.pools(video.task.settings)
            member = scenes.free()
            if member is None:
                break
            self.finish_queue.popleft()
            results = [video.results[c.number] for c in video.plan.chunks]
            item = VideoChunks(video.task.info, results, time.perf_counter() - video.t0)
            ref = scenes.submit(member, item)
            self.in_flight[ref] = ("finish", video.task.job_id, video.generation, None,
                                   scenes, member)

    def _answer(self, ref: Any, entry: _InFlight) -> None:
        kind, job_id, generation, chunk, pool, member = entry
        errors = self.ray.exceptions
        try:
            value, node, worker = self.ray.get(ref)
        except errors.RayTaskError as e:  # the stage raised: the video's own problem
            pool.done(member)
            video = self._current(job_id, generation)
            if video is not None:
                self._stage_error(video, chunk, _cause(e))
            return
        except errors.RayError as e:  # the worker (or its node) died: another actor takes it
            pool.done(member, dead=True)
            video = self._current(job_id, generation)
            if video is not None:
                self._lost(video, job_id, generation, chunk, e)
            return
        pool.done(member)
        video = self._current(job_id, generation)
        if video is None:
            return
        video.workers.add(worker)
        video.nodes.add(node)
        if kind == "finish":
            self._end(video, value)
            return
        assert chunk is not None
        video.results[chunk.number] = value
        done = sum(r.frame_count - r.start for r in video.results.values())
        total = max(video.task.info.frame_count, done, 1)
        self.listener.on_progress(job_id, min(done, total), total)
        if len(video.results) == len(video.plan.chunks):
            self.finish_queue.append(job_id)

    def _current(self, job_id: str, generation: int) -> _Video | None:
        """The video an answer is for, unless it ended or was planned again since."""
        video = self.videos.get(job_id)
        return video if video is not None and video.generation == generation else None

    def _stage_error(self, video: _Video, chunk: Chunk | None, cause: BaseException) -> None:
        if isinstance(cause, ChunkNotInStep) and chunk is not None:
            wider = video.planner.widen(chunk)  # the same core, decoded wider
            if wider is not None:
                self.chunk_queue.appendleft((video.task.job_id, video.generation, wider))
                return
        if isinstance(cause, SpanMismatch | ChunkNotInStep) and video.plan.chunked:
            self._whole(video)
        elif isinstance(cause, VidsceneError):
            self._end(video, error=str(cause))
        else:
            self._end(video, error=f"{video.task.path}: {_line(cause)}")

    def _lost(self, video: _Video, job_id: str, generation: int, chunk: Chunk | None,
              e: BaseException) -> None:
        n = chunk.number if chunk is not None else -1
        video.attempts[n] = video.attempts.get(n, 0) + 1
        video.retries[n] = video.retries.get(n, 0) + 1
        if video.attempts[n] >= self.ex.max_attempts:
            self._end(video, error=f"{video.task.path}: its worker died "
                      f"{video.attempts[n]} times ({type(e).__name__})")
        elif chunk is not None:
            self.chunk_queue.appendleft((job_id, generation, chunk))
        else:
            self.finish_queue.appendleft(job_id)


def _cause(e: BaseException) -> BaseException:
    """The exception a stage raised inside Ray (Ray wraps it)."""
    cause = getattr(e, "cause", None)
    return cause if isinstance(cause, BaseException) else e


def _line(e: BaseException) -> str:
    return f"{type(e).__name__}: {' '.join(str(e).split())[:200]}"


def _check_reachable(address: str) -> None:
    """Fail at once on a ``HOST:PORT`` (or ``ray://HOST:PORT``) where nothing listens."""
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(f"--ray-address {address!r}: expected auto, HOST:PORT or "
                            "ray://HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5.0):
            pass
    except OSError as e:
        raise ExecutorError(f"cannot reach the Ray cluster at {address}: "
                            f"{e.strerror or e}") from None
