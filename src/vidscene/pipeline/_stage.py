"""What every pipeline stage shares: the resources it declares and its life cycle.

A stage is set up once (models loaded) and then called many times, one item in, one item out,
in the spirit of Ray Data's ``map_batches`` callables and NeMo Curator's stage contract. The
local executor calls stages in-process; the Ray executor holds each stage in long-lived actors
that ask Ray for the stage's :class:`Resources`. The stage code is the same in both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Generic, TypeVar

from vidscene.pipeline._settings import AnalyzeSettings

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass(frozen=True)
class Resources:
    """What one copy of a stage asks of the machine, and how it uses what it gets.

    ``num_cpus`` and ``num_gpus`` are Ray's resource requests (fractions allowed, so several
    small models share a GPU); ``threads`` is how many CPU threads the stage's libraries
    (PyTorch, FFmpeg) may use, 0 leaving them at their own defaults (all cores, right for one
    process on a laptop); ``device`` is where the learned models run (``cpu`` or ``cuda``).
    """

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    threads: int = 0
    device: str = "cpu"
    batch: int = 0
    """How many model inputs (the detector's 96-frame windows) one call takes; 0: from the
    hardware (1 on a CPU, where batching gains nothing and keeps every run's numbers equal;
    32 on a GPU)."""


class Stage(ABC, Generic[In, Out]):
    """One step of the pipeline: :meth:`setup` once per process, then one call per item."""

    name: ClassVar[str] = ""
    """What logs, job records and the executor's settings call the stage."""

    def __init__(self, settings: AnalyzeSettings, resources: Resources | None = None) -> None:
        self.settings = settings
        self.resources = resources or Resources()
        self._ready = False

    def setup(self) -> None:
        """Load what the stage holds for its life (models); safe to call again."""
        if not self._ready:
            self._setup()
            self._ready = True

    def _setup(self) -> None:  # noqa: B027  (optional hook)
        """The stage's own one-time work."""

    @abstractmethod
    def __call__(self, item: In) -> Out:
        """Process one item (a chunk of a video, or a video's chunk results)."""
