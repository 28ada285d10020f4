"""``/v1/jobs``: submit a video (a path under a media root, or an upload), follow, cancel,
retry. A submission answers ``202`` with the job as soon as the video is known to be
readable; the analysis runs in the dispatcher (``_dispatch``)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import ValidationError

from vidscene.errors import StoreError, VideoError
from vidscene.pipeline._runner import claim_video
from vidscene.server._auth import read, submit
from vidscene.server._errors import ApiError
from vidscene.server._media import Upload, check_complete, inside, resolve_media_path
from vidscene.server._schemas import MAX_OFFSET, ErrorBody, JobOut, JobPage, JobState, PathJob
from vidscene.server._state import AppState, is_id
from vidscene.server._webhooks import check_callback_url
from vidscene.store import Job, JobNotFound
from vidscene.tokens import Principal
from vidscene.video import probe

router = APIRouter(prefix="/v1", tags=["jobs"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 422)}
IDEMPOTENCY = "idempotency"
IDEMPOTENCY_WAIT_S = 30.0
MAX_JSON_BODY = 64 * 1024
RETRY_AFTER_S = 10

_SUBMIT_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": PathJob.model_json_schema()},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary"},
            "callback_url": {"type": "string"}}}}}}}


def _state(request: Request) -> AppState:
    return request.app.state.vidscene  # type: ignore[no-any-return]


def job_out(job: Job) -> dict[str, Any]:
    return JobOut.of(job).model_dump(mode="json")


def _get(state: AppState, job_id: str) -> Job:
    # Whole ids only: the CLI's id prefixes are for people typing; over HTTP a prefix would
    # let DELETE /v1/jobs/0 cancel whichever job happens to start with 0.
    if not is_id(job_id):
        raise ApiError(404, f"no job with id {job_id[:40]!r} (ids are 32 hex characters)")
    try:
        return state.store.jobs.get(job_id)
    except JobNotFound as e:
        raise ApiError(404, str(e)) from None


@router.post("/jobs", status_code=202, response_model=JobOut, openapi_extra=_SUBMIT_BODY,
             responses={**_ERRORS, 400: {"model": ErrorBody}, 409: {"model": ErrorBody},
                        413: {"model": ErrorBody},
                        415: {"model": ErrorBody}, 429: {"model": ErrorBody}},
             summary="Submit a video: JSON {\"path\"} under a media root, or a multipart "
                     "upload (field 'file')")
async def submit_job(
    request: Request, who: Annotated[Principal, Depends(submit)],
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=200,
        description="Retrying with the same key returns the same job.")] = None,
) -> JSONResponse:
    state = _state(request)
    reservation = None
    if idempotency_key:
        reservation = f"{who.token_hash[:16]}:{idempotency_key}"
        if not await run_in_threadpool(state.store.records.create, IDEMPOTENCY, reservation,
                                       {"job": None, "created": time.time()}):
            earlier = await _await_reserved(state, reservation)
            return JSONResponse(job_out(earlier), status_code=202)
    try:
        job = await _accept(request, state)
    except BaseException:
        if reservation:
            await run_in_threadpool(state.store.records.delete, IDEMPOTENCY, reservation)
        raise
    if reservation:
        await run_in_threadpool(state.store.records.put, IDEMPOTENCY, reservation,
                                {"job": job.id, "created": time.time()})
    return JSONResponse(job_out(job), status_code=202)


async def _await_reserved(state: AppState, reservation: str) -> Job:
    """The job an earlier request with the same key made (it may still be uploading)."""
    deadline = time.monotonic() + IDEMPOTENCY_WAIT_S
    while time.monotonic() < deadline:
        record = await run_in_threadpool(state.store.records.get, IDEMPOTENCY, reservation)
        if record is None:
            raise ApiError(409, "the earlier request with this Idempotency-Key failed; "
                                "retry with a new key")
        if record.get("job"):
            return await run_in_threadpool(_get, state, record["job"])
        await asyncio.sleep(0.2)
    raise ApiError(409, "the earlier request with this Idempotency-Key is still running")


async def _accept(request: Request, state: AppState) -> Job:
    if state.dispatcher.depth() >= state.settings.max_queue:
        raise ApiError(429, f"the queue is full ({state.settings.max_queue} jobs); retry later",
                       headers={"Retry-After": str(RETRY_AFTER_S)})
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() == "application/json":
        body = await _json_body(request)
        real = resolve_media_path(body.path, state.settings.media_roots)
        callback = check_callback_url(body.callback_url, state.webhooks.secret) \
            if body.callback_url else None
        shown = next((str(real.relative_to(root)) for root in state.settings.media_roots
                      if inside(real, [root])), real.name)
        source = {"via": "api", "upload": False, "path": shown, "name": real.name,
                  "callback_url": callback}
        return await run_in_threadpool(_record, state, real, source, None)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > state.settings.max_upload_bytes + 64 * 1024:
        raise ApiError(413, f"upload exceeds the limit of {state.settings.max_upload_bytes} "
                            "bytes")
    upload = await state.uploads.receive(content_type, request.stream())
    try:
        url = upload.fields.get("callback_url") or None
        callback = check_callback_url(url, state.webhooks.secret) if url else None
        source = {"via": "api", "upload": True, "path": upload.path.name,
                  "name": upload.path.name, "callback_url": callback}
        return await run_in_threadpool(_record, state, upload.path, source, upload)
    except BaseException:
        upload.discard()
        raise


async def _json_body(request: Request) -> PathJob:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BODY:
            raise ApiError(413, "a JSON job body is at most 64 KiB")
    try:
        return PathJob.model_validate_json(bytes(raw))
    except ValidationError as e:
        problems = e.errors()
        if not problems:
            raise ApiError(422, "invalid body") from None
        where = ".".join(str(p) for p in problems[0]["loc"])
        raise ApiError(422, f"{where + ': ' if where else ''}{problems[0]['msg']}") from None


def _record(state: AppState, path: Path, source: dict[str, Any], upload: Upload | None) -> Job:
    """Probe the video, then record its job: reused, shared with a running one, or queued
    for the dispatcher. Nothing is recorded for a video that cannot be read."""
    try:
        info = probe(path)
    except VideoError as e:
        raise ApiError(422, f"{source['name']}: {e.reason}", "unreadable_video") from None
    if info.frame_count <= 1 and info.duration < 0.5:
        raise ApiError(422, f"{source['name']}: a still image, not a video",
                       "unreadable_video")
    if upload is not None:
        check_complete(path, info.frame_count, source["name"])
    claim = claim_video(state.store, info, str(path), state.settings.analyze,
                        state.dispatcher.executor.name, source=source)
    if claim.mine:
        state.dispatcher.submit(claim.job)
    elif upload is not None:
        upload.discard()  # reused or shared: the analysis points at the first copy's file
    return claim.job


@router.get("/jobs", response_model=JobPage, responses=_ERRORS, summary="Jobs, newest first")
def list_jobs(request: Request, _: Annotated[Principal, Depends(read)],
              state: Annotated[JobState | None, Query()] = None,
              limit: Annotated[int, Query(ge=1, le=500)] = 50,
              offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> JobPage:
    jobs = _state(request).store.jobs
    page = jobs.list(state, limit=limit, offset=offset)
    return JobPage(total=jobs.count(state), limit=limit, offset=offset,
                   items=[JobOut.of(j) for j in page])


@router.get("/jobs/{job_id}", response_model=JobOut, responses=_ERRORS,
            summary="One job: state, progress, error")
def get_job(request: Request, job_id: str, _: Annotated[Principal, Depends(read)]) -> JobOut:
    return JobOut.of(_get(_state(request), job_id))


@router.delete("/jobs/{job_id}", response_model=JobOut,
               responses={**_ERRORS, 409: {"model": ErrorBody}}, summary="Cancel a job")
def cancel_job(request: Request, job_id: str,
               _: Annotated[Principal, Depends(submit)]) -> JobOut:
    state = _state(request)
    job = _get(state, job_id)
    try:
        cancelled = state.store.jobs.cancel(job.id)
    except StoreError as e:
        raise ApiError(409, str(e)) from None
    state.webhooks.job_ended(job_out(cancelled), cancelled.source.get("callback_url"))
    return JobOut.of(cancelled)


@router.post("/jobs/{job_id}/retry", status_code=202, response_model=JobOut,
             responses={**_ERRORS, 409: {"model": ErrorBody}, 429: {"model": ErrorBody}},
             summary="Run a failed or cancelled job again")
def retry_job(request: Request, job_id: str,
              _: Annotated[Principal, Depends(submit)]) -> JSONResponse:
    from vidscene.store import this_process

    state = _state(request)
    job = _get(state, job_id)
    if state.dispatcher.depth() >= state.settings.max_queue:
        raise ApiError(429, "the queue is full; retry later",
                       headers={"Retry-After": str(RETRY_AFTER_S)})
    try:
        again = state.store.jobs.requeue(job.id, this_process())
    except StoreError as e:
        raise ApiError(409, str(e)) from None
    state.dispatcher.submit(again)
    return JSONResponse(job_out(again), status_code=202)


@router.get("/jobs/{job_id}/events", responses={
    **_ERRORS, 200: {"content": {"text/event-stream": {"schema": {
        "type": "object", "properties": {
            "event": {"type": "string", "enum": ["progress", "final"]},
            "data": {"type": "string", "description": "The job, as JSON (see JobOut)."}}}}},
                     "description": "`progress` events while the job runs, then `final`."}},
    response_class=StreamingResponse, summary="Server-sent events of one job")
async def job_events(request: Request, job_id: str,
                     _: Annotated[Principal, Depends(read)]) -> StreamingResponse:
    state = _state(request)
    first = await run_in_threadpool(_get, state, job_id)

    async def events() -> Any:
        job, last, quiet_since = first, None, time.monotonic()
        while True:
            body = job_out(job)
            if not job.active:
                yield f"event: final\ndata: {json.dumps(body)}\n\n"
                return
            if body != last:
                yield f"event: progress\ndata: {json.dumps(body)}\n\n"
                last, quiet_since = body, time.monotonic()
            elif time.monotonic() - quiet_since > 15:
                yield ": still running\n\n"  # keeps proxies from closing an idle stream
                quiet_since = time.monotonic()
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.5)
            job = await run_in_threadpool(_get, state, first.id)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
