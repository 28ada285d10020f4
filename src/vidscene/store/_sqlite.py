"""``SQLiteStore``: the embedded default store, one file on the user's disk.

Why these choices:

* **WAL mode** lets the HTML report or the API read while an analysis is being saved, and
  with ``synchronous=NORMAL`` a crash of the process never loses a committed analysis (a power
  cut may lose the last one, never corrupt the file) — right for results that can be recomputed.
* **One ``BEGIN IMMEDIATE`` transaction per save** holds the JSON row and every thumbnail, so a
  crash midway leaves the previous state, never half an analysis; IMMEDIATE takes the write lock
  up front so two writers queue instead of failing on a lock upgrade.
* **``PRAGMA user_version``** numbers the schema and ``PRAGMA application_id`` marks the file
  as ours, so a foreign database or one from a newer vidscene is refused with a clear reason
  instead of being modified.
* Summary columns (duration, shot and scene counts) sit beside the JSON so ``list()`` never
  parses JSON.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from vidscene.analysis import AnalysisResult
from vidscene.errors import ConfigError, StoreError
from vidscene.store._base import (
    BACKENDS,
    ResultStore,
    StoredAnalysis,
    check_thumbnails,
    decode_analysis,
    encode_analysis,
    new_id,
    prefix_pattern,
    summarise,
    unique_match,
    utc_now,
)
from vidscene.store._jobs import Job, JobStore
from vidscene.store._query import Condition, Field, Query, item_row, video_row
from vidscene.store._records import RecordStore

APPLICATION_ID = 0x76534344
"""``PRAGMA application_id`` of a vidscene store ("vSCD"): tells our files from others'."""

# _MIGRATIONS[v] upgrades a database from schema v to v + 1; SCHEMA_VERSION follows from it.
# Append new steps, never edit old ones: users' files were made by them.
_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE analyses (
        id           TEXT PRIMARY KEY,
        sha256       TEXT NOT NULL,
        settings_key TEXT NOT NULL,
        path         TEXT NOT NULL,
        created      TEXT NOT NULL,
        duration     REAL NOT NULL,
        shot_count   INTEGER NOT NULL,
        scene_count  INTEGER NOT NULL,
        json         TEXT NOT NULL
    );
    CREATE UNIQUE INDEX analyses_content_settings ON analyses (sha256, settings_key);
    CREATE INDEX analyses_created ON analyses (created);
    CREATE TABLE thumbnails (
        analysis_id TEXT NOT NULL REFERENCES analyses (id) ON DELETE CASCADE,
        frame       INTEGER NOT NULL,
        jpeg        BLOB NOT NULL,
        PRIMARY KEY (analysis_id, frame)
    ) WITHOUT ROWID;
    """,
    # 2: job records (one per submitted video); at most one active job per key.
    """
    CREATE TABLE jobs (
        id      TEXT PRIMARY KEY,
        key     TEXT,
        state   TEXT NOT NULL,
        owner   TEXT NOT NULL,
        created TEXT NOT NULL,
        json    TEXT NOT NULL
    );
    CREATE UNIQUE INDEX jobs_active_key ON jobs (key) WHERE state IN ('queued', 'running');
    CREATE INDEX jobs_state_created ON jobs (state, created);
    CREATE INDEX jobs_created ON jobs (created);
    """,
    # 3: small keyed records of the HTTP service (tokens, sessions, idempotency keys).
    """
    CREATE TABLE records (
        kind  TEXT NOT NULL,
        key   TEXT NOT NULL,
        json  TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    ) WITHOUT ROWID;
    """,
)
SCHEMA_VERSION = len(_MIGRATIONS)
_OPEN_WAIT_S = 30.0
"""How long opening a store waits for another process that holds the file's lock."""

_SUMMARY_COLUMNS = "id, path, sha256, settings_key, created, duration, shot_count, scene_count"
_PLACEHOLDERS = ", ".join("?" * 9)  # the summary columns and json

# sqlite3's messages are accurate but terse; these say what the user should understand.
_FRIENDLY_REASONS: dict[str, str] = {
    "file is not a database": "not a SQLite database (file is not a database)",
    "readonly database": "the database is read-only",
    "unable to open database file": "cannot open the database file (missing folder or no access)",
    "database is locked": "the database is locked by another process",
    "disk I/O error": "disk I/O error",
}


def _reason(exc: sqlite3.Error) -> str:
    message = " ".join(str(exc).split())  # one line, whatever sqlite put in it
    for fragment, reason in _FRIENDLY_REASONS.items():
        if fragment in message:
            return reason
    return message or type(exc).__name__


class SQLiteStore(ResultStore):
    """A store in one SQLite file at ``path`` (parent folders are created)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create its folder ({exc.strerror})") from None
        with self._errors():
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so a transaction spans
            # exactly what we say. check_same_thread=False: self._lock serialises use.
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None,
                                   check_same_thread=False)
            try:
                self._setup_with_retries(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        self._jobs = SQLiteJobs(self)
        self._records = SQLiteRecords(self)

    # -- ResultStore -----------------------------------------------------------------------

    def find(self, sha256: str, settings_key: str) -> AnalysisResult | None:
        with self._transaction("BEGIN") as conn:
            row = conn.execute(
                "SELECT id, json FROM analyses WHERE sha256 = ? AND settings_key = ?",
                (sha256, settings_key),
            ).fetchone()
            if row is None:
                return None
            return self._load(conn, row[0], row[1])

    def save(self, result: AnalysisResult, settings_key: str) -> str:
        analysis = result.analysis
        text = encode_analysis(analysis)
        thumbnails = check_thumbnails(result.thumbnails)
        with self._transaction("BEGIN IMMEDIATE") as conn:
            row = conn.execute(
                "SELECT id FROM analyses WHERE sha256 = ? AND settings_key = ?",
                (analysis.video.sha256, settings_key),
            ).fetchone()
            analysis_id = row[0] if row is not None else new_id()
            if row is not None:
                # Delete and re-insert (rather than UPDATE) so the replaced entry gets a fresh
                # rowid, which orders saves made within the same microsecond.
                conn.execute("DELETE FROM thumbnails WHERE analysis_id = ?", (analysis_id,))
                conn.execute("DELETE FROM analyses WHERE id = ?", (analysis_id,))
            summary = summarise(analysis_id, analysis, settings_key, utc_now())
            conn.execute(
                f"INSERT INTO analyses ({_SUMMARY_COLUMNS}, json) VALUES ({_PLACEHOLDERS})",
                (summary.id, summary.path, summary.sha256, summary.settings_key, summary.created,
                 summary.duration, summary.shot_count, summary.scene_count, text),
            )
            self._write_thumbnails(conn, analysis_id, thumbnails)
        result.id = analysis_id
        return analysis_id

    def get(self, id: str) -> AnalysisResult:
        with self._transaction("BEGIN") as conn:
            analysis_id = self._resolve(conn, id)
            row = conn.execute("SELECT json FROM analyses WHERE id = ?", (analysis_id,)).fetchone()
            return self._load(conn, analysis_id, row[0])

    def list(self) -> builtins.list[StoredAnalysis]:
        with self._transaction("BEGIN") as conn:
            rows = conn.execute(
                f"SELECT {_SUMMARY_COLUMNS} FROM analyses ORDER BY created DESC, rowid DESC"
            ).fetchall()
        return [StoredAnalysis(*row) for row in rows]

    def delete(self, id: str) -> None:
        with self._transaction("BEGIN IMMEDIATE") as conn:
            analysis_id = self._resolve(conn, id)
            conn.execute("DELETE FROM thumbnails WHERE analysis_id = ?", (analysis_id,))
            conn.execute("DELETE FROM analyses WHERE id = ?", (analysis_id,))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                with self._errors():
                    conn.close()

    @property
    def jobs(self) -> JobStore:
        return self._jobs

    @property
    def records(self) -> RecordStore:
        return self._records

    def search(self, query: Query) -> builtins.list[dict[str, Any]]:
        sql, params = _search_sql(query)
        with self._transaction("BEGIN") as conn:
            rows = conn.execute(sql, params).fetchall()
        if query.level == "videos":
            return [video_row(i, created, json.loads(text)) for i, created, text in rows]
        return [item_row(query.level, i, path, json.loads(item), kind)
                for i, path, item, kind in rows]

    # -- internals -------------------------------------------------------------------------

    def _write_thumbnails(
        self, conn: sqlite3.Connection, analysis_id: str, thumbnails: dict[int, bytes]
    ) -> None:
        """Write the JPEGs of one analysis (inside the caller's transaction)."""
        conn.executemany(
            "INSERT INTO thumbnails (analysis_id, frame, jpeg) VALUES (?, ?, ?)",
            [(analysis_id, frame, jpeg) for frame, jpeg in sorted(thumbnails.items())],
        )

    def _setup_with_retries(self, conn: sqlite3.Connection) -> None:
        """:meth:`_setup`, again after a short wait while another process holds the lock.
        Switching a new file to WAL needs an exclusive lock, and SQLite answers "locked" at
        once there instead of waiting out the busy timeout: two processes that open a new
        store at the same moment would otherwise see one of them fail."""
        deadline = time.monotonic() + _OPEN_WAIT_S
        delay = 0.01
        while True:
            try:
                self._setup(conn)
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
                if conn.in_transaction:
                    conn.rollback()
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    def _setup(self, conn: sqlite3.Connection) -> None:
        """Check the file is ours, switch to WAL, and bring the schema up to date."""
        conn.execute("PRAGMA foreign_keys = ON")
        # Python's own case folding, so "~" means the same here as in every other store.
        conn.create_function("vs_contains", 2, _contains, deterministic=True)
        # Reading the header first turns "not a database" into an error before any write;
        # in one read transaction, so a store another process is creating right now is seen
        # before or after its first migration, never halfway.
        conn.execute("BEGIN")
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            self._check_ownership(conn, app_id, version)
        finally:
            conn.execute("COMMIT")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: made by a newer vidscene (store schema {version}, this version "
                f"reads up to {SCHEMA_VERSION})"
            )
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() not in ("wal", "memory"):
            raise StoreError(f"{self.path}: cannot use WAL mode (journal mode stays {mode})")
        conn.execute("PRAGMA synchronous = NORMAL")
        if version < SCHEMA_VERSION:
            self._migrate(conn)

    def _check_ownership(self, conn: sqlite3.Connection, app_id: int, version: int) -> None:
        if app_id == APPLICATION_ID:
            return
        has_tables = conn.execute(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
        ).fetchone()[0]
        if app_id != 0 or version != 0 or has_tables:
            raise StoreError(f"{self.path}: a SQLite database, but not a vidscene store")

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Apply the missing schema steps in one transaction (another process may race us)."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: a concurrent opener may have migrated already.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for step in range(version, SCHEMA_VERSION):
                # executescript would COMMIT first; run the statements one by one instead.
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _resolve(self, conn: sqlite3.Connection, id: str) -> str:
        prefix = prefix_pattern(id)  # hex only, so it is safe inside a LIKE pattern
        rows = conn.execute(
            "SELECT id FROM analyses WHERE id LIKE ? ORDER BY id", (prefix + "%",)
        ).fetchall()
        return unique_match(prefix, [r[0] for r in rows])

    def _load(self, conn: sqlite3.Connection, analysis_id: str, text: str) -> AnalysisResult:
        thumbnails = {
            frame: bytes(jpeg)
            for frame, jpeg in conn.execute(
                "SELECT frame, jpeg FROM thumbnails WHERE analysis_id = ? ORDER BY frame",
                (analysis_id,),
            )
        }
        return AnalysisResult(decode_analysis(analysis_id, text), thumbnails, analysis_id)

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        """One transaction under the thread lock: COMMIT on success, ROLLBACK on any failure.

        Reads use a plain BEGIN too, so a ``get`` sees the JSON and thumbnails of one save even
        while another process replaces them.
        """
        with self._lock, self._errors():
            conn = self._conn
            if conn is None:
                raise StoreError(f"{self.path}: the store is closed")
            conn.execute(begin)
            try:
                yield conn
            except BaseException:
                # Some errors (a full disk) already ended the transaction; rolling back again
                # would hide the real error behind "no transaction is active".
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn any sqlite3 error into a one-line :class:`StoreError` naming the file."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: {_reason(exc)}") from exc

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"


def _contains(text: object, part: object) -> int:
    return int(text is not None and str(part).lower() in str(text).lower())


# Fields with a column of their own use it (indexable); the rest are read from the JSON.
_COLUMNS: dict[tuple[str, ...], str] = {
    ("video", "duration"): "a.duration", ("attributes", "shot_count"): "a.shot_count",
    ("attributes", "scene_count"): "a.scene_count", ("video", "path"): "a.path",
    ("video", "sha256"): "a.sha256"}


def _json_path(parts: tuple[str, ...]) -> str:
    return "$" + "".join(f'."{p}"' for p in parts)


def _field_sql(field: Field, level: str) -> str:
    """The SQL expression of a field: ``a`` is the analysis row, ``s`` the shot or scene."""
    if level == "videos":
        return _COLUMNS.get(field.path) or f"json_extract(a.json, '{_json_path(field.path)}')"
    if field.computed == "duration":
        return "(json_extract(s.value, '$.end_time') - json_extract(s.value, '$.start_time'))"
    if field.computed == "type":
        if level == "shots":
            return "json_extract(s.value, '$.transition_in.type')"
        return ("json_extract(a.json, '$.shots[' || json_extract(s.value, '$.first_shot') "
                "|| '].transition_in.type')")
    return f"json_extract(s.value, '{_json_path(field.path)}')"


def _condition_sql(c: Condition, level: str) -> str:
    expr = _field_sql(c.field, level)
    if c.op == "~":
        return f"vs_contains({expr}, ?)"
    # A missing value (NULL) meets no condition, "!=" included, as in the other stores.
    return f"({expr} IS NOT NULL AND {expr} {'=' if c.op == '=' else c.op} ?)"


def _search_sql(query: Query) -> tuple[str, list[Any]]:
    """One SELECT for a query: filter, the shared ordering (``_query.page``), LIMIT/OFFSET."""
    level = query.level
    where = " AND ".join(_condition_sql(c, level) for c in query.conditions) or "1"
    params: list[Any] = [c.value for c in query.conditions]
    order = []
    if query.sort is not None:
        key = _field_sql(query.sort, level)
        order += [f"({key} IS NULL)", f"{key} {'DESC' if query.descending else 'ASC'}"]
    if level == "videos":
        order += ["a.path", "a.id"]
        select = "SELECT a.id, a.created, a.json FROM analyses a"
    else:
        order += ["a.path", "a.id", "s.key"]
        kind = _field_sql(Field("type", (), True, "type"), level)
        select = (f"SELECT a.id, a.path, s.value, {kind} FROM analyses a, "
                  f"json_each(a.json, '$.{level}') s")
    sql = f"{select} WHERE {where} ORDER BY {', '.join(order)} LIMIT ? OFFSET ?"
    return sql, [*params, query.limit, query.offset]


class SQLiteJobs(JobStore):
    """Job records in the ``jobs`` table of the same file (schema step 2); each change is one
    ``BEGIN IMMEDIATE`` transaction, and the partial unique index keeps one active job per
    key."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def _insert(self, job: Job) -> bool:
        try:
            with self._store._transaction("BEGIN IMMEDIATE") as conn:
                conn.execute("INSERT INTO jobs (id, key, state, owner, created, json) "
                             "VALUES (?, ?, ?, ?, ?, ?)", _job_row(job))
        except StoreError as e:
            if isinstance(e.__cause__, sqlite3.IntegrityError):
                return False
            raise
        return True

    def _load(self, job_id: str) -> Job | None:
        with self._store._transaction("BEGIN") as conn:
            row = conn.execute("SELECT json FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_dict(json.loads(row[0])) if row else None

    def _ids(self, prefix: str) -> builtins.list[str]:
        with self._store._transaction("BEGIN") as conn:
            return [r[0] for r in conn.execute("SELECT id FROM jobs WHERE id LIKE ?",
                                               (prefix + "%",))]

    def _cas(self, job_id: str, states: frozenset[str], changes: dict[str, Any],
             owner: str | None = None) -> Job | None:
        try:
            with self._store._transaction("BEGIN IMMEDIATE") as conn:
                row = conn.execute("SELECT json FROM jobs WHERE id = ?", (job_id,)).fetchone()
                if row is None:
                    return None
                job = Job.from_dict(json.loads(row[0]))
                if job.state not in states or (owner is not None and job.owner != owner):
                    return None
                updated = Job.from_dict({**job.__dict__, **changes})
                conn.execute("UPDATE jobs SET key = ?, state = ?, owner = ?, json = ? "
                             "WHERE id = ?", (updated.key, updated.state, updated.owner,
                                              json.dumps(updated.__dict__), job_id))
                return updated
        except StoreError as e:
            if isinstance(e.__cause__, sqlite3.IntegrityError):
                return None  # another job became active for this key
            raise

    def _find(self, *, key: str | None = None, states: frozenset[str] | None = None,
              limit: int = 0, offset: int = 0) -> builtins.list[Job]:
        where, params = [], []
        if key is not None:
            where.append("key = ?")
            params.append(key)
        if states is not None:
            where.append(f"state IN ({', '.join('?' * len(states))})")
            params.extend(sorted(states))
        sql = (f"SELECT json FROM jobs WHERE {' AND '.join(where) or '1'} "
               f"ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?")
        with self._store._transaction("BEGIN") as conn:
            rows = conn.execute(sql, [*params, limit or -1, offset]).fetchall()
        return [Job.from_dict(json.loads(r[0])) for r in rows]


class SQLiteRecords(RecordStore):
    """Records in the ``records`` table (schema step 3)."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def create(self, kind: str, key: str, value: dict[str, Any]) -> bool:
        with self._store._transaction("BEGIN IMMEDIATE") as conn:
            cur = conn.execute("INSERT OR IGNORE INTO records (kind, key, json) VALUES (?, ?, ?)",
                               (kind, key, json.dumps(value)))
            return cur.rowcount == 1

    def put(self, kind: str, key: str, value: dict[str, Any]) -> None:
        with self._store._transaction("BEGIN IMMEDIATE") as conn:
            conn.execute("INSERT OR REPLACE INTO records (kind, key, json) VALUES (?, ?, ?)",
                         (kind, key, json.dumps(value)))

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._store._transaction("BEGIN") as conn:
            row = conn.execute("SELECT json FROM records WHERE kind = ? AND key = ?",
                               (kind, key)).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def delete(self, kind: str, key: str) -> bool:
        with self._store._transaction("BEGIN IMMEDIATE") as conn:
            cur = conn.execute("DELETE FROM records WHERE kind = ? AND key = ?", (kind, key))
            return cur.rowcount == 1

    def list(self, kind: str) -> builtins.list[tuple[str, dict[str, Any]]]:
        with self._store._transaction("BEGIN") as conn:
            rows = conn.execute("SELECT key, json FROM records WHERE kind = ? ORDER BY key",
                                (kind,)).fetchall()
        return [(k, dict(json.loads(v))) for k, v in rows]


    def _count(self, states: frozenset[str] | None) -> int:
        where, params = "1", []
        if states is not None:
            where = f"state IN ({', '.join('?' * len(states))})"
            params = sorted(states)
        with self._store._transaction("BEGIN") as conn:
            return int(conn.execute(f"SELECT count(*) FROM jobs WHERE {where}",
                                    params).fetchone()[0])


def _job_row(job: Job) -> tuple[Any, ...]:
    return (job.id, job.key, job.state, job.owner, job.created, json.dumps(job.__dict__))


@BACKENDS.register("sqlite")
def _open_sqlite(location: str) -> ResultStore:
    """A plain path, or a ``sqlite:`` URL read like a ``file:`` URL.

    ``sqlite:///abs/path.db`` (empty or ``localhost`` authority) is an absolute path and
    ``sqlite:rel/path.db`` a relative one; percent-escapes are decoded.
    """
    if not location.lower().startswith("sqlite:"):
        return SQLiteStore(location)
    rest = location[len("sqlite:"):]
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        if authority not in ("", "localhost"):
            raise ConfigError(f"{location!r}: a SQLite store is a local file; use sqlite:///path")
        rest = slash + path
    path = unquote(rest)
    if not path:
        raise ConfigError(f"{location!r} names no file; use sqlite:///path/to/vidscene.db")
    return SQLiteStore(path)
