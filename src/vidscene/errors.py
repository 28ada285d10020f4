"""The one documented exception tree of vidscene.

Every failure a user can cause or meet (a bad file, an unknown detector name, a broken store)
is raised as a subclass of :class:`VidsceneError`, so callers can catch the whole family with one
``except`` and the CLI can turn any of them into one line on stderr and a non-zero exit code::

    VidsceneError
    ├── VideoError                  anything about an input video
    │   ├── VideoNotFound           the path does not exist or is not a file
    │   ├── UnreadableVideo         not a media file, zero bytes, corrupt or truncated beyond use
    │   ├── NoVideoStream           a media file without a video stream (audio only, subtitles)
    │   └── UnsupportedVideo        a video stream no installed decoder can handle
    ├── ConfigError                 bad settings: unknown registry name, out-of-range option
    ├── StoreError                  the results store cannot be opened, read or written
    │   └── NotFoundInStore         no stored analysis with that id
    └── ExportError                 an export format that is unknown or cannot be written
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "VidsceneError",
    "VideoError",
    "VideoNotFound",
    "UnreadableVideo",
    "NoVideoStream",
    "UnsupportedVideo",
    "ConfigError",
    "StoreError",
    "NotFoundInStore",
    "ExportError",
]


class VidsceneError(Exception):
    """Base of every error vidscene raises on purpose."""


class VideoError(VidsceneError):
    """A problem with one input video; ``path`` says which, the message says why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type[VideoError], tuple[str, str]]:
        # Rebuilt from (path, reason), so the error crosses process boundaries intact (a
        # worker of the Ray executor raises it, the driver reports it).
        return type(self), (self.path, self.reason)


class VideoNotFound(VideoError):
    """The path does not exist or is not a regular file."""


class UnreadableVideo(VideoError):
    """The file is empty, not a media container, or too damaged to decode."""


class NoVideoStream(VideoError):
    """The container holds no video stream (an audio-only file, for example)."""


class UnsupportedVideo(VideoError):
    """The video stream uses a codec or pixel format no installed decoder handles."""


class ConfigError(VidsceneError):
    """Settings that cannot work: an unknown registry name or an out-of-range value."""


class StoreError(VidsceneError):
    """The results store could not be opened, read or written."""


class NotFoundInStore(StoreError):
    """No stored analysis matches the requested id."""


class ExportError(VidsceneError):
    """An export format that is unknown or a destination that cannot be written."""
