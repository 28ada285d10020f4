"""HTTP service: ``vidscene serve`` read latencies on a 1,000-analysis library, and the numbers
of the load test (concurrent clients submitting and polling jobs).

    python bench/serve.py            # ~2 min; rewrites the "HTTP service" section of BENCHMARKS.md
    python bench/serve.py --quick    # 100 analyses, 50 requests a route, 5 s of load; no write

(a) The demo is analysed once in this process; its result is saved 1,000 times into a fresh
SQLite store with distinct sha256s and paths (plus a done job record for each, as if they had
been submitted), then a real ``vidscene serve`` process (``tests/serving.py``) serves that
store on 127.0.0.1 and one keep-alive client times each route, sequentially: the first
request after start (``/v1/stats``'s first one computes the corpus statistics; later ones are
cached), then ``--requests`` more; median and p95 of those. (b) ``tests/test_server_load.py``'s
driver against a second server (``--max-queue 1000``) on 16 tiny clips: N client threads submit
(plain, idempotency-key retries, shared keys) and poll for ``--load-seconds``; afterwards every
job must be done, none lost or run twice, one analysis per clip.

Everything listens on and talks to 127.0.0.1 only; servers are stopped by their PIDs.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import _report

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from serving import Server, make_token  # noqa: E402
from test_server_load import (  # noqa: E402
    CHECKS,
    all_analyses,
    check_load,
    make_clips,
    run_load,
    wait_all_final,
)

SECTION = "HTTP service"
DEMO = REPO / "examples" / "demo.mp4"
TARGETS_MS = {"analysis": 20.0, "library": 300.0}
"""p95 targets: one analysis's JSON, and the library page (server-rendered)."""


def log(message: str) -> None:
    print(f"[serve {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def fill_store(db: Path, count: int) -> dict[str, Any]:
    """``count`` copies of the demo's analysis (distinct sha256 and path each) and a done job
    record per copy; returns what the section states about the library."""
    from vidscene.analysis import AnalysisResult
    from vidscene.pipeline import AnalyzeSettings, analyze
    from vidscene.store import new_job, open_store, settings_key
    from vidscene.store._base import utc_now

    t0 = time.perf_counter()
    settings = AnalyzeSettings()
    demo = analyze(DEMO, settings)
    analyse_s = time.perf_counter() - t0
    skey = settings_key(settings.to_dict())  # what the server's jobs would look it up by
    saves = []
    with open_store(str(db)) as store:
        for i in range(count):
            sha = f"{i:064x}"
            video = replace(demo.analysis.video, sha256=sha, path=f"/archive/demo-{i:04d}.mp4")
            copy = AnalysisResult(replace(demo.analysis, video=video), dict(demo.thumbnails))
            t1 = time.perf_counter()
            analysis_id = store.save(copy, skey)
            saves.append(time.perf_counter() - t1)
            job = new_job(video.path, f"{sha}:{skey}", settings.to_dict(), "local")
            store.jobs.add(replace(job, state="done", analysis_id=analysis_id, owner="",
                                   finished=utc_now(), frames_total=video.frame_count,
                                   frames_done=video.frame_count,
                                   seconds_total=round(video.duration, 3),
                                   seconds_done=round(video.duration, 3),
                                   source={"via": "api", "upload": False, "path": video.path,
                                           "name": Path(video.path).name}))
        ids = [s.id for s in store.list()]
    return {"analyses": count, "ids": ids, "shots": len(demo.analysis.shots),
            "scenes": len(demo.analysis.scenes), "keyframes": len(demo.thumbnails),
            "analyse_demo_s": round(analyse_s, 1),
            "save_ms": round(statistics.median(saves) * 1000, 2),
            "db_mib": round(db.stat().st_size / 2**20, 1)}


def ui_ready(server: Server, token: str) -> bool:
    with server.client(token) as client:
        r = client.get("/")
    return r.status_code == 200 and r.headers.get("content-type", "").startswith("text/html")


def serve_until_ui(db: Path, token: str, wait_s: float) -> Server:
    """A started server whose library page answers 200 with a Bearer token. The UI may still
    be being written when this runs: restart every minute (new code needs a new process)
    until it answers, or ``wait_s`` has passed."""
    deadline = time.monotonic() + wait_s
    while True:
        server = Server(db).start()
        if ui_ready(server, token):
            return server
        server.stop()
        if time.monotonic() > deadline:
            raise SystemExit("GET / with a Bearer token never answered 200: no library page")
        log("GET / is not a 200 page yet; trying again in 60 s")
        time.sleep(60)


def part_reads(count: int, requests: int, wait_ui_s: float) -> dict[str, Any]:
    rng = random.Random(3)
    with tempfile.TemporaryDirectory(prefix="vs-serve-") as tmp:
        db = Path(tmp) / "library.sqlite"
        log(f"filling a store with {count} analyses")
        library = fill_store(db, count)
        ids = library.pop("ids")
        token = make_token(db, "bench", "read")
        # The UI check needs a first GET / on a server that is then thrown away, so the
        # "first" figures below come from a fresh process.
        serve_until_ui(db, token, wait_ui_s).stop()
        routes: list[tuple[str, str, Any]] = [
            ("stats", "GET /v1/stats", lambda: "/v1/stats"),
            ("analysis", "GET /v1/analyses/{id} (random ids)",
             lambda: f"/v1/analyses/{rng.choice(ids)}"),
            ("library", "GET / (library page, Bearer token)", lambda: "/"),
            ("list", "GET /v1/analyses?limit=50", lambda: "/v1/analyses?limit=50"),
            ("jobs", f"GET /v1/jobs ({count:,} jobs, first 50)", lambda: "/v1/jobs"),
            ("search", "GET /v1/search?q=motion > 0.05&level=shots (100 rows)",
             lambda: "/v1/search?q=motion%20%3E%200.05&level=shots"),
            ("health", "GET /healthz", lambda: "/healthz"),
        ]
        results: dict[str, Any] = {"library": library, "requests": requests, "routes": {}}
        with Server(db) as server, server.client(token) as client:
            # The first request of each route, stats first (its cache starts empty).
            for key, label, url in routes:
                t0 = time.perf_counter()
                r = client.get(url())
                first = time.perf_counter() - t0
                assert r.status_code == 200, (label, r.status_code, r.text[:300])
                results["routes"][key] = {"label": label, "first_ms": first * 1000}
            for key, label, url in routes:
                times = []
                for _ in range(requests):
                    t0 = time.perf_counter()
                    r = client.get(url())
                    times.append(time.perf_counter() - t0)
                    assert r.status_code == 200, (label, r.status_code, r.text[:300])
                row = results["routes"][key]
                row |= {"n": len(times), "p50_ms": statistics.median(times) * 1000,
                        "p95_ms": percentile(times, 95) * 1000,
                        "max_ms": max(times) * 1000, "bytes": len(r.content)}
                log(f"{label}: first {row['first_ms']:.1f} ms, p50 {row['p50_ms']:.1f} ms, "
                    f"p95 {row['p95_ms']:.1f} ms")
    return results


def part_load(clients: int, seconds: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vs-load-") as tmp:
        media = Path(tmp) / "media"
        clips = make_clips(media)
        db = Path(tmp) / "load.sqlite"
        token = make_token(db, "load", "submit")
        with Server(db, media, "--max-queue", "1000") as server:
            log(f"load: {clients} clients for {seconds:.0f} s")
            result = run_load(server.url, token, clips, clients=clients, duration_s=seconds)
            t0 = time.monotonic()
            with server.client(token) as client:
                jobs = wait_all_final(client)
                analyses = all_analyses(client)
            drain_s = time.monotonic() - t0
    report = check_load(result, jobs, analyses)
    reads = result.reads_s
    failed = {k: report[k] for k in CHECKS if report[k]}
    out = {"clients": clients, "seconds": seconds, "wall_s": round(result.seconds, 1),
           "clips": len(clips),
           "submissions": report["submissions"], "accepted": report["accepted"],
           "submissions_per_s": round(report["submissions_per_s"], 1),
           "distinct_jobs": report["distinct_jobs"], "retries": len(result.retries),
           "shared_keys": len(result.shared), "reads": len(reads),
           "read_p50_ms": round(statistics.median(reads) * 1000, 1),
           "read_p95_ms": round(percentile(reads, 95) * 1000, 1),
           "lost": len(report["lost"]), "run_twice": len(report["run_twice"]),
           "not_done": len(report["not_done"]), "statuses": dict(result.statuses),
           "drain_s": round(drain_s, 1), "problems": {k: str(v)[:300] for k, v in failed.items()}}
    log(f"load: {out['submissions_per_s']} submissions/s, reads p50 {out['read_p50_ms']} ms, "
        f"p95 {out['read_p95_ms']} ms, problems: {failed or 'none'}")
    return out


def render(info: dict[str, Any], results: dict[str, Any]) -> str:
    reads, load = results["reads"], results["load"]
    lib = reads["library"]
    rows = []
    for key, r in reads["routes"].items():
        target = TARGETS_MS.get(key)
        rows.append([r["label"], f"{r['first_ms']:.1f} ms", f"{r['p50_ms']:.1f} ms",
                     f"{r['p95_ms']:.1f} ms", f"{r['max_ms']:.1f} ms", f"{r['bytes']:,}",
                     f"≤ {target:.0f} ms: {'met' if r['p95_ms'] <= target else 'missed'}"
                     if target else ""])
    parts = [_report.provenance_md(info), "",
             f"### Reads on a library of {lib['analyses']:,} analyses ({reads['requests']} "
             "requests a route)", "",
             f"The demo's analysis ({lib['shots']} shots, {lib['scenes']} scenes, "
             f"{lib['keyframes']} keyframe JPEGs) saved {lib['analyses']:,} times under distinct "
             f"sha256s and paths, with a done job record each (SQLite, {lib['db_mib']} MiB); "
             "one `vidscene serve` process (local executor, idle), one keep-alive client on "
             "loopback, requests one after another. *First* is the first request of the route "
             "after the server started (`/v1/stats` first: it computes the corpus statistics "
             "then, and serves them from its cache until the store changes); median and p95 "
             "are over the requests after it.", "",
             _report.table(["request", "first", "median", "p95", "max", "bytes", "target (p95)"],
                           rows), ""]
    a, ui = reads["routes"]["analysis"], reads["routes"]["library"]
    parts += [f"- One analysis's JSON, p95 **{a['p95_ms']:.1f} ms** (target ≤ 20 ms: "
              f"{'met' if a['p95_ms'] <= 20 else 'missed'}); the library page, p95 "
              f"**{ui['p95_ms']:.1f} ms** (target ≤ 300 ms: "
              f"{'met' if ui['p95_ms'] <= 300 else 'missed'}).", ""]
    statuses = ", ".join(f"{k}: {v:,}" for k, v in sorted(load["statuses"].items()))
    ok = not load["problems"]
    parts += [f"### Concurrent clients ({load['clients']} threads, {load['seconds']:.0f} s)", "",
              f"`tests/test_server_load.py`'s driver against `vidscene serve --max-queue 1000` "
              f"with {load['clips']} distinct 1 s 160×90 clips in its media root: each client "
              "(its own keep-alive connection) submits a random clip by path — plain (80 %), "
              "twice with the same `Idempotency-Key` (15 %), or with a key every client sends "
              "once (5 %) — then reads one of the jobs seen so far, in a loop. The analyses run "
              "in the same process meanwhile, on the same two cores.", "",
              _report.table(["", "value"], [
                  ["submissions (POST /v1/jobs)", f"{load['submissions']:,} "
                   f"({load['submissions_per_s']:.1f}/s over {load['wall_s']:.1f} s)"],
                  ["jobs they map to (distinct ids)", f"{load['distinct_jobs']:,}"],
                  ["idempotency-key retries / shared keys", f"{load['retries']} / "
                   f"{load['shared_keys']}"],
                  ["reads (GET /v1/jobs/{id})", f"{load['reads']:,}"],
                  ["read latency, median / p95", f"{load['read_p50_ms']:.1f} ms / "
                   f"{load['read_p95_ms']:.1f} ms"],
                  ["answers by status", statuses],
                  ["jobs lost / clips analysed twice / jobs not done", f"{load['lost']} / "
                   f"{load['run_twice']} / {load['not_done']}"],
                  ["time for the last jobs to finish after the clients stopped",
                   f"{load['drain_s']:.1f} s"],
              ]), "",
              "- Every check of the load test held (no job lost or duplicated, one analysis per "
              "clip, idempotent retries answered with the same job)." if ok else
              f"- **Checks failed**: {load['problems']}", ""]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--analyses", type=int, default=1000)
    p.add_argument("--requests", type=int, default=300, help="timed requests per route")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--load-seconds", type=float, default=15.0)
    p.add_argument("--wait-ui", type=float, default=2400.0,
                   help="seconds to wait for the library page to exist")
    p.add_argument("--quick", action="store_true", help="small sizes, no BENCHMARKS.md update")
    p.add_argument("--out", type=Path, default=_report.OUT_DIR / "serve.json")
    args = p.parse_args(argv)
    if args.quick:
        args.analyses, args.requests, args.load_seconds = 100, 50, 5.0
    info = {"date": _report.now(), "command": _report.command(), "machine": _report.machine(),
            "versions": _report.versions(["fastapi", "starlette", "uvicorn", "httpx"])}
    results = {"reads": part_reads(args.analyses, args.requests, args.wait_ui),
               "load": part_load(args.clients, args.load_seconds)}
    _report.publish(SECTION, args.out, {"info": info, "results": results},
                    render(info, results), not args.quick, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
