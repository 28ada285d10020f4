"""``/v1/streams``: watch a live input (``vidscene watch`` inside the server), follow its events
as server-sent events, stop it. Its segments are stored like any analysis."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from vidscene.pipeline import WatchSettings
from vidscene.server._auth import read, submit
from vidscene.server._errors import ApiError
from vidscene.server._media import resolve_media_path
from vidscene.server._schemas import ErrorBody
from vidscene.server._state import AppState, is_id
from vidscene.server._streams import LiveStream
from vidscene.tokens import Principal
from vidscene.video import LiveOptions

router = APIRouter(prefix="/v1", tags=["streams"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 422)}
NETWORK_SCHEMES = ("udp", "rtp", "srt", "rtsp", "rtmp", "tcp", "http", "https")
"""What a client may ask the server to read; files only under a media root (a playlist or a
file being written), never a pipe or a device."""


class StreamIn(BaseModel):
    """Start watching a live input."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=2048, description=(
        "udp://, srt://, rtsp://, rtmp://, http(s):// (HLS) URL, or a playlist or growing file "
        "under a media root."))
    segment_seconds: float = Field(3600.0, ge=1.0, description="Seconds per stored segment.")
    black_after: float = Field(2.0, ge=0.0)
    freeze_after: float = Field(5.0, ge=0.0)
    silence_after: float = Field(5.0, ge=0.0)
    read_timeout: float = Field(5.0, gt=0.0, le=600.0,
                                description="Seconds without data before a gap.")


class StreamOut(BaseModel):
    id: str
    source: str
    state: str
    error: str
    started_at: str
    events: dict[str, int]
    frames: int
    dropped_frames: int
    segments: list[str]


def _state(request: Request) -> AppState:
    return request.app.state.vidscene  # type: ignore[no-any-return]


def _get(state: AppState, stream_id: str) -> LiveStream:
    stream = state.streams.get(stream_id) if is_id(stream_id) else None
    if stream is None:
        raise ApiError(404, f"no stream with id {stream_id[:40]!r}")
    return stream


def _checked_source(state: AppState, source: str) -> str:
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if scheme:
        if scheme not in NETWORK_SCHEMES:
            raise ApiError(422, f"{scheme}:// is not a live input this server reads "
                                f"({', '.join(NETWORK_SCHEMES)})")
        return source
    if source == "-" or PurePosixPath(source).parts[:2] == ("/", "dev"):
        raise ApiError(403, "pipes and devices are read by `vidscene watch`, not the server",
                       "path_refused")
    return str(resolve_media_path(source, state.settings.media_roots))


@router.post("/streams", status_code=201, response_model=StreamOut,
             responses={**_ERRORS, 400: {"model": ErrorBody}, 429: {"model": ErrorBody}},
             summary="Start watching a live input")
def start_stream(request: Request, body: StreamIn,
                 _: Annotated[Principal, Depends(submit)]) -> dict[str, Any]:
    state = _state(request)
    source = _checked_source(state, body.source)
    try:
        stream = state.streams.start(
            source, WatchSettings(segment_seconds=body.segment_seconds,
                                  black_after=body.black_after, freeze_after=body.freeze_after,
                                  silence_after=body.silence_after),
            LiveOptions(read_timeout=body.read_timeout))
    except RuntimeError as e:
        raise ApiError(429, str(e)) from None
    return stream.summary()


@router.get("/streams", response_model=list[StreamOut], responses=_ERRORS,
            summary="The streams this server watches or watched")
def list_streams(request: Request, _: Annotated[Principal, Depends(read)]
                 ) -> list[dict[str, Any]]:
    return [s.summary() for s in _state(request).streams.streams.values()]


@router.get("/streams/{stream_id}", response_model=StreamOut, responses=_ERRORS,
            summary="One stream")
def get_stream(request: Request, stream_id: str,
               _: Annotated[Principal, Depends(read)]) -> dict[str, Any]:
    return _get(_state(request), stream_id).summary()


@router.delete("/streams/{stream_id}", response_model=StreamOut, responses=_ERRORS,
               summary="Stop watching: the open shot and segment are stored first")
def stop_stream(request: Request, stream_id: str,
                _: Annotated[Principal, Depends(submit)]) -> dict[str, Any]:
    state = _state(request)
    stream = _get(state, stream_id)
    state.streams.stop(stream)
    return stream.summary()


@router.get("/streams/{stream_id}/events", responses={
    **_ERRORS, 200: {"content": {"text/event-stream": {"schema": {
        "type": "object", "properties": {
            "event": {"type": "string", "enum": [
                "start", "transition", "shot", "scene", "alert", "gap", "segment", "run",
                "stop", "end"]},
            "id": {"type": "integer"},
            "data": {"type": "string", "description": "The event, as `vidscene watch` writes "
                                                      "it in JSON lines."}}}}},
                     "description": "Every event the stream's ring still holds, then each new "
                                    "one as it happens; `end` when the stream has ended."}},
    response_class=StreamingResponse, summary="Server-sent events of one stream")
async def stream_events(request: Request, stream_id: str,
                        _: Annotated[Principal, Depends(read)],
                        last_event_id: Annotated[str | None, Header(
                            alias="Last-Event-ID", max_length=20)] = None
                        ) -> StreamingResponse:
    stream = _get(_state(request), stream_id)
    try:
        start = int(last_event_id) + 1 if last_event_id else 0
    except ValueError:
        start = 0

    async def events() -> Any:
        seq, quiet_since = start, time.monotonic()
        while True:
            fresh = stream.since(seq)
            for n, event in fresh:
                yield f"id: {n}\nevent: {event['event']}\ndata: {json.dumps(event)}\n\n"
                seq = n + 1
            if fresh:
                quiet_since = time.monotonic()
            elif not stream.active:
                yield f"event: end\ndata: {json.dumps(stream.summary())}\n\n"
                return
            elif time.monotonic() - quiet_since > 15:
                yield ": watching\n\n"  # keeps proxies from closing an idle stream
                quiet_since = time.monotonic()
            if await request.is_disconnected():
                return
            await asyncio.sleep(0.1)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
