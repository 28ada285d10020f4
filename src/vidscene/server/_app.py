"""The FastAPI application: the ``/v1`` API, the UI, health and metrics, one process.

``create_app`` opens the store and the executor named in :class:`ServerSettings`, recovers
the jobs a killed server left, and starts the dispatcher when the app starts serving (and
stops it, then closes the store, when it stops)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from vidscene import __version__
from vidscene.pipeline import VideoOutcome, create_executor
from vidscene.server import _api_jobs, _api_library, _api_streams, _ui
from vidscene.server._api_jobs import job_out
from vidscene.server._auth import read
from vidscene.server._dispatch import JobDispatcher
from vidscene.server._errors import install_handlers
from vidscene.server._media import UploadArea
from vidscene.server._metrics import Metrics
from vidscene.server._settings import ServerSettings
from vidscene.server._state import AppState, default_data_dir
from vidscene.server._streams import StreamHub
from vidscene.server._webhooks import Webhooks
from vidscene.store import JOB_STATES, Job, ResultStore, open_store
from vidscene.tokens import Principal, TokenBook

log = logging.getLogger("vidscene.server")

DESCRIPTION = """Submit videos, follow their jobs, and read what vidscene found: shots, scenes,
keyframes and attributes per shot, per scene and per video.

Every route but `/healthz` needs an API token (`vidscene tokens create NAME`), sent as
`Authorization: Bearer TOKEN`. Errors are `{"error": {"code", "message"}}`."""


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    settings.check()
    store = open_store(settings.db)
    try:
        state = _build_state(settings, store)
    except BaseException:
        store.close()
        raise

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.start_worker:
            state.dispatcher.start()
            recovered = state.dispatcher.recover()
            if recovered:
                log.info("took over %d unfinished job(s) of a stopped server", len(recovered))
        try:
            yield
        finally:
            state.streams.stop_all()
            if settings.start_worker:
                state.dispatcher.stop()
            store.close()

    app = FastAPI(title="vidscene", version=__version__, description=DESCRIPTION,
                  openapi_url=None, docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.vidscene = state
    install_handlers(app)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key"])

    @app.middleware("http")
    async def _measure(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        try:
            response = await call_next(request)
        except Exception:  # answered as a 500 further out: still count it
            template = getattr(request.scope.get("route"), "path", "unmatched")
            state.metrics.observe_request(request.method, template, 500,
                                          time.perf_counter() - started)
            raise
        template = getattr(request.scope.get("route"), "path", "unmatched")
        state.metrics.observe_request(request.method, template, response.status_code,
                                      time.perf_counter() - started)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    app.include_router(_api_jobs.router)
    app.include_router(_api_library.router)
    app.include_router(_api_library.service)
    app.include_router(_api_streams.router)
    app.include_router(_ui.router)

    # The API's description is behind the token like the rest (only /healthz and /login are
    # open); FastAPI's interactive docs would load scripts from a CDN, so there are none.
    @app.get("/v1/openapi.json", include_in_schema=False)
    def _openapi(_: Annotated[Principal, Depends(read)]) -> JSONResponse:
        return JSONResponse(app.openapi())

    return app


def _build_state(settings: ServerSettings, store: ResultStore) -> AppState:
    executor = create_executor(settings.executor, **settings.executor_options)
    data_dir = settings.data_dir or default_data_dir(store)
    uploads = UploadArea(data_dir / "uploads", settings.max_upload_bytes)
    removed = uploads.clean()
    if removed:
        log.info("removed %d partial upload(s) of a stopped server", removed)
    webhooks = Webhooks(settings.webhook_secret)

    def on_final(job: Job) -> None:
        webhooks.job_ended(job_out(job), job.source.get("callback_url"))

    def on_outcome(outcome: VideoOutcome) -> None:
        if outcome.result is not None and not outcome.reused:
            metrics.observe_analysis(outcome.result.analysis.video.duration,
                                     outcome.result.analysis.timing)

    batch = settings.batch or (16 if settings.executor == "ray" else 1)
    dispatcher = JobDispatcher(store, executor, batch=batch, on_final=on_final,
                               on_outcome=on_outcome)
    metrics = Metrics(lambda: {s: store.jobs.count(s) for s in JOB_STATES}, dispatcher.depth,
                      dispatcher.streams)
    return AppState(settings=settings, store=store,
                    tokens=TokenBook(store, admin_token=settings.admin_token),
                    uploads=uploads, dispatcher=dispatcher, webhooks=webhooks, metrics=metrics,
                    streams=StreamHub(store, settings.analyze))
