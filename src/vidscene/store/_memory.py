"""``MemoryStore``: the in-memory test double of :class:`ResultStore`.

It keeps the same JSON text a database would, not live objects, so that what a test reads back
went through exactly the encoding the real stores use (a non-JSON value fails here too), and so
that mutating a returned result never changes the store.
"""

from __future__ import annotations

import builtins
import copy
import json
import threading
from dataclasses import dataclass, replace
from typing import Any

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
from vidscene.store._query import Query, Stored, evaluate
from vidscene.store._records import RecordStore


@dataclass(frozen=True)
class _Entry:
    summary: StoredAnalysis
    json: str
    thumbnails: dict[int, bytes]
    sequence: int
    """Save order: breaks ties between saves within the same microsecond."""


class MemoryStore(ResultStore):
    """A store that lives and dies with the object (``open_store("memory:")``)."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._sequence = 0
        self._closed = False
        # The pipeline and the API may share one store between threads.
        self._lock = threading.Lock()
        self._jobs = MemoryJobs(self._check_open)
        self._records = MemoryRecords(self._check_open)

    def find(self, sha256: str, settings_key: str) -> AnalysisResult | None:
        with self._lock:
            self._check_open()
            entry = self._find_entry(sha256, settings_key)
            return self._load(entry) if entry is not None else None

    def save(self, result: AnalysisResult, settings_key: str) -> str:
        analysis = result.analysis
        text = encode_analysis(analysis)
        thumbnails = check_thumbnails(result.thumbnails)
        with self._lock:
            self._check_open()
            old = self._find_entry(analysis.video.sha256, settings_key)
            analysis_id = old.summary.id if old is not None else new_id()
            summary = summarise(analysis_id, analysis, settings_key, utc_now())
            staged = self._write_thumbnails(analysis_id, thumbnails)
            # Everything is built before this single assignment, which is the "commit": a
            # failure above leaves the old entry (or no entry) exactly as it was.
            self._sequence += 1
            self._entries[analysis_id] = _Entry(summary, text, staged, self._sequence)
        result.id = analysis_id
        return analysis_id

    def get(self, id: str) -> AnalysisResult:
        with self._lock:
            self._check_open()
            return self._load(self._entries[self._resolve(id)])

    def list(self) -> builtins.list[StoredAnalysis]:
        with self._lock:
            self._check_open()
            entries = sorted(self._entries.values(),
                             key=lambda e: (e.summary.created, e.sequence), reverse=True)
        return [e.summary for e in entries]  # frozen, so sharing them is safe

    def delete(self, id: str) -> None:
        with self._lock:
            self._check_open()
            del self._entries[self._resolve(id)]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._entries.clear()

    @property
    def jobs(self) -> JobStore:
        return self._jobs

    @property
    def records(self) -> RecordStore:
        return self._records

    def search(self, query: Query) -> builtins.list[dict[str, Any]]:
        with self._lock:
            self._check_open()
            stored = [Stored(e.summary.id, e.summary.created, json.loads(e.json))
                      for e in self._entries.values()]
        return evaluate(query, stored)

    def _write_thumbnails(self, analysis_id: str, thumbnails: dict[int, bytes]) -> dict[int, bytes]:
        """Stage the thumbnails of one entry (the step a crash test interrupts)."""
        return dict(thumbnails)

    def _find_entry(self, sha256: str, settings_key: str) -> _Entry | None:
        for entry in self._entries.values():
            if (entry.summary.sha256, entry.summary.settings_key) == (sha256, settings_key):
                return entry
        return None

    def _resolve(self, id: str) -> str:
        prefix = prefix_pattern(id)
        return unique_match(prefix, [i for i in self._entries if i.startswith(prefix)])

    def _load(self, entry: _Entry) -> AnalysisResult:
        return AnalysisResult(
            analysis=decode_analysis(entry.summary.id, entry.json),
            thumbnails=dict(entry.thumbnails),
            id=entry.summary.id,
        )

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the memory store is closed")

    def __repr__(self) -> str:
        return f"MemoryStore({len(self._entries)} analyses)"


class MemoryJobs(JobStore):
    """Job records in a dict; copies in and out, like the analyses."""

    def __init__(self, check_open: Any) -> None:
        self._jobs: dict[str, Job] = {}
        self._order: dict[str, int] = {}
        self._lock = threading.Lock()
        self._check_open = check_open

    def _insert(self, job: Job) -> bool:
        with self._lock:
            self._check_open()
            if job.active and any(j.key == job.key and j.active for j in self._jobs.values()):
                return False
            self._jobs[job.id] = copy.deepcopy(job)
            self._order[job.id] = len(self._order)
            return True

    def _load(self, job_id: str) -> Job | None:
        with self._lock:
            self._check_open()
            job = self._jobs.get(job_id)
            return copy.deepcopy(job)

    def _ids(self, prefix: str) -> builtins.list[str]:
        with self._lock:
            self._check_open()
            return [i for i in self._jobs if i.startswith(prefix)]

    def _cas(self, job_id: str, states: frozenset[str], changes: dict[str, Any],
             owner: str | None = None) -> Job | None:
        with self._lock:
            self._check_open()
            job = self._jobs.get(job_id)
            if job is None or job.state not in states or (owner is not None
                                                          and job.owner != owner):
                return None
            updated = replace(job, **copy.deepcopy(changes))
            if updated.active and not job.active and any(
                    j.key == updated.key and j.active for j in self._jobs.values()):
                return None
            self._jobs[job_id] = updated
            return copy.deepcopy(updated)

    def _find(self, *, key: str | None = None, states: frozenset[str] | None = None,
              limit: int = 0, offset: int = 0) -> builtins.list[Job]:
        with self._lock:
            self._check_open()
            found = [copy.deepcopy(j) for j in self._jobs.values()
                     if (key is None or j.key == key) and (states is None or j.state in states)]
        found.sort(key=lambda j: (j.created, self._order[j.id]), reverse=True)
        found = found[offset:]
        return found[:limit] if limit else found




class MemoryRecords(RecordStore):
    """Records in a dict under a lock; values copied in and out like the analyses."""

    def __init__(self, check_open: Any) -> None:
        self._check_open = check_open
        self._lock = threading.Lock()
        self._values: dict[tuple[str, str], str] = {}

    def create(self, kind: str, key: str, value: dict[str, Any]) -> bool:
        with self._lock:
            self._check_open()
            if (kind, key) in self._values:
                return False
            self._values[kind, key] = json.dumps(value)
            return True

    def put(self, kind: str, key: str, value: dict[str, Any]) -> None:
        with self._lock:
            self._check_open()
            self._values[kind, key] = json.dumps(value)

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            self._check_open()
            text = self._values.get((kind, key))
        return None if text is None else dict(json.loads(text))

    def delete(self, kind: str, key: str) -> bool:
        with self._lock:
            self._check_open()
            return self._values.pop((kind, key), None) is not None

    def list(self, kind: str) -> builtins.list[tuple[str, dict[str, Any]]]:
        with self._lock:
            self._check_open()
            items = sorted((k, v) for (c, k), v in self._values.items() if c == kind)
        return [(k, dict(json.loads(v))) for k, v in items]


@BACKENDS.register("memory")
def _open_memory(location: str) -> ResultStore:
    """``memory:`` (nothing after the colon: there is no way to name a shared one)."""
    if location.strip().lower() != "memory:":
        raise ConfigError(f"a memory store is opened as 'memory:', not {location!r}")
    return MemoryStore()
