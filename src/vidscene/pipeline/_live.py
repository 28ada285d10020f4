"""Live analysis: the shot and scene stages over a feed that keeps coming (``vidscene watch``).

The same stage functions as a file analysis, driven differently:

* every *run* of the input (:class:`vidscene.video.LiveSource`: one stretch with steady
  timestamps) is one :class:`~vidscene.pipeline.ShotStage` call over a whole "video" that is
  still arriving; the stage's ``on_batch`` observer sees its transitions and closed shots as
  they become final and turns them into events at once;
* the stream is cut into *segments* (at most ``segment_seconds`` each, ending on a shot
  boundary, and always at a gap): each goes through :class:`~vidscene.pipeline.SceneStage`
  like a video of its own, giving its scenes and a valid Analysis document with wall-clock
  times (``Analysis.live``), which is stored;
* black and frozen picture (the ``cues`` attribute's per-frame flags) and silence (the input's
  audio levels) longer than their thresholds raise alerts.

Frames are numbered from the first decoded frame of the whole watch, across gaps, and times
run from it too (a gap advances time by its wall-clock length). Every event is one JSON-ready
dict with ``event``, ``first_frame``, ``last_frame``, ``start_time``, ``end_time``, ``type``,
``confidence`` and ``wall_time`` (UTC, ISO 8601, when it was emitted).
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np

from vidscene import attributes as attrs
from vidscene.analysis import Shot, Transition, VideoInfo
from vidscene.pipeline._plan import Chunk
from vidscene.pipeline._scene_stage import SceneStage, VideoChunks
from vidscene.pipeline._settings import AnalyzeSettings
from vidscene.pipeline._shot_stage import ChunkResult, ChunkSoFar, ClosedShot, ShotStage
from vidscene.pipeline._stage import Resources
from vidscene.store import ResultStore, settings_key
from vidscene.video import FrameBatch, Gap, LiveRun, LiveSource

__all__ = ["LiveAnalysis", "WatchSettings", "live_settings"]

Emit = Callable[[dict[str, Any]], None]

_BLACK, _FROZEN = 1, 4
"""The ``cues`` attribute's per-frame flags (``vidscene.attributes._cues``)."""


@dataclass(frozen=True)
class WatchSettings:
    """What ``vidscene watch`` adds to an analysis's settings."""

    segment_seconds: float = 3600.0
    """Longest stored segment; a segment ends at the first shot boundary past this."""
    batch_frames: int = 5
    """Frames per decoded batch: small, so a frame waits little for its batch to fill."""
    black_after: float = 2.0
    freeze_after: float = 5.0
    silence_after: float = 5.0
    silence_dbfs: float = -50.0
    """Audio below this level (RMS, dBFS) counts as silence."""
    scene_every: float = 30.0
    """Seconds of stream between two looks for scenes that have become final: the segmenter
    runs on the open segment's shots so far, and every scene but the last two (which more
    shots may still change) is reported."""


def live_settings(settings: AnalyzeSettings) -> AnalyzeSettings:
    """The analysis settings a live input can run: the audio attributes read the whole
    soundtrack of a file and are left out (the silence alert reads the live audio instead);
    ``cues`` is always on (the picture alerts read its flags)."""
    chosen = attrs.create_attributes(settings.attributes)
    names = [a.name for a in chosen if not a.audio]
    if "cues" not in names:
        names.append("cues")
    return replace(settings, attributes=tuple(names))


def utc(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


@dataclass
class _Alarm:
    """One alert kind's state: how long its condition has held."""

    kind: str
    after: float
    since: tuple[int, float] | None = None
    """(frame, time) where the condition began, while it holds."""
    raised: bool = False


@dataclass
class LiveSummary:
    """What a watch did, for its last line and the tests."""

    stream: str
    frames: int = 0
    dropped: int = 0
    runs: int = 0
    gaps: int = 0
    segments: list[str] = field(default_factory=list)


class _RunStream:
    """A live run seen as the shot stage's frame stream: the batches of its frames."""

    def __init__(self, stream: Any, run: LiveRun) -> None:
        self._stream, self._run = stream, run
        stream.fps = run.fps

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __iter__(self) -> Iterator[FrameBatch]:
        run = self._run
        return self._stream.batches_from(run.frames(), run.time_base, run.width, run.height)


class LiveAnalysis:
    """Analyse ``source`` until it ends or :meth:`stop` is called, calling ``emit`` with each
    event (see module doc) and saving each segment to ``store`` (if given)."""

    def __init__(self, source: LiveSource, settings: AnalyzeSettings, emit: Emit, *,
                 watch: WatchSettings | None = None, store: ResultStore | None = None,
                 stream_id: str | None = None, resources: Resources | None = None) -> None:
        self.source = source
        self.settings = live_settings(settings)
        self.watch = watch or WatchSettings()
        self.emit_event = emit
        self.store = store
        self.stream_id = stream_id or uuid.uuid4().hex[:12]
        self.shot_stage = ShotStage(self.settings, resources)
        self.scene_stage = SceneStage(self.settings, resources)
        self.summary = LiveSummary(self.stream_id)
        self._lock = threading.Lock()
        self._frame_offset = 0
        self._time_offset = 0.0
        self._segment_number = 0
        self._detector = self.settings.detector
        self._started = False
        self._alerts_of_segment: list[dict[str, Any]] = []
        self._gaps_of_segment: list[dict[str, Any]] = []

    def stop(self) -> None:
        """Finish cleanly: the open shot and the current segment are closed and stored."""
        self.source.stop()

    # -- events ------------------------------------------------------------------------------
    def _emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"event": event, "stream": self.stream_id, **fields,
                  "wall_time": utc(time.time())}
        with self._lock:
            self.emit_event(record)
        return record

    # -- the watch ---------------------------------------------------------------------------
    def run(self) -> LiveSummary:
        # The input is opened at once (a UDP sender that starts with the watcher must not
        # lose its first packets while PyTorch loads); the models load meanwhile, and until
        # they are ready the input waits in its buffers instead of being dropped.
        self.source.hold_drops()
        failure: list[BaseException] = []

        def prepare() -> None:
            try:
                self._prepare()
            except BaseException as e:  # re-raised on the watch's thread
                failure.append(e)

        preparing = threading.Thread(target=prepare, name="vidscene-live-setup")
        preparing.start()
        try:
            for item in self.source:
                if preparing.is_alive() or not self._started:
                    preparing.join()
                    if failure:
                        raise failure[0]
                    self.source.release_drops()
                if isinstance(item, Gap):
                    self._gap(item)
                else:
                    self._run(item)
        finally:
            preparing.join()
        if failure:
            raise failure[0]
        self.summary.dropped = self.source.dropped
        self._emit("stop", first_frame=0, last_frame=max(0, self._frame_offset - 1),
                   start_time=0.0, end_time=round(self._time_offset, 6),
                   frames=self._frame_offset, dropped_frames=self.source.dropped,
                   runs=self.summary.runs, gaps=self.summary.gaps,
                   segments=self.summary.segments)
        return self.summary

    def _prepare(self) -> None:
        """Load the stages' models and the detector's weights; then say the watch started."""
        self.shot_stage.setup()
        self.scene_stage.warm_up()
        detector = self.shot_stage.new_detector()
        getattr(detector, "model", None)  # a live input's first cut must not wait for it
        self._detector = detector.describe()
        self.shot_stage._spare = detector
        self._emit("start", source=self.source.source, detector=self._detector,
                   lookahead_frames=getattr(detector, "lookahead_frames", None))
        self._started = True

    def _gap(self, gap: Gap) -> None:
        self.summary.gaps += 1
        record = self._emit("gap", first_frame=self._frame_offset,
                            last_frame=self._frame_offset, start_time=round(self._time_offset, 6),
                            end_time=round(self._time_offset + gap.seconds, 6), type=gap.reason,
                            confidence=1.0, seconds=round(gap.seconds, 3),
                            dropped_frames=self.source.dropped)
        self._gaps_of_segment.append(record)
        self._time_offset += gap.seconds  # stream time goes on through the gap

    def _run(self, run: LiveRun) -> None:
        """One run: the shot stage over its frames, events as they become final, segments."""
        self.summary.runs += 1
        state = _RunState(run, self._frame_offset, self._time_offset)
        alarms = [_Alarm("black", self.watch.black_after), _Alarm("frozen",
                                                                    self.watch.freeze_after),
                  _Alarm("silence", self.watch.silence_after)]

        def on_batch(batch: FrameBatch, so_far: ChunkSoFar) -> None:
            state.add_times(batch.times)
            self._new_transitions(state, so_far)
            self._new_shots(state, so_far, final=False)
            self._alerts(state, batch, so_far, alarms)
            if state.last_time() - state.scenes_looked >= self.watch.scene_every:
                state.scenes_looked = state.last_time()
                self._final_scenes(state, so_far)
            if state.last_time() - state.segment_time() >= self.watch.segment_seconds \
                    and state.shots_until > state.segment_start:
                self._segment(state, so_far, state.shots_until, final=False)

        frames = self.shot_stage.frame_stream(self.source.source)
        frames.batch_size = self.watch.batch_frames
        stream = _RunStream(frames, run)
        chunk = Chunk(path=self.source.source, number=0, start=0, stop=None, span=None)
        result = self.shot_stage(chunk, stream=stream, on_batch=on_batch)
        final = ChunkSoFar(result.transitions, result.shots, result.values,
                           measured_until=result.frame_count)
        state.duration = result.duration
        self._new_transitions(state, final)
        self._new_shots(state, final, final=True)
        for alarm in alarms:
            self._clear(state, alarm, result.frame_count)
        if result.frame_count > state.segment_start:
            self._segment(state, final, result.frame_count, final=True, result=result)
        self._frame_offset += result.frame_count
        self._time_offset += result.duration
        self.summary.frames = self._frame_offset
        self._emit("run", first_frame=state.frame_offset,
                   last_frame=state.frame_offset + result.frame_count - 1,
                   start_time=round(state.time_offset, 6),
                   end_time=round(state.time_offset + result.duration, 6), type=run.end_reason,
                   confidence=1.0, dropped_frames=self.source.dropped)

    # -- per batch ---------------------------------------------------------------------------
    def _new_transitions(self, state: _RunState, so_far: ChunkSoFar) -> None:
        found = so_far.transitions
        while state.transitions_seen < len(found):
            t = found[state.transitions_seen]
            state.transitions_seen += 1
            if t.first_frame == 0:
                continue  # the run's opening (a fade in): not a boundary between shots
            now = time.time()
            arrived = state.run.arrival(t.last_frame)
            latency = round(now - arrived, 3) if arrived is not None else None
            self._emit("transition", **state.span(t.first_frame, t.last_frame + 1),
                       type=t.type, confidence=round(t.confidence, 4), latency_s=latency)

    def _new_shots(self, state: _RunState, so_far: ChunkSoFar, *, final: bool) -> None:
        """A closed shot is reported once its attributes are measured."""
        closed = so_far.closed
        while state.shots_seen - state.shots_pruned < len(closed):
            c = closed[state.shots_seen - state.shots_pruned]
            if not final and c.end > so_far.measured_until:
                return
            state.shots_seen += 1
            state.shots_until = c.end
            shot = Shot(0, c.start, c.end, state.time(c.start), state.time(c.end))
            attrs.aggregate_shots([shot], {k: [v for v in vs if c.start <= v[0] < c.end]
                                           for k, vs in so_far.values.items()},
                                  self.scene_stage.reducers)
            transition = next((t for t in so_far.transitions if t.first_frame == c.start), None)
            self._emit("shot", **state.span(c.start, c.end),
                       type=transition.type if transition and c.start else "start",
                       confidence=round(transition.confidence, 4) if transition else 1.0,
                       keyframes=[state.frame_offset + k for k in c.keyframes],
                       attributes=shot.attributes)

    def _alerts(self, state: _RunState, batch: FrameBatch, so_far: ChunkSoFar,
                alarms: list[_Alarm]) -> None:
        """Picture alerts from the flags the ``cues`` attribute measured on this batch's
        frames (it runs on every frame, in the stage), silence from the input's audio."""
        cues = so_far.values.get("cues", [])
        first = len(cues)
        while first > 0 and cues[first - 1][0] >= batch.start:
            first -= 1
        black, frozen, silence = alarms
        for frame, f in cues[first:]:
            t = float(batch.times[frame - batch.start])
            self._check(state, black, bool(f & _BLACK), frame, t)
            self._check(state, frozen, bool(f & _FROZEN), frame, t)
        if state.run.audio is not None:
            for t, d, level in state.run.audio.drain():
                quiet = level < self.watch.silence_dbfs
                self._check(state, silence, quiet, state.frame_at(t), t, end=t + d)

    def _check(self, state: _RunState, alarm: _Alarm, holds: bool, frame: int, t: float, *,
               end: float | None = None) -> None:
        if not holds:
            self._clear(state, alarm, frame)
            return
        if alarm.since is None:
            alarm.since = (frame, t)
        if not alarm.raised and (end if end is not None else t) - alarm.since[1] >= alarm.after:
            alarm.raised = True
            self._alert(state, alarm, frame + 1, "raised")

    def _clear(self, state: _RunState, alarm: _Alarm, frame: int) -> None:
        if alarm.raised and alarm.since is not None:
            self._alert(state, alarm, max(frame, alarm.since[0] + 1), "cleared")
        alarm.since, alarm.raised = None, False

    def _alert(self, state: _RunState, alarm: _Alarm, stop: int, what: str) -> None:
        """An alert over run frames ``[since, stop)``; its start is timed from the frame it
        began at (which may lie in a segment already stored)."""
        assert alarm.since is not None
        first, began = alarm.since
        span = state.span(first, stop)
        span["start_time"] = round(state.time_offset + began, 6)
        record = self._emit("alert", **span, type=alarm.kind, confidence=1.0, state=what,
                            seconds=round(span["end_time"] - span["start_time"], 3))
        self._alerts_of_segment.append(record)

    def _final_scenes(self, state: _RunState, so_far: ChunkSoFar) -> None:
        """Report the scenes of the open segment that more shots will not change: all but the
        last two of a segmentation of its reported shots. Reported scenes tile the segment
        from its start; a boundary that moved since is not reported twice (the next scene
        starts where the last reported one ended)."""
        segmenter = self.scene_stage.segmenter
        closed = [c for c in so_far.closed
                  if c.start >= state.segment_start and c.end <= state.shots_until]
        if len(closed) < 3 or segmenter is None:
            return
        shots = [Shot(i, c.start, c.end, state.run_time(c.start), state.run_time(c.end))
                 for i, c in enumerate(closed)]
        keyframes = ([c.keyframe_embeddings for c in closed if c.keyframe_embeddings is not None]
                     if self.scene_stage.embedder is not None else None)
        scenes = segmenter.segment(shots, np.stack([c.embedding for c in closed]), keyframes)
        for scene in scenes[:-2]:
            if scene.end_frame <= state.scenes_until:
                continue
            first = max(scene.start_frame, state.scenes_until)
            count = sum(1 for c in closed if first <= c.start < scene.end_frame)
            self._emit("scene", **state.span(first, scene.end_frame), type="scene",
                       confidence=round(scene.confidence, 4), shots=count, final=True)
            state.scenes_until = scene.end_frame

    # -- segments ----------------------------------------------------------------------------
    def _segment(self, state: _RunState, so_far: ChunkSoFar, end: int, *, final: bool,
                 result: ChunkResult | None = None) -> None:
        """Store the run's frames ``[segment_start, end)`` (ending on a shot boundary) as one
        Analysis, emit its scenes, and forget its shots and samples."""
        start = state.segment_start
        shots = [c for c in so_far.closed if start <= c.start and c.end <= end]
        if not shots:
            return
        end = shots[-1].end
        rebased = [ClosedShot(c.start - start, c.end - start, [k - start for k in c.keyframes],
                              c.embedding, {k - start: j for k, j in c.thumbnails.items()},
                              c.keyframe_embeddings) for c in shots]
        transitions = [Transition(t.type, t.first_frame - start, t.last_frame - start,
                                  t.confidence)
                       for t in so_far.transitions if start <= t.first_frame < end]
        values = {k: [(f - start, v) for f, v in vs if start <= f < end]
                  for k, vs in so_far.values.items()}
        t0 = state.run_time(start)
        times = state.times_of(start, end) - t0
        fps = state.run.fps
        duration = (state.run_time(end) if end < state.known
                    else (result.duration if result is not None else times[-1] + t0 + 1 / fps)
                    ) - t0
        number = self._segment_number
        self._segment_number += 1
        wall0 = state.run.wall_start + t0
        info = VideoInfo(
            path=self.source.source,
            sha256=hashlib.sha256(f"{self.stream_id}:{number}".encode()).hexdigest(),
            duration=round(duration, 6), fps=round(fps, 6), frame_count=end - start,
            width=state.run.width, height=state.run.height,
            has_audio=state.run.audio is not None, codec="")
        chunk = ChunkResult(
            number=0, start=0, transitions=transitions, times=times, shots=rebased, head=[],
            opened_at=0, tail=[], tail_start=None, values=values, frame_count=end - start,
            duration=duration, fps=fps,
            detector=result.detector if result is not None else self._detector,
            attribute_models=result.attribute_models if result is not None else {},
            decode_s=0.0, shots_s=0.0)
        analysed = self.scene_stage(VideoChunks(info, [chunk], soundtrack=False))
        analysis = analysed.analysis
        analysis.live = {
            "source": self.source.source, "stream": self.stream_id, "segment": number,
            "started_at": utc(wall0), "ended_at": utc(wall0 + duration),
            "first_frame": state.frame_offset + start, "start_time": state.time(start),
            "dropped_frames": self.source.dropped, "gaps": self._gaps_of_segment,
            "alerts": self._alerts_of_segment,
        }
        self._alerts_of_segment, self._gaps_of_segment = [], []
        stored = None
        if self.store is not None:
            stored = self.store.save(analysed, settings_key(self.settings.to_dict()))
            self.summary.segments.append(stored)
        for scene in analysis.scenes:  # those not reported while the segment was open
            first, stop = start + scene.start_frame, start + scene.end_frame
            if stop <= state.scenes_until:
                continue
            first = max(first, state.scenes_until)
            self._emit("scene", **state.span(first, stop), type="scene",
                       confidence=round(scene.confidence, 4),
                       shots=sum(1 for c in shots if first <= c.start < stop))
        state.scenes_until = end
        self._emit("segment", **state.span(start, end), type="final" if final else "period",
                   confidence=1.0, id=stored, segment=number, started_at=utc(wall0),
                   shots=len(analysis.shots), scenes=len(analysis.scenes))
        # Forget what is stored: an all-day watch holds one segment at a time.
        del so_far.closed[:len(shots)]  # older ones went with earlier segments
        state.shots_pruned += len(shots)
        for vs in so_far.values.values():
            keep = next((i for i, (f, _) in enumerate(vs) if f >= end), len(vs))
            del vs[:keep]
        state.segment_start = end
        state.forget(end, so_far)


class _RunState:
    """Book-keeping of one run: what was reported, and how run frames map to the stream's.

    Frame times are kept from the open segment on (older ones are forgotten with it)."""

    def __init__(self, run: LiveRun, frame_offset: int, time_offset: float) -> None:
        self.run = run
        self.frame_offset, self.time_offset = frame_offset, time_offset
        self._times: list[float] = []
        self._times_from = 0
        self.transitions_seen = 0
        self.shots_seen = 0
        self.shots_pruned = 0
        self.shots_until = 0
        self.segment_start = 0
        self.scenes_until = 0
        """Scenes are reported up to this run frame (they tile the run from its start)."""
        self.scenes_looked = 0.0
        self.duration = 0.0
        self._dropped_batches = 0

    @property
    def known(self) -> int:
        """Frames of the run seen so far."""
        return self._times_from + len(self._times)

    def add_times(self, times: np.ndarray) -> None:
        self._times.extend(times.tolist())

    def last_time(self) -> float:
        return self._times[-1] if self._times else 0.0

    def run_time(self, frame: int) -> float:
        """Run time of ``frame`` (a frame past the last seen: one interval after it, or the
        run's end once known)."""
        k = frame - self._times_from
        if 0 <= k < len(self._times):
            return self._times[k]
        if self.duration:
            return self.duration
        return (self._times[-1] + 1 / self.run.fps) if self._times else 0.0

    def times_of(self, start: int, end: int) -> np.ndarray:
        return np.asarray(self._times[start - self._times_from:end - self._times_from],
                          np.float64)

    def time(self, frame: int) -> float:
        """Stream time of run frame ``frame``."""
        return round(self.time_offset + self.run_time(frame), 6)

    def frame_at(self, t: float) -> int:
        """The run frame shown at run time ``t``."""
        if not self._times:
            return self._times_from
        k = int(np.searchsorted(np.asarray(self._times), t, side="right")) - 1
        return self._times_from + max(0, k)

    def segment_time(self) -> float:
        return self.run_time(self.segment_start)

    def forget(self, before: int, so_far: ChunkSoFar) -> None:
        """Drop per-frame records of the frames before ``before`` (a stored segment's): the
        times, arrival times, and the stage's own arrays of batch times."""
        k = max(0, min(before - self._times_from, len(self._times)))
        del self._times[:k]
        self._times_from += k
        self.run.forget(before)
        dropped = self._dropped_batches
        while so_far.times and dropped + len(so_far.times[0]) <= before:
            dropped += len(so_far.times.pop(0))
        self._dropped_batches = dropped

    def span(self, first: int, stop: int) -> dict[str, Any]:
        """Event fields of run frames ``[first, stop)`` in the stream's numbering and time."""
        return {"first_frame": self.frame_offset + first,
                "last_frame": self.frame_offset + stop - 1,
                "start_time": self.time(first), "end_time": self.time(stop)}
