"""Memory benchmark: peak memory of ``vidscene analyze`` must not grow with the video's length.

    python bench/memory.py            # 1, 4 and 12 minutes of 720p (about 4 minutes in all)
    python bench/memory.py --quick    # 1 and 3 minutes, no BENCHMARKS.md update

The long files are made without re-encoding: the 90 s 720p composite of ``bench/speed.py``
(encoded once, cached) is remuxed back to back N times with shifted timestamps, so every
length has the same content per minute and only the length changes. Each ``vidscene analyze``
runs as its own child process under GNU ``time`` (peak resident memory, ``%M``). Writes
``bench/out/memory.json`` and, on a full run, the "Memory" section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import _dataset
import _report
from speed import BIN, LONG_NAME, build_long, run_child

SECTION = "Memory"


def repeat(source: Path, times: int, dest: Path) -> Path:
    """``source``'s video packets ``times`` times in a row, timestamps shifted (a remux)."""
    if dest.is_file():
        return dest
    import av

    partial = dest.with_suffix(".partial.mp4")
    with av.open(str(source)) as src, av.open(str(partial), "w") as out:
        s_in = src.streams.video[0]
        s_out = out.add_stream_from_template(s_in)
        span = None
        for k in range(times):
            src.seek(0)
            last = 0
            for packet in src.demux(s_in):
                if packet.dts is None:
                    continue
                offset = k * (span or 0)
                packet.pts = None if packet.pts is None else packet.pts + offset
                packet.dts += offset
                last = max(last, (packet.pts or packet.dts) - offset + (packet.duration or 0))
                packet.stream = s_out
                out.mux(packet)
            if span is None:
                span = last
    partial.rename(dest)
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", type=Path, default=None, help="the dev clips folder")
    p.add_argument("--quick", action="store_true", help="1 and 3 minutes only")
    p.add_argument("--out", type=Path, default=_report.OUT_DIR / "memory.json")
    args = p.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    clips = _dataset.locate_clips(args.clips)
    if clips is None:
        log("error: no dev clips folder (use --clips or set VIDSCENE_CLIPS)")
        return 2
    base = build_long(clips, _dataset.CACHE_DIR / LONG_NAME, log)  # ~88 s of 720p
    repeats = (1, 2) if args.quick else (1, 3, 8)
    info = {"date": _report.now(), "command": _report.command(), "machine": _report.machine(),
            "versions": _report.versions()}
    rows: list[dict[str, Any]] = []
    for n in repeats:
        path = repeat(base, n, _dataset.CACHE_DIR / f"memory-720p-x{n}.mp4")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "a.json"
            child = run_child([str(BIN / "vidscene"), "analyze", str(path), "--json", str(out),
                               "--db", str(Path(tmp) / "s.db"), "--force", "-q"])
            if child.returncode != 0:
                log(child.stderr)
                return 1
            doc = json.loads(out.read_text())
        video = doc["video"]
        rows.append({"file": path.name, "frames": video["frame_count"],
                     "duration_s": video["duration"], "seconds": round(child.seconds, 2),
                     "max_rss_mib": round(child.max_rss_mib, 1),
                     "shots": len(doc["shots"])})
        log(f"{path.name}: {video['frame_count']} frames, {child.max_rss_mib:.0f} MiB")
    growth = rows[-1]["max_rss_mib"] / rows[0]["max_rss_mib"]
    text = "\n".join([
        _report.provenance_md(info), "",
        "Peak resident memory of `vidscene analyze FILE --json … --force` (its own child "
        "process, GNU `time` `%M`) on the same 720p content repeated to different lengths:", "",
        _report.table(["file", "duration", "frames", "shots", "wall time", "peak RSS"],
                      [[f"`{r['file']}`", f"{r['duration_s'] / 60:.1f} min", f"{r['frames']:,}",
                        f"{r['shots']:,}", f"{r['seconds']:.1f} s", f"{r['max_rss_mib']:.0f} MiB"]
                       for r in rows]), "",
        f"Longest / shortest peak memory: **{growth:.2f}×** for "
        f"{rows[-1]['duration_s'] / rows[0]['duration_s']:.0f}× the length.",
    ])
    _report.publish(SECTION, args.out, {"info": info, "results": rows}, text,
                    not args.quick, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
