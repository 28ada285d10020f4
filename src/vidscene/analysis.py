"""The Analysis document: the one typed result of analysing a video.

Schema ``vidscene.analysis/1``.

Everything downstream (store, exports, HTML report, API) reads this document and nothing else, so
its JSON form is a stable contract (see ``docs/ARCHITECTURE.md``):

* frame ranges are half-open ``[start_frame, end_frame)``, counting decoded frames from 0;
* times are seconds from the video stream's first presentation timestamp;
* shots tile the video without gaps; a gradual transition belongs to the shot it leads into,
  whose ``start_frame`` is the transition's first frame.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = "vidscene.analysis/1"

TRANSITION_TYPES: tuple[str, ...] = ("cut", "dissolve", "fade", "wipe", "other")
"""Every value ``Transition.type`` may take."""

SHOT_MODEL_CLASSES: tuple[str, ...] = ("none", "cut", "dissolve", "fade", "wipe")
"""Class order of a learned shot model's per-frame type head: training targets, the model and
the detector's decoding all read it from here."""


@dataclass(frozen=True)
class VideoInfo:
    """What ``vidscene.video.probe`` learns about a file before decoding it."""

    path: str
    sha256: str
    duration: float
    fps: float
    frame_count: int
    width: int
    height: int
    has_audio: bool
    rotation: int = 0
    codec: str = ""


@dataclass(frozen=True)
class Transition:
    """A boundary between two shots.

    ``first_frame``..``last_frame`` (inclusive) are the mixed frames of a gradual transition; for
    a cut both equal the first frame of the new shot.
    """

    type: str
    first_frame: int
    last_frame: int
    confidence: float

    @property
    def is_gradual(self) -> bool:
        return self.type != "cut"


@dataclass
class Shot:
    index: int
    start_frame: int
    end_frame: int
    start_time: float
    end_time: float
    transition_in: Transition | None = None
    keyframes: list[int] = field(default_factory=list)
    attributes: dict[str, float] = field(default_factory=dict)

    @property
    def frame_count(self) -> int:
        return self.end_frame - self.start_frame

    @property
    def duration(self) -> float:
        return self.end_time - self.start_time


@dataclass
class Scene:
    index: int
    first_shot: int
    last_shot: int
    start_frame: int
    end_frame: int
    start_time: float
    end_time: float
    confidence: float
    attributes: dict[str, float] = field(default_factory=dict)


@dataclass
class Analysis:
    video: VideoInfo
    shots: list[Shot]
    scenes: list[Scene] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    models: dict[str, str] = field(default_factory=dict)
    timing: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    schema: str = SCHEMA
    # Last, so code that builds an Analysis by position keeps working.
    cues: list[dict[str, Any]] = field(default_factory=list)
    """Technical cues as time segments: ``{"type": "black_frames" | "color_bars" |
    "freeze_frame" | "letterbox" | "pillarbox" | …, "start_time", "end_time",
    "confidence"}``, in time order."""
    speech: list[dict[str, Any]] = field(default_factory=list)
    """Where someone speaks: ``{"start_time", "end_time"}``, in time order."""
    live: dict[str, Any] = field(default_factory=dict)
    """Only for one stored segment of a live input (``vidscene watch``): ``{"source",
    "stream", "segment", "started_at", "ended_at"`` (UTC, ISO 8601: the wall-clock time of
    the segment's time 0 and end), ``"dropped_frames", "gaps", "alerts"}``; empty (and left out
    of the JSON) for a file."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, with keys in the documented order."""
        video = asdict(self.video)
        return {
            "schema": self.schema,
            "video": video,
            "shots": [asdict(s) for s in self.shots],
            "scenes": [asdict(s) for s in self.scenes],
            "attributes": dict(self.attributes),
            "cues": [dict(c) for c in self.cues],
            "speech": [dict(s) for s in self.speech],
            "models": dict(self.models),
            "timing": {k: round(v, 4) for k, v in self.timing.items()},
            "settings": dict(self.settings),
            **({"live": dict(self.live)} if self.live else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        """Inverse of :meth:`to_dict`; rejects documents of another schema."""
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document: schema={data.get('schema')!r}")
        video = VideoInfo(**data["video"])
        shots = []
        for s in data["shots"]:
            s = dict(s)
            t = s.pop("transition_in", None)
            shots.append(Shot(transition_in=Transition(**t) if t else None, **s))
        scenes = [Scene(**s) for s in data.get("scenes", [])]
        return cls(
            video=video,
            shots=shots,
            scenes=scenes,
            attributes=dict(data.get("attributes", {})),
            cues=[dict(c) for c in data.get("cues", [])],
            speech=[dict(s) for s in data.get("speech", [])],
            models=dict(data.get("models", {})),
            timing=dict(data.get("timing", {})),
            settings=dict(data.get("settings", {})),
            live=dict(data.get("live", {})),
        )

    def check(self) -> None:
        """Assert the contract's invariants (tiling, half-open ranges); raises ``ValueError``."""
        expected = 0
        for i, s in enumerate(self.shots):
            if s.index != i:
                raise ValueError(f"shot {i} has index {s.index}")
            if s.start_frame != expected or s.end_frame <= s.start_frame:
                raise ValueError(f"shot {i} [{s.start_frame},{s.end_frame}) breaks the tiling")
            if s.transition_in is not None and s.transition_in.type not in TRANSITION_TYPES:
                raise ValueError(f"shot {i}: unknown transition type {s.transition_in.type!r}")
            expected = s.end_frame
        if self.shots and expected != self.video.frame_count:
            raise ValueError(f"shots end at {expected}, video has {self.video.frame_count} frames")
        for j, sc in enumerate(self.scenes):
            first, last = self.shots[sc.first_shot], self.shots[sc.last_shot]
            if sc.start_frame != first.start_frame or sc.end_frame != last.end_frame:
                raise ValueError(f"scene {j} frames do not match its shots")


@dataclass
class AnalysisResult:
    """An Analysis plus the binary things that travel with it but stay out of the JSON.

    ``thumbnails`` maps a keyframe's frame index to a small JPEG of it (for the HTML report);
    ``id`` is the store's id once stored; ``shot_embeddings`` (one row per shot, a NumPy
    array) are what the scene segmenter grouped, kept so another segmenter can be tried on the
    same shots without decoding again (fresh analyses only: the store does not keep them);
    ``keyframe_embeddings`` likewise, one array per shot, when the segmenter had a keyframe
    embedder.
    """

    analysis: Analysis
    thumbnails: dict[int, bytes] = field(default_factory=dict)
    id: str | None = None
    shot_embeddings: Any = None
    keyframe_embeddings: Any = None
