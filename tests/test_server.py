"""``vidscene serve`` over real HTTP: a real uvicorn process per test module, real uploads,
real analyses, real tokens. Covers the job API, the library routes, security (tokens on every
route, media roots, bad uploads, queue limits), webhooks, and a server killed mid-job."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from serving import Server, make_token, vidscene, wait_final

pytest.importorskip("fastapi")

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "examples" / "demo.mp4"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One server for the module's read-mostly tests: media root with the demo, tokens."""
    root = tmp_path_factory.mktemp("serve")
    media = root / "media"
    (media / "sub").mkdir(parents=True)
    shutil.copy(DEMO, media / "sub" / "demo.mp4")
    (root / "secret.txt").write_text("not for the API")
    (media / "escape.mp4").symlink_to(root / "secret.txt")
    db = root / "db.sqlite"
    tokens = {scope: make_token(db, scope, scope) for scope in ("read", "submit", "admin")}
    with Server(db, media, "--max-upload-mb", "3", "--webhook-secret", "s3cret") as server:
        yield {"server": server, "tokens": tokens, "db": db, "media": media, "root": root}


def _uploads(db: Path) -> list[Path]:
    area = db.parent / f"{db.stem}-data" / "uploads"
    return sorted(p for p in area.rglob("*") if p.is_file()) if area.exists() else []


def _job_rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])


# -- the job API end to end --------------------------------------------------------------------


def test_upload_runs_a_job_whose_analysis_equals_the_cli(served: dict[str, Any],
                                                          tmp_path: Path) -> None:
    server, token = served["server"], served["tokens"]["submit"]
    with server.client(token) as c:
        with DEMO.open("rb") as f:
            r = c.post("/v1/jobs", files={"file": ("demo.mp4", f, "video/mp4")})
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["state"] in ("queued", "running") and job["analysis_id"] is None
        assert job["name"] == "demo.mp4" and job["upload"] is True
        final = wait_final(c, job["id"])
        assert final["state"] == "done", final
        assert final["progress"]["fraction"] == 1.0 and final["attempts"] == 1
        served["analysis_id"] = final["analysis_id"]
        got = c.get(f"/v1/analyses/{final['analysis_id']}").json()
    vidscene("analyze", str(DEMO), "--db", str(tmp_path / "cli.db"), "--json",
             str(tmp_path / "cli.json"), "--quiet")
    cli = json.loads((tmp_path / "cli.json").read_text())
    assert got["shots"] == cli["shots"]
    assert got["scenes"] == cli["scenes"]
    assert got["attributes"] == cli["attributes"]
    assert got["video"]["sha256"] == cli["video"]["sha256"]


def test_same_content_again_is_reused_and_leaves_no_second_file(served: dict[str, Any]) -> None:
    server, token, db = served["server"], served["tokens"]["submit"], served["db"]
    analysis_id = _analysis_id(served)
    before = _uploads(db)
    with server.client(token) as c:
        by_path = c.post("/v1/jobs", json={"path": "sub/demo.mp4"})
        assert by_path.status_code == 202, by_path.text
        job = by_path.json()
        assert job["state"] == "done" and job["reused"] is True
        assert job["analysis_id"] == analysis_id and job["path"] == "sub/demo.mp4"
        with DEMO.open("rb") as f:
            again = c.post("/v1/jobs", files={"file": ("copy.mp4", f, "video/mp4")}).json()
        assert again["reused"] is True and again["analysis_id"] == analysis_id
    assert _uploads(db) == before  # the duplicate upload was removed


def test_idempotency_key_returns_the_same_job(served: dict[str, Any]) -> None:
    server, token = served["server"], served["tokens"]["submit"]
    _analysis_id(served)
    with server.client(token) as c:
        headers = {"Idempotency-Key": "order-7"}
        first = c.post("/v1/jobs", json={"path": "sub/demo.mp4"}, headers=headers).json()
        second = c.post("/v1/jobs", json={"path": "sub/demo.mp4"}, headers=headers).json()
        other = c.post("/v1/jobs", json={"path": "sub/demo.mp4"},
                       headers={"Idempotency-Key": "order-8"}).json()
    assert first["id"] == second["id"]
    assert other["id"] != first["id"]


def test_library_routes(served: dict[str, Any]) -> None:
    server, token = served["server"], served["tokens"]["read"]
    analysis_id = _analysis_id(served)
    with server.client(token) as c:
        page = c.get("/v1/analyses", params={"limit": 10}).json()
        assert analysis_id in [i["id"] for i in page["items"]] and page["total"] >= 1
        filtered = c.get("/v1/analyses", params={"q": "shot_count > 1000"}).json()
        assert filtered["items"] == [] and filtered["total"] == 0
        hit = c.get("/v1/analyses", params={"q": "path ~ demo and duration > 40"}).json()
        assert [i["id"] for i in hit["items"]] == [analysis_id]
        bad = c.get("/v1/analyses", params={"q": "durr > 1"})
        assert bad.status_code == 422 and "durr" in bad.json()["error"]["message"]
        analysis = c.get(f"/v1/analyses/{analysis_id}").json()
        # Whole ids only over HTTP (a prefix names whichever record happens to match).
        assert c.get(f"/v1/analyses/{analysis_id[:8]}").status_code == 404
        frame = analysis["shots"][0]["keyframes"][0]
        jpeg = c.get(f"/v1/analyses/{analysis_id}/keyframes/{frame}.jpg")
        assert jpeg.status_code == 200 and jpeg.content[:2] == b"\xff\xd8"
        assert c.get(f"/v1/analyses/{analysis_id}/keyframes/999999.jpg").status_code == 404
        assert c.get(f"/v1/analyses/{analysis_id}/thumbnail.jpg").content[:2] == b"\xff\xd8"
        for fmt, marker in (("json", b'"shots"'), ("csv", b"shot_index"), ("edl", b"TITLE"),
                            ("webvtt", b"WEBVTT"), ("html", b"<html")):
            r = c.get(f"/v1/analyses/{analysis_id}/export/{fmt}")
            assert r.status_code == 200 and marker in r.content[:4000], fmt
            assert "attachment" in r.headers["content-disposition"]
        assert c.get(f"/v1/analyses/{analysis_id}/export/docx").status_code == 404
        whole = c.get(f"/v1/analyses/{analysis_id}/video")
        assert whole.status_code == 200 and whole.content == DEMO.read_bytes()
        part = c.get(f"/v1/analyses/{analysis_id}/video", headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == DEMO.read_bytes()[100:200]
        shots = c.get("/v1/search", params={"q": "duration > 2", "level": "shots"}).json()
        assert shots["items"] and all(s["duration"] > 2 for s in shots["items"])
        scenes = c.get("/v1/search", params={"q": "", "level": "scenes"}).json()
        assert len([s for s in scenes["items"] if s["analysis_id"] == analysis_id]) == \
            len(analysis["scenes"])
        page = c.get(f"/videos/{analysis_id}").text
        assert page.count("data-palette-colour") == len(analysis["attributes"]["palette"])
        assert page.count("data-cue=") == len(analysis["cues"]) + len(analysis["speech"])
        stats = c.get("/v1/stats").json()
        assert stats["videos"] >= 1 and stats["shots"] >= len(analysis["shots"])
        assert sum(stats["shot_lengths"]["counts"]) == stats["shots"]
        models = c.get("/v1/models").json()
        assert {"shot-transformer-v1", "scene-transformer-v1", "scene-transformer-v3"} <= {
            m["name"] for m in models}
        metrics = c.get("/metrics").text
        assert re.search(r'vidscene_jobs\{state="done"\} [1-9]', metrics)
        assert "vidscene_queue_depth" in metrics
        assert 'vidscene_http_request_duration_seconds_count{method="GET",route=' in metrics
        assert "vidscene_analysis_video_seconds_total 47.9" in metrics


def test_job_events_stream_ends_with_the_final_state(served: dict[str, Any]) -> None:
    server, token = served["server"], served["tokens"]["submit"]
    with server.client(token) as c:
        with DEMO.open("rb") as f:
            data = f.read()
        # Different bytes (a trailing byte the demuxer ignores) make a new job to watch.
        job = c.post("/v1/jobs", files={"file": ("tail.mp4", data + b"\0", "video/mp4")}).json()
        events: list[tuple[str, dict[str, Any]]] = []
        with c.stream("GET", f"/v1/jobs/{job['id']}/events", timeout=120) as stream:
            kind = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    events.append((kind, json.loads(line[6:])))
    assert events[-1][0] == "final" and events[-1][1]["state"] == "done"
    assert all(k == "progress" for k, _ in events[:-1])
    assert [e["state"] for _, e in events[:-1]] == sorted(
        (e["state"] for _, e in events[:-1]), key=["queued", "running"].index)


def test_cancel_then_retry(served: dict[str, Any]) -> None:
    server, token = served["server"], served["tokens"]["submit"]
    with server.client(token) as c:
        data = DEMO.read_bytes() + b"\0\0"
        job = c.post("/v1/jobs", files={"file": ("c.mp4", data, "video/mp4")}).json()
        cancelled = c.delete(f"/v1/jobs/{job['id']}")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        again = c.delete(f"/v1/jobs/{job['id']}")
        assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
        assert wait_final(c, job["id"])["state"] == "cancelled"
        retried = c.post(f"/v1/jobs/{job['id']}/retry")
        assert retried.status_code == 202 and retried.json()["id"] == job["id"]
        final = wait_final(c, job["id"])
        assert final["state"] == "done" and final["analysis_id"]
        listed = c.get("/v1/jobs", params={"state": "done", "limit": 500}).json()
        assert job["id"] in [j["id"] for j in listed["items"]]
        assert c.get("/v1/jobs", params={"state": "nonsense"}).status_code == 422


def test_webhook_is_signed(served: dict[str, Any]) -> None:
    received: list[tuple[dict[str, str], bytes]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    hook = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=hook.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{hook.server_address[1]}/done"
        server, token = served["server"], served["tokens"]["submit"]
        with server.client(token) as c:
            data = DEMO.read_bytes() + b"\0\0\0"
            job = c.post("/v1/jobs", files={"file": ("w.mp4", data, "video/mp4")},
                         data={"callback_url": url}).json()
            assert job["callback_url"] == url
            wait_final(c, job["id"])
        deadline = time.monotonic() + 20
        while not received and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        hook.shutdown()
    headers, body = received[0]
    stamp = headers["X-Vidscene-Timestamp"]
    expected = hmac.new(b"s3cret", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Vidscene-Signature"] == f"sha256={expected}"
    payload = json.loads(body)
    assert payload["event"] == "job.finished" and payload["job"]["id"] == job["id"]
    assert payload["job"]["state"] == "done"


# -- security -----------------------------------------------------------------------------------


def test_every_route_needs_a_token(served: dict[str, Any]) -> None:
    """Walks the OpenAPI document, so a new route that forgets its token fails here."""
    server = served["server"]
    with server.client() as anonymous:
        spec = anonymous.get("/v1/openapi.json")
        assert spec.status_code == 401  # the API's description is behind the token too
        with server.client(served["tokens"]["read"]) as c:
            spec = c.get("/v1/openapi.json").json()
        checked = 0
        for path, operations in spec["paths"].items():
            for method in operations:
                url = re.sub(r"\{[^}]+\}", "1", path)
                for headers in ({}, {"Authorization": "Bearer vs_wrong"},
                                {"Cookie": "vidscene_session=forged"}):
                    r = anonymous.request(method.upper(), url, headers=headers)
                    if path == "/healthz":
                        assert r.status_code == 200
                        continue
                    assert r.status_code == 401, (method, path, r.status_code)
                    assert r.json()["error"]["code"] == "unauthorized"
                    checked += 1
        assert checked >= 3 * 15
        for page in ("/", "/jobs", "/videos/abc", "/static/app.css"):
            assert anonymous.get(page).status_code == 401, page
        assert anonymous.get("/login").status_code == 200


def test_scopes_and_revocation(served: dict[str, Any]) -> None:
    server, db = served["server"], served["db"]
    with server.client(served["tokens"]["read"]) as reader:
        r = reader.post("/v1/jobs", json={"path": "sub/demo.mp4"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        assert reader.get("/v1/jobs").status_code == 200
    doomed = make_token(db, "doomed", "read")
    default = vidscene("tokens", "create", "default", "--db", str(db)).stdout.splitlines()[-1]
    with server.client(default) as c:  # the default scope may submit: what a token is for
        assert c.post("/v1/jobs", json={"path": "sub/demo.mp4"}).status_code == 202
    with server.client(doomed) as c:
        assert c.get("/v1/jobs").status_code == 200
        vidscene("tokens", "revoke", "doomed", "--db", str(db))
        assert c.get("/v1/jobs").status_code == 401
    listed = vidscene("tokens", "list", "--json", "--db", str(db)).stdout
    assert doomed not in listed and doomed[:7] in listed  # only a hint is shown
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key, json FROM records WHERE kind = 'tokens'").fetchall()
    assert all(doomed not in key and doomed not in text for key, text in rows)
    assert hashlib.sha256(doomed.encode()).hexdigest() in {key for key, _ in rows}


def test_session_cookie_from_login(served: dict[str, Any]) -> None:
    server = served["server"]
    with server.client() as browser:
        r = browser.post("/login", data={"token": served["tokens"]["read"], "next": "/jobs"},
                         follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/jobs"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert browser.get("/v1/jobs").status_code == 200
        assert browser.get("/jobs").status_code == 200
        bad = browser.post("/login", data={"token": "vs_nope"}, follow_redirects=False)
        assert bad.status_code == 401


@pytest.mark.parametrize("given", ["../secret.txt", "sub/../../secret.txt", "/etc/passwd",
                                   "escape.mp4", "sub/%2e%2e/x"])
def test_paths_outside_the_media_roots_are_refused(served: dict[str, Any], given: str) -> None:
    server, token, db = served["server"], served["tokens"]["submit"], served["db"]
    rows = _job_rows(db)
    with server.client(token) as c:
        r = c.post("/v1/jobs", json={"path": given})
    assert r.status_code in (403, 404), r.text
    assert r.json()["error"]["code"] in ("path_refused", "not_found")
    assert "\n" not in r.json()["error"]["message"]
    assert _job_rows(db) == rows


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _raw_post(port: int, token: str, head_extra: bytes, body: bytes, close_early: bool) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                  + token.encode() + b"\r\n" + head_extra + b"\r\n" + body)
        if close_early:
            s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


def test_bad_uploads_leave_nothing_behind(served: dict[str, Any], tmp_path: Path) -> None:
    server, token, db = served["server"], served["tokens"]["submit"], served["db"]
    _analysis_id(served)  # the first upload is kept: compare against the state after it
    rows, files = _job_rows(db), _uploads(db)
    big = tmp_path / "big.mp4"
    big.write_bytes(DEMO.read_bytes() * 2)  # over the server's 3 MB limit
    cases = {
        "empty": (b"", 422, "empty"),
        "not a video": (b"hello, this is text\n" * 100, 422, "not a video file"),
        "truncated": (DEMO.read_bytes()[:400_000], 422, "truncated"),
        "a still image": (_png(), 422, "still image"),
    }
    with server.client(token) as c:
        for name, (data, status, reason) in cases.items():
            r = c.post("/v1/jobs", files={"file": ("x.mp4", data, "video/mp4")})
            assert r.status_code == status, (name, r.text)
            message = r.json()["error"]["message"]
            assert reason in message and "\n" not in message and "Traceback" not in message
            assert "/" not in message.split(":")[0], message  # no server path in the reason
        with big.open("rb") as f:
            r = c.post("/v1/jobs", files={"file": ("big.mp4", f, "video/mp4")})
        assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
        assert c.post("/v1/jobs", content=b"x", headers={"Content-Type": "text/plain"}
                      ).status_code == 415
        assert c.post("/v1/jobs", files={"other": ("x", b"1")}).status_code == 422
        sneaky = c.post("/v1/jobs", files={"file": ("../../up.mp4", DEMO.read_bytes(),
                                                    "video/mp4")})
        assert sneaky.status_code == 403 and "'..'" in sneaky.json()["error"]["message"]
    # Over the limit without a Content-Length (chunked): cut off while streaming.
    boundary = b"xyz"
    head = (b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.mp4\"\r\n"
            b"Content-Type: video/mp4\r\n\r\n")
    payload = head + DEMO.read_bytes() * 2 + b"\r\n--xyz--\r\n"
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 65536]), payload[i:i + 65536])
                       for i in range(0, len(payload), 65536)) + b"0\r\n\r\n"
    answer = _raw_post(server.port, token, b"Content-Type: multipart/form-data; boundary="
                       + boundary + b"\r\nTransfer-Encoding: chunked\r\n", chunked, False)
    assert b" 413 " in answer.split(b"\r\n", 1)[0]
    # A client that disconnects mid-upload.
    cut = head + DEMO.read_bytes()[:500_000]
    _raw_post(server.port, token, b"Content-Type: multipart/form-data; boundary=xyz\r\n"
              b"Content-Length: " + str(len(payload)).encode() + b"\r\n", cut, True)
    time.sleep(1.0)
    assert _job_rows(db) == rows
    assert _uploads(db) == files  # no .part file and no kept upload


def test_full_queue_answers_429(tmp_path: Path, synthetic_video: Any) -> None:
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(DEMO, media / "a.mp4")
    path, _ = synthetic_video("queue-b")
    shutil.copy(path, media / "b.mp4")
    db = tmp_path / "q.sqlite"
    token = make_token(db, "q", "submit")
    with Server(db, media, "--max-queue", "1") as server, server.client(token) as c:
        first = c.post("/v1/jobs", json={"path": "a.mp4"})
        assert first.status_code == 202
        second = c.post("/v1/jobs", json={"path": "b.mp4"})
        assert second.status_code == 429, second.text
        assert int(second.headers["Retry-After"]) > 0
        assert second.json()["error"]["code"] == "queue_full"
        wait_final(c, first.json()["id"])
        assert c.post("/v1/jobs", json={"path": "b.mp4"}).status_code == 202


def test_no_auth_is_refused_off_loopback(tmp_path: Path) -> None:
    r = vidscene("serve", "--host", "0.0.0.0", "--no-auth", "--db", str(tmp_path / "x.db"),
                 check=False)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "--no-auth is refused" in r.stderr
    assert "Traceback" not in r.stderr


def test_no_auth_on_loopback_needs_no_token(tmp_path: Path) -> None:
    with Server(tmp_path / "n.db", None, "--no-auth") as server, server.client() as c:
        assert c.get("/v1/jobs").status_code == 200
        r = c.post("/v1/jobs", json={"path": "x.mp4"})
        assert r.status_code == 422 and "media-root" in r.json()["error"]["message"]
        assert "access-control-allow-origin" not in c.options(
            "/v1/jobs", headers={"Origin": "http://evil.example",
                                 "Access-Control-Request-Method": "POST"}).headers


# -- crashes ------------------------------------------------------------------------------------


def test_server_killed_mid_job_then_restarted_finishes_it(tmp_path: Path) -> None:
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(DEMO, media / "demo.mp4")
    db = tmp_path / "k.sqlite"
    token = make_token(db, "k", "submit")
    server = Server(db, media).start()
    try:
        with server.client(token) as c:
            job = c.post("/v1/jobs", json={"path": "demo.mp4"}).json()
            deadline = time.monotonic() + 60
            while c.get(f"/v1/jobs/{job['id']}").json()["state"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        server.kill()
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM analyses").fetchone()[0] == 0
        server.start()
        with server.client(token) as c:
            final = wait_final(c, job["id"], timeout=180)
            assert final["state"] == "done", final
            assert final["attempts"] == 2  # the killed one, then the one that finished
            assert c.get("/v1/analyses").json()["total"] == 1
            assert c.get("/v1/jobs").json()["total"] == 1
    finally:
        server.stop()


def test_server_killed_mid_upload_leaves_no_partial_file(tmp_path: Path) -> None:
    db = tmp_path / "u.sqlite"
    token = make_token(db, "u", "submit")
    server = Server(db).start()
    try:
        head = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.mp4\"\r\n"
                b"Content-Type: video/mp4\r\n\r\n")
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        sock.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                     + token.encode() + b"\r\nContent-Type: multipart/form-data; boundary=b"
                     b"\r\nContent-Length: 9000000\r\n\r\n" + head + DEMO.read_bytes()[:1_000_000])
        incoming = db.parent / f"{db.stem}-data" / "uploads" / ".incoming"
        deadline = time.monotonic() + 20
        while not list(incoming.glob("*.part")):
            assert time.monotonic() < deadline, "the upload never reached the disk"
            time.sleep(0.05)
        server.kill()
        sock.close()
        assert list(incoming.glob("*.part"))  # what the crash left...
        server.start()
        assert not list(incoming.glob("*.part"))  # ...is gone when the next server starts
        with server.client(token) as c:
            assert c.get("/v1/jobs").json()["total"] == 0
    finally:
        server.stop()


def _analysis_id(served: dict[str, Any]) -> str:
    if "analysis_id" not in served:  # run alone: make the first analysis here
        with served["server"].client(served["tokens"]["submit"]) as c, DEMO.open("rb") as f:
            job = c.post("/v1/jobs", files={"file": ("demo.mp4", f, "video/mp4")}).json()
            served["analysis_id"] = wait_final(c, job["id"])["analysis_id"]
    return str(served["analysis_id"])


def test_ray_executor_behind_the_api(tmp_path: Path) -> None:
    """The same API on the Ray executor (a Ray instance the server starts for itself)."""
    from ray_cluster import RAY_ENV, loopback_only, ray_available

    if not ray_available() or not loopback_only():
        pytest.skip("needs Ray and a loopback-only network namespace (scripts/loopback.sh)")
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(DEMO, media / "demo.mp4")
    db = tmp_path / "r.sqlite"
    token = make_token(db, "r", "submit")
    with Server(db, media, "--executor", "ray", env=RAY_ENV) as server, \
            server.client(token) as c:
        job = c.post("/v1/jobs", json={"path": "demo.mp4"}).json()
        final = wait_final(c, job["id"], timeout=240)
        assert final["state"] == "done" and final["executor"] == "ray", final
        got = c.get(f"/v1/analyses/{final['analysis_id']}").json()
        streams = c.get("/metrics").text
    vidscene("analyze", str(DEMO), "--db", str(tmp_path / "cli.db"), "--json",
             str(tmp_path / "cli.json"), "--quiet")
    cli = json.loads((tmp_path / "cli.json").read_text())
    assert got["shots"] == cli["shots"] and got["scenes"] == cli["scenes"]
    assert 'vidscene_active_streams{stage="shots"}' in streams


def test_the_api_on_mongodb(tmp_path: Path, mongo_url: str) -> None:
    """Tokens, jobs and analyses of the service in MongoDB (a real SecantusDB server)."""
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(DEMO, media / "demo.mp4")
    token = make_token(mongo_url, "m", "submit")
    with Server(mongo_url, media, "--data-dir", str(tmp_path / "data"),
                log_dir=tmp_path) as server, server.client(token) as c:
        job = c.post("/v1/jobs", json={"path": "demo.mp4"}, headers={"Idempotency-Key": "k"})
        assert job.status_code == 202, job.text
        final = wait_final(c, job.json()["id"])
        assert final["state"] == "done"
        again = c.post("/v1/jobs", json={"path": "demo.mp4"}, headers={"Idempotency-Key": "k"})
        assert again.json()["id"] == final["id"]
        analysis = c.get(f"/v1/analyses/{final['analysis_id']}").json()
        assert len(analysis["shots"]) > 1
        assert c.get("/v1/analyses", params={"q": "duration > 40"}).json()["total"] == 1
    assert "m" in vidscene("tokens", "list", "--json", "--db", mongo_url).stdout
