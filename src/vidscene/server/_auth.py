"""Who may call: a Bearer token or a session cookie, checked against the token book.

Every route but ``/healthz`` and ``/login`` depends on :func:`require` with the scope it needs
(``read`` for reading, ``submit`` for jobs); a test walks the OpenAPI document and checks that
each answers ``401`` without credentials, so a new route cannot forget this."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vidscene.server._errors import ApiError
from vidscene.tokens import Principal, allows

SESSION_COOKIE = "vidscene_session"
ANONYMOUS = Principal("anonymous (--no-auth)", "admin", "")

_bearer = HTTPBearer(auto_error=False, description="An API token from `vidscene tokens create`.")


def principal_of(request: Request, credentials: HTTPAuthorizationCredentials | None
                 ) -> Principal | None:
    state = request.app.state.vidscene
    if state.settings.no_auth:
        return ANONYMOUS
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return state.tokens.check(credentials.credentials)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return state.tokens.session(cookie) if cookie else None


def require(scope: str) -> Callable[..., Principal]:
    """A dependency: the caller, if their token allows ``scope``; else ``401``/``403``."""

    def check(request: Request,
              credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
              ) -> Principal:
        who = principal_of(request, credentials)
        if who is None:
            raise ApiError(401, "a valid API token is needed (Authorization: Bearer TOKEN)",
                           headers={"WWW-Authenticate": "Bearer"})
        if not allows(who.scope, scope):
            raise ApiError(403, f"token {who.name!r} has scope {who.scope!r}; this needs "
                                f"{scope!r}")
        request.state.principal = who
        return who

    return check


read = require("read")
submit = require("submit")
