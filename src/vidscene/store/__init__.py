"""The results store: where finished analyses and job records are kept, found and queried.

``open_store()`` picks a backend by URL scheme from :data:`BACKENDS` (``memory:``, a path or
``sqlite:///…``, ``mongodb://…``; more register themselves). Every backend implements
:class:`ResultStore` with the same semantics, documented in ``vidscene.store._base``, its job
records (:class:`JobStore`, ``vidscene.store._jobs``) and its queries (:class:`Query`,
``vidscene.store._query``); :class:`MemoryStore` is the disk-free test double.
"""

from vidscene.store import _mongo  # noqa: F401  (registers mongodb://; pymongo loads on use)
from vidscene.store._base import (
    BACKENDS,
    ENV_VAR,
    AmbiguousId,
    ResultStore,
    StoredAnalysis,
    default_store_path,
    open_store,
    settings_key,
)
from vidscene.store._jobs import (
    ACTIVE_STATES,
    FINAL_STATES,
    JOB_STATES,
    Job,
    JobNotFound,
    JobStore,
    new_job,
    this_process,
)
from vidscene.store._memory import MemoryStore
from vidscene.store._query import LEVELS, Query, QueryError, parse_query
from vidscene.store._sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "ACTIVE_STATES",
    "BACKENDS",
    "ENV_VAR",
    "FINAL_STATES",
    "JOB_STATES",
    "LEVELS",
    "SCHEMA_VERSION",
    "AmbiguousId",
    "Job",
    "JobNotFound",
    "JobStore",
    "MemoryStore",
    "Query",
    "QueryError",
    "ResultStore",
    "SQLiteStore",
    "StoredAnalysis",
    "default_store_path",
    "new_job",
    "open_store",
    "parse_query",
    "settings_key",
    "this_process",
]
