"""What every request of one app shares: settings, store, tokens, the job dispatcher."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from vidscene.server._dispatch import JobDispatcher
from vidscene.server._media import UploadArea
from vidscene.server._metrics import Metrics
from vidscene.server._settings import ServerSettings
from vidscene.server._stats import StatsCache
from vidscene.server._streams import StreamHub
from vidscene.server._webhooks import Webhooks
from vidscene.store import ResultStore, SQLiteStore
from vidscene.tokens import TokenBook

_ID = re.compile(r"[0-9a-f]{32}")


def is_id(value: str) -> bool:
    """A whole job or analysis id (the API takes no prefixes)."""
    return _ID.fullmatch(value) is not None


def default_data_dir(store: ResultStore) -> Path:
    """Beside a SQLite file (its uploads travel with it), else the user data folder."""
    if isinstance(store, SQLiteStore):
        return store.path.parent / f"{store.path.stem}-data"
    configured = os.environ.get("VIDSCENE_DATA_DIR")
    return Path(configured) if configured else Path(platformdirs.user_data_dir("vidscene"))


@dataclass
class AppState:
    settings: ServerSettings
    store: ResultStore
    tokens: TokenBook
    uploads: UploadArea
    dispatcher: JobDispatcher
    webhooks: Webhooks
    metrics: Metrics
    streams: StreamHub
    stats: StatsCache = field(default_factory=StatsCache)

    @property
    def playable_roots(self) -> list[Path]:
        """Where a stored analysis's video may be served from."""
        return [*self.settings.media_roots, self.uploads.root.resolve()]
