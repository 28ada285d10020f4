"""The shot stage: a chunk of a video (or a whole video) in, its shots out.

In one decoding pass over the chunk it runs, in-process and streaming, the steps that need
pixels: the shot detector on the tiny copy of every frame, the attributes on the sampled
analysis frames, and each shot's keyframes (selection, thumbnails, the scene model's keyframe
embeddings) as soon as the shot closes. Keeping these steps together is deliberate: they share
the decoded frames, and handing every tiny frame to another process would cost more than the
detector itself (``docs/ARCHITECTURE.md``, "Where stages run"). Memory stays bounded: one
batch of frames, the detector's window, the samples of the open shot.

A chunk reports what it *owns* (see :mod:`vidscene.pipeline._plan`): the transitions and
shots that start in its core and the attribute samples there. The shot open at its core's
start belongs to an earlier chunk, so its samples there are handed on (``head``); if the shot
open at its core's end has not ended within the chunk's tail, its samples are handed on too
(``tail``). The scene stage joins those pieces.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from vidscene import attributes as attrs
from vidscene import keyframes as kf
from vidscene.analysis import Transition
from vidscene.errors import VidsceneError
from vidscene.pipeline._plan import Chunk, ChunkGeometry
from vidscene.pipeline._settings import AnalyzeSettings
from vidscene.pipeline._stage import Resources, Stage
from vidscene.registry import Registry
from vidscene.scenes import SEGMENTERS, KeyframeEmbedder, SceneSegmenter, create_segmenter
from vidscene.shots import DETECTORS, VIDEO_START, ShotDetector, follows
from vidscene.video import FrameBatch, FrameStream, SpanMismatch, sample_slot

Progress = Callable[[int, int], None]
"""Called as ``progress(frames_done, frames_expected)`` while decoding."""


@dataclass
class ChunkSoFar:
    """What a chunk has found so far, as the stage holds it (not copies): handed to an
    ``on_batch`` observer after every batch. The live path reads the new transitions and
    closed shots from it, and may remove closed shots and attribute samples it has stored."""

    transitions: list[Transition]
    closed: list[ClosedShot]
    values: dict[str, list[tuple[int, Any]]]
    measured_until: int = 0
    """Every sampled-frame attribute is measured for the frames before this one."""
    times: list[np.ndarray] = field(default_factory=list)
    """The frame times of each batch so far (an observer may drop the oldest arrays)."""


BatchObserver = Callable[[FrameBatch, ChunkSoFar], None]

_THUMB_QUALITY = 82
_TINY_RING = 512
_BATCHES_IN_FLIGHT = 3
"""Decoded batches whose attributes may still be measured while the next is decoded."""
EMBED_BATCH = 64
"""Closed shots whose keyframes are embedded in one encoder call when nobody watches the
chunk live: one call per shot costs several times the work (each call's fixed overhead, and
the thread switches against the detector's own PyTorch calls)."""


class ChunkNotInStep(VidsceneError):
    """A chunk's detector did not fall in step with a whole-video pass within the chunk's
    warm-up, or could not decide its core within the frames the chunk decodes; the executor
    plans the video again with more of both, and in the end analyses it in one piece."""


@dataclass
class Sample:
    """What is kept of one sampled analysis frame until its shot closes."""

    index: int
    descriptor: np.ndarray
    jpeg: bytes
    prepared: np.ndarray | None = None
    """The segmenter's small copy for its keyframe embedder (learned segmenters only)."""


@dataclass
class ClosedShot:
    """A shot whose keyframes are chosen: what the Analysis and the segmenter need of it."""

    start: int
    end: int
    keyframes: list[int]
    embedding: np.ndarray
    thumbnails: dict[int, bytes] = field(default_factory=dict)
    keyframe_embeddings: np.ndarray | None = None
    prepared: np.ndarray | None = None
    """The keyframes' small copies while they wait for :func:`embed_closed` (then ``None``)."""


@dataclass
class ChunkResult:
    """What one chunk reports (frame numbers are the video's)."""

    number: int
    start: int
    transitions: list[Transition]
    """Transitions that start in the core, in order."""
    times: np.ndarray
    """Times of the core's frames."""
    shots: list[ClosedShot]
    """Shots that start in the core and ended within the chunk."""
    head: list[Sample]
    """Samples of the shot open at ``start`` (owned by an earlier chunk), up to ``opened_at``."""
    opened_at: int | None
    """First frame of the first shot this chunk owns; ``None`` if none starts in its core."""
    tail: list[Sample]
    """Samples in the core of the shot still open at the core's end (from ``tail_start``)."""
    tail_start: int | None
    values: dict[str, list[tuple[int, Any]]]
    """Attribute samples of the core: ``name -> [(frame, value)]``."""
    frame_count: int
    """Frames numbered up to the core's end (the last chunk: the video's decoded count)."""
    duration: float
    fps: float
    detector: str
    attribute_models: dict[str, str]
    decode_s: float
    shots_s: float
    worker: str = ""
    hashed_from: int = 0
    frame_hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    """A 64-bit hash of every tiny frame the chunk decoded, from frame ``hashed_from``: the
    scene stage checks that neighbouring chunks decoded the frames they share alike (a chunk
    decodes after a seek, a decoder may not give the same pixels there)."""


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=_THUMB_QUALITY)
    return buf.getvalue()


def make_sample(index: int, rgb: np.ndarray, embedder: KeyframeEmbedder | None) -> Sample:
    prepared = embedder.prepare(rgb) if embedder else None
    return Sample(index, kf.frame_descriptor(rgb), _jpeg(rgb), prepared)


def close_shot(start: int, end: int, samples: list[Sample], k: int,
               embedder: KeyframeEmbedder | None) -> ClosedShot:
    """Choose a shot's keyframes among its samples (frames ``[start, end)``) and keep their
    thumbnails and, for the segmenter's embedder, their small copies (embedded later, many
    shots at once: :func:`embed_closed`). The one place a shot is closed, in a chunk or in the
    scene stage, so both give the same keyframes."""
    descriptors = np.stack([s.descriptor for s in samples])
    chosen = kf.select_by_descriptors([s.index for s in samples], descriptors, k)
    by_index = {s.index: s for s in samples}
    prepared = None
    if embedder is not None:
        prepared = np.stack([p for p in (by_index[i].prepared for i in chosen)
                             if p is not None])
    return ClosedShot(start, end, chosen, kf.shot_embedding(descriptors),
                      {i: by_index[i].jpeg for i in chosen}, prepared=prepared)


def embed_closed(shots: Sequence[ClosedShot], embedder: KeyframeEmbedder | None) -> None:
    """Embed the keyframes of every shot in ``shots`` still waiting for it, in one call."""
    waiting = [(c, c.prepared) for c in shots if c.prepared is not None]
    if embedder is None or not waiting:
        return
    rows = embedder.embed(np.concatenate([p for _, p in waiting]))
    at = 0
    for c, prepared in waiting:
        c.keyframe_embeddings, at = rows[at:at + len(prepared)], at + len(prepared)
        c.prepared = None


class ShotBuilder:
    """Holds the samples of the open shot and closes a shot when its end is known.

    It owns the shots that start in ``[core_start, core_stop)``: the shot open at
    ``core_start`` (unless that is frame 0) belongs to an earlier chunk, and the one open at
    ``core_stop`` is closed by the first transition after it, if that comes in time."""

    def __init__(self, k: int, analysis_size: Callable[[], tuple[int, int]],
                 embedder: KeyframeEmbedder | None = None, *, core_start: int = 0,
                 core_stop: int | None = None) -> None:
        self.k = k
        self.analysis_size = analysis_size
        self.embedder = embedder
        self.core_start, self.core_stop = core_start, core_stop
        self.pending: deque[Sample] = deque()
        self.tiny: deque[tuple[int, np.ndarray]] = deque(maxlen=_TINY_RING)
        self.closed: list[ClosedShot] = []
        self.owned: int | None = 0 if core_start == 0 else None
        """Start of the open shot, when this builder owns it."""
        self.previous: Transition | None = VIDEO_START if core_start == 0 else None
        self.head: list[Sample] = []
        self.opened_at: int | None = 0 if core_start == 0 else None
        self.past_core = False
        """The shot open at ``core_stop`` has ended: nothing more belongs to this chunk."""

    def add_sample(self, index: int, rgb: np.ndarray) -> None:
        if index >= self.core_start:
            self.pending.append(make_sample(index, rgb, self.embedder))

    def add_tiny(self, start: int, tiny: np.ndarray) -> None:
        for i in range(len(tiny)):
            self.tiny.append((start + i, tiny[i]))

    def accept(self, found: list[Transition], synced_from: int | None = 0) -> list[Transition]:
        """Take the detector's new transitions; return those that start in the core.

        Transitions that would not tile are dropped (a detector bug must not corrupt the
        Analysis), so closed shots and the shot list match 1:1."""
        kept = []
        for t in found:
            if self.past_core:
                break
            if t.first_frame < self.core_start:
                # An earlier chunk owns it; only the tiling rule needs it, once in step.
                if synced_from is not None and t.first_frame >= synced_from:
                    self.previous = t
                continue
            if t.first_frame == 0 and not self.closed and self.previous is VIDEO_START:
                self.previous = t  # opens the first shot (fade in from black)
                kept.append(t)
                continue
            if self.previous is not None and not follows(self.previous, t):
                continue
            self.previous = t
            if self.core_stop is not None and t.first_frame >= self.core_stop:
                if self.owned is not None:
                    self.close_until(t.first_frame)
                else:  # no shot starts in the core: its samples belong to an earlier one
                    self.head = self._take(self.core_start, self.core_stop)
                self.owned, self.past_core = None, True
                continue
            if self.owned is None:  # the first shot this chunk owns
                self.head = self._take(self.core_start, t.first_frame)
                self.opened_at = t.first_frame
            else:
                self.close_until(t.first_frame)
            self.owned = t.first_frame
            kept.append(t)
        return kept

    def close_until(self, end: int) -> None:
        """Close the open (owned) shot at ``end`` (exclusive)."""
        start = self.owned
        if start is None or end <= start:
            return
        samples = self._take(start, end) or [self._fallback_sample(start, end)]
        self.closed.append(close_shot(start, end, samples, self.k, self.embedder))
        self.owned = end

    def embed(self, at_least: int = 1) -> None:
        """Embed the waiting shots' keyframes once ``at_least`` of them wait (they are the
        last ones closed: shots are embedded in closing order)."""
        waiting = 0
        while (waiting < len(self.closed)
               and self.closed[len(self.closed) - 1 - waiting].prepared is not None):
            waiting += 1
        if waiting and waiting >= at_least:
            embed_closed(self.closed[len(self.closed) - waiting:], self.embedder)

    def finish(self, end: int, *, video_end: bool) -> tuple[int | None, list[Sample]]:
        """The chunk is done at frame ``end``: close the owned shot there if the video ends,
        else hand its samples on. Returns ``(tail_start, tail)``."""
        if self.past_core:
            return None, []
        if self.owned is None:  # no shot starts in the core: it all belongs to an earlier one
            self.head = self._take(self.core_start, end)
            return None, []
        if video_end:
            self.close_until(end)
            return None, []
        return self.owned, self._take(self.owned, end)

    def _take(self, start: int, end: int) -> list[Sample]:
        """Remove the pending samples before ``end``; return those from ``start`` on."""
        taken = []
        while self.pending and self.pending[0].index < end:
            taken.append(self.pending.popleft())
        return [s for s in taken if s.index >= start]

    def _fallback_sample(self, start: int, end: int) -> Sample:
        """A shot with no sampled frame (shorter than the sampling interval and not caught by
        the change trigger): use its middle tiny frame, enlarged."""
        mid = (start + end - 1) // 2
        best = min(self.tiny, key=lambda it: abs(it[0] - mid), default=None)
        if best is None:
            rgb = np.zeros((self.analysis_size()[1], self.analysis_size()[0], 3), np.uint8)
            index = mid
        else:
            index = best[0] if start <= best[0] < end else mid
            rgb = np.asarray(Image.fromarray(best[1]).resize(self.analysis_size(),
                                                             Image.Resampling.BILINEAR))
        return make_sample(index, rgb, self.embedder)


def _options(registry: Registry[Any], name: str, **wanted: object) -> dict[str, object]:
    """The subset of ``wanted`` (threads, device, ...) that ``name``'s factory accepts."""
    params = inspect.signature(registry.factory(name)).parameters
    return {k: v for k, v in wanted.items() if k in params and v is not None}


def frame_hash(tiny: np.ndarray) -> int:
    return int.from_bytes(hashlib.blake2b(tiny.tobytes(), digest_size=8).digest(), "little")


def worker_name() -> str:
    """``host:pid`` of this process, recorded in job records."""
    return f"{socket.gethostname()}:{os.getpid()}"


class ShotStage(Stage[Chunk, ChunkResult]):
    """Decoding, shot detection, attributes and keyframes of one chunk (see module doc).

    Set up once per process: the detector's weights, the attribute plugins, the scene model's
    keyframe encoder. Each chunk gets a fresh detector (they keep per-video state) sharing the
    loaded weights. ``detector`` / ``segmenter``: ready instances to use instead (one video
    only, since a detector's state is per video; benchmarks and custom options)."""

    name = "shots"

    def __init__(self, settings: AnalyzeSettings, resources: Resources | None = None, *,
                 detector: ShotDetector | None = None,
                 segmenter: SceneSegmenter | None = None) -> None:
        super().__init__(settings, resources)
        self._spare = detector
        self._segmenter = segmenter
        self.geometry = ChunkGeometry(None)

    def _setup(self) -> None:
        detector = self._spare or self.new_detector()
        self._spare = detector
        self.geometry = ChunkGeometry(detector.chunk_warmup, detector.chunk_alignment)
        measures = attrs.create_attributes(self.settings.attributes)
        # Audio attributes are measured in the scene stage, on the soundtrack.
        self.measures = [m for m in measures if not m.every_frame and not m.audio]
        self.frame_measures = [m for m in measures if m.every_frame and not m.audio]
        # The attributes load their models while the detector loads and decoding starts.
        # Not a daemon: exiting while a thread is inside a native import can abort the process.
        threading.Thread(target=_set_up, args=(self.measures + self.frame_measures,),
                         name="vidscene-attribute-setup", daemon=False).start()
        segmenter = self._segmenter or create_segmenter(
            self.settings.scenes, **_options(
                SEGMENTERS, self.settings.scenes, weights=self.settings.scene_model,
                threads=self.resources.threads or None, device=self.resources.device))
        self.embedder = segmenter.keyframe_embedder()

    def new_detector(self) -> ShotDetector:
        s, r = self.settings, self.resources
        batch = r.batch or (32 if r.device != "cpu" else None)
        return DETECTORS.create(s.detector, **_options(
            DETECTORS, s.detector, weights=s.shot_model, threads=r.threads or None,
            device=r.device, windows_per_call=batch))

    def frame_stream(self, path: str, span: Any = None) -> FrameStream:
        """The decoding pass this stage's detector and attributes need (sizes, sampling)."""
        self.setup()
        return FrameStream(path, sample_fps=self.settings.sample_fps, span=span,
                           decoder_threads=self.resources.threads,
                           detail_size=max([m.detail_size for m in self.measures], default=0),
                           detail_previous=max([m.detail_size for m in self.measures
                                                if m.detail_previous], default=0))

    def __call__(self, chunk: Chunk, progress: Progress | None = None, *,
                 stream: Any = None, on_batch: BatchObserver | None = None) -> ChunkResult:
        """Analyse ``chunk``. ``stream``: batches to read instead of decoding ``chunk.path``
        (anything iterable like :meth:`frame_stream`'s result, with its ``frame_count``,
        ``duration``, ``fps`` and ``analysis_size``: a live input's run). ``on_batch`` is
        called after each batch with the chunk's findings so far (:class:`ChunkSoFar`)."""
        self.setup()
        detector = self._spare or self.new_detector()
        self._spare = None
        t0 = time.perf_counter()
        if stream is None:
            stream = self.frame_stream(chunk.path, chunk.span)
        builder = ShotBuilder(self.settings.keyframes_per_shot, lambda: stream.analysis_size,
                              self.embedder, core_start=chunk.start, core_stop=chunk.stop)
        values: dict[str, list[tuple[int, Any]]] = {
            m.name: [] for m in [*self.measures, *self.frame_measures]}
        transitions: list[Transition] = []
        times: list[np.ndarray] = []
        previous_tiny: np.ndarray | None = None
        previous_time: float | None = None
        t_detect = 0.0
        stop = chunk.stop
        expected = chunk.span.stop if chunk.span is not None else 0
        decided = False
        hashes: list[int] = []
        fps = self.settings.sample_fps
        # The sampled frames' attributes are measured on threads of their own while this one
        # runs the detector and keyframes: the costly detectors (faces, text, flow) spend
        # their time in native code that releases the GIL, so they overlap each other and the
        # detector. Each lane is one thread, so each attribute's values stay in frame order;
        # a few batches at most are in flight.
        lanes = _lanes(self.measures)
        in_flight: deque[tuple[int, list[Future[None]]]] = deque()
        so_far = ChunkSoFar(transitions, builder.closed, values, times=times)
        try:
            for batch in stream:
                if chunk.span is not None:
                    hashes.extend(frame_hash(frame) for frame in batch.tiny)
                core = slice(max(chunk.start - batch.start, 0),
                             len(batch) if stop is None else max(0, min(len(batch),
                                                                        stop - batch.start)))
                times.append(batch.times[core])
                builder.add_tiny(batch.start, batch.tiny)
                if self.frame_measures and core.stop > core.start:
                    before = batch.tiny[core.start - 1] if core.start > 0 else previous_tiny
                    frames = range(batch.start + core.start, batch.start + core.stop)
                    for m in self.frame_measures:
                        measured = m.measure_frames(batch.tiny[core], before)
                        values[m.name].extend(zip(frames, measured, strict=True))
                samples = []
                for index, rgb in batch.analysis:
                    j = index - batch.start
                    if index >= chunk.start and (stop is None or index < stop):
                        prev = batch.tiny[j - 1] if j > 0 else previous_tiny
                        t = float(batch.times[j])
                        before = float(batch.times[j - 1]) if j > 0 else previous_time
                        detail, detail_before = batch.detail.get(index, (None, None))
                        # Sampled by the rate when it is the first frame of its sampling slot
                        # (otherwise the stream sampled it because the picture changed).
                        on_rate = (before is None or fps <= 0
                                   or sample_slot(before, fps) != sample_slot(t, fps))
                        samples.append(attrs.FrameSample(
                            index, t, rgb, batch.tiny[j], prev, detail, detail_before,
                            t - before if before is not None else 0.0, on_rate))
                if samples:
                    in_flight.append((batch.start, [pool.submit(_measure, lane, samples, values)
                                                   for pool, lane in lanes]))
                while in_flight and (len(in_flight) > _BATCHES_IN_FLIGHT
                                     or all(f.done() for f in in_flight[0][1])):
                    for future in in_flight.popleft()[1]:
                        future.result()
                so_far.measured_until = in_flight[0][0] if in_flight else batch.stop
                for index, rgb in batch.analysis:
                    builder.add_sample(index, rgb)
                previous_tiny = batch.tiny[-1]
                previous_time = float(batch.times[-1])
                td = time.perf_counter()
                found = detector.process(batch)
                t_detect += time.perf_counter() - td
                transitions.extend(builder.accept(found, detector.synced_from()))
                # Live, each closed shot is handed over whole; otherwise shots wait to be
                # embedded many at a time.
                builder.embed(1 if on_batch is not None else EMBED_BATCH)
                if on_batch is not None:
                    on_batch(batch, so_far)
                if progress:
                    progress(stream.frame_count, max(expected, stream.frame_count))
                if stop is not None and detector.final_until() >= stop and (
                        builder.past_core or stream.frame_count >= stop + chunk.max_tail):
                    decided = True  # the core is decided: the rest belongs to the next chunk
                    break
            for _, futures in in_flight:
                for future in futures:
                    future.result()
        finally:
            for pool, _ in lanes:
                pool.shutdown(wait=True, cancel_futures=True)
        if not decided:
            if stream.frame_count < max(chunk.frames, expected):
                if stop is None:
                    raise SpanMismatch(f"{chunk.path}: decoding ended at frame "
                                       f"{stream.frame_count}, the index has {chunk.frames}")
                raise ChunkNotInStep(f"{chunk.path}: chunk {chunk.number} could not decide "
                                     f"its core within frame {stream.frame_count}")
            td = time.perf_counter()  # the video's end: the detector may decide the rest
            found = detector.flush()
            t_detect += time.perf_counter() - td
            transitions.extend(builder.accept(found, detector.synced_from()))
        synced = detector.synced_from()
        if synced is None or synced > chunk.start:
            raise ChunkNotInStep(f"{chunk.path}: chunk {chunk.number} not in step by frame "
                                 f"{chunk.start}")
        end = stream.frame_count if stop is None else stop
        tail_start, tail = builder.finish(end, video_end=stop is None)
        builder.embed()
        return ChunkResult(
            number=chunk.number, start=chunk.start, transitions=transitions,
            times=np.concatenate(times) if times else np.zeros(0),
            shots=builder.closed, head=builder.head, opened_at=builder.opened_at,
            tail=tail, tail_start=tail_start, values=values,
            frame_count=end, duration=stream.duration if stop is None else 0.0,
            fps=stream.fps,
            detector=detector.describe(),
            attribute_models={f"attribute {a.name}": a.model
                              for a in [*self.measures, *self.frame_measures] if a.model},
            decode_s=time.perf_counter() - t0 - t_detect, shots_s=t_detect,
            worker=worker_name(),
            hashed_from=chunk.span.start if chunk.span is not None else 0,
            frame_hashes=np.asarray(hashes, np.uint64),
        )


def _lanes(measures: Sequence[attrs.Attribute]
           ) -> list[tuple[ThreadPoolExecutor, list[attrs.Attribute]]]:
    """The threads the sampled-frame attributes run on: one for each detector that reads a
    detail copy (faces, text, camera: tens of milliseconds a frame each), one for the rest
    (statistics of the small copy: well under a millisecond)."""
    light = [m for m in measures if not m.detail_size]
    groups = [[m] for m in measures if m.detail_size] + ([light] if light else [])
    return [(ThreadPoolExecutor(1, thread_name_prefix=f"vidscene-attributes-{g[0].name}"), g)
            for g in groups]


def _set_up(measures: Sequence[attrs.Attribute]) -> None:
    for m in measures:
        try:
            m.setup()
        except Exception:  # measure loads again and reports the error there
            continue


def _measure(measures: Sequence[attrs.Attribute], samples: Sequence[attrs.FrameSample],
             values: dict[str, list[tuple[int, Any]]]) -> None:
    """Every sampled-frame attribute on ``samples``, appended to ``values`` in frame order."""
    for m in measures:
        measured = m.measure_batch(samples)
        if len(measured) != len(samples):
            raise VidsceneError(f"attribute {m.name}: measure_batch gave {len(measured)} "
                                f"values for {len(samples)} samples")
        values[m.name].extend((s.index, _value(m, v))
                              for s, v in zip(samples, measured, strict=True))


def _value(attribute: attrs.Attribute, value: Any) -> Any:
    """A number attribute's value as a plain float (a NumPy scalar would not pickle small or
    encode as JSON); other kinds, and ``None`` (not measured on this frame), are kept as
    their measure made them."""
    return float(value) if attribute.kind == "number" and value is not None else value
