"""Probe a file: open it with PyAV, check it has a decodable video stream, read its metadata."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import av

from vidscene.analysis import VideoInfo
from vidscene.errors import NoVideoStream, UnreadableVideo, UnsupportedVideo, VideoNotFound

_HASH_CHUNK = 1 << 20
NO_FRAMES = "no decodable video frames (truncated or empty stream)"


def file_sha256(path: str | Path) -> str:
    """Content hash of the file, streamed in 1 MiB chunks (never the whole file in memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def open_video(path: str | Path) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    """Open ``path`` and yield its container and first video stream, mapping failures to
    the :mod:`vidscene.errors` tree so no PyAV exception reaches a user."""
    p = Path(path)
    if not p.exists():
        raise VideoNotFound(p, "no such file")
    if not p.is_file():
        raise VideoNotFound(p, "not a regular file")
    if p.stat().st_size == 0:
        raise UnreadableVideo(p, "empty file (0 bytes)")
    try:
        container = av.open(str(p), mode="r")
    except av.error.InvalidDataError:
        raise UnreadableVideo(p, "not a video file (no known container format)") from None
    except (av.error.FFmpegError, OSError) as e:
        raise UnreadableVideo(p, f"cannot open: {_short(e)}") from None
    try:
        if not container.streams.video:
            kinds: list[str] = sorted({str(s.type) for s in container.streams}) or ["nothing"]
            hint = "" if "audio" in kinds or "subtitle" in kinds else "; truncated or damaged?"
            raise NoVideoStream(p, f"no video stream (found: {', '.join(kinds)}{hint})")
        stream = container.streams.video[0]
        if stream.codec_context is None or not stream.codec_context.name:
            raise UnsupportedVideo(p, "video codec not supported by the installed FFmpeg")
        yield container, stream
    finally:
        container.close()


def _short(e: BaseException) -> str:
    msg = str(e).strip() or type(e).__name__
    # PyAV messages end with ": '<path>'" which the caller already prints.
    return msg.split(": '")[0]


def stream_fps(stream: av.VideoStream) -> float:
    """Nominal frame rate: the stream's average rate, else FFmpeg's guess, else 25."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and float(rate) > 0:
            return float(rate)
    return 25.0


def stream_duration(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return 0.0


def probe(path: str | Path, *, with_hash: bool = True) -> VideoInfo:
    """Metadata from the container, without decoding frames.

    ``frame_count`` and ``duration`` are the container's claims; an analysis replaces them
    with what decoding actually found, which is the number the Analysis contract uses.
    Decoding the first frame is attempted so that a file that opens but cannot be decoded
    (truncated, unsupported codec) is rejected here with a clear reason.
    """
    with open_video(path) as (container, stream):
        fps = stream_fps(stream)
        duration = stream_duration(container, stream)
        frames = stream.frames or int(round(duration * fps))
        rotation = 0
        try:
            first = next(container.decode(stream))
            rotation = int(round(getattr(first, "rotation", 0) or 0))
        except StopIteration:
            raise UnreadableVideo(path, NO_FRAMES) from None
        except av.error.FFmpegError as e:
            raise UnsupportedVideo(path, f"cannot decode video: {_short(e)}") from None
        width, height = stream.codec_context.width, stream.codec_context.height
        if rotation % 180:
            width, height = height, width
        return VideoInfo(
            path=str(Path(path)),
            sha256=file_sha256(path) if with_hash else "",
            duration=round(duration, 6),
            fps=round(fps, 6),
            frame_count=int(frames),
            width=int(width),
            height=int(height),
            has_audio=bool(container.streams.audio),
            rotation=rotation,
            codec=stream.codec_context.name,
        )

