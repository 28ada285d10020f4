"""The web UI (``vidscene.server._ui``).

Two parts. Fast checks through FastAPI's test client: login and sessions, the redirect target,
static files, the 404 page, and the library's speed with 1,000 stored analyses. Then one
real run in Chromium against a real ``vidscene serve``: log in, upload the sample video,
follow its job to ``done``, seek by clicking a shot, filter the library; with no console
error and no request leaving the server. The browser tests need Debian's ``chromium`` (``make
test`` installs it); without it they are skipped.

``VIDSCENE_UI_SCREENSHOT=docs/img/video-page.png`` makes the browser run save a screenshot of
the video page there (for the README).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from vidscene.analysis import Analysis, AnalysisResult, Scene, Shot, Transition, VideoInfo  # noqa: E402
from vidscene.server import ServerSettings, create_app  # noqa: E402
from vidscene.server._auth import SESSION_COOKIE  # noqa: E402
from vidscene.server._ui import PER_PAGE, static_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "examples" / "demo.mp4"
VIDSCENE = Path(sys.executable).with_name("vidscene")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]

needs_browser = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium; `make test` does)")


# ---------------------------------------------------------------------------- test client


def _analysis(i: int, shots: int = 12) -> Analysis:
    """A small synthetic analysis: ``shots`` shots of 2 s in three scenes."""
    fps, per = 25.0, 50
    items = [Shot(k, k * per, (k + 1) * per, k * 2.0, (k + 1) * 2.0,
                  Transition("cut", k * per, k * per, 0.9), [k * per + 10],
                  {"brightness": 0.1 + 0.05 * (k % 10), "motion": 0.01 * k})
             for k in range(shots)]
    third = shots // 3
    scenes = [Scene(j, j * third, (j + 1) * third - 1, j * third * per, (j + 1) * third * per,
                    j * third * 2.0, (j + 1) * third * 2.0, 0.8) for j in range(3)]
    video = VideoInfo(f"/archive/reel-{i:04d}.mp4", f"{i:064x}", shots * 2.0, fps,
                      shots * per, 640, 360, False)
    attributes = {"shot_count": shots, "scene_count": 3, "mean_shot_length": 2.0,
                  "cuts_per_minute": (shots - 1) / (shots * 2.0) * 60.0}
    return Analysis(video, items, scenes, attributes)


def _client(db: Path, **settings: Any) -> TestClient:
    app = create_app(ServerSettings(db=str(db), start_worker=False, **settings))
    return TestClient(app, base_url="http://127.0.0.1")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    """A client of an app with one stored analysis; the analysis id and a read token."""
    db = tmp_path_factory.mktemp("ui-client") / "db.sqlite"
    with _client(db) as c:
        state = c.app.state.vidscene  # type: ignore[attr-defined]
        analysis_id = state.store.save(AnalysisResult(_analysis(0)), "k0")
        yield c, analysis_id, state.tokens.create("reader", "read")


def test_pages_answer_401_with_the_login_form(client: tuple[TestClient, str, str]) -> None:
    c, analysis_id, _ = client
    for path in ("/", "/jobs", f"/videos/{analysis_id}", "/static/ui.css", "/?text=a&q=b"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 401, path
        assert r.headers["content-type"].startswith("text/html")
        assert 'action="/login"' in r.text and 'name="token"' in r.text
        # The login form comes back to the page that was asked for (escaped in the value).
        assert f'name="next" value="{path.replace("&", "&amp;")}"' in r.text


def test_login_sets_a_strict_session_cookie_and_logout_ends_it(
        client: tuple[TestClient, str, str]) -> None:
    c, _, token = client
    bad = c.post("/login", data={"token": "vs_wrong", "next": "/jobs"}, follow_redirects=False)
    assert bad.status_code == 401 and "not valid" in bad.text
    assert SESSION_COOKIE not in bad.cookies

    r = c.post("/login", data={"token": token, "next": "/jobs"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/jobs"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    lowered = cookie.lower()
    for part in ("httponly", "samesite=strict", "path=/", "max-age=43200"):
        assert part in lowered, cookie
    session = r.cookies[SESSION_COOKIE]
    c.cookies.clear()  # the client keeps cookies; the other tests must start without one
    with_cookie = {"Cookie": f"{SESSION_COOKIE}={session}"}
    assert c.get("/jobs", headers=with_cookie).status_code == 200

    out = c.get("/logout", headers=with_cookie, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"] or "max-age=0" in \
        out.headers["set-cookie"].lower()
    c.cookies.clear()
    # The session is closed in the store, not merely forgotten by this browser.
    assert c.get("/jobs", headers=with_cookie).status_code == 401


@pytest.mark.parametrize("target, expected", [
    ("/videos/abc?x=1", "/videos/abc?x=1"), ("//evil.example/", "/"), ("/\\evil.example", "/"),
    ("https://evil.example/", "/"), ("", "/"), ("jobs", "/")])
def test_login_goes_only_to_local_paths(client: tuple[TestClient, str, str], target: str,
                                        expected: str) -> None:
    c, _, token = client
    r = c.post("/login", data={"token": token, "next": target}, follow_redirects=False)
    c.cookies.clear()
    assert r.status_code == 303 and r.headers["location"] == expected


def test_static_files_are_typed_cached_and_confined(client: tuple[TestClient, str, str]) -> None:
    c, _, token = client
    auth = {"Authorization": f"Bearer {token}"}
    js = c.get("/static/video.js", headers=auth)
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.headers["cache-control"] == "private, max-age=3600"
    assert c.get("/static/ui.css", headers=auth).headers["content-type"].startswith("text/css")
    chart = c.get("/static/vendor/chartjs/chart.umd.min.js", headers=auth)
    assert chart.status_code == 200 and chart.text.startswith("/*!\n * Chart.js v4")
    for name in ("%2e%2e/_ui.py", "..%2f_ui.py", "vendor/..%2f..%2f_ui.py", "nothing.js",
                 "vendor", "%2fetc%2fpasswd"):
        r = c.get(f"/static/{name}", headers=auth)
        assert r.status_code == 404, name
        assert "router" not in r.text
    # Every vendored file has its licence and the notice names it.
    notice = (static_dir() / "vendor" / "NOTICE").read_text()
    assert "chart.umd.min.js" in notice and "MIT" in notice
    assert (static_dir() / "vendor" / "chartjs" / "LICENSE.md").is_file()


def test_video_page_embeds_the_analysis_and_hooks(client: tuple[TestClient, str, str]) -> None:
    c, analysis_id, token = client
    r = c.get(f"/videos/{analysis_id}", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    html = r.text
    assert html.count("<video") == 1
    assert f'src="/v1/analyses/{analysis_id}/video"' in html
    opening = '<script type="application/json" id="analysis-data">'
    start = html.index(opening) + len(opening)
    data = json.loads(html[start:html.index("</script>", start)])
    assert data["id"] == analysis_id and len(data["shots"]) == 12
    assert html.count("data-shot-index=") == 12 and html.count("data-scene-index=") == 3
    assert 'data-shot-index="5" data-start-time="10.0"' in html
    assert f"/v1/analyses/{analysis_id}/keyframes/260.jpg" in html  # shot 5's first keyframe
    for fmt in ("json", "csv", "edl", "webvtt", "html"):
        assert f"/v1/analyses/{analysis_id}/export/{fmt}" in html
    assert "default-src 'self'" in r.headers["content-security-policy"]

    missing = c.get("/videos/ffffffff", headers={"Authorization": f"Bearer {token}"})
    assert missing.status_code == 404 and "no stored analysis" in missing.text
    assert "Traceback" not in missing.text


def test_video_page_lists_what_is_on_screen_per_shot(tmp_path: Path) -> None:
    analysis = _analysis(1, shots=3)
    analysis.shots[0].attributes.update({"shot_scale": "close-up", "camera_motion": "pan_left",
                                         "text": "GOAL\nSecond line"})
    analysis.shots[2].attributes.update({"shot_scale": "wide"})
    with _client(tmp_path / "labels.db") as c:
        state = c.app.state.vidscene  # type: ignore[attr-defined]
        analysis_id = state.store.save(AnalysisResult(analysis), "k1")
        token = state.tokens.create("reader", "read")
        html = c.get(f"/videos/{analysis_id}", headers={"Authorization": f"Bearer {token}"}).text
    assert html.count("data-shot-row=") == 3
    assert '<td data-label="shot_scale">close-up</td>' in html
    assert '<td data-label="camera_motion">pan left</td>' in html
    assert '<td data-label="text">GOAL / Second line</td>' in html
    assert '<td data-label="shot_scale">wide</td>' in html


def test_embedded_json_cannot_close_its_script(tmp_path: Path) -> None:
    with _client(tmp_path / "db.sqlite", no_auth=True) as c:
        analysis = _analysis(1)
        analysis.video = VideoInfo("/x/</script><script>alert(1)</script>.mp4", "ab" * 32, 24.0,
                                   25.0, 600, 640, 360, False)
        aid = c.app.state.vidscene.store.save(AnalysisResult(analysis), "k")  # type: ignore
        html = c.get(f"/videos/{aid}").text
        assert "<script>alert(1)" not in html
        library = c.get("/").text
        assert "<script>alert(1)" not in library and "&lt;/script&gt;" in library


def test_library_renders_1000_analyses_fast(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    with _client(db, no_auth=True) as c:
        store = c.app.state.vidscene.store  # type: ignore[attr-defined]
        for i in range(1000):
            store.save(AnalysisResult(_analysis(i, shots=12 + i % 30)), f"k{i}")

        def timed(url: str) -> tuple[float, str]:
            started = time.perf_counter()
            r = c.get(url)
            assert r.status_code == 200, r.text[:300]
            return time.perf_counter() - started, r.text

        timed("/")  # the first request compiles the templates
        times = []
        for _ in range(5):
            seconds, html = timed("/")
            times.append(seconds)
        assert html.count("data-analysis-id=") == PER_PAGE
        assert "1,000 analysed videos" in html and 'href="/?page=2"' in html
        assert 'href="/logout"' not in html  # --no-auth: nobody to log out
        assert statistics.median(times) <= 0.3, times

        seconds, html = timed("/?q=shot_count+%3E+40&page=1")
        assert html.count("data-analysis-id=") == sum(12 + i % 30 > 40 for i in range(1000))
        seconds, html = timed("/?text=reel-09&q=duration+%3E%3D+24")
        assert seconds <= 0.3
        assert html.count("data-analysis-id=") == PER_PAGE  # 100 paths match; a next page
        assert "page=2" in html and "text=reel-09" in html
        seconds, html = timed("/?q=shot_count+%3E+1000")
        assert "data-analysis-id=" not in html and "No video matches" in html
        seconds, html = timed("/?q=colour+%3D+%3D")
        assert 'id="filter-error"' in html and "Traceback" not in html


# ---------------------------------------------------------------------------- the browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vidscene serve exited ({proc.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise RuntimeError(f"vidscene serve did not answer /healthz in {timeout} s:\n"
                       f"{log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A real ``vidscene serve`` on a free loopback port, and a ``submit`` token for it."""
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH")
    tmp = tmp_path_factory.mktemp("ui-server")
    db, media, log = tmp / "db.sqlite", tmp / "media", tmp / "server.log"
    media.mkdir()
    made = subprocess.run([str(VIDSCENE), "tokens", "create", "ui", "--scope", "submit",
                           "--db", str(db)], capture_output=True, text=True, check=True)
    token = made.stdout.strip().splitlines()[-1]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(VIDSCENE), "serve", "--host", "127.0.0.1", "--port", str(port), "--db",
             str(db), "--media-root", str(media)], stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(base, proc, log, 60)
        yield {"base": base, "host": f"127.0.0.1:{port}", "token": token, "log": log,
               "media": media}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        # Launched with a fresh, empty profile (Playwright's own temporary user data dir).
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Recorder:
    """Console errors, page errors and every URL the pages asked for."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.urls: list[str] = []

    def attach(self, context: Any) -> None:
        context.on("console", lambda m: self.errors.append(f"console: {m.text} @ {m.location}")
                   if m.type == "error" else None)
        context.on("request", lambda r: self.urls.append(r.url))

    def page_errors(self, page: Any) -> None:
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))


@pytest.fixture(scope="module")
def session(browser: Any, server: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One logged-in page shared by the browser tests, in order, with its recorder."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    recorder = Recorder()
    recorder.attach(context)
    page = context.new_page()
    recorder.page_errors(page)
    page.set_default_timeout(20_000)
    shared: dict[str, Any] = {"page": page, "recorder": recorder, **server}
    try:
        yield shared
    finally:
        context.close()


@needs_browser
def test_browser_login(session: dict[str, Any]) -> None:
    page, base = session["page"], session["base"]
    response = page.goto(f"{base}/login?next=/jobs")
    assert response.status == 200
    page.fill("#token", session["token"])
    with page.expect_navigation():
        page.click("form.login button[type=submit]")
    assert page.url == f"{base}/jobs"
    assert page.locator("nav a[aria-current=page]").inner_text() == "Jobs"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies[SESSION_COOKIE]["httpOnly"] and cookies[SESSION_COOKIE]["sameSite"] == "Strict"


@needs_browser
def test_browser_bad_token_is_refused(browser: Any, server: dict[str, Any]) -> None:
    # A context of its own: the 401 answers here are expected, not errors of the session.
    context = browser.new_context()
    try:
        page = context.new_page()
        response = page.goto(f"{server['base']}/jobs")
        assert response.status == 401 and page.locator("#token").is_visible()
        page.fill("#token", "vs_not-a-token")
        with page.expect_navigation() as nav:
            page.click("button[type=submit]")
        assert nav.value.status == 401
        assert "not valid" in page.locator("#login-error").inner_text()
        assert SESSION_COOKIE not in {c["name"] for c in context.cookies()}
    finally:
        context.close()


@needs_browser
def test_browser_upload_runs_a_job_to_done(session: dict[str, Any]) -> None:
    page, base = session["page"], session["base"]
    if page.url != f"{base}/jobs":
        page.goto(f"{base}/jobs")
    page.set_input_files("#upload-file", str(DEMO))
    started = time.monotonic()
    page.click("#upload-button")
    row = page.locator("tr[data-job-id]").first
    row.wait_for()
    job_id = row.get_attribute("data-job-id")
    assert job_id
    assert page.locator("#upload-label").inner_text() == "uploaded"
    done = page.locator(f'tr[data-job-id="{job_id}"][data-state="done"]')
    done.wait_for(timeout=120_000)
    link = done.locator("a", has_text="Open").get_attribute("href")
    assert link and link.startswith("/videos/")
    session["video_url"] = link
    session["analysis_id"] = link.rsplit("/", 1)[-1]
    print(f"job {job_id} done in {time.monotonic() - started:.1f} s")


_GRAB = """async (t) => {
  const video = document.querySelector('video');
  if (t !== null) {
    await new Promise((done) => {
      video.addEventListener('seeked', done, { once: true });
      video.currentTime = t;
    });
  }
  const canvas = document.createElement('canvas');
  canvas.width = 64;
  canvas.height = 36;
  const g = canvas.getContext('2d', { willReadFrequently: true });
  g.drawImage(video, 0, 0, 64, 36);
  return Array.from(g.getImageData(0, 0, 64, 36).data);
}"""
"""Seek to ``t`` (``None``: stay), then the frame on screen as 64×36 RGBA values."""


def _difference(a: list[int], b: list[int]) -> float:
    """Mean absolute difference of two RGBA pictures, colour channels only."""
    channels = [(x, y) for i, (x, y) in enumerate(zip(a, b, strict=True)) if i % 4 != 3]
    return sum(abs(x - y) for x, y in channels) / len(channels)


@needs_browser
def test_browser_click_a_shot_seeks_to_its_first_frame(session: dict[str, Any]) -> None:
    if "video_url" not in session:
        pytest.skip("the upload test did not produce an analysis")
    page, base = session["page"], session["base"]
    page.goto(base + session["video_url"])
    assert page.locator("video").count() == 1
    data = json.loads(page.locator("#analysis-data").text_content())
    fps = data["video"]["fps"]
    assert fps > 0 and len(data["shots"]) >= 3
    page.wait_for_function("() => document.querySelector('video').readyState >= 1",
                           timeout=30_000)

    shot = page.locator("[data-shot-index]").nth(2)
    index = int(shot.get_attribute("data-shot-index"))
    start = float(shot.get_attribute("data-start-time"))
    assert start == data["shots"][index]["start_time"]  # full precision, plain decimal
    page.evaluate("""() => { window.__seeked = 0; document.querySelector('video')
        .addEventListener('seeked', () => { window.__seeked += 1; }); }""")
    shot.click()
    page.wait_for_function("() => window.__seeked > 0")
    now = page.evaluate("document.querySelector('video').currentTime")
    assert abs(now - start) < 1 / fps, (now, start, fps)
    current = page.locator("[data-shot-index].current")
    assert current.count() == 1
    assert current.get_attribute("data-shot-index") == str(index)
    assert current.get_attribute("aria-current") == "true"

    # The frame on screen is the shot's first: across the cut into it, the picture changes
    # far more than from its first frame to its second.
    transition = data["shots"][index]["transition_in"] or {}
    if transition.get("type") == "cut":
        first = page.evaluate(_GRAB, None)
        before = page.evaluate(_GRAB, start - 0.5 / fps)
        second = page.evaluate(_GRAB, start + 1.5 / fps)
        across, within = _difference(before, first), _difference(first, second)
        print(f"frame difference across the cut {across:.1f}, within the shot {within:.1f}")
        assert across > 3 * within, (across, within)

    # Seeking by other means (the player's own controls) moves the highlight too.
    later = data["shots"][index + 1]
    page.evaluate(_GRAB, (later["start_time"] + later["end_time"]) / 2)
    # (Functions, not expressions, in wait_for_function: an expression is eval'ed in the page,
    # which its Content-Security-Policy forbids.)
    page.wait_for_function(
        "i => document.querySelector('[data-shot-index].current').dataset.shotIndex === i",
        arg=str(later["index"]))

    scene = page.locator("[data-scene-index].current")
    assert scene.count() == 1
    page.locator("#shot-chart").wait_for()  # the attribute charts drew
    assert page.evaluate("Chart.getChart('shot-chart').data.labels.length") == len(data["shots"])
    screenshot = os.environ.get("VIDSCENE_UI_SCREENSHOT")
    if screenshot:
        seeks = page.evaluate("window.__seeked")
        shot.click()
        page.wait_for_function("n => window.__seeked > n && "
                               "document.querySelector('video').readyState >= 2", arg=seeks)
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_timeout(800)  # the player's loading spinner fades out
        page.screenshot(path=screenshot)


@needs_browser
def test_browser_library_filters(session: dict[str, Any]) -> None:
    if "analysis_id" not in session:
        pytest.skip("the upload test did not produce an analysis")
    page, base, aid = session["page"], session["base"], session["analysis_id"]
    page.goto(f"{base}/")
    card = page.locator(f'[data-analysis-id="{aid}"]')
    assert card.count() == 1 and "demo" in card.inner_text()
    page.locator("#stats-charts").wait_for()  # /v1/stats arrived and drew
    assert page.locator('[data-stat="videos"]').inner_text() == "1"

    def search(text: str = "", q: str = "") -> None:
        page.fill("#filter-text", text)
        page.fill("#filter-q", q)
        with page.expect_navigation():
            page.click("form.filters button[type=submit]")

    search(text="demo")
    assert page.locator("[data-analysis-id]").count() == 1
    search(text="no-such-video-anywhere")
    assert page.locator("[data-analysis-id]").count() == 0
    assert page.locator("#library-empty").is_visible()
    search(q="shot_count > 1000")
    assert page.locator("[data-analysis-id]").count() == 0
    search(q="shot_count >")
    error = page.locator("#filter-error")
    assert error.is_visible() and "cannot read the query" in error.inner_text()
    search(text="DEMO", q="shot_count > 1 and duration < 600")
    assert page.locator(f'[data-analysis-id="{aid}"]').count() == 1


@needs_browser
def test_browser_live_page_follows_a_stream_as_it_plays(session: dict[str, Any]) -> None:
    page, base = session["page"], session["base"]
    source = session["media"] / "live.mp4"
    shutil.copyfile(DEMO, source)  # read as a file still being written: the whole demo
    page.goto(f"{base}/streams")
    page.fill("#stream-source", str(source))
    with page.expect_navigation():
        page.click("#stream-form button[type=submit]")
    assert "/streams/" in page.url
    page.locator('[data-stream-state]', has_text="ended").wait_for(timeout=120_000)
    transitions = page.locator('tr[data-event="transition"]')
    truth = json.loads((DEMO.parent / "demo.truth.json").read_text())
    assert transitions.count() >= len(truth["transitions"]) - 2
    assert page.locator('tr[data-event="shot"]').count() == transitions.count() + 1
    assert page.locator('tr[data-event="segment"]').count() == 1
    assert page.locator('[data-count="transition"]').inner_text() == str(transitions.count())
    page.goto(f"{base}/streams")
    assert page.locator("tr[data-stream-row][data-state=ended]").count() == 1


@needs_browser
def test_browser_no_console_errors_and_nothing_leaves_the_host(session: dict[str, Any]) -> None:
    recorder = session["recorder"]
    assert len(recorder.urls) > 10  # the tests above did load pages, scripts, images, media
    assert recorder.errors == []
    # data: URIs (the inline icon) are no request to anyone; everything else is this server.
    outside = [u for u in recorder.urls
               if not u.startswith("data:") and urlsplit(u).netloc != session["host"]]
    assert outside == []
