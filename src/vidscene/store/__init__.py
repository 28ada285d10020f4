"""The results store: where finished analyses are kept, found again and listed.

``open_store()`` picks a backend by URL scheme from :data:`BACKENDS` (``memory:``, a path or
``sqlite:///…``; more register themselves). Every backend implements :class:`ResultStore` with
the same semantics, documented in ``vidscene.store._base``; :class:`MemoryStore` is the
disk-free test double.
"""

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
from vidscene.store._memory import MemoryStore
from vidscene.store._sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "SCHEMA_VERSION",
    "AmbiguousId",
    "MemoryStore",
    "ResultStore",
    "SQLiteStore",
    "StoredAnalysis",
    "default_store_path",
    "open_store",
    "settings_key",
]
