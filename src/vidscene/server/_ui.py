"""The web UI: server-rendered pages (Jinja2) and a little vanilla JavaScript, same origin.

Pages: ``/login`` and ``/logout``; ``/`` the library (every stored analysis, filterable with
the store's query language); ``/videos/{id}`` one analysis with its player, timeline, charts
and exports; ``/jobs`` submitting videos and following their jobs. Static files (the scripts,
the stylesheet, the vendored Chart.js) come from ``/static/``.

Everything but ``/login`` needs a caller, like the API (a session cookie from ``/login`` or a
Bearer token; ``--no-auth`` lets everyone in). An unauthenticated request is answered ``401``
with the login form as its body, so a browser shows the form and the status stays honest.

Pages are rendered from the store directly rather than through the API's JSON, which keeps the
library fast with thousands of analyses; what changes while a page is open (jobs, corpus
statistics) is fetched by the page's script from the ``/v1`` API, with the same cookie.
"""

from __future__ import annotations

import math
import mimetypes
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vidscene.analysis import Analysis
from vidscene.errors import ConfigError, NotFoundInStore
from vidscene.report import export_formats, scene_index_of_shots
from vidscene.report._html import SCENE_COLOURS, TRANSITION_COLOURS, UNSCENED_COLOURS
from vidscene.server._auth import SESSION_COOKIE, principal_of
from vidscene.tokens import SESSION_SECONDS, Principal

PER_PAGE = 48
"""Cards per library page: four rows of a wide screen, and a page that renders at once."""

# Pages may load only what this server serves: a stray URL in a template or a library cannot
# reach another host. Inline styles stay allowed (per-scene colours are style attributes).
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; media-src 'self'; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_PAGE_HEADERS = {"Content-Security-Policy": _CSP, "Cache-Control": "private, no-cache",
                 "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
_STATIC_CACHE = "private, max-age=3600"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".svg": "image/svg+xml", ".md": "text/plain; charset=utf-8",
          ".txt": "text/plain; charset=utf-8", "": "text/plain; charset=utf-8"}
"""Content types by suffix, fixed here rather than left to the host's mimetypes table (which
on some systems maps ``.js`` to ``text/plain``, and browsers refuse such scripts)."""

router = APIRouter(include_in_schema=False)
_bearer = HTTPBearer(auto_error=False)


def static_dir() -> Path:
    """The folder ``/static/`` serves (scripts, stylesheet, vendored libraries)."""
    return Path(__file__).with_name("static")


# ---------------------------------------------------------------------------- rendering


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=True,  # paths, names and attribute values are untrusted text
        undefined=jinja2.StrictUndefined,  # a typo in a template fails loudly in tests
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = _clock
    env.filters["number"] = _number
    env.filters["plain"] = _plain
    env.globals["ui_config"] = {
        "sceneColours": list(SCENE_COLOURS),
        "unscenedColours": list(UNSCENED_COLOURS),
        "transitionColours": dict(TRANSITION_COLOURS),
    }
    return env


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    who: Principal | None = getattr(request.state, "principal", None)
    html = _env().get_template(template).render(
        user=who.name if who else None, path=request.url.path,
        can_log_out=not request.app.state.vidscene.settings.no_auth, **context)
    return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)


def _login_page(request: Request, next_path: str, status: int, message: str = ""
                ) -> HTMLResponse:
    return _page(request, "login.html.j2", status, next=next_path, message=message)


def _clock(seconds: float, fraction: bool = True) -> str:
    """``m:ss.s`` (``h:mm:ss.s`` from an hour on): what a person reads off a player."""
    if not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return "—"
    tenths = round(max(seconds, 0.0) * 10)
    whole, tenth = divmod(tenths, 10)
    minutes, secs = divmod(whole, 60)
    hours, minutes = divmod(minutes, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{tenth}" if fraction else text


def _number(value: Any, digits: int = 4) -> str:
    if value is None or isinstance(value, bool):
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, float) or not math.isfinite(value):
        return str(value)
    if abs(value) >= 10**digits:  # whole numbers rather than an exponent: 12,346 not 1.235e+04
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def _plain(value: float) -> str:
    """A float as a plain decimal at full precision (``5.4``, never ``1e-05``): ``data-*``
    values that scripts compare with ``currentTime``."""
    text = repr(float(value))
    return format(Decimal(text), "f") if "e" in text or "E" in text else text


# ---------------------------------------------------------------------------- auth


def _caller(request: Request, credentials: HTTPAuthorizationCredentials | None) -> bool:
    """Whether the request has a caller; remembers who for the page's header."""
    who = principal_of(request, credentials)
    if who is not None:
        request.state.principal = who
    return who is not None


def _wanted(request: Request) -> str:
    """The requested path and query, to come back to after logging in."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _safe_next(value: str | None) -> str:
    """A local path to go to after login: ``/…`` but never ``//host`` or ``/\\host`` (which
    browsers read as another host), else ``/``."""
    if not value or not value.startswith("/") or value[1:2] in ("/", "\\"):
        return "/"
    if any(ord(c) < 32 or c == "\\" for c in value):
        return "/"
    return value


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    if request.app.state.vidscene.settings.no_auth:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, _safe_next(next), 200)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    form = await request.form()
    token, next_path = form.get("token"), form.get("next")
    target = _safe_next(next_path if isinstance(next_path, str) else None)
    state = request.app.state.vidscene
    if state.settings.no_auth:
        return RedirectResponse(target, status_code=303)
    who = state.tokens.check(token.strip()) if isinstance(token, str) else None
    if who is None:
        return _login_page(request, target, 401, "That token is not valid (unknown or revoked).")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, state.tokens.open_session(who), max_age=int(SESSION_SECONDS),
        path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https")  # behind TLS the cookie never travels in clear
    return response


@router.get("/logout")
def logout(request: Request) -> Response:
    request.app.state.vidscene.tokens.close_session(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


# ---------------------------------------------------------------------------- static files


@router.get("/static/{name:path}")
def static(name: str, request: Request,
           credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Response:
    if not _caller(request, credentials):
        return _login_page(request, _wanted(request), 401)
    root = static_dir().resolve()
    path = (root / name).resolve()
    # Resolving first catches "..", absolute names and symlinks alike.
    if ".." in Path(name).parts or not path.is_relative_to(root) or not path.is_file():
        return Response("not found\n", status_code=404, media_type="text/plain")
    media_type = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    return FileResponse(path, media_type=media_type or "application/octet-stream",
                        headers={"Cache-Control": _STATIC_CACHE,
                                 "X-Content-Type-Options": "nosniff"})


# ---------------------------------------------------------------------------- library


@dataclass
class _Card:
    id: str
    name: str
    path: str
    duration: float
    shots: int
    scenes: int
    mean_shot_length: float | None
    cuts_per_minute: float | None
    created: str


def _pacing(duration: float, shots: int) -> tuple[float | None, float | None]:
    """Mean shot length and cuts per minute from a summary, as ``summarise_video`` defines
    them (shots tile the video, so the mean length is the duration over the count)."""
    if shots <= 0 or duration <= 0:
        return None, None
    return duration / shots, (shots - 1) / duration * 60.0


def _card(row: Any) -> _Card:
    """A card from a ``list()`` summary or a ``query()`` row (a dict with attributes)."""
    data: dict[str, Any] = row if isinstance(row, dict) else asdict(row)
    duration, shots = float(data.get("duration") or 0.0), int(data.get("shot_count") or 0)
    mean, cpm = _pacing(duration, shots)
    attributes = data.get("attributes") or {}
    mean = attributes.get("mean_shot_length", mean)
    cpm = attributes.get("cuts_per_minute", cpm)
    path = str(data.get("path") or "")
    return _Card(id=str(data["id"]), name=Path(path).name or path or "video", path=path,
                 duration=duration, shots=shots, scenes=int(data.get("scene_count") or 0),
                 mean_shot_length=mean, cuts_per_minute=cpm,
                 created=str(data.get("created") or ""))


def _text_filter(text: str) -> str:
    """The free-text box as query clauses: ``path ~ TEXT``, quoted so spaces survive. The
    language cannot quote text holding both quote characters; then each piece between them
    must occur (a little wider than the whole text, never narrower)."""
    for quote in ('"', "'"):
        if quote not in text:
            return f"path ~ {quote}{text}{quote}"
    pieces = [p for p in text.replace("'", '"').split('"') if p.strip()]
    return " and ".join(f'path ~ "{p}"' for p in pieces)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@router.get("/", response_class=HTMLResponse)
def library(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
            ) -> Response:
    if not _caller(request, credentials):
        return _login_page(request, _wanted(request), 401)
    params = request.query_params
    text, q = params.get("text", "").strip(), params.get("q", "").strip()
    page = max(1, _int(params.get("page"), 1))
    store = request.app.state.vidscene.store
    error, total, more = "", None, False
    cards: list[_Card] = []
    expr = " and ".join(part for part in (_text_filter(text) if text else "", q) if part)
    if not expr:
        summaries = store.list()  # newest first, no JSON decoded: cheap for thousands
        total = len(summaries)
        start = (page - 1) * PER_PAGE
        cards = [_card(s) for s in summaries[start:start + PER_PAGE]]
        more = start + PER_PAGE < total
    else:
        try:
            # One row more than a page says whether there is a next page without a count.
            rows = store.query(expr, "videos", limit=PER_PAGE + 1,
                               offset=(page - 1) * PER_PAGE)
        except ConfigError as exc:  # QueryError: a malformed or unknown filter
            error = " ".join(str(exc).split())
        else:
            more = len(rows) > PER_PAGE
            cards = [_card(r) for r in rows[:PER_PAGE]]

    def link(n: int) -> str:
        kept = {k: v for k, v in (("text", text), ("q", q)) if v}
        return "/?" + urlencode({**kept, "page": n})

    from vidscene.store._query import fields_for  # the filter box's help lists the fields

    return _page(
        request, "library.html.j2", text=text, q=q, error=error, cards=cards, total=total,
        page=page, filtered=bool(expr),
        pages=math.ceil(total / PER_PAGE) if total is not None else None,
        prev_link=link(page - 1) if page > 1 else None, next_link=link(page + 1) if more else None,
        fields=sorted(fields_for("videos")))


# ---------------------------------------------------------------------------- video page


@dataclass
class _ShotView:
    index: int
    start_time: float
    end_time: float
    keyframe: int | None
    transition: str
    scene: int | None


@dataclass
class _SceneView:
    index: int | None
    colour: str
    start_time: float
    end_time: float
    first_shot: int
    last_shot: int
    confidence: float | None
    shots: list[_ShotView]


def _scene_groups(analysis: Analysis) -> list[_SceneView]:
    """Shots grouped by scene in time order; shots outside any scene form their own runs
    (grey), as in the HTML report."""
    groups: list[_SceneView] = []
    scenes = {sc.index: sc for sc in analysis.scenes}
    for shot, owner in zip(analysis.shots, scene_index_of_shots(analysis), strict=True):
        t = shot.transition_in
        view = _ShotView(shot.index, shot.start_time, shot.end_time,
                         shot.keyframes[0] if shot.keyframes else None,
                         t.type if t is not None and (shot.index > 0 or t.is_gradual) else "",
                         owner)
        if groups and groups[-1].index == owner:
            groups[-1].shots.append(view)
            groups[-1].end_time, groups[-1].last_shot = shot.end_time, shot.index
            continue
        sc = scenes.get(owner) if owner is not None else None
        colour = (SCENE_COLOURS[owner % len(SCENE_COLOURS)] if owner is not None
                  else UNSCENED_COLOURS[0])
        groups.append(_SceneView(owner, colour, shot.start_time, shot.end_time, shot.index,
                                 shot.index, sc.confidence if sc else None, [view]))
    return groups


@router.get("/videos/{analysis_id}", response_class=HTMLResponse)
def video(analysis_id: str, request: Request,
          credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Response:
    if not _caller(request, credentials):
        return _login_page(request, _wanted(request), 401)
    try:
        result = request.app.state.vidscene.store.get(analysis_id)
    except NotFoundInStore as exc:
        return _page(request, "not_found.html.j2", 404, message=" ".join(str(exc).split()))
    analysis: Analysis = result.analysis
    aid = result.id or analysis_id
    info = analysis.video
    end = max([info.duration, *(s.end_time for s in analysis.shots)]) or 1.0
    mean, cpm = _pacing(info.duration, len(analysis.shots))
    width, height = info.width, info.height
    if info.rotation % 180 == 90:  # keyframes show the displayed (rotated) picture
        width, height = height, width
    return _page(
        request, "video.html.j2", id=aid, analysis=analysis,
        name=Path(info.path).name or info.path or "video", groups=_scene_groups(analysis),
        end=end, mean_shot_length=analysis.attributes.get("mean_shot_length", mean),
        cuts_per_minute=analysis.attributes.get("cuts_per_minute", cpm),
        data={"id": aid, **analysis.to_dict()}, formats=export_formats(),
        aspect=f"{max(width, 1)} / {max(height, 1)}",
        # Charts draw numbers; a palette or a label is shown elsewhere, not as bars.
        attributes=sorted({k for s in analysis.shots for k, v in s.attributes.items()
                           if isinstance(v, int | float) and not isinstance(v, bool)}),
        # Labels and texts (shot scale, camera motion, on-screen text): a table per shot.
        labels=sorted({k for s in analysis.shots for k, v in s.attributes.items()
                       if isinstance(v, str)}))


# ---------------------------------------------------------------------------- jobs page


@router.get("/jobs", response_class=HTMLResponse)
def jobs(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
         ) -> Response:
    if not _caller(request, credentials):
        return _login_page(request, _wanted(request), 401)
    settings = request.app.state.vidscene.settings
    return _page(request, "jobs.html.j2", media_roots=[str(r) for r in settings.media_roots],
                 max_upload_mb=getattr(settings, "max_upload_bytes", 0) // 2**20)


# ---------------------------------------------------------------------------- live streams


@router.get("/streams", response_class=HTMLResponse)
def streams_page(request: Request,
                 credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
                 ) -> Response:
    """The live inputs this server watches, and a form to start one."""
    if not _caller(request, credentials):
        return _login_page(request, _wanted(request), 401)
    hub = request.app.state.vidscene.streams
    return _page(request, "streams.html.j2",
                 streams=[s.summary() for s in hub.streams.values()])


@router.get("/streams/{stream_id}", response_class=HTMLResponse)
def stream_page(request: Request, stream_id: str,
                credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
                ) -> Response:
    """One live stream: its transitions, shots, scenes and alerts as they arrive."""
    if not _caller(request, credentials):
        return _login_page(request, _wanted(request), 401)
    stream = request.app.state.vidscene.streams.get(stream_id)
    if stream is None:
        return _page(request, "not_found.html.j2", 404,
                     message=f"No live stream {stream_id[:40]!r} on this server.")
    return _page(request, "stream.html.j2", stream=stream.summary())
