"""The executor interface: where the stages run.

An executor takes videos (each a :class:`VideoTask`: a job id, the file, its probe and the
settings) and yields one :class:`TaskOutcome` per video as each finishes, in any order. It
never writes to a store: the job runner (:mod:`vidscene.pipeline._runner`) keeps the job
records and saves results, so every executor gets retries, resume and idempotence the same way.

Registered: ``local`` (in this process, one video at a time; the default) and ``ray`` (stages
in Ray actors, many videos and chunks of long videos at once; :mod:`vidscene.pipeline._ray`,
imported only when chosen).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import ClassVar, Self

from vidscene.analysis import AnalysisResult, VideoInfo
from vidscene.errors import VidsceneError
from vidscene.pipeline._settings import AnalyzeSettings
from vidscene.registry import Registry


class ExecutorError(VidsceneError):
    """The executor cannot run at all (a Ray cluster that cannot be reached, Ray not
    installed); nothing was analysed."""


class Cancelled(VidsceneError):
    """The job was cancelled while it ran."""


@dataclass(frozen=True)
class VideoTask:
    """One video to analyse."""

    job_id: str
    path: str
    """As the user gave it (the Analysis reports this path)."""
    info: VideoInfo
    settings: AnalyzeSettings


@dataclass
class TaskOutcome:
    """How one video ended: a result, or a one-line error."""

    task: VideoTask
    result: AnalysisResult | None = None
    error: str | None = None
    cancelled: bool = False
    workers: list[str] = field(default_factory=list)
    """The processes (``host:pid``) that analysed it."""
    nodes: list[str] = field(default_factory=list)
    """The cluster nodes they ran on."""
    chunks: int = 1
    retries: int = 0
    """Pieces given to another worker because theirs died."""


@dataclass
class Listener:
    """What an executor reports while it works; every callback is optional.

    ``started(job_id, worker)`` when a video's first piece starts; ``progress(job_id,
    frames_done, frames_total)`` as frames are analysed; ``streams(counts)`` when the number
    of working copies of each stage changes (``{"shots": 2, "scenes": 1}``)."""

    started: Callable[[str, str], None] | None = None
    progress: Callable[[str, int, int], None] | None = None
    streams: Callable[[dict[str, int]], None] | None = None

    def on_started(self, job_id: str, worker: str) -> None:
        if self.started:
            self.started(job_id, worker)

    def on_progress(self, job_id: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(job_id, done, total)

    def on_streams(self, counts: dict[str, int]) -> None:
        if self.streams:
            self.streams(counts)


class Executor(ABC):
    """Runs the pipeline's stages over many videos (see module doc).

    Use as a context manager: ``__enter__`` acquires what it needs (a Ray connection) and
    raises :class:`ExecutorError` if it cannot, before any job is touched."""

    name: ClassVar[str] = ""

    def __init__(self) -> None:
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()

    def start(self) -> None:  # noqa: B027  (optional hook)
        """Acquire resources; :class:`ExecutorError` if the executor cannot run."""

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release resources; safe to call twice."""

    @abstractmethod
    def run(self, tasks: Iterable[VideoTask], listener: Listener | None = None
            ) -> Iterator[TaskOutcome]:
        """Analyse every task; yield one outcome per task as it ends (any order)."""

    def cancel(self, job_id: str) -> None:
        """Stop the job's work as soon as possible; its outcome says ``cancelled``."""
        with self._lock:
            self._cancelled.add(job_id)

    def is_cancelled(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._cancelled

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


EXECUTORS: Registry[Executor] = Registry("executor")
"""Executors by name (the ``--executor`` value)."""


def create_executor(name: str, **options: object) -> Executor:
    """Build the executor registered as ``name``; the Ray one is imported only here."""
    if name == "ray" and name not in EXECUTORS:
        import vidscene.pipeline._ray  # noqa: F401  (registers "ray"; needs the [ray] extra)
    return EXECUTORS.create(name, **{k: v for k, v in options.items() if v is not None})
