"""Small keyed records beside the analyses: API tokens, UI sessions, idempotency keys.

The HTTP service needs a few facts that must outlive a restart and be shared by every server
process using the same database, but that are neither analyses nor jobs. Rather than a table
per fact in every backend, each backend implements one tiny primitive — JSON values under
``(kind, key)`` with an atomic insert-if-absent — and the service builds its records on it.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from typing import Any


class RecordStore(ABC):
    """``(kind, key) → JSON object`` with atomic create (``ResultStore.records``)."""

    @abstractmethod
    def create(self, kind: str, key: str, value: dict[str, Any]) -> bool:
        """Insert unless ``(kind, key)`` exists; ``False`` (nothing written) if it does."""

    @abstractmethod
    def put(self, kind: str, key: str, value: dict[str, Any]) -> None:
        """Insert or replace."""

    @abstractmethod
    def get(self, kind: str, key: str) -> dict[str, Any] | None:
        """The value, or ``None``."""

    @abstractmethod
    def delete(self, kind: str, key: str) -> bool:
        """Remove; whether it existed."""

    @abstractmethod
    def list(self, kind: str) -> builtins.list[tuple[str, dict[str, Any]]]:
        """Every ``(key, value)`` of a kind, in key order."""
