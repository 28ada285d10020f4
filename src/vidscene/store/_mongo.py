"""``MongoStore``: analyses, keyframes and job records in a MongoDB database (extra ``mongo``).

``--db mongodb://HOST:PORT/DBNAME`` (or ``mongodb+srv://…``; ``$VIDSCENE_DB``). The layout:

* ``analyses``: one document per analysis: the Analysis JSON under ``analysis``, beside the
  summary fields ``list()`` and queries use (``path``, ``duration``, ``shot_count``, …), with a
  unique index on ``(sha256, settings_key)`` and indexes on the summary fields;
* ``keyframes`` (GridFS): one file per keyframe JPEG, tagged with its analysis and a *version*;
* ``jobs``: the job records, one active job per key by a unique partial index on
  ``active_key`` (present only while a job is queued or running).

Why versions instead of a multi-document transaction: transactions need a replica set, and a
plain ``mongod`` (or a small managed tier) often has none. A save writes the new keyframes
under a fresh version first, then switches the analysis document to that version in one
atomic replace, then deletes the old version's files. A reader follows the version the
document names, so it sees the old analysis with its old keyframes or the new one with the
new, never a mix; a crash at any point leaves at most unreferenced files, removed by the next
save of that analysis.
"""

from __future__ import annotations

import builtins
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vidscene.analysis import AnalysisResult
from vidscene.errors import ConfigError, StoreError
from vidscene.store._base import (
    BACKENDS,
    ResultStore,
    StoredAnalysis,
    check_thumbnails,
    encode_analysis,
    new_id,
    prefix_pattern,
    summarise,
    unique_match,
    utc_now,
)
from vidscene.store._jobs import ACTIVE_STATES, Job, JobStore
from vidscene.store._query import Condition, Field, Query, item_row, video_row
from vidscene.store._records import RecordStore

DEFAULT_DATABASE = "vidscene"
CONNECT_TIMEOUT_S = 5.0
_FILES, _CHUNKS = "keyframes.files", "keyframes.chunks"
"""The GridFS bucket ``keyframes``."""
_CHUNK_SIZE = 255 * 1024
"""GridFS's default chunk size: a keyframe JPEG (~10 KB) is one chunk."""

_SUMMARY = ("path", "sha256", "settings_key", "created", "duration", "shot_count",
            "scene_count")
# Query fields that have an indexed summary field of their own.
_TOP_LEVEL: dict[tuple[str, ...], str] = {
    ("video", "duration"): "duration", ("attributes", "shot_count"): "shot_count",
    ("attributes", "scene_count"): "scene_count", ("video", "path"): "path",
    ("video", "sha256"): "sha256"}


def redact(url: str) -> str:
    """``url`` without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class MongoStore(ResultStore):
    """A store in the MongoDB database named by ``url`` (default database ``vidscene``)."""

    def __init__(self, url: str, *, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        try:
            import pymongo
        except ImportError:
            raise ConfigError("a mongodb:// store needs pymongo: pip install 'vidscene[mongo]'") \
                from None
        self.url = redact(url)
        self._pymongo = pymongo
        with self._errors():
            try:
                self._client: Any = pymongo.MongoClient(
                    url, serverSelectionTimeoutMS=int(timeout_s * 1000),
                    connectTimeoutMS=int(timeout_s * 1000), appname="vidscene")
            except pymongo.errors.ConfigurationError as e:
                raise ConfigError(f"{self.url}: {_one_line(e)}") from None
        try:
            self._db = self._client.get_default_database(DEFAULT_DATABASE)
            with self._errors():
                # Listing collections needs the credentials, so a refused login fails here,
                # before anything is written.
                self._db.list_collection_names()
                self._setup()
        except BaseException:
            self._client.close()
            raise
        self._closed = False
        self._jobs = MongoJobs(self)
        self._records = MongoRecords(self)

    # -- ResultStore -----------------------------------------------------------------------

    def find(self, sha256: str, settings_key: str) -> AnalysisResult | None:
        with self._use():
            doc = self._db.analyses.find_one({"sha256": sha256, "settings_key": settings_key})
            return self._load(doc) if doc is not None else None

    def save(self, result: AnalysisResult, settings_key: str) -> str:
        analysis = result.analysis
        document = json.loads(encode_analysis(analysis))
        thumbnails = check_thumbnails(result.thumbnails)
        with self._use():
            for _ in range(3):  # a concurrent first save of the same key: take its id
                old = self._db.analyses.find_one(
                    {"sha256": analysis.video.sha256, "settings_key": settings_key},
                    {"_id": 1})
                analysis_id = old["_id"] if old is not None else new_id()
                version = uuid.uuid4().hex
                self._write_thumbnails(analysis_id, version, thumbnails)
                summary = summarise(analysis_id, analysis, settings_key, utc_now())
                record = {"_id": analysis_id, **{k: getattr(summary, k) for k in _SUMMARY},
                          "seq": self._next("analyses"), "thumbs": version,
                          "analysis": document}
                try:
                    if old is not None:
                        self._db.analyses.replace_one({"_id": analysis_id}, record)
                    else:
                        self._db.analyses.insert_one(record)
                except self._pymongo.errors.DuplicateKeyError:
                    self._drop_thumbnails(analysis_id, keep=None, only=version)
                    continue
                self._drop_thumbnails(analysis_id, keep=version)
                result.id = analysis_id
                return analysis_id
        raise StoreError(f"{self.url}: could not save {analysis.video.path}: too much "
                         "contention")

    def get(self, id: str) -> AnalysisResult:
        with self._use():
            doc = self._db.analyses.find_one({"_id": self._resolve(id)})
            if doc is None:  # deleted between the two reads
                raise StoreError(f"stored analysis {id} was just deleted")
            return self._load(doc)

    def list(self) -> builtins.list[StoredAnalysis]:
        with self._use():
            cursor = self._db.analyses.find({}, {k: 1 for k in _SUMMARY}).sort(
                [("created", -1), ("seq", -1)])
            return [StoredAnalysis(d["_id"], *(d[k] for k in _SUMMARY)) for d in cursor]

    def delete(self, id: str) -> None:
        with self._use():
            analysis_id = self._resolve(id)
            self._db.analyses.delete_one({"_id": analysis_id})
            self._drop_thumbnails(analysis_id, keep=None)

    def close(self) -> None:
        if not getattr(self, "_closed", True):
            self._closed = True
            self._client.close()

    @property
    def jobs(self) -> JobStore:
        return self._jobs

    @property
    def records(self) -> RecordStore:
        return self._records

    def search(self, query: Query) -> builtins.list[dict[str, Any]]:
        with self._use():
            docs = list(self._db.analyses.aggregate(_pipeline(query)))
        if query.level == "videos":
            return [video_row(d["_id"], d["created"], d["analysis"]) for d in docs]
        return [item_row(query.level, d["_id"], d["path"], d["item"], d.get("_type"))
                for d in docs]

    # -- internals -------------------------------------------------------------------------

    def _setup(self) -> None:
        a, j = self._db.analyses, self._db.jobs
        a.create_index([("sha256", 1), ("settings_key", 1)], unique=True)
        for name in ("created", "path", "duration", "shot_count", "scene_count"):
            a.create_index(name)
        a.create_index("analysis.attributes.mean_shot_length")
        self._db[_FILES].create_index([("metadata.analysis_id", 1), ("metadata.version", 1)])
        self._db[_CHUNKS].create_index([("files_id", 1), ("n", 1)], unique=True)
        j.create_index("active_key", unique=True,
                       partialFilterExpression={"active_key": {"$exists": True}})
        j.create_index([("state", 1), ("created", -1)])
        j.create_index([("created", -1), ("seq", -1)])
        j.create_index("key")
        self._db.records.create_index("kind")

    def _next(self, name: str) -> int:
        """The next number of a counter (save order, which breaks ties between saves in the
        same microsecond). Two first upserts racing may collide: the loser tries again."""
        for _ in range(5):
            try:
                doc = self._db.counters.find_one_and_update(
                    {"_id": name}, {"$inc": {"seq": 1}}, upsert=True,
                    return_document=self._pymongo.ReturnDocument.AFTER)
            except self._pymongo.errors.DuplicateKeyError:
                continue
            if doc is not None:
                return int(doc["seq"])
        raise StoreError(f"{self.url}: the {name} counter could not be advanced")

    def _write_thumbnails(self, analysis_id: str, version: str,
                          thumbnails: dict[int, bytes]) -> None:
        """Write one analysis's JPEGs as GridFS files under ``version`` (unreferenced until
        the analysis document names that version).

        The files and chunks are written in the GridFS layout with two batched inserts
        rather than one ``GridFS.put`` per keyframe: ``put`` checks the indexes and makes two
        round trips per file, which for the ~100 keyframes of a film costs more than the rest
        of the save. Any GridFS reader (``mongofiles``, ``gridfs.GridFS``) reads them."""
        from bson import Binary, ObjectId

        files, chunks = [], []
        uploaded = datetime.now(UTC)
        for frame, jpeg in sorted(thumbnails.items()):
            file_id = ObjectId()
            files.append({"_id": file_id, "length": len(jpeg), "chunkSize": _CHUNK_SIZE,
                          "uploadDate": uploaded, "filename": f"{analysis_id}/{frame}.jpg",
                          "metadata": {"analysis_id": analysis_id, "frame": frame,
                                       "version": version}})
            for n, at in enumerate(range(0, len(jpeg), _CHUNK_SIZE)):
                chunks.append({"files_id": file_id, "n": n,
                               "data": Binary(jpeg[at:at + _CHUNK_SIZE])})
        # Chunks first: a file document appears only once its bytes are all there.
        if chunks:
            self._db[_CHUNKS].insert_many(chunks)
        if files:
            self._db[_FILES].insert_many(files)

    def _drop_thumbnails(self, analysis_id: str, *, keep: str | None,
                         only: str | None = None) -> None:
        query: dict[str, Any] = {"metadata.analysis_id": analysis_id}
        if only is not None:
            query["metadata.version"] = only
        elif keep is not None:
            query["metadata.version"] = {"$ne": keep}
        ids = [f["_id"] for f in self._db[_FILES].find(query, {"_id": 1})]
        if ids:
            self._db[_FILES].delete_many({"_id": {"$in": ids}})
            self._db[_CHUNKS].delete_many({"files_id": {"$in": ids}})

    def _load(self, doc: dict[str, Any]) -> AnalysisResult:
        from vidscene.store._base import decode_analysis

        files = {f["_id"]: int(f["metadata"]["frame"]) for f in self._db[_FILES].find(
            {"metadata.analysis_id": doc["_id"], "metadata.version": doc.get("thumbs")},
            {"_id": 1, "metadata.frame": 1})}
        parts: dict[int, list[bytes]] = {frame: [] for frame in files.values()}
        if files:
            for chunk in self._db[_CHUNKS].find({"files_id": {"$in": list(files)}}).sort(
                    [("files_id", 1), ("n", 1)]):
                parts[files[chunk["files_id"]]].append(bytes(chunk["data"]))
        thumbnails = {frame: b"".join(pieces) for frame, pieces in sorted(parts.items())}
        analysis = decode_analysis(doc["_id"], json.dumps(doc["analysis"]))
        return AnalysisResult(analysis, thumbnails, doc["_id"])

    def _resolve(self, id: str) -> str:
        prefix = prefix_pattern(id)
        ids = [d["_id"] for d in self._db.analyses.find(_prefix_range(prefix), {"_id": 1})]
        return unique_match(prefix, sorted(ids))

    @contextmanager
    def _use(self) -> Iterator[None]:
        if getattr(self, "_closed", True):
            raise StoreError(f"{self.url}: the store is closed")
        with self._errors():
            yield

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Any driver error becomes a one-line :class:`StoreError` naming the server."""
        errors = self._pymongo.errors
        try:
            yield
        except errors.OperationFailure as e:
            if e.code in (13, 18) or "auth" in str(e).lower():
                raise StoreError(f"{self.url}: the server refused the credentials "
                                 f"({_one_line(e)})") from None
            raise StoreError(f"{self.url}: {_one_line(e)}") from None
        except (errors.ServerSelectionTimeoutError, errors.AutoReconnect) as e:
            # The driver appends its timeouts and topology; the first clause says what failed.
            reason = re.split(r" \(configured timeouts|, Timeout: ", _one_line(e))[0]
            raise StoreError(f"{self.url}: cannot reach the MongoDB server ({reason[:160]})") \
                from None
        except errors.PyMongoError as e:
            raise StoreError(f"{self.url}: {_one_line(e)}") from None

    def __repr__(self) -> str:
        return f"MongoStore({self.url!r})"


_ID_LENGTH = 32


def _prefix_range(prefix: str) -> dict[str, Any]:
    """Ids (lowercase hex) that start with ``prefix``: a whole id exactly (the ``_id`` index
    finds it on every server), a shorter prefix as a range ("g" sorts after every hex digit),
    which MongoDB serves from the index too (SecantusDB scans for it)."""
    if len(prefix) >= _ID_LENGTH:
        return {"_id": prefix}
    return {"_id": {"$gte": prefix, "$lt": prefix + "g"}}


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()).split(", full error:")[0] or type(e).__name__


# -- queries -----------------------------------------------------------------------------------


def _field_path(field: Field, level: str) -> str:
    """Where a field lives in the documents the pipeline has made (see :func:`_pipeline`)."""
    if level == "videos":
        return _TOP_LEVEL.get(field.path) or "analysis." + ".".join(field.path)
    if field.computed == "duration":
        return "_duration"
    if field.computed == "type":
        return "_type"
    return "item." + ".".join(field.path)


def _match(c: Condition, level: str) -> dict[str, Any]:
    path = _field_path(c.field, level)
    if c.op == "~":
        return {path: {"$regex": re.escape(str(c.value)), "$options": "i"}}
    if c.op == "=":
        return {path: c.value}
    if c.op == "!=":  # a missing value meets no condition, as in the other stores
        return {path: {"$exists": True, "$nin": [c.value, None]}}
    op = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte"}[c.op]
    return {path: {op: c.value}}


def _pipeline(query: Query) -> list[dict[str, Any]]:
    """The aggregation of a query: unwind shots or scenes, derive the computed fields,
    filter, order as every store does (``_query.page``), page."""
    level = query.level
    stages: list[dict[str, Any]] = []
    if level == "videos":
        order: list[tuple[str, int]] = [("path", 1), ("_id", 1)]
    else:
        project: dict[str, Any] = {"path": 1, "item": f"$analysis.{level}"}
        if level == "scenes":  # only the shots' transition types travel with each scene
            project["types"] = {"$map": {"input": "$analysis.shots",
                                         "in": "$$this.transition_in.type"}}
        stages += [{"$project": project}, {"$unwind": "$item"}]
        if level == "shots":
            kind: Any = "$item.transition_in.type"
        else:
            kind = {"$arrayElemAt": ["$types", "$item.first_shot"]}
        stages.append({"$addFields": {
            "_duration": {"$subtract": ["$item.end_time", "$item.start_time"]},
            "_type": kind}})
        order = [("path", 1), ("_id", 1), ("item.index", 1)]
    if query.conditions:
        stages.append({"$match": {"$and": [_match(c, level) for c in query.conditions]}})
    if query.sort is not None:
        path = _field_path(query.sort, level)
        stages.append({"$addFields": {"_missing": {"$cond": [
            {"$in": [{"$type": f"${path}"}, ["missing", "null"]]}, 1, 0]}}})
        order = [("_missing", 1), (path, -1 if query.descending else 1), *order]
    stages += [{"$sort": dict(order)}, {"$skip": query.offset}, {"$limit": query.limit}]
    if level == "scenes":
        stages.append({"$project": {"types": 0}})
    return stages


# -- jobs --------------------------------------------------------------------------------------


class MongoJobs(JobStore):
    """Job records in the ``jobs`` collection: each change one ``find_one_and_update``."""

    def __init__(self, store: MongoStore) -> None:
        self._store = store

    @property
    def _jobs(self) -> Any:
        return self._store._db.jobs

    def _insert(self, job: Job) -> bool:
        doc = {"_id": job.id, **asdict(job), "seq": 0}
        if job.active:
            doc["active_key"] = job.key
        with self._store._use():
            doc["seq"] = self._store._next("jobs")
            try:
                self._jobs.insert_one(doc)
            except self._store._pymongo.errors.DuplicateKeyError:
                return False
        return True

    def _load(self, job_id: str) -> Job | None:
        with self._store._use():
            doc = self._jobs.find_one({"_id": job_id})
        return Job.from_dict(doc) if doc else None

    def _ids(self, prefix: str) -> builtins.list[str]:
        with self._store._use():
            return [d["_id"] for d in self._jobs.find(_prefix_range(prefix), {"_id": 1})]

    def _cas(self, job_id: str, states: frozenset[str], changes: dict[str, Any],
             owner: str | None = None) -> Job | None:
        condition: dict[str, Any] = {"_id": job_id, "state": {"$in": sorted(states)}}
        if owner is not None:
            condition["owner"] = owner
        update: dict[str, Any] = {"$set": dict(changes)}
        if "state" in changes:
            if changes["state"] in ACTIVE_STATES:
                current = self._load(job_id)
                if current is None:
                    return None
                update["$set"]["active_key"] = changes.get("key", current.key)
            else:
                update["$unset"] = {"active_key": ""}
        with self._store._use():
            try:
                doc = self._jobs.find_one_and_update(
                    condition, update,
                    return_document=self._store._pymongo.ReturnDocument.AFTER)
            except self._store._pymongo.errors.DuplicateKeyError:
                return None  # another job became active for this key
        return Job.from_dict(doc) if doc else None

    def _find(self, *, key: str | None = None, states: frozenset[str] | None = None,
              limit: int = 0, offset: int = 0) -> builtins.list[Job]:
        condition: dict[str, Any] = {}
        if key is not None:
            condition["key"] = key
        if states is not None:
            condition["state"] = {"$in": sorted(states)}
        with self._store._use():
            cursor = self._jobs.find(condition).sort([("created", -1), ("seq", -1)])
            if offset:
                cursor = cursor.skip(offset)
            if limit:
                cursor = cursor.limit(limit)
            return [Job.from_dict(d) for d in cursor]

    def _count(self, states: frozenset[str] | None) -> int:
        condition = {} if states is None else {"state": {"$in": sorted(states)}}
        with self._store._use():
            return int(self._jobs.count_documents(condition))


class MongoRecords(RecordStore):
    """Records in the ``records`` collection, ``_id`` = ``kind/key`` (unique by nature)."""

    def __init__(self, store: MongoStore) -> None:
        self._store = store

    @property
    def _records(self) -> Any:
        return self._store._db.records

    def create(self, kind: str, key: str, value: dict[str, Any]) -> bool:
        with self._store._use():
            try:
                self._records.insert_one({"_id": f"{kind}/{key}", "kind": kind, "key": key,
                                          "value": value})
            except self._store._pymongo.errors.DuplicateKeyError:
                return False
        return True

    def put(self, kind: str, key: str, value: dict[str, Any]) -> None:
        with self._store._use():
            self._records.replace_one({"_id": f"{kind}/{key}"},
                                      {"kind": kind, "key": key, "value": value}, upsert=True)

    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._store._use():
            doc = self._records.find_one({"_id": f"{kind}/{key}"})
        return None if doc is None else dict(doc["value"])

    def delete(self, kind: str, key: str) -> bool:
        with self._store._use():
            return bool(self._records.delete_one({"_id": f"{kind}/{key}"}).deleted_count)

    def list(self, kind: str) -> builtins.list[tuple[str, dict[str, Any]]]:
        with self._store._use():
            docs = list(self._records.find({"kind": kind}).sort("key", 1))
        return [(d["key"], dict(d["value"])) for d in docs]


@BACKENDS.register("mongodb")
def _open_mongodb(location: str) -> ResultStore:
    return MongoStore(location)


@BACKENDS.register("mongodb+srv")
def _open_mongodb_srv(location: str) -> ResultStore:
    return MongoStore(location)
