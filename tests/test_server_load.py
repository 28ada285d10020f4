"""A bounded load test of ``vidscene serve`` on loopback: ``CLIENTS`` threads submit small
distinct clips by path (with duplicates, idempotency-key retries and keys shared between
clients) and poll their jobs for ``DURATION_S``; then every job must end ``done``, none lost,
none run twice, one analysis per clip.

The load driver (:func:`make_clips`, :func:`run_load`, :func:`check_load`) is also what
``bench/serve.py`` runs for the numbers in BENCHMARKS.md; the test prints the read latencies
and does not assert on them (the CI machine is shared).
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from serving import Server, make_token

pytest.importorskip("fastapi")

CLIENTS = 8
DURATION_S = 10.0
CLIPS = 16
FINAL_WAIT_S = 120.0
FINAL_STATES = frozenset({"done", "failed", "cancelled"})
SHARED_KEYS = 4
"""Idempotency keys every client sends once (the same job must come back to all of them)."""


def make_clips(folder: Path, count: int = CLIPS, seconds: float = 1.0, seed: int = 0
               ) -> list[str]:
    """``count`` tiny distinct clips (160×90, 25 fps, MPEG-4 Part 2: fast to encode and to
    decode) of random solid colours, one colour for 5–12 frames; names relative to
    ``folder``. Distinct colours mean distinct bytes, so each clip is its own job."""
    import av
    import numpy as np

    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        rng = np.random.default_rng(seed * 1000 + i)
        name = f"clip{i:02d}.mp4"
        with av.open(str(folder / name), "w") as container:
            stream = container.add_stream("mpeg4", rate=25)
            stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
            frames, colour, left = int(seconds * 25), None, 0
            for _ in range(frames):
                if left == 0:
                    colour, left = rng.integers(0, 256, 3, dtype=np.uint8), int(rng.integers(5, 13))
                left -= 1
                image = np.empty((90, 160, 3), np.uint8)
                image[:] = colour
                image[:, :8] = rng.integers(0, 256, (90, 8, 3), dtype=np.uint8)  # noise: unique
                for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        names.append(name)
    return names


@dataclass
class LoadResult:
    """Everything the clients saw, for :func:`check_load` and the benchmark."""

    submissions: list[dict[str, Any]] = field(default_factory=list)
    """One per POST: clip, status, job id, reused, Retry-After, the idempotency key."""
    retries: list[tuple[str, str, str]] = field(default_factory=list)
    """(key, first job id, retried job id) of each idempotency-key retry."""
    shared: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    """Shared idempotency key -> the job ids the clients got for it."""
    reads_s: list[float] = field(default_factory=list)
    """Latency of each GET /v1/jobs/{id}."""
    errors: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [s for s in self.submissions if s["status"] == 202]


def run_load(url: str, token: str, clips: list[str], *, clients: int = CLIENTS,
             duration_s: float = DURATION_S, seed: int = 1) -> LoadResult:
    """``clients`` threads, each with its own HTTP connection, for ``duration_s``: submit a
    random clip (a plain POST, a POST retried with the same Idempotency-Key, or a shared
    key), then poll one of the jobs seen so far; the mix is seeded per client."""
    result = LoadResult()
    lock = threading.Lock()
    known: list[str] = []
    start = threading.Barrier(clients)
    deadline = [0.0]

    def submit(client: httpx.Client, clip: str, key: str | None) -> dict[str, Any] | None:
        headers = {"Idempotency-Key": key} if key else {}
        try:
            r = client.post("/v1/jobs", json={"path": clip}, headers=headers)
        except httpx.HTTPError as e:
            with lock:
                result.errors.append(f"POST {clip}: {type(e).__name__}: {e}")
            return None
        row = {"clip": clip, "status": r.status_code, "key": key,
               "retry_after": r.headers.get("Retry-After")}
        if r.status_code == 202:
            body = r.json()
            row |= {"job": body["id"], "reused": body["reused"], "state": body["state"],
                    "path": body["path"]}
        elif r.status_code != 429:
            row["body"] = r.text[:300]
        with lock:
            result.submissions.append(row)
            result.statuses[r.status_code] += 1
            if "job" in row:
                known.append(row["job"])
        return row

    def work(index: int) -> None:
        rng = random.Random(seed * 100 + index)
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                          timeout=60.0) as client:
            start.wait()
            if index == 0:
                deadline[0] = time.monotonic() + duration_s
            while not deadline[0]:
                time.sleep(0.001)
            shared = list(range(SHARED_KEYS))
            n = 0
            while time.monotonic() < deadline[0]:
                n += 1
                clip = rng.choice(clips)
                roll = rng.random()
                if shared and roll < 0.05:
                    k = shared.pop(rng.randrange(len(shared)))
                    row = submit(client, clips[k % len(clips)], f"shared-{k}")
                    if row and "job" in row:
                        with lock:
                            result.shared[f"shared-{k}"].add(row["job"])
                elif roll < 0.2:
                    key = f"client{index}-{n}"
                    first = submit(client, clip, key)
                    again = submit(client, clip, key)  # a retry after a lost answer
                    if first and again and "job" in first and "job" in again:
                        with lock:
                            result.retries.append((key, first["job"], again["job"]))
                else:
                    submit(client, clip, None)
                with lock:
                    job_id = rng.choice(known) if known else None
                if job_id:
                    t0 = time.perf_counter()
                    try:
                        r = client.get(f"/v1/jobs/{job_id}")
                    except httpx.HTTPError as e:
                        with lock:
                            result.errors.append(f"GET job: {type(e).__name__}: {e}")
                        continue
                    took = time.perf_counter() - t0
                    with lock:
                        result.reads_s.append(took)
                        result.statuses[r.status_code] += 1
                        if r.status_code != 200 or r.json()["id"] != job_id:
                            result.errors.append(f"GET /v1/jobs/{job_id}: {r.status_code} "
                                                 f"{r.text[:200]}")

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration_s + 120)
    result.seconds = time.monotonic() - t0
    return result


def all_jobs(client: httpx.Client) -> list[dict[str, Any]]:
    """Every job the server lists, page by page."""
    jobs: list[dict[str, Any]] = []
    while True:
        page = client.get("/v1/jobs", params={"limit": 500, "offset": len(jobs)})
        page.raise_for_status()
        body = page.json()
        jobs += body["items"]
        if not body["items"] or len(jobs) >= body["total"]:
            return jobs


def wait_all_final(client: httpx.Client, timeout_s: float = FINAL_WAIT_S
                   ) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        jobs = all_jobs(client)
        if all(j["state"] in FINAL_STATES for j in jobs) or time.monotonic() > deadline:
            return jobs
        time.sleep(0.5)


def all_analyses(client: httpx.Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        body = client.get("/v1/analyses", params={"limit": 500, "offset": len(items)}).json()
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            return items


def check_load(result: LoadResult, jobs: list[dict[str, Any]],
               analyses: list[dict[str, Any]]) -> dict[str, Any]:
    """What went wrong, as counts and examples (empty lists: nothing), plus the figures."""
    accepted = result.accepted
    by_id = {j["id"]: j for j in jobs}
    submitted_ids = {s["job"] for s in accepted}
    clips = {s["clip"] for s in accepted}
    runs: dict[str, set[str]] = defaultdict(set)  # clip -> jobs that analysed it
    for j in jobs:
        if j["state"] == "done" and not j["reused"]:
            runs[j["path"]].add(j["id"])
    per_name = Counter(a["name"] for a in analyses)
    analysis_of: dict[str, set[str | None]] = defaultdict(set)
    for s in accepted:
        analysis_of[s["clip"]].add(by_id.get(s["job"], {}).get("analysis_id"))
    reads = sorted(result.reads_s)
    return {
        "bad_statuses": [s for s in result.submissions if s["status"] not in (202, 429)],
        "no_retry_after": [s for s in result.submissions
                           if s["status"] == 429 and not s["retry_after"]],
        "errors": result.errors,
        "lost": sorted(submitted_ids - set(by_id)),
        "unexpected_jobs": sorted(set(by_id) - submitted_ids),
        "not_done": [(j["id"], j["state"], j["error"]) for j in jobs if j["state"] != "done"],
        "run_twice": {c: sorted(ids) for c, ids in runs.items() if len(ids) > 1},
        "never_run": sorted(c for c in clips if c not in runs),
        "analyses_per_clip": {c: per_name[c] for c in clips if per_name[c] != 1},
        "extra_analyses": sorted(n for n in per_name if n not in clips),
        "clips_with_two_analysis_ids": {c: sorted(map(str, ids))
                                        for c, ids in analysis_of.items() if len(ids) != 1},
        "reused_not_done": [s for s in accepted if s["reused"] and s["state"] != "done"],
        "retry_mismatch": [r for r in result.retries if r[1] != r[2]],
        "shared_mismatch": {k: sorted(v) for k, v in result.shared.items() if len(v) != 1},
        # figures (not checks)
        "submissions": len(result.submissions),
        "accepted": len(accepted),
        "distinct_jobs": len(submitted_ids),
        "clips": len(clips),
        "submissions_per_s": len(result.submissions) / result.seconds if result.seconds else 0,
        "reads": len(reads),
        "read_p50_ms": statistics.median(reads) * 1000 if reads else None,
        "read_p95_ms": reads[int(0.95 * (len(reads) - 1))] * 1000 if reads else None,
    }


CHECKS = ("bad_statuses", "no_retry_after", "errors", "lost", "unexpected_jobs", "not_done",
          "run_twice", "never_run", "analyses_per_clip", "extra_analyses",
          "clips_with_two_analysis_ids", "reused_not_done", "retry_mismatch", "shared_mismatch")


def test_concurrent_clients_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    media = tmp_path / "media"
    clips = make_clips(media)
    db = tmp_path / "load.sqlite"
    token = make_token(db, "load", "submit")
    with Server(db, media, "--max-queue", "1000") as server:
        result = run_load(server.url, token, clips)
        with server.client(token) as client:
            jobs = wait_all_final(client)
            analyses = all_analyses(client)
        log = server.log
    report = check_load(result, jobs, analyses)
    print(f"\n{report['submissions']} submissions ({report['submissions_per_s']:.0f}/s) by "
          f"{CLIENTS} clients in {result.seconds:.1f} s, {report['distinct_jobs']} jobs, "
          f"{report['clips']} clips; GET /v1/jobs/{{id}}: {report['reads']} reads, p50 "
          f"{report['read_p50_ms']:.1f} ms, p95 {report['read_p95_ms']:.1f} ms; "
          f"statuses {dict(result.statuses)}")
    problems = {k: report[k] for k in CHECKS if report[k]}
    tail = log.read_text(errors="replace")[-3000:] if problems and log.is_file() else ""
    assert not problems, f"{problems}\n\nserver log tail:\n{tail}"
    # The run really exercised what it checks.
    assert report["clips"] == len(clips), report["clips"]
    assert len(result.retries) >= CLIENTS and result.shared, (result.retries, result.shared)
    assert report["submissions"] >= 5 * CLIENTS
