"""API tokens and UI sessions of the HTTP service, kept hashed in the results store.

A token is shown once, when it is made (``vidscene tokens create``); the store keeps only its
SHA-256, so a copy of the database lets no one call the API. Each token has a *scope*; scopes
are ordered, and a route asks for the least one it needs:

* ``read``: every ``GET`` (analyses, exports, media, search, stats, jobs, metrics, the UI);
* ``submit``: also submit, cancel and retry jobs;
* ``admin``: everything.

A UI session (``/login``) is a random id in a cookie; the store keeps its hash and the token it
came from, so revoking a token also ends its sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from vidscene.errors import ConfigError, StoreError
from vidscene.store import ResultStore
from vidscene.store._base import utc_now

SCOPES: tuple[str, ...] = ("read", "submit", "admin")
"""In increasing order of what they allow."""
TOKEN_PREFIX = "vs_"
SESSION_SECONDS = 12 * 3600.0
_TOKENS, _SESSIONS = "tokens", "sessions"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def allows(scope: str, needed: str) -> bool:
    """Whether a token of ``scope`` may do what needs ``needed``."""
    return SCOPES.index(scope) >= SCOPES.index(needed)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a token's name and scope."""

    name: str
    scope: str
    token_hash: str


@dataclass(frozen=True)
class TokenInfo:
    """A token as ``tokens list`` shows it (never the token itself)."""

    name: str
    scope: str
    created: str
    hint: str
    """The token's first characters, to tell tokens apart."""
    revoked: str | None = None


class TokenBook:
    """Tokens and sessions in ``store.records`` (see module doc)."""

    def __init__(self, store: ResultStore, *, admin_token: str | None = None) -> None:
        self.records = store.records
        # A token given to the server from outside (a Kubernetes Secret), never stored.
        self._admin_hash = digest(admin_token) if admin_token else None

    # -- tokens ----------------------------------------------------------------------------

    def create(self, name: str, scope: str = "submit") -> str:
        """A new token (returned once); names are unique among live tokens."""
        name = name.strip()
        if not name or len(name) > 64 or not name.isprintable():
            raise ConfigError("a token name is 1 to 64 printable characters")
        if scope not in SCOPES:
            raise ConfigError(f"unknown scope {scope!r} (known: {', '.join(SCOPES)})")
        if any(t.name == name and t.revoked is None for t in self.list()):
            raise StoreError(f"a token named {name!r} already exists; revoke it first")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        if not self.records.create(_TOKENS, digest(token), {
                "name": name, "scope": scope, "created": utc_now(), "hint": token[:7],
                "revoked": None}):
            raise StoreError("token collision; try again")  # 256 random bits: never
        return token

    def list(self) -> list[TokenInfo]:
        infos = [TokenInfo(v["name"], v["scope"], v["created"], v.get("hint", ""),
                           v.get("revoked")) for _, v in self.records.list(_TOKENS)]
        return sorted(infos, key=lambda t: t.created)

    def revoke(self, name: str) -> int:
        """Revoke every live token named ``name``; how many (0: none had that name)."""
        count = 0
        for key, value in self.records.list(_TOKENS):
            if value["name"] == name and value.get("revoked") is None:
                self.records.put(_TOKENS, key, {**value, "revoked": utc_now()})
                count += 1
        return count

    def check(self, token: str) -> Principal | None:
        """The caller a token names, or ``None`` (unknown or revoked)."""
        if not token:
            return None
        return self._holder(digest(token))

    def _holder(self, hashed: str) -> Principal | None:
        """Whose live token has this hash."""
        if self._admin_hash is not None and hmac.compare_digest(hashed, self._admin_hash):
            return Principal("admin (from the environment)", "admin", hashed)
        value = self.records.get(_TOKENS, hashed)
        if value is None or value.get("revoked") is not None:
            return None
        return Principal(value["name"], value["scope"], hashed)

    # -- sessions --------------------------------------------------------------------------

    def open_session(self, principal: Principal) -> str:
        session = secrets.token_urlsafe(32)
        self.records.put(_SESSIONS, digest(session), {
            "token": principal.token_hash, "expires": time.time() + SESSION_SECONDS})
        return session

    def session(self, session: str) -> Principal | None:
        if not session:
            return None
        value = self.records.get(_SESSIONS, digest(session))
        if value is None or value["expires"] < time.time():
            return None
        return self._holder(value["token"])

    def close_session(self, session: str) -> None:
        if session:
            self.records.delete(_SESSIONS, digest(session))
