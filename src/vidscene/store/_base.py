"""The ``ResultStore`` interface and the pieces every backend shares.

A store keeps finished analyses so that a second run over the same file with the same settings
can be skipped, and so that reports and the API can show old results. Backends are small: they
move an Analysis's JSON text and its keyframe JPEGs in and out. Everything that decides *what*
is stored (the JSON encoding, ids, timestamps, summaries, id-prefix rules) lives here, so the
in-memory test double and the SQLite store behave identically by construction.

Semantics every backend keeps:

* an entry is identified by ``(video.sha256, settings_key)``: saving again with the same pair
  **replaces** the old entry atomically and **keeps its id** (links to it stay valid); its
  ``created`` time becomes the time of the latest save, so it moves to the top of ``list()``;
* ids are 32 lowercase hex characters; ``get`` and ``delete`` also accept a unique prefix, like
  git; a prefix matching several entries raises :class:`AmbiguousId` (a ``NotFoundInStore``);
* every read returns fresh objects decoded from the stored JSON, never a shared reference.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import re
import string
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import platformdirs

from vidscene.analysis import Analysis, AnalysisResult
from vidscene.errors import ConfigError, NotFoundInStore, StoreError
from vidscene.registry import Registry

if TYPE_CHECKING:
    from vidscene.store._jobs import JobStore
    from vidscene.store._query import Query
    from vidscene.store._records import RecordStore

SETTINGS_KEY_LENGTH = 16
"""Hex characters of a settings key: 64 bits, ample for the handful of settings one user runs."""

ENV_VAR = "VIDSCENE_DB"
"""Environment variable naming the store location (a path or any URL ``open_store`` accepts)."""

_HEX = frozenset(string.hexdigits.lower())
# A URL scheme has at least two characters, so a Windows drive ("C:\\x.db") stays a path.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


class AmbiguousId(NotFoundInStore):
    """An id prefix that matches more than one stored analysis.

    A subclass of :class:`~vidscene.errors.NotFoundInStore` so that callers who only care
    whether an id resolved need a single ``except``; the message lists the candidates.
    """

    def __init__(self, prefix: str, matches: builtins.list[str]) -> None:
        self.prefix = prefix
        self.matches = sorted(matches)
        shown = ", ".join(self.matches[:5]) + (", …" if len(self.matches) > 5 else "")
        super().__init__(
            f"id {prefix!r} is ambiguous: it matches {len(self.matches)} analyses ({shown}); "
            "give more characters"
        )

    def __reduce__(self) -> tuple[type[AmbiguousId], tuple[str, builtins.list[str]]]:
        return type(self), (self.prefix, self.matches)


@dataclass(frozen=True)
class StoredAnalysis:
    """One line of ``list()``: enough to choose an analysis without decoding its JSON."""

    id: str
    path: str
    sha256: str
    settings_key: str
    created: str
    """ISO-8601 UTC time of the latest save, e.g. ``2026-11-28T09:14:03.512345+00:00``."""
    duration: float
    shot_count: int
    scene_count: int


def settings_key(settings: dict[str, Any]) -> str:
    """A short, stable hash of the settings that shape an analysis.

    Keys are sorted and the JSON is compact, so dict order never changes the key; values are
    compared by their JSON text, so ``1`` and ``1.0`` give different keys (callers should pass
    settings already normalised to their declared types). Raises :class:`ConfigError` for
    settings that are not JSON-able, because such settings could not be reproduced either.
    """
    try:
        text = json.dumps(settings, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"settings cannot be hashed into a key: {exc}") from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:SETTINGS_KEY_LENGTH]


def new_id() -> str:
    """A fresh random id; random (not content-derived) so a replaced entry may keep its own."""
    return uuid.uuid4().hex


def utc_now() -> str:
    """The current time as ISO-8601 UTC with microseconds, which sorts as text."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def encode_analysis(analysis: Analysis) -> str:
    """The JSON text a backend stores; non-JSON values (a stray NumPy scalar) fail here."""
    try:
        return json.dumps(analysis.to_dict(), separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"analysis of {analysis.video.path} cannot be stored as JSON: {exc}") \
            from None


def decode_analysis(analysis_id: str, text: str) -> Analysis:
    """Parse stored JSON back; a damaged or foreign document becomes a one-line StoreError."""
    try:
        return Analysis.from_dict(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"stored analysis {analysis_id} cannot be read: {exc}") from None


def summarise(analysis_id: str, analysis: Analysis, key: str, created: str) -> StoredAnalysis:
    """The ``list()`` line of an analysis, computed once at save time."""
    return StoredAnalysis(
        id=analysis_id,
        path=analysis.video.path,
        sha256=analysis.video.sha256,
        settings_key=key,
        created=created,
        duration=float(analysis.video.duration),
        shot_count=len(analysis.shots),
        scene_count=len(analysis.scenes),
    )


def check_thumbnails(thumbnails: dict[int, bytes]) -> dict[int, bytes]:
    """Validate before anything is written, so a bad value never aborts a save halfway."""
    checked: dict[int, bytes] = {}
    for frame, jpeg in thumbnails.items():
        if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
            raise StoreError(f"thumbnail key must be a frame index (int >= 0), got {frame!r}")
        if not isinstance(jpeg, bytes | bytearray | memoryview):
            raise StoreError(f"thumbnail of frame {frame} must be bytes, got {type(jpeg).__name__}")
        checked[frame] = bytes(jpeg)
    return checked


def prefix_pattern(prefix: str) -> str:
    """Validate an id or id prefix and return it normalised (lowercase).

    Ids are hex, so anything else cannot match; rejecting it early gives a clearer message and
    keeps LIKE wildcards (``%``, ``_``) out of backend queries.
    """
    normalised = prefix.strip().lower()
    if not normalised:
        raise NotFoundInStore("no analysis id given")
    if not set(normalised) <= _HEX:
        raise NotFoundInStore(f"no stored analysis with id {prefix!r} (ids are hexadecimal)")
    return normalised


def unique_match(prefix: str, matches: builtins.list[str]) -> str:
    """The single id a prefix names, or the error that says why there is none."""
    if not matches:
        raise NotFoundInStore(f"no stored analysis with id {prefix!r}")
    if prefix in matches:
        # A full id always wins, even if (impossibly for uuid4 hex) it prefixes another id.
        return prefix
    if len(matches) > 1:
        raise AmbiguousId(prefix, matches)
    return matches[0]


class ResultStore(ABC):
    """Where finished analyses live; see the module docstring for the shared semantics.

    Use as a context manager (or call :meth:`close`) so the backend releases its file or
    connection. Every backend failure is raised as :class:`~vidscene.errors.StoreError`.
    """

    @abstractmethod
    def find(self, sha256: str, settings_key: str) -> AnalysisResult | None:
        """The stored analysis of this file content under these settings, or ``None``."""

    @abstractmethod
    def save(self, result: AnalysisResult, settings_key: str) -> str:
        """Store analysis and thumbnails in one atomic step; return the id and set ``result.id``.

        The id is the store's choice: ``result.id`` on input is ignored (an entry is identified
        by ``(sha256, settings_key)``), and an existing entry with that pair keeps its id.
        """

    @abstractmethod
    def get(self, id: str) -> AnalysisResult:
        """The analysis with this id or unique id prefix; ``NotFoundInStore`` otherwise."""

    @abstractmethod
    def list(self) -> builtins.list[StoredAnalysis]:
        """Summaries of every stored analysis, newest first."""

    @abstractmethod
    def delete(self, id: str) -> None:
        """Remove an analysis and its thumbnails (id or unique prefix); ``NotFoundInStore``."""

    @abstractmethod
    def close(self) -> None:
        """Release resources; safe to call twice. Any later use raises ``StoreError``."""

    @property
    @abstractmethod
    def jobs(self) -> JobStore:
        """The job records kept in the same database (``vidscene.store._jobs``)."""

    @property
    @abstractmethod
    def records(self) -> RecordStore:
        """Small keyed records of the HTTP service (tokens, sessions; ``_records``)."""

    @abstractmethod
    def search(self, query: Query) -> builtins.list[dict[str, Any]]:
        """The rows of videos, shots or scenes that ``query`` selects, sorted and paged (the
        meaning of every query is :func:`vidscene.store._query.evaluate`'s)."""

    def query(self, expr: str = "", level: str = "videos", *, sort: str | None = None,
              limit: int = 100, offset: int = 0) -> builtins.list[dict[str, Any]]:
        """Parse ``expr`` (the filter language of ``vidscene search``) and :meth:`search`."""
        from vidscene.store._query import parse_query

        return self.search(parse_query(expr, level, sort=sort, limit=limit, offset=offset))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


BACKENDS: Registry[ResultStore] = Registry("store backend")
"""Store backends by URL scheme; each factory takes the whole ``location`` string.

A new backend registers itself with ``@BACKENDS.register("mongodb")`` above a factory
``(location: str) -> ResultStore``; ``open_store`` never needs to change.
"""


def default_store_path() -> Path:
    """Where the default SQLite store lives: ``$VIDSCENE_DB`` if set, else the user data dir.

    The per-user data directory (not the working directory) so that results are found again
    from wherever ``vidscene`` is run.
    """
    configured = os.environ.get(ENV_VAR, "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("vidscene")) / "vidscene.db"


def open_store(location: str | os.PathLike[str] | None = None) -> ResultStore:
    """Open the store at ``location``, choosing the backend by its URL scheme.

    * ``None``: ``$VIDSCENE_DB`` if set (a path or URL), else :func:`default_store_path`;
    * ``"memory:"``: a fresh, empty :class:`MemoryStore` (nothing is shared between calls);
    * a path, or ``"sqlite:///abs/path.db"`` / ``"sqlite:rel/path.db"``: a :class:`SQLiteStore`;
    * any other ``scheme:…`` goes to the backend registered under that scheme in
      :data:`BACKENDS`; an unknown scheme raises :class:`~vidscene.errors.ConfigError`.
    """
    if location is None:
        location = os.environ.get(ENV_VAR, "").strip() or default_store_path()
    if isinstance(location, os.PathLike):
        return BACKENDS.create("sqlite", location=os.fspath(location))
    match = _SCHEME.match(location)
    scheme = match.group(1).lower() if match else "sqlite"
    return BACKENDS.create(scheme, location=location)
