"""What one ``vidscene serve`` process is configured with."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from vidscene.errors import ConfigError
from vidscene.pipeline import AnalyzeSettings

DEFAULT_MAX_UPLOAD = 4 * 1024**3
DEFAULT_MAX_QUEUE = 64
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class ServerSettings:
    """Everything ``create_app`` needs; the CLI fills it from its flags."""

    db: str | None = None
    """The results store (as ``--db``; ``None``: ``$VIDSCENE_DB`` or the default file)."""
    media_roots: list[Path] = field(default_factory=list)
    """Folders whose videos may be submitted by path and played back."""
    data_dir: Path | None = None
    """Where uploads are kept (default: ``uploads/`` beside a SQLite store, else the user
    data folder)."""
    executor: str = "local"
    executor_options: dict[str, object] = field(default_factory=dict)
    analyze: AnalyzeSettings = field(default_factory=AnalyzeSettings)
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD
    max_queue: int = DEFAULT_MAX_QUEUE
    """Active jobs this server holds at most; more are answered ``429``."""
    batch: int = 0
    """Jobs handed to the executor at once (0: 1 for ``local``, 16 for ``ray``)."""
    no_auth: bool = False
    host: str = "127.0.0.1"
    admin_token: str | None = None
    webhook_secret: str | None = None
    cors_origins: list[str] = field(default_factory=list)
    start_worker: bool = True
    """Run queued jobs in this process (off only in tests of the API alone)."""

    def check(self) -> None:
        if self.no_auth and not is_loopback(self.host):
            raise ConfigError(f"--no-auth is refused on {self.host}: it would let anyone on "
                              "the network use the API; serve on 127.0.0.1 or use tokens")
        resolved = []
        for root in self.media_roots:
            path = Path(root).expanduser()
            if not path.is_dir():
                raise ConfigError(f"--media-root {root}: not a folder")
            resolved.append(path.resolve())
        self.media_roots = resolved
        if self.max_upload_bytes <= 0:
            raise ConfigError("--max-upload-mb must be positive")
        if self.max_queue <= 0:
            raise ConfigError("--max-queue must be positive")
