"""Live input: decode a feed that keeps coming (UDP/SRT/RTSP MPEG-TS, a growing HLS playlist or
file, a pipe, a capture device) into *runs* of frames, reconnecting when it stalls or ends.

A run is one stretch of the input with steady timestamps: the frames of one connection, until
the input stalls longer than ``read_timeout``, ends, or its timestamps jump or wrap. Between
two runs lies a :class:`Gap`. Each run is numbered and timed from its own first frame and goes
through :meth:`vidscene.video.FrameStream.batches_from`, so a run is decoded into exactly the
batches a file with the same frames would give; the live layer above adds the run's offsets.

Decoding happens on a producer thread that never waits for the analysis: it hands each frame,
stamped with the wall-clock time it arrived, to a bounded queue, and when the queue is full
the frame is *dropped* and counted. A slow analysis therefore falls behind by at most the
queue (``queue_seconds`` of video), never without bound, and the record says how many frames
it lost. Audio, when the input has it, is reduced on the same thread to one level (dBFS) per
decoded audio frame, for the silence alert.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from vidscene.errors import VidsceneError
from vidscene.video._probe import _short, stream_fps

__all__ = ["AudioLevels", "Gap", "LiveOptions", "LiveRun", "LiveSource", "cannot_wait",
           "is_followable_file"]

PLAYLIST_READ_TIMEOUT = 30.0
"""Shortest stall (seconds) after which a growing HLS playlist counts as stalled."""
_SILENT_DBFS = -120.0
"""Level reported for digital silence (log of zero)."""


class _Stopped(Exception):
    """Raised inside the decoding loop when :meth:`LiveSource.stop` was called."""


class LiveInputError(VidsceneError):
    """The live input cannot be opened at all (and reconnecting is off or gave up)."""


@dataclass(frozen=True)
class LiveOptions:
    """How a live input is read.

    ``open_timeout``: seconds to wait for a connection (and its stream headers);
    ``read_timeout``: a stall this long ends the run (a gap follows); ``backoff``: the first
    and the longest wait between reconnection attempts (doubling in between); ``reconnect``:
    whether to try again at all (off for a pipe); ``queue_seconds``: video decoded ahead of
    the analysis before frames are dropped; ``max_jump``: a timestamp step this many seconds
    longer than a frame interval (or any step backwards) splits the run; ``input_format``:
    FFmpeg's demuxer name, for a capture device (``v4l2``, ``avfoundation``, ...);
    ``give_up_after``: stop reconnecting after this many seconds without a frame (0: never).
    """

    open_timeout: float = 10.0
    read_timeout: float = 5.0
    backoff: tuple[float, float] = (0.5, 8.0)
    reconnect: bool = True
    queue_seconds: float = 2.0
    max_jump: float = 1.0
    input_format: str | None = None
    give_up_after: float = 0.0
    drop_when_behind: bool | None = None
    """Drop frames when the analysis is behind (``None``: for inputs that cannot wait,
    network streams and devices; a file, a pipe or a playlist waits for the reader instead,
    losing nothing)."""


@dataclass
class Gap:
    """Where the input was lost: after ``after_run``'s last frame, for ``seconds`` of wall
    clock, and why (``stalled``, ``ended``, ``error: …``, ``timestamp jump``)."""

    after_run: int
    reason: str
    wall_start: float
    wall_end: float = 0.0

    @property
    def seconds(self) -> float:
        return max(0.0, self.wall_end - self.wall_start)


@dataclass
class LiveRun:
    """One continuous stretch of frames (see module doc)."""

    number: int
    fps: float
    time_base: float
    width: int
    height: int
    wall_start: float
    """Wall-clock time (``time.time()``) at which the run's first frame arrived."""
    arrivals: list[float] = field(default_factory=list)
    """Arrival time of each frame taken so far, in order, from frame ``arrivals_from`` of the
    run (a consumer may forget the oldest: :meth:`forget`)."""
    arrivals_from: int = 0
    last_arrival: float = 0.0
    """When the newest frame arrived (kept when older arrival times are forgotten)."""
    audio: AudioLevels | None = None
    """The input's audio levels, timed from this run's first frame (``None``: no audio)."""
    end_reason: str = ""
    _items: Iterator[Any] | None = None

    def arrival(self, frame: int) -> float | None:
        """When the run's frame ``frame`` arrived (``None``: not yet, or forgotten)."""
        k = frame - self.arrivals_from
        return self.arrivals[k] if 0 <= k < len(self.arrivals) else None

    def forget(self, before: int) -> None:
        """Drop the arrival times of the frames before ``before`` (a day-long run must not
        hold one per frame)."""
        k = max(0, min(before - self.arrivals_from, len(self.arrivals)))
        del self.arrivals[:k]
        self.arrivals_from += k

    def frames(self) -> Iterator[av.VideoFrame]:
        """The run's frames as they arrive; ends with the run."""
        assert self._items is not None
        for kind, value, arrival in self._items:
            if kind != "frame":
                self.end_reason = value
                return
            self.arrivals.append(arrival)
            self.last_arrival = arrival
            yield value


_CANNOT_WAIT = ("udp://", "rtp://", "srt://", "rtsp://", "rtmp://", "tcp://")
"""Inputs that keep sending whether or not they are read."""


def cannot_wait(source: str, input_format: str | None = None) -> bool:
    """Whether ``source`` keeps coming whether or not it is read (a network stream or a
    capture device), so a reader that falls behind must drop frames rather than wait."""
    return source.lower().startswith(_CANNOT_WAIT) or input_format is not None


def is_followable_file(source: str) -> bool:
    """A plain path to a file (not a URL, a pipe or a playlist): read as a file that may still
    be growing, and not reconnected once it stops growing."""
    return "://" not in source and source != "-" and not source.endswith(".m3u8")


class LiveSource:
    """Iterate over a live input's :class:`LiveRun` and :class:`Gap` objects until it ends
    for good (a pipe or file that stops, ``give_up_after``) or :meth:`stop` is called."""

    def __init__(self, source: str, options: LiveOptions | None = None) -> None:
        self.source = source
        self.options = options or LiveOptions()
        self.dropped = 0
        """Frames decoded but dropped because the analysis was behind (all runs)."""
        self._stop = threading.Event()
        self._runs = 0
        self._may_drop = threading.Event()
        self._may_drop.set()

    def hold_drops(self) -> None:
        """Queue every frame without dropping until :meth:`release_drops`: while the reader
        is still starting (loading its models), the input waits in the socket's and FFmpeg's
        buffers rather than being lost."""
        self._may_drop.clear()

    def release_drops(self) -> None:
        self._may_drop.set()

    def stop(self) -> None:
        """End after the frames already queued (safe from a signal handler)."""
        self._stop.set()

    # -- opening -----------------------------------------------------------------------------
    def _open(self, last_frame_wall: float | None = None) -> av.container.InputContainer:
        o = self.options
        url, options = self.source, {}
        read_timeout = o.read_timeout
        open_timeout = o.open_timeout
        if o.give_up_after and last_frame_wall is not None:
            # Waiting for a connection counts against the time without frames.
            left = o.give_up_after - (time.time() - last_frame_wall)
            open_timeout = max(0.1, min(open_timeout, left))
        if self.source == "-":
            url = "pipe:0"
        elif is_followable_file(self.source):
            if not Path(self.source).exists():
                raise LiveInputError(f"{self.source}: no such file")
            # FFmpeg's file protocol waits at the end of a file that is still being written
            # (``follow``); ``rw_timeout`` ends the wait once it stops growing.
            url = f"file:{self.source}"
            options = {"follow": "1", "rw_timeout": str(int(o.read_timeout * 1e6))}
        elif self.source.endswith(".m3u8"):
            # The whole feed from its first segment (not three from the end); after a gap,
            # from the newest one, so nothing already analysed is read again.
            options = {"live_start_index": "0" if self._runs == 0 else "-1"}
            # The demuxer waits for the next segment inside a read: up to a target duration
            # or more (and segments end on keyframes, so they may be long).
            read_timeout = max(read_timeout, PLAYLIST_READ_TIMEOUT)
        if url.startswith("udp://"):
            # A burst must not overflow the socket: the producer thread keeps reading, and a
            # full FIFO loses packets instead of ending the input.
            options.update({"fifo_size": "100000", "overrun_nonfatal": "1",
                            "buffer_size": str(8 << 20)})
        try:
            return av.open(url, mode="r", format=o.input_format, options=options,
                           timeout=(open_timeout, read_timeout))
        except (av.error.FFmpegError, OSError) as e:
            raise LiveInputError(f"{self.source}: cannot open: {_short(e)}") from None

    # -- iterating ---------------------------------------------------------------------------
    def __iter__(self) -> Iterator[LiveRun | Gap]:
        o = self.options
        wait = o.backoff[0]
        last_frame_wall = time.time()
        gap: Gap | None = None
        while not self._stop.is_set():
            opening = time.monotonic()
            try:
                container = self._open(last_frame_wall if self._runs else None)
            except LiveInputError as e:
                if not self._may_retry(last_frame_wall):
                    if self._runs == 0:
                        raise
                    return
                if gap is None and self._runs:  # nothing is lost before the first frame
                    gap = Gap(self._runs - 1, f"error: {e}", time.time())
                # An input that failed at once is backed off from; one that only had nothing
                # to say within the open timeout (a UDP port no one sends to yet) is listened
                # to again at once: while no socket is open, its packets would be lost.
                if time.monotonic() - opening < 0.9 * o.open_timeout:
                    self._stop.wait(wait)
                    wait = min(wait * 2, o.backoff[1])
                continue
            try:
                for run in self._connection_runs(container):
                    if gap is not None:
                        gap.wall_end = run.wall_start
                        yield gap
                        gap = None
                    yield run
                    last_frame_wall = time.time()
                    wait = o.backoff[0]
                    # The gap begins where the run's last frame would have ended.
                    gap = Gap(run.number, run.end_reason or "ended",
                              (run.last_arrival or last_frame_wall) + 1.0 / run.fps)
            finally:
                container.close()
            ended = gap is not None and gap.reason == "ended"
            if not self._may_retry(last_frame_wall) or (ended and not cannot_wait(
                    self.source, o.input_format)):
                break  # a playlist or file that ended cleanly has ended for good
            self._stop.wait(wait)
        # A gap still open here is the input's end, not a loss inside it: not reported.

    def _may_retry(self, last_frame_wall: float) -> bool:
        o = self.options
        if self._stop.is_set() or not o.reconnect or self.source == "-":
            return False
        if is_followable_file(self.source) and self._runs:
            return False  # a file that stopped growing has ended
        return not (o.give_up_after and time.time() - last_frame_wall > o.give_up_after)

    def _connection_runs(self, container: av.container.InputContainer) -> Iterator[LiveRun]:
        """The runs of one connection: a producer thread decodes into a bounded queue; the
        runs split where timestamps jump."""
        if not container.streams.video:
            raise LiveInputError(f"{self.source}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        audio = container.streams.audio[0] if container.streams.audio else None
        fps = stream_fps(stream)
        tb = float(stream.time_base) if stream.time_base else 1.0 / fps
        capacity = max(8, int(math.ceil(self.options.queue_seconds * fps)))
        items: queue.Queue[tuple[str, Any, float]] = queue.Queue(capacity)
        levels: deque[tuple[float, float, float]] = deque(maxlen=100_000)
        drop = (self.options.drop_when_behind if self.options.drop_when_behind is not None
                else cannot_wait(self.source, self.options.input_format))

        def packets() -> Iterator[Any]:
            """The input's frames, then those the decoder still holds (frame threads keep a
            few): flushed however the input ended, or a stalled feed would lose its last
            frames."""
            streams = [stream] + ([audio] if audio is not None else [])
            try:
                for packet in container.demux(*streams):
                    if self._stop.is_set():
                        raise _Stopped
                    try:
                        yield from packet.decode()
                    except av.error.InvalidDataError:
                        continue  # a damaged packet: skip it, as players do
            finally:
                try:
                    yield from stream.codec_context.decode(None)
                except (av.error.FFmpegError, ValueError):
                    pass

        def produce() -> None:
            reason = "ended"
            last_pts: int | None = None
            interval = 1.0 / fps
            try:
                for frame in packets():
                    if isinstance(frame, av.AudioFrame):
                        levels.append(_audio_level(frame))
                        continue
                    if not isinstance(frame, av.VideoFrame):
                        continue  # subtitles
                    now = time.time()
                    if frame.pts is not None and last_pts is not None:
                        step = (frame.pts - last_pts) * tb
                        # Backwards by more than half a frame (a wrap, a restarted
                        # encoder) or forwards by far more than one: a new run. A repeated
                        # timestamp is the decoder's quirk, kept (FrameStream orders it).
                        if step < -interval / 2 or step > interval + self.options.max_jump:
                            items.put(("split", "timestamp jump", now))  # never dropped
                    if frame.pts is not None:
                        last_pts = frame.pts
                    if not drop or not self._may_drop.is_set():
                        items.put(("frame", frame, now))
                        continue
                    try:
                        items.put_nowait(("frame", frame, now))
                    except queue.Full:
                        self.dropped += 1
            except _Stopped:
                reason = "stopped"
            except av.error.ExitError:
                reason = "stalled"  # the read timeout's interrupt
            except av.error.FFmpegError as e:
                reason = "stalled" if "timed out" in str(e).lower() else f"error: {_short(e)}"
            except BaseException as e:  # noqa: BLE001  (reported as the run's end)
                reason = f"error: {e}"
            items.put(("end", reason, time.time()))

        producer = threading.Thread(target=produce, name="vidscene-live-decode", daemon=True)
        producer.start()

        def take() -> Iterator[tuple[str, Any, float]]:
            while True:
                item = items.get()
                yield item
                if item[0] != "frame":
                    return

        try:
            while True:
                first = items.get()
                if first[0] == "end":
                    return
                if first[0] == "split":
                    continue
                # Audio levels before this run's first frame belong to no frame: dropped; the
                # rest are timed from the run's first video timestamp.
                run = LiveRun(self._runs, fps, tb, first[1].width, first[1].height,
                              wall_start=first[2],
                              audio=(AudioLevels(levels, (first[1].pts or 0) * tb)
                                     if audio is not None else None))
                self._runs += 1
                run._items = _chain_first(first, take())
                yield run
                for _ in run.frames():  # the consumer stopped early: drain to the run's end
                    pass
                if run.end_reason != "timestamp jump":
                    return
        finally:
            self._stop_producer(producer, items)

    def _stop_producer(self, producer: threading.Thread, items: queue.Queue[Any]) -> None:
        """Let the producer finish its current packet; it ends at the next one (stop) or at the
        read timeout. Never joined for long: a blocked read must not hold up a shutdown."""
        deadline = time.monotonic() + 0.5
        while producer.is_alive() and time.monotonic() < deadline:
            try:
                items.get_nowait()
            except queue.Empty:
                producer.join(timeout=0.05)


def _chain_first(first: tuple[str, Any, float], rest: Iterator[tuple[str, Any, float]]
                 ) -> Iterator[tuple[str, Any, float]]:
    yield first
    yield from rest


class AudioLevels:
    """The connection's audio levels seen from one run: times from the run's first frame."""

    def __init__(self, levels: deque[tuple[float, float, float]], origin: float) -> None:
        self._levels = levels
        self._origin = origin

    def drain(self) -> list[tuple[float, float, float]]:
        """``(time, duration, dBFS)`` of each audio frame decoded since the last call."""
        out = []
        while self._levels:
            t, d, db = self._levels.popleft()
            if t + d > self._origin:
                out.append((t - self._origin, d, db))
        return out


def _audio_level(frame: av.AudioFrame) -> tuple[float, float, float]:
    """``(start seconds, duration seconds, RMS level dBFS)`` of one decoded audio frame."""
    samples = frame.to_ndarray().astype(np.float32, copy=False)
    if frame.format.name.startswith(("s16",)):
        samples = samples / 32768.0
    elif frame.format.name.startswith("s32"):
        samples = samples / 2147483648.0
    rms = float(np.sqrt(np.mean(np.square(samples)))) if samples.size else 0.0
    level = 20 * math.log10(rms) if rms > 0 else _SILENT_DBFS
    start = float(frame.pts * frame.time_base) if frame.pts is not None and frame.time_base \
        else 0.0
    return start, frame.samples / float(frame.sample_rate or 1), max(level, _SILENT_DBFS)
