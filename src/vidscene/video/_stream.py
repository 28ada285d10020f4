"""Decode a video once, streaming, into batches of tiny and analysis-size frames.

One pass serves every stage: the shot detector reads a tiny copy of *every* frame, the
keyframe and attribute stages read ~224 px copies of frames sampled at ``sample_fps``, plus
one extra copy wherever the picture changes abruptly, so that even a shot shorter than the
sampling interval has a frame to show. Decoding runs in a producer thread (FFmpeg releases
the GIL) while the consumer scales frames, so on two cores the scaling mostly hides behind
decoding. Memory stays bounded: a small queue of decoded frames and one batch at a time.
"""

from __future__ import annotations

import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from vidscene.analysis import VideoInfo
from vidscene.errors import UnreadableVideo, VidsceneError
from vidscene.video._index import FrameSpan
from vidscene.video._probe import NO_FRAMES, _short, open_video, stream_duration, stream_fps

TINY_SIZE = (64, 36)
"""Width × height of the per-frame copy used by shot detectors."""

ANALYSIS_WIDTH = 224
"""Width of the sampled copies used for keyframes and attributes (height keeps aspect)."""

_QUEUE_FRAMES = 24
_END = object()
_CHANGE_TRIGGER = 18.0
"""Mean absolute difference (0..255) of consecutive tiny frames that triggers an extra sample."""
_MIN_TRIGGER_GAP = 3
"""Frames between change-triggered samples, so fast motion cannot trigger every frame."""
_SLOT_EPSILON = 1e-9
"""Seconds of tolerance when a frame's time falls on a sampling slot's edge."""


class SpanMismatch(VidsceneError):
    """Decoding a chunk did not give the frames its index promised (a damaged packet, a
    decoder that drops or reorders frames). The caller analyses the video in one piece."""


def sample_slot(time: float, sample_fps: float) -> int:
    """The sampling slot a frame time falls in: a frame is sampled when its slot is later
    than the previous frame's. A function of the two times alone, so a chunk that starts in
    the middle of a video samples exactly the frames a pass from the start samples."""
    return math.floor((time + _SLOT_EPSILON) * sample_fps)


@dataclass
class FrameBatch:
    """A run of consecutive decoded frames.

    ``tiny[i]`` is frame ``start + i`` as an RGB ``uint8`` array of shape ``(h, w, 3)``;
    ``times[i]`` its presentation time in seconds from the stream's first frame.
    ``analysis`` lists the sampled frames of this batch as ``(frame_index, rgb)``.
    """

    start: int
    tiny: np.ndarray
    times: np.ndarray
    analysis: list[tuple[int, np.ndarray]] = field(default_factory=list)
    detail: dict[int, tuple[np.ndarray, np.ndarray | None]] = field(default_factory=dict)
    """For each sampled frame, when the stream was asked for them: a copy whose long side is
    ``detail_size`` px and (with ``detail_previous``, a long side in px) the frame before it."""

    def __len__(self) -> int:
        return len(self.times)

    @property
    def stop(self) -> int:
        return self.start + len(self.times)


def _fit(width: int, height: int, long_side: int) -> tuple[int, int]:
    """Even dimensions with the long side at most ``long_side`` (``(0, 0)`` for 0)."""
    if not long_side:
        return (0, 0)
    scale = min(1.0, long_side / max(width, height))
    return (max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2))


def _scale(reformatter: VideoReformatter, frame: av.VideoFrame, width: int, height: int, k: int,
           interpolation: str = "FAST_BILINEAR") -> np.ndarray:
    """RGB copy at ``width``×``height`` in display orientation (``k`` quarter turns).

    One long-lived reformatter per stream keeps FFmpeg's scaling context between frames;
    ``VideoFrame.reformat`` would build a new one for every call (3× slower)."""
    if k % 2:
        width, height = height, width
    rgb = reformatter.reformat(frame, width, height, format="rgb24",
                               interpolation=interpolation).to_ndarray()
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


_PLANAR_420 = {"yuv420p": False, "yuvj420p": True}
"""Pixel formats the tiny-frame fast path reads directly; the value says "full range"."""


class _TinySampler:
    """Tiny RGB copies straight from a 4:2:0 frame's planes with NumPy.

    Scaling a 720p frame with swscale costs more than the shot detector itself; the tiny
    copy only needs a 2×2 box average of sparse luma samples (and one chroma sample per
    pixel), which one ``np.take`` per plane gets in microseconds. Other pixel formats fall
    back to swscale.
    """

    def __init__(self, width: int, height: int, tw: int, th: int) -> None:
        self.size = (width, height)
        self.tw, self.th = tw, th
        # Two luma samples per output pixel in each direction, at cell centres.
        self.ys = ((np.arange(2 * th) + 0.5) * height / (2 * th)).astype(np.intp)
        self.xs = ((np.arange(2 * tw) + 0.5) * width / (2 * tw)).astype(np.intp)
        self.cys = ((np.arange(th) + 0.5) * (height // 2) / th).astype(np.intp)
        self.cxs = ((np.arange(tw) + 0.5) * (width // 2) / tw).astype(np.intp)
        self._flat: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def _indices(self, luma_stride: int, chroma_stride: int) -> tuple[np.ndarray, np.ndarray]:
        key = (luma_stride, chroma_stride)
        if key not in self._flat:
            self._flat[key] = (self.ys[:, None] * luma_stride + self.xs[None, :],
                               self.cys[:, None] * chroma_stride + self.cxs[None, :])
        return self._flat[key]

    def __call__(self, frame: av.VideoFrame, full_range: bool) -> np.ndarray:
        py, pu, pv = frame.planes
        iy, ic = self._indices(py.line_size, pu.line_size)
        y4 = np.take(np.frombuffer(memoryview(py), np.uint8), iy).astype(np.float32)
        y = (y4[0::2, 0::2] + y4[1::2, 0::2] + y4[0::2, 1::2] + y4[1::2, 1::2]) * 0.25
        u = np.take(np.frombuffer(memoryview(pu), np.uint8), ic).astype(np.float32) - 128.0
        v = np.take(np.frombuffer(memoryview(pv), np.uint8), ic).astype(np.float32) - 128.0
        if not full_range:  # limited ("TV") range: luma 16..235, chroma 16..240
            y = (y - 16.0) * (255.0 / 219.0)
            u *= 255.0 / 224.0
            v *= 255.0 / 224.0
        rgb = np.stack([y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u], axis=2)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)


class FrameStream:
    """Iterate over :class:`FrameBatch` objects of one video, decoding it exactly once.

    Use as a context manager or iterate directly. After iteration, ``frame_count`` and
    ``duration`` hold what decoding found (the numbers an Analysis reports).

    With ``span`` only the frames ``[span.start, span.stop)`` are delivered, numbered and timed
    as in a pass from the start (see :class:`~vidscene.video.FrameSpan`): the stream seeks to
    the span's keyframe and checks every frame against the index. Batches always end at
    multiples of ``batch_size`` counted from frame 0, so a detector sees the same batches in a
    chunk as in a whole-video pass. ``decoder_threads`` caps FFmpeg's threads (0: FFmpeg's
    choice), for a worker that owns one CPU.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        info: VideoInfo | None = None,
        tiny_size: tuple[int, int] = TINY_SIZE,
        analysis_width: int = ANALYSIS_WIDTH,
        sample_fps: float = 2.0,
        batch_size: int = 64,
        with_analysis: bool = True,
        threads: bool = True,
        span: FrameSpan | None = None,
        decoder_threads: int = 0,
        detail_size: int = 0,
        detail_previous: int = 0,
    ) -> None:
        self.path = Path(path)
        self.detail_size = detail_size
        self.detail_previous = detail_previous
        self.info = info
        self.tiny_size = tiny_size
        self.analysis_width = analysis_width
        self.sample_fps = sample_fps
        self.batch_size = batch_size
        self.with_analysis = with_analysis
        self.threads = threads
        self.span = span
        self.decoder_threads = decoder_threads
        self.frame_count = 0
        self.duration = 0.0
        self.fps = 0.0
        self.analysis_size = (analysis_width, analysis_width * 9 // 16)
        self._rot_k = 0

    # -- public ----------------------------------------------------------------------------
    def __enter__(self) -> FrameStream:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __iter__(self) -> Iterator[FrameBatch]:
        with open_video(self.path) as (container, stream):
            stream.thread_type = "AUTO"
            if self.decoder_threads:
                stream.codec_context.thread_count = self.decoder_threads
            self.fps = stream_fps(stream)
            self.duration = stream_duration(container, stream)
            w, h = stream.codec_context.width, stream.codec_context.height
            if self.span is not None and self.span.keyframe > 0:
                self._prime(container, stream)
                try:
                    container.seek(int(self.span.pts[0]), stream=stream, backward=True,
                                   any_frame=False)
                except av.error.FFmpegError as e:
                    raise SpanMismatch(f"{self.path}: cannot seek: {_short(e)}") from None
            tb = float(stream.time_base) if stream.time_base else 1.0 / self.fps
            yield from self.batches_from(self._frames(container, stream), tb, w, h)

    # -- internals -------------------------------------------------------------------------
    def _prime(self, container: av.container.InputContainer, stream: av.VideoStream) -> None:
        """Decode the stream's first packet before seeking. Decoders learn things from the
        start of a stream that change how later frames decode (FFmpeg's H.264 decoder reads
        the encoder's version from the first SEI and works around that encoder's bugs), so
        without this a seek can give other pixels than a pass from the start."""
        try:
            for packet in container.demux(stream):
                packet.decode()
                break
        except av.error.FFmpegError:
            pass  # a bad first packet: the frame checks below decide whether the span is usable

    def _frames(self, container: av.container.InputContainer, stream: av.VideoStream
                ) -> Iterator[av.VideoFrame]:
        """Decoded frames, from a producer thread when ``threads`` is set."""
        if not self.threads:
            yield from self._decode(container, stream)
            return
        q: queue.Queue[object] = queue.Queue(_QUEUE_FRAMES)
        stop = threading.Event()

        def produce() -> None:
            try:
                for frame in self._decode(container, stream):
                    while not stop.is_set():
                        try:
                            q.put(frame, timeout=0.1)
                            break
                        except queue.Full:
                            continue
                    if stop.is_set():
                        return
                q.put(_END)
            except BaseException as e:  # handed to the consumer, re-raised there
                q.put(e)

        t = threading.Thread(target=produce, name="vidscene-decode", daemon=True)
        t.start()
        try:
            while True:
                item = q.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item  # type: ignore[misc]
        finally:
            stop.set()
            while t.is_alive():
                try:
                    q.get_nowait()
                except queue.Empty:
                    t.join(timeout=0.05)

    def _decode(self, container: av.container.InputContainer, stream: av.VideoStream
                ) -> Iterator[av.VideoFrame]:
        try:
            for packet in container.demux(stream):
                try:
                    yield from packet.decode()
                except av.error.InvalidDataError:
                    # A damaged packet inside an otherwise good file: skip it, as players do.
                    continue
        except av.error.FFmpegError as e:
            if self.frame_count == 0:
                raise UnreadableVideo(self.path, f"cannot decode video: {_short(e)}") from None
            # Truncated tail: keep what decoded.

    def batches_from(self, frames: Iterator[av.VideoFrame], time_base: float, width: int,
                     height: int) -> Iterator[FrameBatch]:
        """Batches of already decoded ``frames`` (``width``×``height`` coded, timestamps in
        ``time_base`` seconds), numbered and timed from the first: what iterating a file
        gives, for frames that come from elsewhere (a live input, :mod:`vidscene.video._live`).
        Set ``fps`` first; ``frame_count`` and ``duration`` count the frames taken."""
        tw, th = self.tiny_size
        bs = self.batch_size
        span = self.span
        tiny = np.empty((bs, th, tw, 3), np.uint8)
        times = np.empty(bs, np.float64)
        analysis: list[tuple[int, np.ndarray]] = []
        n_in_batch = 0
        index = span.keyframe if span is not None else 0
        first = span.start if span is not None else 0
        first_pts: int | None = span.first_pts if span is not None else None
        tb = time_base
        last_time = (span.previous_time if span is not None and span.previous_time is not None
                     else -1.0 / self.fps)
        last_slot: int | None = (sample_slot(span.previous_time, self.sample_fps)
                                 if span is not None and span.previous_time is not None
                                 and self.sample_fps > 0 else None)
        last_sampled = -_MIN_TRIGGER_GAP
        sampler: _TinySampler | None = None
        tiny_scaler, analysis_scaler = VideoReformatter(), VideoReformatter()
        detail_scaler, previous_scaler = VideoReformatter(), VideoReformatter()
        detail: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
        detail_size = previous_size = (0, 0)
        previous_frame: av.VideoFrame | None = None
        previous_tiny: np.ndarray | None = None
        oriented = False
        for frame in frames:
            if span is not None:
                if not self._check_span_frame(frame, span, index):
                    continue  # a leading frame from before the keyframe
                if index >= span.stop:
                    break
                if index < first:  # decoded to reach the span, not part of it
                    index += 1
                    continue
            if not oriented:
                oriented = True
                self._rot_k = int(round((getattr(frame, "rotation", 0) or 0) / 90)) % 4
                aw = self.analysis_width
                dw, dh = (height, width) if self._rot_k % 2 else (width, height)
                self.analysis_size = (aw, max(2, int(round(aw * dh / dw / 2)) * 2))
                detail_size = _fit(dw, dh, self.detail_size)
                previous_size = _fit(dw, dh, self.detail_previous)
            # Exact time from pts × time_base (variable frame rate stays right); frames
            # without a pts continue one nominal frame after the previous one.
            if frame.pts is not None:
                if first_pts is None:
                    first_pts = frame.pts
                t = (frame.pts - first_pts) * tb
                if t <= last_time:  # reordered or duplicate timestamps: keep time monotonic
                    t = last_time + 1e-6
            else:
                t = last_time + 1.0 / self.fps
            last_time = t
            fmt = frame.format.name
            if fmt in _PLANAR_420 and frame.width % 2 == 0 and frame.height % 2 == 0:
                if sampler is None or sampler.size != (frame.width, frame.height):
                    sw, sh = (th, tw) if self._rot_k % 2 else (tw, th)
                    sampler = _TinySampler(frame.width, frame.height, sw, sh)
                current = sampler(frame, _PLANAR_420[fmt])
                if self._rot_k:
                    current = np.ascontiguousarray(np.rot90(current, self._rot_k))
            else:
                current = _scale(tiny_scaler, frame, tw, th, self._rot_k)
            tiny[n_in_batch] = current
            times[n_in_batch] = t
            if self.with_analysis:
                slot = sample_slot(t, self.sample_fps) if self.sample_fps > 0 else 0
                due = last_slot is None or slot > last_slot
                last_slot = slot
                if (not due and previous_tiny is not None
                        and index - last_sampled >= _MIN_TRIGGER_GAP):
                    change = np.abs(current.astype(np.int16) - previous_tiny).mean()
                    due = bool(change > _CHANGE_TRIGGER)
                if due:
                    analysis.append((index, _scale(analysis_scaler, frame, *self.analysis_size,
                                                   self._rot_k, "AREA")))
                    if self.detail_size:
                        before = (_scale(previous_scaler, previous_frame, *previous_size,
                                         self._rot_k, "AREA")
                                  if self.detail_previous and previous_frame is not None
                                  else None)
                        detail[index] = (_scale(detail_scaler, frame, *detail_size,
                                                self._rot_k, "AREA"), before)
                    last_sampled = index
                previous_tiny = current
                if self.detail_previous:
                    previous_frame = frame
            n_in_batch += 1
            index += 1
            self.frame_count = index
            if index % bs == 0:  # batches end on the same frames whatever frame they start at
                yield FrameBatch(index - n_in_batch, tiny[:n_in_batch].copy(),
                                 times[:n_in_batch].copy(), analysis, detail)
                analysis, detail = [], {}
                n_in_batch = 0
        if n_in_batch:
            yield FrameBatch(index - n_in_batch, tiny[:n_in_batch].copy(),
                             times[:n_in_batch].copy(), analysis, detail)
        if self.frame_count == 0:
            raise UnreadableVideo(self.path, NO_FRAMES)
        self.duration = last_time + (1.0 / self.fps)

    def _check_span_frame(self, frame: av.VideoFrame, span: FrameSpan, index: int) -> bool:
        """Whether ``frame`` is frame ``index`` of the span (``False``: a leading frame of an
        open GOP, shown before the keyframe, to skip); anything else is a mismatch."""
        if frame.pts is None:
            raise SpanMismatch(f"{self.path}: a decoded frame has no timestamp")
        if frame.pts < span.pts[0]:
            return False
        k = index - span.keyframe
        if k < len(span.pts) and frame.pts != span.pts[k]:
            raise SpanMismatch(f"{self.path}: frame {index} decoded with timestamp {frame.pts}, "
                               f"the index says {int(span.pts[k])}")
        return True
