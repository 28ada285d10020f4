"""The exporter interface, its registry, and the one place that writes exports to disk.

Every format is a small :class:`Exporter` that turns an :class:`AnalysisResult` into text (or
bytes) in memory; writing is done once, here, so that every format gets the same guarantees:
``-`` means standard output, and files are replaced atomically (a temporary file beside the
destination, then :func:`os.replace`), so a crash or a full disk never leaves half a report where
a good one used to be.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from abc import ABC, abstractmethod
from pathlib import Path

from vidscene.analysis import Analysis, AnalysisResult
from vidscene.errors import ConfigError, ExportError
from vidscene.registry import Registry

__all__ = [
    "EXPORTERS",
    "Exporter",
    "create_exporter",
    "export",
    "export_formats",
    "render",
    "scene_index_of_shots",
]


class Exporter(ABC):
    """Renders an analysis in one format; registered under that format's name."""

    name: str = ""
    """Registry name (the ``--format`` value)."""
    extension: str = ""
    """Usual file suffix, with the dot (``".csv"``), for default output names."""
    media_type: str = "text/plain"
    """MIME type, for serving the export over HTTP."""

    @abstractmethod
    def render(self, result: AnalysisResult) -> str | bytes:
        """The whole export in memory; ``str`` is written as UTF-8."""


EXPORTERS: Registry[Exporter] = Registry("export format")


def export_formats() -> list[str]:
    """Names of every registered format, sorted (plugins included)."""
    return EXPORTERS.names()


def create_exporter(fmt: str, **options: object) -> Exporter:
    """Build the exporter for ``fmt``; unknown names or options raise :class:`ExportError`."""
    if fmt not in EXPORTERS:
        known = ", ".join(export_formats()) or "none"
        raise ExportError(f"unknown export format {fmt!r} (known: {known})")
    try:
        return EXPORTERS.create(fmt, **options)
    except TypeError as e:  # an option the format does not take
        raise ExportError(f"export format {fmt!r}: {e}") from None
    except ConfigError as e:  # an option the format takes, with a value it cannot use
        raise ExportError(str(e)) from None


def render(result: AnalysisResult | Analysis, fmt: str, **options: object) -> str | bytes:
    """Render ``result`` in format ``fmt`` in memory (for the API, or tests)."""
    if isinstance(result, Analysis):  # a bare Analysis simply has no thumbnails
        result = AnalysisResult(result)
    return create_exporter(fmt, **options).render(result)


def export(
    result: AnalysisResult | Analysis, fmt: str, dest: str | Path, **options: object
) -> None:
    """Write ``result`` in format ``fmt`` to ``dest``; ``"-"`` writes to standard output.

    Rendering happens before anything is opened, so a failing exporter never touches ``dest``.
    """
    content = render(result, fmt, **options)
    data = content.encode("utf-8") if isinstance(content, str) else content
    if str(dest) == "-":
        _write_stdout(data)
    else:
        _write_atomic(Path(dest), data)


def _write_stdout(data: bytes) -> None:
    # Bytes go to the binary buffer so that line endings (CSV's CRLF) pass through unchanged;
    # a replaced sys.stdout without a buffer (StringIO) gets the decoded text instead.
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(data.decode("utf-8"))
        return
    sys.stdout.flush()
    buffer.write(data)
    buffer.flush()


def _write_atomic(dest: Path, data: bytes) -> None:
    """Write ``data`` to a hidden temporary file in ``dest``'s folder, then rename it over.

    Same folder, so the rename stays on one file system and is atomic. ``os.open`` with mode
    0o666 lets the umask decide permissions, as for any ordinary new file.
    """
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as e:
        raise ExportError(f"cannot write {dest}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ExportError(f"cannot write {dest}: {e.strerror or e}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def scene_index_of_shots(analysis: Analysis) -> list[int | None]:
    """For each shot, the index of the scene that holds it (``None`` where no scene does)."""
    owner: list[int | None] = [None] * len(analysis.shots)
    for scene in analysis.scenes:
        for i in range(max(0, scene.first_shot), min(len(owner), scene.last_shot + 1)):
            owner[i] = scene.index
    return owner
