"""A real ``vidscene serve`` process for tests: started on a free loopback port, waited for,
stopped (or killed) by its PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from conftest import free_port

VIDSCENE = [sys.executable, "-m", "vidscene.cli"]


def vidscene(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([*VIDSCENE, *args], capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"vidscene {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return proc


def make_token(db: Path | str, name: str, scope: str) -> str:
    return vidscene("tokens", "create", name, "--scope", scope, "--db", str(db)
                    ).stdout.strip().splitlines()[-1]


class Server:
    """``with Server(db, media_root, *extra) as s: s.client(token).get(...)``."""

    def __init__(self, db: Path | str, media_root: Path | None = None, *extra: str,
                 env: dict[str, str] | None = None, log_dir: Path | None = None) -> None:
        self.db, self.media_root, self.extra = db, media_root, extra
        self.env = {**os.environ, **(env or {})}
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        folder = log_dir or (db.parent if isinstance(db, Path) else Path("."))
        self.log = folder / f"server-{Path(str(db)).stem}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Server:
        self.port = free_port()
        args = [*VIDSCENE, "serve", "--host", "127.0.0.1", "--port", str(self.port),
                "--db", str(self.db), "--log-level", "warning", *self.extra]
        if self.media_root is not None:
            args += ["--media-root", str(self.media_root)]
        log = self.log.open("a")
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, text=True,
                                     env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError("server did not become healthy")

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0, **kwargs)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: the crash case (nothing gets to clean up)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def wait_final(client: httpx.Client, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "failed", "cancelled"):
            return dict(job)
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} did not finish: {job}")
