"""A real multi-node Ray cluster on loopback for tests: ``ray start`` processes, each node
with its own temp dir, stopped by PID. Ray binds every interface, so these tests run only in
a network namespace that has nothing but loopback (``make test`` runs the suite in one)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RAY_ENV = {
    "RAY_AUTH_MODE": "disabled",
    "RAY_USAGE_STATS_ENABLED": "0",
    # Notice a dead node in about two seconds instead of about twelve.
    "RAY_health_check_initial_delay_ms": "1000",
    "RAY_health_check_period_ms": "500",
    "RAY_health_check_timeout_ms": "500",
    "RAY_health_check_failure_threshold": "4",
}


def loopback_only() -> bool:
    """Whether this process's network namespace has no interface but ``lo``."""
    try:
        return {name for _, name in socket.if_nameindex()} <= {"lo"}
    except OSError:
        return False


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def env() -> dict[str, str]:
    return {**os.environ, **RAY_ENV}


class RayCluster:
    """``ray start --head`` plus ``workers`` more nodes, ``cpus`` CPUs each.

    ``pin``: per node (head first), the CPU list ``taskset`` confines it to, so each node's
    worker processes use only their own share of the machine (benchmarks)."""

    def __init__(self, port: int, workers: int = 1, cpus: int = 1,
                 pin: list[str] | None = None) -> None:
        self.port = port
        self.address = f"127.0.0.1:{port}"
        self.root = Path(tempfile.mkdtemp(prefix="vsray", dir="/tmp"))
        self.nodes: list[subprocess.Popen[bytes]] = []
        ray = str(Path(sys.executable).parent / "ray")

        def pinned(node: int, command: list[str]) -> list[str]:
            return ["taskset", "-c", pin[node], *command] if pin else command

        self._start(pinned(0, [ray, "start", "--head", "--port", str(port), "--num-cpus",
                               str(cpus), "--include-dashboard=false", "--temp-dir",
                               str(self.root / "h"), "--block"]), "head")
        for i in range(workers):
            self._start(pinned(i + 1, [ray, "start", "--address", self.address,
                                       "--num-cpus", str(cpus), "--temp-dir",
                                       str(self.root / f"w{i}"), "--block"]), f"worker{i}")

    def _start(self, command: list[str], name: str) -> None:
        log = self.root / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env(),
                                    start_new_session=True)
        self.nodes.append(proc)
        deadline = time.monotonic() + 60
        while b"Ray runtime started" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"ray start ({name}) failed: {log.read_text()[-2000:]}")
            time.sleep(0.2)

    def rss_mib(self) -> float:
        """Resident memory of every process of the cluster (the nodes' process groups)."""
        total = 0
        groups = {proc.pid for proc in self.nodes}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) not in groups:
                    continue
                for line in (entry / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except (OSError, ValueError):
                continue
        return total / 1024

    def raylet_pid(self, node: int) -> int:
        """The raylet process of node ``node`` (0 is the head)."""
        for pid, comm, _ in _children(self.nodes[node].pid):
            if comm == "raylet":
                return pid
        raise RuntimeError(f"no raylet under node {node}")

    def running(self, node: int, method: str) -> bool:
        """Whether a worker of node ``node`` is running an actor method now (Ray names the
        process after it, e.g. ``ray::StageActor.run``)."""
        return any(cmd.startswith(f"ray::{method}")
                   for _, _, cmd in _children(self.raylet_pid(node)))

    def kill_raylet(self, node: int) -> None:
        os.kill(self.raylet_pid(node), signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM each ``ray start --block`` (it stops its node), then kill what is left
        of each node's process group."""
        for proc in reversed(self.nodes):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.nodes):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.nodes.clear()


def _children(parent: int) -> list[tuple[int, str, str]]:
    """``(pid, comm, cmdline)`` of the processes whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid != parent:
                continue
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError):
            continue
        found.append((int(entry.name), comm, cmd.strip()))
    return found
