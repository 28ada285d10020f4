"""Where videos come from: paths under the media roots, and uploads streamed to disk.

Paths are checked after resolving symlinks: a path is served or analysed only if the real
file lies inside one of the configured media roots (or the upload folder), so ``..``, an
absolute path elsewhere, or a symlink pointing out of a root are all refused the same way.

An upload is parsed as it arrives (``python-multipart``'s streaming parser), written to a
``.part`` file and counted: past the size limit the request is cut off with ``413`` and the
partial file removed; only a complete, readable video is moved to its final name. ``.part``
files left by a killed server are removed when the next one starts.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from vidscene.server._errors import ApiError

INCOMING = ".incoming"
MAX_FIELD_BYTES = 4096
"""Non-file form fields (``callback_url``) are small."""


def inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolve_media_path(given: str, roots: list[Path]) -> Path:
    """The real file a job's ``path`` names, or ``ApiError`` saying why it is refused."""
    if not roots:
        raise ApiError(422, "this server has no --media-root: submit videos by upload")
    if not given or "\x00" in given:
        raise ApiError(422, "path is empty")
    if ".." in PurePosixPath(given.replace("\\", "/")).parts:
        raise ApiError(403, "path must not contain '..'", "path_refused")
    candidates = [Path(given)] if os.path.isabs(given) else [root / given for root in roots]
    for candidate in candidates:
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            continue
        if not inside(real, roots):
            raise ApiError(403, f"{given}: outside the media roots", "path_refused")
        if not real.is_file():
            raise ApiError(422, f"{given}: not a file")
        return real
    if os.path.isabs(given) and not inside(Path(os.path.normpath(given)), roots):
        raise ApiError(403, f"{given}: outside the media roots", "path_refused")
    raise ApiError(404, f"{given}: no such file under the media roots")


COMPLETE_SHARE = 0.95
"""An upload whose packets hold less than this share of the frames its container announces
is refused as truncated (the CLI analyses such a file with a warning; an upload that broke
off in transit should be sent again instead)."""


def check_complete(path: Path, frames_announced: int, name: str) -> None:
    """Refuse an upload whose video packets stop early (a cut-off transfer): demuxing
    without decoding reads the whole file at disk speed."""
    import av

    from vidscene.video import open_video

    if frames_announced <= 0:
        return
    packets = 0
    try:
        with open_video(path) as (container, stream):
            for packet in container.demux(stream):
                packets += packet.size > 0
    except av.error.FFmpegError:
        pass  # what was read before the damage counts
    if packets < COMPLETE_SHARE * frames_announced:
        raise ApiError(422, f"{name}: truncated: it holds {packets} of the "
                            f"{frames_announced} frames its container announces",
                       "unreadable_video")


def safe_name(filename: str) -> str:
    """A file name to keep an upload under: the base name, without path or odd characters."""
    base = PurePosixPath(filename.replace("\\", "/")).name
    cleaned = "".join(c if c.isalnum() or c in "._- " else "_" for c in base).strip(" .")
    return cleaned[:120] or "upload"


@dataclass
class Upload:
    """A received upload: the complete file and the form's other fields."""

    path: Path
    filename: str
    size: int
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


class UploadArea:
    """The upload folder of one server (``DATA_DIR/uploads``)."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        (root / INCOMING).mkdir(parents=True, exist_ok=True)

    def clean(self) -> int:
        """Remove partial uploads a killed server left behind; how many."""
        removed = 0
        for part in (self.root / INCOMING).glob("*.part"):
            part.unlink(missing_ok=True)
            removed += 1
        return removed

    async def receive(self, content_type: str, body: AsyncIterator[bytes]) -> Upload:
        """Parse a ``multipart/form-data`` body with one ``file`` part (see module doc)."""
        kind, params = parse_options_header(content_type)
        boundary = params.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise ApiError(415, "send the video as multipart/form-data with a 'file' field, "
                                "or JSON {\"path\": …}")
        part = self.root / INCOMING / f"{uuid.uuid4().hex}.part"
        receiver = _Receiver(part, self.max_bytes)
        try:
            parser = MultipartParser(boundary, receiver.callbacks())  # type: ignore[arg-type]
            async for chunk in body:
                parser.write(chunk)
                if receiver.too_large:
                    raise ApiError(413, f"upload exceeds the limit of {self.max_bytes} bytes")
            parser.finalize()
            if receiver.writing or not receiver.complete:
                raise ApiError(400, "the upload ended before its file part was complete")
            if receiver.filename is None:
                raise ApiError(422, "no 'file' field in the form")
            if ".." in PurePosixPath(receiver.filename.replace("\\", "/")).parts:
                raise ApiError(403, "the upload's file name must not contain '..'",
                               "path_refused")
            if receiver.size == 0:
                raise ApiError(422, "the uploaded file is empty (zero bytes)")
        except FormParserError as e:
            receiver.abort()
            raise ApiError(400, f"malformed multipart body: {e}") from None
        except BaseException:
            receiver.abort()
            raise
        final = self.root / uuid.uuid4().hex / safe_name(receiver.filename)
        final.parent.mkdir(parents=True)
        os.replace(part, final)
        return Upload(final, receiver.filename, receiver.size, receiver.fields)


class _Receiver:
    """The parser's callbacks: the ``file`` part to disk, other fields to memory."""

    def __init__(self, part: Path, max_bytes: int) -> None:
        self.part = part
        self.max_bytes = max_bytes
        self.size = 0
        self.too_large = False
        self.complete = False
        self.filename: str | None = None
        self.fields: dict[str, str] = {}
        self._headers: dict[bytes, bytes] = {}
        self._header_field = b""
        self._header_value = b""
        self._name = ""
        self._value = bytearray()
        self._fh: object = None

    def callbacks(self) -> dict[str, object]:
        return {"on_part_begin": self._begin, "on_header_field": self._field,
                "on_header_value": self._value_cb, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_done, "on_part_data": self._data,
                "on_part_end": self._end, "on_end": self._all_done}

    def _begin(self) -> None:
        self._headers, self._name, self._value = {}, "", bytearray()

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _value_cb(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _headers_done(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        if self._name == "file" and self.filename is None:
            self.filename = params.get(b"filename", b"upload").decode("utf-8", "replace")
            self._fh = open(self.part, "wb")  # noqa: SIM115  (closed in _end or abort)

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._fh is not None and self._name == "file":
            self.size += end - start
            if self.size > self.max_bytes:
                self.too_large = True
                return
            self._fh.write(data[start:end])  # type: ignore[attr-defined]
        elif len(self._value) + end - start <= MAX_FIELD_BYTES:
            self._value += data[start:end]

    def _end(self) -> None:
        if self._fh is not None and self._name == "file":
            self._fh.close()  # type: ignore[attr-defined]
            self._fh = None
        elif self._name:
            self.fields[self._name] = self._value.decode("utf-8", "replace")

    def _all_done(self) -> None:
        self.complete = True

    @property
    def writing(self) -> bool:
        """The file part began and has not ended (the body stopped inside it)."""
        return self._fh is not None

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()  # type: ignore[attr-defined]
            self._fh = None
        self.part.unlink(missing_ok=True)
