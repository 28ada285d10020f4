"""The library: stored analyses, their media and exports, searches across them, corpus
statistics, the model store, and the service's health and metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from vidscene import __version__
from vidscene.analysis import AnalysisResult
from vidscene.errors import NotFoundInStore
from vidscene.report import export_formats, render
from vidscene.server._auth import read
from vidscene.server._errors import ApiError
from vidscene.server._media import inside
from vidscene.server._schemas import (
    MAX_OFFSET,
    AnalysisPage,
    AnalysisSummary,
    ErrorBody,
    Health,
    ModelOut,
    SearchPage,
    Stats,
)
from vidscene.server._state import AppState, is_id
from vidscene.store import StoredAnalysis
from vidscene.store._base import encode_analysis
from vidscene.tokens import Principal

router = APIRouter(prefix="/v1", tags=["library"])
service = APIRouter(tags=["service"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 422)}
_JSON_OBJECT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}}}
MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
               "edl": "text/plain; charset=utf-8", "webvtt": "text/vtt; charset=utf-8",
               "html": "text/html; charset=utf-8"}
SUFFIXES = {"webvtt": "vtt"}
MAX_MATCHES = 100_000
Reader = Annotated[Principal, Depends(read)]


def _state(request: Request) -> AppState:
    return request.app.state.vidscene  # type: ignore[no-any-return]


def _analysis(state: AppState, analysis_id: str) -> AnalysisResult:
    if not is_id(analysis_id):
        raise ApiError(404, f"no stored analysis with id {analysis_id[:40]!r} (ids are 32 hex "
                            "characters)")
    try:
        return state.store.get(analysis_id)
    except NotFoundInStore as e:
        raise ApiError(404, str(e)) from None


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _summary(s: StoredAnalysis | dict[str, Any]) -> AnalysisSummary:
    row = s if isinstance(s, dict) else s.__dict__
    mean = row.get("mean_shot_length")
    if mean is None and row.get("shot_count"):
        mean = round(row["duration"] / row["shot_count"], 4)  # what summarise_video computes
    return AnalysisSummary(
        id=row["id"], path=row["path"], name=_name(row["path"]), duration=row["duration"],
        shot_count=row.get("shot_count"), scene_count=row.get("scene_count"),
        created=row["created"], mean_shot_length=mean,
        thumbnail=f"/v1/analyses/{row['id']}/thumbnail.jpg")


@router.get("/analyses", response_model=AnalysisPage, responses=_ERRORS,
            summary="Stored analyses, newest first, optionally filtered")
def list_analyses(
    request: Request, _: Reader,
    q: Annotated[str, Query(max_length=2000, description=(
        "A filter in the language of `vidscene search`, e.g. `duration > 600 and "
        "mean_shot_length < 2`."))] = "",
    sort: Annotated[str | None, Query(max_length=100, description="A field; `-field` for "
                                      "descending (with q).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AnalysisPage:
    store = _state(request).store
    if q.strip() or sort:
        rows = store.query(q, "videos", sort=sort, limit=MAX_MATCHES)
        return AnalysisPage(total=len(rows), limit=limit, offset=offset,
                            items=[_summary(r) for r in rows[offset:offset + limit]])
    everything = store.list()
    return AnalysisPage(total=len(everything), limit=limit, offset=offset,
                        items=[_summary(s) for s in everything[offset:offset + limit]])


@router.get("/analyses/{analysis_id}", responses={**_ERRORS, **_JSON_OBJECT},
            response_class=Response, summary="One analysis: the Analysis JSON")
def get_analysis(request: Request, analysis_id: str, _: Reader) -> Response:
    result = _analysis(_state(request), analysis_id)
    return Response(encode_analysis(result.analysis), media_type="application/json")


@router.get("/analyses/{analysis_id}/export/{fmt}", response_class=Response,
            responses={**_ERRORS, 200: {"content": {t.split(";")[0]: {}
                                                    for t in MEDIA_TYPES.values()}}},
            summary="An analysis in one export format (json, csv, edl, webvtt, html, …)")
def export_analysis(request: Request, analysis_id: str, fmt: str, _: Reader) -> Response:
    formats = export_formats()
    if fmt not in formats:
        raise ApiError(404, f"unknown export format {fmt!r} (known: {', '.join(formats)})")
    result = _analysis(_state(request), analysis_id)
    data = render(result, fmt)
    body = data.encode("utf-8") if isinstance(data, str) else data
    stem = Path(_name(result.analysis.video.path)).stem or "analysis"
    filename = f"{stem}.{SUFFIXES.get(fmt, fmt)}"
    return Response(body, media_type=MEDIA_TYPES.get(fmt, "application/octet-stream"),
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _jpeg(data: bytes) -> Response:
    return Response(data, media_type="image/jpeg",
                    headers={"Cache-Control": "private, max-age=86400"})


@router.get("/analyses/{analysis_id}/keyframes/{frame}.jpg", response_class=Response,
            responses={**_ERRORS, 200: {"content": {"image/jpeg": {}}}},
            summary="One keyframe's JPEG")
def keyframe(request: Request, analysis_id: str, frame: int, _: Reader) -> Response:
    result = _analysis(_state(request), analysis_id)
    if frame not in result.thumbnails:
        raise ApiError(404, f"frame {frame} is not a keyframe of analysis {result.id}")
    return _jpeg(result.thumbnails[frame])


@router.get("/analyses/{analysis_id}/thumbnail.jpg", response_class=Response,
            responses={**_ERRORS, 200: {"content": {"image/jpeg": {}}}},
            summary="The video's thumbnail: a keyframe of its first shots")
def thumbnail(request: Request, analysis_id: str, _: Reader) -> Response:
    result = _analysis(_state(request), analysis_id)
    shots = result.analysis.shots
    # The first shot is often black or a title: prefer the keyframe of a shot a little in.
    for shot in [*shots[min(1, len(shots) - 1):], *shots[:1]]:
        for frame in shot.keyframes:
            if frame in result.thumbnails:
                return _jpeg(result.thumbnails[frame])
    if result.thumbnails:
        return _jpeg(result.thumbnails[min(result.thumbnails)])
    raise ApiError(404, f"analysis {result.id} has no keyframes")


@router.get("/analyses/{analysis_id}/video", response_class=FileResponse,
            responses={**_ERRORS, 200: {"content": {"video/*": {}}}, 206: {
                "description": "The requested byte range."}, 416: {"model": ErrorBody}},
            summary="The analysed video (HTTP range requests for players)")
def video(request: Request, analysis_id: str, _: Reader) -> FileResponse:
    state = _state(request)
    result = _analysis(state, analysis_id)
    try:
        real = Path(result.analysis.video.path).resolve(strict=True)
    except (OSError, RuntimeError):
        raise ApiError(404, "the video file is no longer on this server") from None
    if not inside(real, state.playable_roots) or not real.is_file():
        raise ApiError(404, "the video file is not under this server's media roots")
    _check_range(request.headers.get("range"), real.stat().st_size)
    return FileResponse(real, media_type=_video_type(real))


def _check_range(header: str | None, size: int) -> None:
    """Answer an unusable ``Range`` in the API's JSON shape (``FileResponse`` would answer
    in plain text); usable ones are served by ``FileResponse``."""
    if header is None:
        return
    unit, _, specs = header.partition("=")
    unusable = unit.strip().lower() != "bytes" or not specs.strip()
    outside = False
    for spec in [] if unusable else specs.split(","):
        start, dash, end = spec.strip().partition("-")
        if not dash or not (start or end) or not all(p.isdigit() for p in (start, end) if p):
            unusable = True
        elif start and (int(start) >= size or (end != "" and int(end) < int(start))):
            outside = True
        elif not start and int(end) == 0:
            outside = True
    if unusable or outside:
        reason = "is not bytes=START-END" if unusable else f"is outside the {size}-byte file"
        raise ApiError(416, f"Range {header[:60]!r} {reason}",
                       headers={"Content-Range": f"bytes */{size}"})


def _video_type(path: Path) -> str:
    return {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
            ".webm": "video/webm", ".mkv": "video/x-matroska", ".ogv": "video/ogg",
            ".ts": "video/mp2t"}.get(path.suffix.lower(), "application/octet-stream")


@router.get("/search", response_model=SearchPage, responses=_ERRORS,
            summary="Videos, shots or scenes matching filters across the library")
def search(
    request: Request, _: Reader,
    q: Annotated[str, Query(max_length=2000, description=(
        "`FIELD OP VALUE [and …]`, OP one of < <= > >= = != ~, e.g. `motion > 0.1`."))] = "",
    level: Literal["videos", "shots", "scenes"] = "shots",
    sort: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> SearchPage:
    rows = _state(request).store.query(q, level, sort=sort, limit=limit, offset=offset)
    return SearchPage(level=level, total=offset + len(rows), limit=limit, offset=offset,
                      items=rows)


@router.get("/stats", response_model=Stats, responses=_ERRORS,
            summary="Corpus statistics: shot lengths, cuts per minute, attributes")
async def stats(request: Request, _: Reader) -> Stats:
    state = _state(request)
    return Stats(**await run_in_threadpool(state.stats.get, state.store))


@router.get("/models", response_model=list[ModelOut], responses=_ERRORS,
            summary="The model store: shipped and stored models")
def models(_: Reader) -> list[ModelOut]:
    from vidscene.model_store import ModelStore

    out = []
    for m in ModelStore().list():
        card = {k: v for k, v in m.card.items() if k != "config"}
        out.append(ModelOut(name=m.name, version=m.version, kind=card.get("kind"),
                            sha256=card.get("sha256"), card=card))
    return out


@service.get("/healthz", response_model=Health, summary="Liveness (no token needed)")
def healthz() -> Health:
    return Health(status="ok", version=__version__)


@service.get("/metrics", response_class=PlainTextResponse,
             responses={**_ERRORS, 200: {"content": {"text/plain": {}}}},
             summary="Prometheus metrics")
def metrics(request: Request, _: Reader) -> Response:
    return Response(generate_latest(_state(request).metrics.registry),
                    media_type=CONTENT_TYPE_LATEST)
