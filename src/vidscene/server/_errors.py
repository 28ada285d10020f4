"""The API's errors: one JSON shape, ``{"error": {"code", "message"}}``, never a traceback.

:class:`ApiError` is what route code raises; the handlers registered by
:func:`install_handlers` turn it, FastAPI's own errors (a malformed request, an unknown route)
and the library's :class:`~vidscene.errors.VidsceneError` family into that shape, and any
other exception into a bare ``500`` whose details stay in the server log.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from vidscene.errors import (
    ConfigError,
    NotFoundInStore,
    StoreError,
    VideoError,
    VidsceneError,
)

log = logging.getLogger("vidscene.server")

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 406: "not_acceptable", 409: "conflict",
          411: "length_required", 413: "too_large", 415: "unsupported_media_type",
          416: "range_not_satisfiable", 422: "invalid", 429: "queue_full",
          500: "internal", 503: "unavailable"}


class ApiError(Exception):
    """An error answer: HTTP ``status``, a stable ``code`` and a one-line ``message``."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = " ".join(message.split())  # one line, whatever the cause said
        self.headers = headers


def error_response(status: int, message: str, code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code or _CODES.get(status, "error"),
                      "message": " ".join(message.split())}}
    return JSONResponse(body, status_code=status, headers=headers)


def from_library(exc: VidsceneError) -> ApiError:
    """The HTTP answer to a library error."""
    if isinstance(exc, NotFoundInStore):
        return ApiError(404, str(exc))
    if isinstance(exc, VideoError | ConfigError):
        return ApiError(422, str(exc))
    if isinstance(exc, StoreError):
        return ApiError(503, str(exc), "store_unavailable")
    return ApiError(400, str(exc))


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code, exc.headers)

    @app.exception_handler(VidsceneError)
    async def _library(_: Request, exc: VidsceneError) -> JSONResponse:
        e = from_library(exc)
        return error_response(e.status, e.message, e.code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request refused"
        return error_response(exc.status_code, message,
                              headers=dict(exc.headers) if exc.headers else None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors()[:3]:
            where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
            problems.append(f"{where}: {e.get('msg', 'invalid')}" if where else
                            str(e.get("msg", "invalid")))
        return error_response(422, "; ".join(problems) or "invalid request")

    @app.exception_handler(ClientDisconnect)
    async def _gone(request: Request, _: ClientDisconnect) -> JSONResponse:
        # Nobody reads this answer; what matters is that it is not logged as a fault.
        log.info("client left during %s %s", request.method, request.url.path)
        return error_response(400, "the client disconnected before the request was complete")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "internal error (details are in the server log)")
