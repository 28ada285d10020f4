"""Property-based fuzzing of ``vidscene serve`` with schemathesis, against a real server process
over loopback HTTP.

Every operation of ``/v1/openapi.json`` gets a fixed number of generated requests, valid
(positive) and invalid (negative) ones, with an admin token; each response must not be a 5xx,
must match the schema documented for its status, and its status must be documented. A second
pass pins the path ids to a real analysis and a real job, so the generated query strings and
headers reach the code behind the lookups instead of stopping at ``404``. Job submissions get a
pass of their own with hostile paths, callback URLs and idempotency keys.

The harness is checked against a deliberately broken FastAPI app first: a fuzz run that cannot
see a ``500`` would pass forever. Generation is derandomized (fixed examples every run), and
the run is bounded: ``EXAMPLES`` cases per operation and mode, ~30 s in all on two cores.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from conftest import free_port
from serving import Server, make_token, wait_final

pytest.importorskip("fastapi")

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "examples" / "demo.mp4"
EXAMPLES = 20
"""Generated cases per operation and generation mode (positive, negative)."""
REQUEST_TIMEOUT_S = 10.0
"""Also bounds the event stream: schemathesis stops reading one after this long."""
BUDGET_S = 90.0
"""What one fuzz pass may take at most on a slow CI machine (~15 s on two shared cores)."""
CHECKS = (not_a_server_error, response_schema_conformance, status_code_conformance)
EVENTS = "GET /v1/jobs/{job_id}/events"
# schemathesis 4 validates each server-sent event against the `text/event-stream` schema (one
# event: `{"event", "data"}`); `test_event_stream_matches_its_schema` checks it on a real job.
SCHEMA_EXEMPT: frozenset[str] = frozenset()
# Explicit, so no schemathesis.toml lying around changes the run. Negative cases keep the
# token: by default a share of them drop or garble it, and only ever see 401 (the token
# checks on every route are tested in test_server.py).
CONFIG = schemathesis.Config.from_dict({"generation": {"with-security-parameters": False}})


@dataclass
class FuzzReport:
    """What a fuzz pass saw: how many cases, and each distinct failure once, with the first
    request that showed it (so a report stays short however often a bug fires)."""

    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, operation: str, title: str, detail: str) -> None:
        self.failures.setdefault((operation, title), detail)

    def text(self) -> str:
        return "\n".join(f"- {op}: {title}\n    {detail}"
                         for (op, title), detail in sorted(self.failures.items()))


def fuzz(schema: Any, base_url: str, headers: dict[str, str], report: FuzzReport, *,
         examples: int = EXAMPLES, path_parameters: dict[str, str] | None = None,
         only: frozenset[str] | None = None, schema_exempt: frozenset[str] = frozenset()
         ) -> None:
    """Run ``examples`` positive and negative cases of each operation against ``base_url``,
    collecting failures in ``report`` instead of raising, so one run shows every problem and
    nothing is shrunk (shrinking a live server's answers is slow and not reproducible)."""
    for result in schema.get_all_operations():
        operation = result.ok()  # an operation that does not even parse is a failure too
        label = operation.label
        if only is not None and label not in only:
            continue
        pinned = {k: v for k, v in (path_parameters or {}).items()
                  if "{" + k + "}" in operation.path}
        if path_parameters and not pinned:
            continue
        checks = [c for c in CHECKS
                  if not (label in schema_exempt and c is response_schema_conformance)]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_one(operation, mode, pinned, checks, base_url, headers, report, examples)


def _fuzz_one(operation: Any, mode: GenerationMode, pinned: dict[str, str], checks: list[Any],
              base_url: str, headers: dict[str, str], report: FuzzReport, examples: int
              ) -> None:
    label = operation.label
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=pinned or None)

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def one(case: Any) -> None:
        report.cases += 1
        try:
            response = case.call(base_url=base_url, headers=headers, timeout=REQUEST_TIMEOUT_S)
        except Exception as e:  # noqa: BLE001 - a dropped connection is a finding too
            report.add(label, f"request failed: {type(e).__name__}",
                       f"{mode.value}: {case.as_curl_command()}: {e}"[:600])
            return
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                report.add(label, str(getattr(failure, "title", type(failure).__name__)),
                           f"{mode.value}: {case.as_curl_command()} -> "
                           f"{response.status_code} {response.text[:300]!r}")

    try:
        one()
    except Unsatisfiable:
        pass  # nothing to make invalid (no parameters, or all of them pinned)


def log_size(log: Path) -> int:
    return log.stat().st_size if log.is_file() else 0


def server_errors(log: Path, since: int = 0) -> str:
    """The server's own frames and the exception of each 500 it logged: what a bug report
    needs next to the request (the middleware frames in between say nothing)."""
    time.sleep(0.3)  # the traceback is written just after the answer is sent
    if not log.is_file():
        return ""
    found: list[str] = []
    with log.open("rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    for chunk in text.split("unexpected error on ")[1:]:
        lines = chunk.splitlines()
        keep = [lines[0]]
        for i, line in enumerate(lines[1:], 1):
            if "/vidscene/" in line:
                keep += [line, *lines[i + 1:i + 2]]
            elif line and not line[0].isspace() and not line.startswith("Traceback"):
                keep.append(line)  # the exception itself ends the traceback
                break
        found.append("unexpected error on " + "\n".join(keep))
    return "\n".join(dict.fromkeys(found))


def assert_clean(report: FuzzReport, log: Path | None = None, since: int = 0) -> None:
    if report.failures:
        tail = server_errors(log, since) if log is not None else ""
        pytest.fail(f"{len(report.failures)} distinct failure(s) in {report.cases} cases:\n"
                    f"{report.text()}\n\nserver log:\n{tail or '(nothing logged)'}")


# -- the harness itself -------------------------------------------------------------------------


class ThreadServer:
    """A tiny ASGI app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,
                                                    log_level="critical"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise AssertionError("the broken app did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def broken_app() -> Any:
    """One healthy route and one per kind of failure the fuzz pass must report."""
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel

    class Item(BaseModel):
        name: str
        size: int

    app = FastAPI(openapi_url="/openapi.json")

    @app.get("/fine/{item_id}", response_model=Item)
    def fine(item_id: int) -> Item:
        return Item(name=str(item_id), size=1)

    @app.get("/boom", response_model=Item)
    def boom(limit: int = 1) -> Item:
        raise RuntimeError(f"boom {limit}")

    @app.get("/wrong", response_model=Item)
    def wrong() -> JSONResponse:
        return JSONResponse({"name": 5})  # bypasses the model: a body its schema forbids

    @app.get("/teapot", response_model=Item)
    def teapot() -> JSONResponse:
        return JSONResponse({"name": "t", "size": 1}, status_code=418)  # undocumented

    return app


def test_harness_reports_server_errors_bad_bodies_and_undocumented_statuses() -> None:
    with ThreadServer(broken_app()) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json", config=CONFIG)
        report = FuzzReport()
        fuzz(schema, url, {}, report, examples=5)
    seen = set(report.failures)
    assert ("GET /boom", "Server error") in seen, report.text()
    assert ("GET /wrong", "Response violates schema") in seen, report.text()
    assert ("GET /teapot", "Undocumented status code") in seen, report.text()
    assert not any(op.startswith("GET /fine") for op, _ in seen), report.text()
    assert report.cases >= 4


# -- the real server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server with the demo in its media root, analysed once, and an admin token. No
    ``--webhook-secret``: generated callback URLs are refused, so the server never calls out.
    Afterwards (stopped by its PID) no partial upload may be left behind."""
    if not DEMO.is_file():
        pytest.skip("examples/demo.mp4 not built (run scripts/make_demo.py)")
    root = tmp_path_factory.mktemp("fuzz")
    media = root / "media"
    media.mkdir()
    shutil.copy(DEMO, media / "demo.mp4")
    db = root / "fuzz.sqlite"
    token = make_token(db, "fuzz", "admin")
    incoming = root / f"{db.stem}-data" / "uploads" / ".incoming"
    server = Server(db, media, "--max-upload-mb", "8")
    server.start()
    try:
        with server.client(token) as client:
            submitted = client.post("/v1/jobs", json={"path": "demo.mp4"})
            assert submitted.status_code == 202, submitted.text
            job = wait_final(client, submitted.json()["id"])
            assert job["state"] == "done", job
        headers = {"Authorization": f"Bearer {token}"}
        schema = schemathesis.openapi.from_url(f"{server.url}/v1/openapi.json",
                                               config=CONFIG, headers=headers)
        yield {"server": server, "token": token, "schema": schema, "job": job,
               "headers": headers, "incoming": incoming}
    finally:
        server.stop()
    left = sorted(p.name for p in incoming.glob("*.part")) if incoming.is_dir() else []
    assert not left, f"partial uploads left in {incoming}: {left}"


def test_every_operation_survives_generated_requests(served: dict[str, Any]) -> None:
    server: Server = served["server"]
    report = FuzzReport()
    started, since = time.monotonic(), log_size(server.log)
    fuzz(served["schema"], server.url, served["headers"], report, schema_exempt=SCHEMA_EXEMPT)
    elapsed = time.monotonic() - started
    assert_clean(report, server.log, since)
    operations = sum(1 for _ in served["schema"].get_all_operations())
    assert report.cases >= operations * EXAMPLES // 2, report.cases  # the bound is not a skip
    assert report.statuses.get(401, 0) == 0, report.statuses  # every case carried the token
    assert elapsed < BUDGET_S, f"fuzz pass took {elapsed:.0f} s"
    assert served["incoming"].is_dir() and not list(served["incoming"].glob("*.part"))


def test_operations_on_a_real_analysis_and_job(served: dict[str, Any]) -> None:
    """The same checks with the path ids pinned to things that exist: exports, thumbnails,
    the video with generated headers, cancel/retry of a done job (``409``), its events."""
    server: Server = served["server"]
    job = served["job"]
    report, since = FuzzReport(), log_size(server.log)
    fuzz(served["schema"], server.url, served["headers"], report,
         path_parameters={"analysis_id": job["analysis_id"], "job_id": job["id"]},
         schema_exempt=SCHEMA_EXEMPT)
    assert_clean(report, server.log, since)
    assert report.statuses.get(200, 0) > 0, report.statuses  # the pinned ids were found
    assert report.statuses.get(409, 0) > 0, report.statuses  # cancel/retry of a done job


# Pieces a path or URL is likely to be built from, so generation reaches the branches in
# `resolve_media_path` and `check_callback_url` instead of only "no such file".
_PATHS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["demo.mp4", "./demo.mp4", "/demo.mp4", "../demo.mp4", ".", "/", "",
                     "demo.mp4/", "demo.mp4\x00", "sub/../demo.mp4", "\\..\\demo.mp4",
                     "a" * 4096, "%2e%2e/demo.mp4", "demo.mp4 ", "/proc/self/environ"]),
    st.builds(lambda a, b: a + b, st.sampled_from(["/", "../", "./", "demo", "\x00"]),
              st.text(max_size=20)),
)
_URLS = st.one_of(
    st.none(), st.text(max_size=30),
    st.builds(lambda a, b: a + b,
              st.sampled_from(["http://", "https://", "ftp://", "http://[", "http://[::1]:",
                               "//", "http://127.0.0.1:", "https://user@", "javascript:",
                               "http://]", "https://[fe80::1%"]),
              st.text(max_size=20)),
)
_BODIES = st.one_of(
    st.fixed_dictionaries({"path": _PATHS}, optional={"callback_url": _URLS}),
    # The callback is checked only once the path is good: give it a file that exists (twice
    # over, so a good share of the cases get that far).
    st.fixed_dictionaries({"path": st.just("demo.mp4"), "callback_url": _URLS}),
    st.fixed_dictionaries({"path": st.just("demo.mp4"), "callback_url": _URLS}),
    st.dictionaries(st.text(max_size=12), st.none() | st.integers() | st.text(max_size=12),
                    max_size=3),
    st.lists(st.integers(), max_size=3) | st.none() | st.integers() | st.text(max_size=20),
)
_KEYS = st.none() | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                            min_size=1, max_size=210)


def test_job_submissions_with_hostile_bodies_never_fail_with_5xx(served: dict[str, Any]) -> None:
    """Generated JSON bodies (paths that escape, NULs, odd URLs, wrong types) and
    Idempotency-Key headers: every answer is 202 or a documented 4xx in the error shape."""
    server: Server = served["server"]
    seen: dict[tuple[int, str], str] = {}
    since = log_size(server.log)
    with server.client(served["token"]) as client:

        @settings(max_examples=200, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], print_blob=False,
                  suppress_health_check=list(HealthCheck))
        @given(body=_BODIES, key=_KEYS)
        def one(body: Any, key: str | None) -> None:
            headers = {"Idempotency-Key": key} if key else {}
            r = client.post("/v1/jobs", json=body, headers=headers)
            problem = ""
            if r.status_code >= 500:
                problem = "server error"
            elif r.status_code not in (202, 400, 403, 404, 409, 413, 415, 422, 429):
                problem = "undocumented status"
            elif r.status_code >= 400 and set(r.json().get("error", {})) != {"code", "message"}:
                problem = "not the error shape"
            if problem:
                seen.setdefault((r.status_code, problem), f"body={body!r} key={key!r}: "
                                f"{r.text[:200]}")

        one()
    if seen:
        pytest.fail("POST /v1/jobs:\n" + "\n".join(
            f"- {status} {what}: {detail}" for (status, what), detail in sorted(seen.items()))
            + "\n\nserver log:\n" + server_errors(server.log, since))


# Inputs a generator rarely hits but a client can send: the int64 edge of offsets, a URL that
# `urlsplit` cannot parse, byte ranges a player or a scanner sends.
_HOSTILE: dict[str, tuple[str, str, dict[str, Any]]] = {
    "search-offset-int64-max": ("GET", "/v1/search?offset=9223372036854775807", {}),
    "search-offset-past-int64": ("GET", "/v1/search?offset=9223372036854775808", {}),
    "search-videos-offset-huge": ("GET", "/v1/search?level=videos&offset=99999999999999999999",
                                  {}),
    "analyses-query-offset-huge": (
        "GET", "/v1/analyses?offset=99999999999999999999&q=duration%20%3E%200", {}),
    "jobs-offset-huge": ("GET", "/v1/jobs?offset=99999999999999999999", {}),
    "search-long-query": ("GET", "/v1/search?q=" + "duration > 1 and " * 100 + "duration > 1",
                          {}),
    "search-like-escapes": ("GET", "/v1/search?level=videos&q=path%20~%20%25%5B%5C", {}),
    "keyframe-huge": ("GET", "/v1/analyses/{analysis}/keyframes/99999999999999999999999.jpg",
                      {}),
    "keyframe-negative": ("GET", "/v1/analyses/{analysis}/keyframes/-1.jpg", {}),
    "analysis-id-nul": ("GET", "/v1/analyses/%00/export/json", {}),
    "export-format-traversal": ("GET", "/v1/analyses/{analysis}/export/..%2f..%2fetc", {}),
    "callback-unclosed-ipv6": ("POST", "/v1/jobs", {
        "json": {"path": "demo.mp4", "callback_url": "http://[::1"}}),
    "callback-bad-ipv6": ("POST", "/v1/jobs", {
        "json": {"path": "demo.mp4", "callback_url": "http://[zz]/"}}),
    "json-body-over-64k": ("POST", "/v1/jobs", {
        "content": b"{" * 70_000, "headers": {"Content-Type": "application/json"}}),
    "multipart-cut-short": ("POST", "/v1/jobs", {
        "content": b"--x\r\n", "headers": {"Content-Type": "multipart/form-data; boundary=x"}}),
    "multipart-long-boundary": ("POST", "/v1/jobs", {
        "content": b"", "headers": {"Content-Type": "multipart/form-data; boundary=" + "b" * 300}}),
    "body-text-plain": ("POST", "/v1/jobs", {
        "content": b"x", "headers": {"Content-Type": "text/plain"}}),
    "range-garbage": ("GET", "/v1/analyses/{analysis}/video", {"headers": {"Range": "bytes=abc"}}),
    "range-backwards": ("GET", "/v1/analyses/{analysis}/video", {
        "headers": {"Range": "bytes=5-2"}}),
    "range-past-end": ("GET", "/v1/analyses/{analysis}/video", {
        "headers": {"Range": "bytes=999999999-"}}),
}


@pytest.mark.parametrize(("method", "url", "extra"), list(_HOSTILE.values()), ids=list(_HOSTILE))
def test_hostile_inputs_get_a_json_answer_below_500(served: dict[str, Any], method: str,
                                                    url: str, extra: dict[str, Any]) -> None:
    server: Server = served["server"]
    url = url.replace("{analysis}", served["job"]["analysis_id"])
    since = log_size(server.log)
    with server.client(served["token"]) as client:
        r = client.request(method, url, **extra)
    assert r.status_code < 500, \
        f"{r.status_code} {r.text[:200]}\n{server_errors(server.log, since)}"
    if r.status_code == 416 and not r.content and r.headers.get("content-range"):
        return  # an empty 416 whose Content-Range gives the size is what players expect
    if r.status_code >= 400:
        assert r.headers.get("content-type", "").startswith("application/json"), \
            f"{r.status_code} {r.headers.get('content-type')}: {r.text[:200]!r}"
        assert set(r.json()["error"]) == {"code", "message"}, r.text


def test_event_stream_matches_its_schema(served: dict[str, Any]) -> None:
    server: Server = served["server"]
    report = FuzzReport()
    fuzz(served["schema"], server.url, served["headers"], report, examples=3,
         path_parameters={"job_id": served["job"]["id"]}, only=frozenset({EVENTS}))
    assert_clean(report)

