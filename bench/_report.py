"""What every benchmark section records, and how it lands in ``BENCHMARKS.md``.

A number without its machine, date, command and tool versions cannot be compared with anything,
so each section starts with them. Each script owns one ``## Section`` of the file and rewrites
only that one, leaving the others as they are.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = REPO / "BENCHMARKS.md"
OUT_DIR = REPO / "bench" / "out"

_PREAMBLE = """# Benchmarks

Every number here is produced by a script in `bench/` (how to run them: `bench/README.md`).
Each script rewrites its own section, with the machine, the date, the exact command and the
tool versions it ran with. Numbers from different sections or machines are not comparable.
"""


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return None


def machine() -> dict[str, Any]:
    """CPU, cores, RAM, OS and the load when the run started (the CPUs may be shared)."""
    ram = _ram_gib()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(ram, 1) if ram else None,
        "os": f"{platform.system()} {platform.release()}",
        "load_at_start": [round(x, 2) for x in load] if load else None,
    }


def versions(extra: Sequence[str] = ()) -> dict[str, str]:
    """Versions of Python, vidscene, the decoders and any ``extra`` distributions."""
    found = {"python": platform.python_version()}
    for dist in ("vidscene", "av", "numpy", *extra):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "not installed"
    try:
        import av

        found["ffmpeg (libavcodec)"] = ".".join(str(v) for v in av.library_versions["libavcodec"])
    except Exception:  # noqa: BLE001 - a version string is optional
        pass
    return found


def command() -> str:
    return " ".join(["python", *(shlex.quote(a) for a in sys.argv)])


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def provenance_md(info: dict[str, Any]) -> str:
    """The lines that open a section: machine, date, command, versions."""
    m = info["machine"]
    vers = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    load = m.get("load_at_start")
    return "\n".join([
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}"
        + (f" (load average at start: {load[0]})" if load else ""),
        f"- Date: {info['date']}",
        f"- Command: `{info['command']}`",
        f"- Versions: {vers}",
    ])


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table; the first column left-aligned, the rest right-aligned."""
    align = [":--"] + ["--:"] * (len(headers) - 1)
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_section(title: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace (or append) the ``## title`` section of ``path``, keeping every other one."""
    text = path.read_text(encoding="utf-8") if path.is_file() else _PREAMBLE
    lines = text.rstrip("\n").split("\n")
    heading = f"## {title}"
    section = [heading, "", body.strip("\n"), ""]
    try:
        start = lines.index(heading)
    except ValueError:
        lines += ["", *section]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")),
                   len(lines))
        lines[start:end] = section
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")


def publish(section: str, out: Path, document: dict[str, Any], text: str, write: bool,
            log: Callable[[str], None]) -> None:
    """The end of every benchmark run: JSON to ``out``, the Markdown to stdout and, on a full
    run, into its section of ``BENCHMARKS.md``."""
    import json

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(text)
    if write:
        write_section(section, text)
        log(f"updated {BENCHMARKS_MD}")
    log(f"wrote {out}")
