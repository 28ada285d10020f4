"""The API's typed bodies (pydantic): what ``/v1/openapi.json`` documents."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vidscene.store import Job

MAX_OFFSET = 1_000_000_000
"""Pages start at most this far in (and every backend can count that far)."""

JobState = Literal["queued", "running", "done", "failed", "cancelled"]


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Progress(BaseModel):
    frames_done: int
    frames_total: int
    seconds_done: float
    seconds_total: float
    fraction: float = Field(description="0 to 1.")


class JobOut(BaseModel):
    """A job: one submitted video, from ``queued`` to a final state."""

    id: str
    state: JobState
    progress: Progress
    analysis_id: str | None = Field(description="Set once the job is done.")
    error: str | None = Field(description="One line; set when failed or cancelled.")
    name: str = Field(description="The video's file name.")
    path: str = Field(description="As submitted: relative to its media root, or the upload's "
                                  "name.")
    upload: bool
    reused: bool = Field(description="Done at once: this video was already analysed.")
    attempts: int
    retries: int
    executor: str
    created: str
    started: str | None
    finished: str | None
    callback_url: str | None = None

    @classmethod
    def of(cls, job: Job) -> JobOut:
        source = job.source or {}
        fraction = 1.0 if job.state == "done" else (
            min(1.0, job.frames_done / job.frames_total) if job.frames_total else 0.0)
        name = source.get("name") or job.path.rsplit("/", 1)[-1]
        return cls(
            id=job.id, state=job.state,  # type: ignore[arg-type]
            progress=Progress(frames_done=job.frames_total if job.state == "done" else
                              job.frames_done, frames_total=job.frames_total,
                              seconds_done=job.seconds_done, seconds_total=job.seconds_total,
                              fraction=round(fraction, 4)),
            analysis_id=job.analysis_id, error=job.error, name=name,
            path=source.get("path", name), upload=bool(source.get("upload")),
            reused=job.reused, attempts=job.attempts, retries=job.retries,
            executor=job.executor, created=job.created, started=job.started,
            finished=job.finished, callback_url=source.get("callback_url"))


class PathJob(BaseModel):
    """Analyse a video already on the server, under one of its media roots."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=4096,
                      description="Relative to a media root, or absolute inside one.")
    callback_url: str | None = Field(None, max_length=2048,
                                     description="POSTed a signed JSON body when the job ends.")


class Page(BaseModel):
    total: int
    limit: int
    offset: int


class JobPage(Page):
    items: list[JobOut]


class AnalysisSummary(BaseModel):
    id: str
    path: str
    name: str
    duration: float
    shot_count: int | None
    scene_count: int | None
    created: str
    mean_shot_length: float | None = None
    thumbnail: str


class AnalysisPage(Page):
    items: list[AnalysisSummary]


class SearchPage(Page):
    level: Literal["videos", "shots", "scenes"]
    items: list[dict[str, Any]]


class Histogram(BaseModel):
    edges: list[float]
    counts: list[int]


class NamedValue(BaseModel):
    id: str
    name: str
    value: float


class Stats(BaseModel):
    videos: int
    duration: float
    shots: int
    scenes: int
    shot_lengths: Histogram
    cuts_per_minute: list[NamedValue]
    attributes: dict[str, Histogram]
    transitions: dict[str, int]


class ModelOut(BaseModel):
    name: str
    version: str
    kind: str | None = None
    sha256: str | None = None
    card: dict[str, Any] = Field(default_factory=dict)


class Health(BaseModel):
    status: Literal["ok"]
    version: str
