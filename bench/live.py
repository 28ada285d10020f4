"""Live input: how soon `vidscene watch` reports a transition after its frames arrive, whether
the live path finds what the file path finds, and how fast an input it keeps up with.

    python bench/live.py            # 360p and 720p, BENCHMARKS.md "Live input"
    python bench/live.py --quick    # 360p only, no rates above real time, no BENCHMARKS.md

Inputs: one video per size composed from the dev clips with known cuts, dissolves, fades and
wipes (``vidscene.train.synth``, 25 fps, about a minute), cached in ``bench/_cache``.

* **Latency**: ``ffmpeg -re -i VIDEO -c copy -f mpegts udp://127.0.0.1:PORT`` sends the video
  in real time (its packets as they are, so the live frames are the file's frames) while
  ``vidscene watch udp://127.0.0.1:PORT --jsonl -`` (shipped defaults) reports. Each
  transition's latency is the watcher's own measurement: the wall time between the arrival
  (decode) of the transition's last frame and its event. The bound is the detector's
  look-ahead (``lookahead_frames`` of the ``start`` event) plus 1 s. Transitions within the
  look-ahead of the video's end wait for the input to stop and are counted apart.
* **Agreement**: the live transitions against ``detect_shots`` on the file (same type, both
  ends within ±1 frame), and the dropped-frame count.
* **Throughput**: the same stream sent at 1×, 2×, 4×, 8× and 16× real time (``ffmpeg
  -readrate``): the frames the watcher analysed and dropped, the highest rate at which it
  analysed every frame, and its CPU use (user + system time of the process over the time
  the input ran, in cores).

Everything listens on 127.0.0.1; each process is stopped by its PID.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _dataset
import _report

SECTION = "Live input"
SIZES = {"360p": (640, 360), "720p": (1280, 720)}
RATES = (1.0, 2.0, 4.0, 8.0, 16.0)
BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="360p, real time only, no BENCHMARKS")
    p.add_argument("--clips", type=Path, default=None, help="the dev clips folder")
    p.add_argument("--out", type=Path, default=_report.OUT_DIR / "live.json")
    p.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                   help="update BENCHMARKS.md (default: on a full run)")
    return p.parse_args(argv)


def compose(size: tuple[int, int], clips: Path | None) -> Path:
    from vidscene.train.synth import PROCEDURAL_KINDS, ClipSource, ProceduralSource, make_video

    cache = _dataset.CACHE_DIR
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"live-{size[1]}p-{_dataset._composer_salt()}.mp4"
    if not path.is_file():
        log(f"composing {path.name}")
        sources: list[Any] = ([ClipSource(c) for c in _dataset.material_clips(clips)[:10]]
                              if clips is not None else [])
        sources = sources or [ProceduralSource(k) for k in PROCEDURAL_KINDS]
        partial = path.with_suffix(".part.mp4")
        make_video(partial, seed=16, sources=sources, n_shots=24, size=size,
                   shot_frames=(40, 90), gradual_frames=(8, 30))
        partial.rename(path)
    return path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its reaped children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def watch_once(video: Path, rate: float) -> dict[str, Any]:
    """Stream ``video`` at ``rate`` × real time to a fresh watcher; its events and CPU use."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg is needed (make media-tools)")
    url = f"udp://127.0.0.1:{free_udp_port()}"
    watch = subprocess.Popen([str(BIN / "vidscene"), "watch", url, "--jsonl", "-", "--db",
                              "none", "--read-timeout", "2", "--give-up-after", "2",
                              "--open-timeout", "60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(4.0)  # model loaded and listening
        cpu0, wall0 = cpu_seconds(watch.pid), time.monotonic()
        send = subprocess.run([ffmpeg, "-v", "error", "-readrate", str(rate), "-i", str(video),
                               "-c", "copy", "-f", "mpegts", url], timeout=900)
        if send.returncode != 0:
            raise SystemExit(f"ffmpeg could not send {video.name}")
        cpu1, wall1 = cpu_seconds(watch.pid), time.monotonic()
        out, err = watch.communicate(timeout=300)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    if watch.returncode != 0:
        raise SystemExit(f"vidscene watch failed: {err[-2000:]}")
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {"events": events, "cpu_cores": round((cpu1 - cpu0) / (wall1 - wall0), 2),
            "send_s": round(wall1 - wall0, 2)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def latency_table(events: list[dict[str, Any]], frames: int) -> dict[str, Any]:
    start = next(e for e in events if e["event"] == "start")
    ahead = int(start["lookahead_frames"])
    by_type: dict[str, list[float]] = {}
    tail = []
    for e in events:
        if e["event"] != "transition":
            continue
        if e["last_frame"] + ahead >= frames:
            tail.append(e["latency_s"])
            continue
        by_type.setdefault(e["type"], []).append(e["latency_s"])
        by_type.setdefault("all", []).append(e["latency_s"])
    return {
        "lookahead_frames": ahead,
        "bound_s": round(ahead / 25.0 + 1.0, 2),
        "types": {k: {"n": len(v), "p50": round(statistics.median(v), 2),
                      "p95": round(percentile(v, 0.95), 2), "max": round(max(v), 2)}
                  for k, v in by_type.items()},
        "at_the_end": tail,
    }


def agreement(events: list[dict[str, Any]], video: Path) -> dict[str, Any]:
    from vidscene.pipeline import detect_shots

    analysis = detect_shots(video)
    expected = [(s.transition_in.first_frame, s.transition_in.last_frame, s.transition_in.type)
                for s in analysis.shots[1:] if s.transition_in is not None]
    live = [(e["first_frame"], e["last_frame"], e["type"]) for e in events
            if e["event"] == "transition"]
    matched = sum(1 for a, b, k in live if any(
        k == ek and abs(a - ea) <= 1 and abs(b - eb) <= 1 for ea, eb, ek in expected))
    return {"file": len(expected), "live": len(live), "matched": matched,
            "identical": live == expected, "frames": analysis.video.frame_count}


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    write = (not args.quick) if args.write is None else args.write
    clips = _dataset.locate_clips(args.clips)
    info = {"machine": _report.machine(), "date": _report.now(), "command": _report.command(),
            "versions": _report.versions()}
    sizes = {"360p": SIZES["360p"]} if args.quick else SIZES
    results: dict[str, Any] = {}
    for label, size in sizes.items():
        video = compose(size, clips)
        log(f"{label}: {video.name}")
        runs = {}
        for rate in (RATES[:1] if args.quick else RATES):
            log(f"  streaming at {rate}x real time")
            runs[rate] = watch_once(video, rate)
        base = runs[1.0]
        agree = agreement(base["events"], video)
        stop = next(e for e in base["events"] if e["event"] == "stop")
        results[label] = {
            "video": video.name, "frames": agree["frames"],
            "latency": latency_table(base["events"], agree["frames"]),
            "agreement": agree,
            "rates": {str(rate): {
                "dropped_frames": next(e for e in r["events"] if e["event"] == "stop")[
                    "dropped_frames"],
                "frames": next(e for e in r["events"] if e["event"] == "stop")["frames"],
                "cpu_cores": r["cpu_cores"], "send_s": r["send_s"]}
                for rate, r in runs.items()},
            "dropped_at_real_time": stop["dropped_frames"],
        }
        log(json.dumps(results[label]["latency"]))
    document = {"machine": info, "results": results}
    _report.publish(SECTION, args.out, document, markdown(results, info), write, log)
    return 0


def markdown(results: dict[str, Any], info: dict[str, Any]) -> str:
    rows = []
    for label, r in results.items():
        lat = r["latency"]
        for kind, m in sorted(lat["types"].items(), key=lambda kv: (kv[0] != "all", kv[0])):
            rows.append([f"{label} {kind}", m["n"], f"{m['p50']:.2f} s", f"{m['p95']:.2f} s",
                         f"{m['max']:.2f} s", f"{lat['bound_s']:.2f} s"])
    rate_rows = []
    for label, r in results.items():
        ok = [float(rate) for rate, m in r["rates"].items()
              if m["dropped_frames"] == 0 and m["frames"] == r["frames"]]
        best = max(ok) if ok else 0.0
        for rate, m in r["rates"].items():
            rate_rows.append([f"{label} at {float(rate):g}× real time ({25 * float(rate):g} "
                              "frames/s)", f"{m['frames']:,} of {r['frames']:,}",
                              m["dropped_frames"], f"{m['cpu_cores']:.2f}",
                              ("every frame at the highest rate tried"
                               if best == max(RATES) else "highest with every frame")
                              if float(rate) == best else ""])
    sending = "; ".join(
        f"{label}: " + ", ".join(f"{m['send_s']:.1f} s at {float(rate):g}×"
                                 for rate, m in r["rates"].items())
        for label, r in results.items())
    agree_rows = [[label, r["agreement"]["file"], r["agreement"]["live"],
                   r["agreement"]["matched"], "yes" if r["agreement"]["identical"] else "no",
                   r["dropped_at_real_time"]] for label, r in results.items()]
    return "\n\n".join([
        _report.provenance_md(info),
        "`vidscene watch udp://127.0.0.1:PORT --jsonl -` (shipped defaults) while `ffmpeg "
        "-readrate R -i VIDEO -c copy -f mpegts udp://127.0.0.1:PORT` sends a composed video "
        "(dev clips, 25 fps, cuts, dissolves, fades and wipes). Latency: the watcher's own "
        "measurement, from the arrival of a transition's last frame to its event; the bound "
        "is the detector's look-ahead plus 1 s. Transitions within the look-ahead of the end "
        "are left out (they wait for the input to stop).",
        "Latency per transition type (real time):",
        _report.table(["stream, type", "n", "p50", "p95", "max", "bound"], rows),
        "Live against file analysis of the same video (same type, ends within ±1 frame):",
        _report.table(["stream", "file transitions", "live transitions", "matched",
                       "identical", "dropped frames"], agree_rows),
        "Input rate (frames the watcher analysed, those it dropped because it was behind, and "
        "the CPU cores it used while the input ran, from /proc; frames lost on the way, as UDP "
        "may lose them in a burst, are neither analysed nor counted as dropped). The sender "
        "took " + sending + ":",
        _report.table(["input", "frames analysed", "dropped frames", "CPU cores", ""],
                      rate_rows),
    ])


if __name__ == "__main__":
    sys.exit(main())
