"""Speed benchmark: what the whole analysis costs compared with only decoding the video.

    python bench/speed.py                 # testvideo.mp4 + a ~90 s 720p composite, 3 runs each
    python bench/speed.py --quick         # testvideo.mp4 only, 1 run, no BENCHMARKS.md update

For each 720p file, as separate child processes (each one's peak memory measured by GNU
``time``), run alternately, median of ``--runs``:

* **decode**: PyAV decodes every frame with the same threading as vidscene (``AUTO``) and
  nothing else: the floor any analysis must pay;
* **analyze**: ``vidscene analyze FILE --json … --db <temporary> --force -q``: the whole
  pipeline (decode, shots, keyframes, scenes, attributes, store), process start included; and
  the same with ``--detector fast`` (the classic shot detector, no PyTorch);
* **shots**: ``vidscene shots FILE --json … -q`` against PySceneDetect's
  ``scenedetect -i FILE -o <temporary> detect-content list-scenes`` (both command lines, start
  included), and both detectors through their Python APIs in this process (start excluded).

The target is analyze ≤ 1.5 × decode. Writes ``bench/out/speed.json`` and, on a full run, the
"Speed" section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import _dataset
import _report

SECTION = "Speed"
TARGET_RATIO = 1.5
BIN = Path(sys.executable).parent

DECODE_ONLY = """
import sys, av
with av.open(sys.argv[1]) as container:
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    print(sum(1 for _ in container.decode(stream)))
"""

# Clips joined (every frame scaled to 1280x720) into the long composite: real motion, cuts,
# fades and stills, about 90 s at 25 fps.
LONG_SOURCES = ("testvideo.mp4", "cockatoo.mp4", "issue-134-rotate.mp4",
                "goldeneye-vfr-drop3.mp4", "vtest.avi")
LONG_NAME = "speed-720p-long.mp4"


@dataclass
class Child:
    """One child process: wall time, peak resident memory, exit status, output."""

    seconds: float
    max_rss_mib: float
    returncode: int
    stdout: str
    stderr: str


GNU_TIME = Path("/usr/bin/time")


def run_child(argv: Sequence[str], timeout: float = 900) -> Child:
    """Run ``argv`` and read its own peak RSS.

    Linux carries a parent's peak RSS into a child across fork and exec, so a child of this
    (large) benchmark process would report at least the benchmark's own size. GNU ``time`` is
    a tiny process that forks the command itself, so the peak it reports (``%M``) is the
    command's; without it, ``os.wait4`` is used and the figure is an upper bound.
    """
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss_file:
        wrapped = ([str(GNU_TIME), "-f", "%M", "-o", rss_file.name, *argv]
                   if GNU_TIME.is_file() else list(argv))
        child = _wait(wrapped, timeout)
        text = Path(rss_file.name).read_text().strip() if GNU_TIME.is_file() else ""
    if text.splitlines() and text.splitlines()[-1].isdigit():
        child.max_rss_mib = int(text.splitlines()[-1]) / 1024
    return child


def run_checked(name: str, argv: Sequence[str], path: Path) -> Child:
    """:func:`run_child`, ending the benchmark with the command's error output if it fails."""
    child = run_child(argv)
    if child.returncode != 0:
        raise SystemExit(f"{name} failed on {path.name} (exit {child.returncode}):\n"
                         f"{child.stderr[-2000:]}")
    return child


def _wait(argv: list[str], timeout: float) -> Child:
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(seconds, usage.ru_maxrss / 1024, proc.returncode,
                     out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def build_long(clips: Path, dest: Path, log: Callable[[str], None],
               size: tuple[int, int] = (1280, 720)) -> Path:
    """Encode the long composite once (H.264, CRF 23, 25 fps, every frame scaled to ``size``);
    reused from the cache."""
    return encode_concat([clips / name for name in LONG_SOURCES], dest, log, size)


def encode_concat(sources: Sequence[Path], dest: Path, log: Callable[[str], None],
                  size: tuple[int, int], frames: int | None = None) -> Path:
    """Encode ``sources`` one after another (H.264, CRF 23, 25 fps, every frame scaled to
    ``size``), looping over them until ``frames`` frames (``None``: once through); cached."""
    if dest.is_file():
        return dest
    import av

    log(f"encoding {dest.name} from {', '.join(p.name for p in sources)} (once)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(".partial.mp4")
    with av.open(str(partial), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": "23", "preset": "veryfast"}
        count = 0
        while count < (frames or 1):
            for source in sources:
                with av.open(str(source)) as src:
                    video = src.streams.video[0]
                    video.thread_type = "AUTO"
                    for frame in src.decode(video):
                        if frames is not None and count >= frames:
                            break
                        scaled = frame.reformat(size[0], size[1], format="yuv420p")
                        scaled.pts, scaled.time_base = count, Fraction(1, 25)
                        count += 1
                        for packet in stream.encode(scaled):
                            out.mux(packet)
            if frames is None:
                break
        for packet in stream.encode(None):
            out.mux(packet)
    partial.rename(dest)
    return dest


def measure_file(path: Path, runs: int, log: Callable[[str], None]) -> dict[str, Any]:
    python, vidscene, scenedetect = sys.executable, str(BIN / "vidscene"), str(BIN / "scenedetect")
    samples: dict[str, list[Child]] = {k: [] for k in ("decode", "analyze", "analyze_fast",
                                                      "shots", "peer")}
    analysis: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="vidscene-speed-") as tmp:
        commands = {
            "decode": [python, "-c", DECODE_ONLY, str(path)],
            "analyze": [vidscene, "analyze", str(path), "--json", f"{tmp}/analysis.json",
                        "--db", f"{tmp}/results.sqlite", "--force", "-q"],
            "analyze_fast": [vidscene, "analyze", str(path), "--detector", "fast", "--json",
                             f"{tmp}/analysis-fast.json", "--db", f"{tmp}/results.sqlite",
                             "--force", "-q"],
            "shots": [vidscene, "shots", str(path), "--json", f"{tmp}/shots.json", "-q"],
            "peer": [scenedetect, "-q", "-i", str(path), "-o", tmp, "detect-content",
                     "list-scenes"],
        }
        # Rounds alternate the commands, so a burst of load from elsewhere hits all of them.
        for k in range(runs):
            for name, argv in commands.items():
                child = run_checked(name, argv, path)
                samples[name].append(child)
                log(f"  run {k + 1}/{runs} {name}: {child.seconds:.2f} s, "
                    f"{child.max_rss_mib:.0f} MiB")
            if k == 0:
                analysis = json.loads(Path(f"{tmp}/analysis.json").read_text())
    frames = int(samples["decode"][0].stdout.strip().splitlines()[-1])
    result: dict[str, Any] = {"file": path.name, "frames": frames,
                              "width": analysis.get("video", {}).get("width"),
                              "height": analysis.get("video", {}).get("height"),
                              "analysis_timing": analysis.get("timing", {})}
    for name, children in samples.items():
        seconds = statistics.median(c.seconds for c in children)
        result[name] = {
            "median_s": round(seconds, 3),
            "runs_s": [round(c.seconds, 3) for c in children],
            "frames_per_second": round(frames / seconds, 1),
            "max_rss_mib": round(max(c.max_rss_mib for c in children), 1),
        }
    result["ratio_analyze_to_decode"] = round(
        result["analyze"]["median_s"] / result["decode"]["median_s"], 3)
    result["ratio_analyze_fast_to_decode"] = round(
        result["analyze_fast"]["median_s"] / result["decode"]["median_s"], 3)
    result["api"] = measure_api(path, runs)
    return result


def measure_api(path: Path, runs: int) -> dict[str, Any]:
    """Both shot detectors through their Python APIs in this (warm) process, decode included."""
    import scenedetect

    from vidscene.shots import create_detector
    from vidscene.video import FrameStream

    def vidscene_fast() -> int:
        stream = FrameStream(path, with_analysis=False)
        create_detector("fast").detect(stream)
        return stream.frame_count

    def content() -> int:
        manager = scenedetect.SceneManager()
        manager.add_detector(scenedetect.ContentDetector())
        return int(manager.detect_scenes(scenedetect.open_video(str(path))))

    out: dict[str, Any] = {}
    for name, fn in (("vidscene-fast", vidscene_fast), ("scenedetect-content", content)):
        times, frames = [], 0
        for _ in range(runs):
            start = time.perf_counter()
            frames = fn()
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        out[name] = {"median_s": round(seconds, 3), "frames": frames,
                     "frames_per_second": round(frames / seconds, 1)}
    return out


def markdown(results: list[dict[str, Any]], info: dict[str, Any], runs: int) -> str:
    def cell(r: dict[str, Any], name: str) -> str:
        m = r[name]
        return f"{m['median_s']:.2f} s ({m['frames_per_second']:,.0f} fps)"

    main_rows, shot_rows = [], []
    for r in results:
        size = f"{r['width']}×{r['height']}" if r.get("width") else ""
        label = f"`{r['file']}` ({size}, {r['frames']:,} frames)"
        ratio = r["ratio_analyze_to_decode"]
        verdict = "meets" if ratio <= TARGET_RATIO else "misses"
        fast_ratio = r["ratio_analyze_fast_to_decode"]
        fast_verdict = "meets" if fast_ratio <= TARGET_RATIO else "misses"
        main_rows.append([
            label, cell(r, "decode"), cell(r, "analyze"),
            f"**{ratio:.2f}×** ({verdict} ≤ {TARGET_RATIO}×)", cell(r, "analyze_fast"),
            f"**{fast_ratio:.2f}×** ({fast_verdict})",
            f"{r['analysis_timing'].get('total_s', float('nan')):.2f} s",
            f"{r['decode']['max_rss_mib']:.0f} / {r['analyze']['max_rss_mib']:.0f} MiB",
        ])
        api = r["api"]
        shot_rows.append([
            label, cell(r, "shots"), cell(r, "peer"),
            f"{api['vidscene-fast']['frames_per_second']:,.0f}",
            f"{api['scenedetect-content']['frames_per_second']:,.0f}",
            f"{r['shots']['max_rss_mib']:.0f} / {r['peer']['max_rss_mib']:.0f} MiB",
        ])
    return "\n".join([
        _report.provenance_md(info), "",
        f"Median of {runs} runs per command, commands alternated round by round; each command "
        "is its own child process, so times include interpreter start and imports, and peak "
        "memory is that process's maximum resident set (GNU `time` `%M`).", "",
        "### Whole analysis against decoding alone", "",
        _report.table(["file", "decode only (PyAV, threads AUTO)", "`vidscene analyze`",
                       "analyze / decode", "`analyze --detector fast`", "fast / decode",
                       "analysis's own `timing.total_s`", "peak RSS decode / analyze"],
                      main_rows), "",
        "`vidscene analyze` runs with `--force` and a temporary `--db`, default settings (the "
        "learned `transformer` shot detector, which loads PyTorch); `--detector fast` is the "
        "classic detector, which never imports it. The analysis's own `timing.total_s` leaves "
        "out process start and imports (PyTorch's import, done in a background thread, falls "
        "inside it).", "",
        "### Shot detection: vidscene against PySceneDetect", "",
        _report.table(["file", "`vidscene shots` (CLI)",
                       "`scenedetect detect-content list-scenes` (CLI)",
                       "vidscene `fast` API fps", "PySceneDetect `ContentDetector` API fps",
                       "peak RSS vidscene / scenedetect CLI"], shot_rows), "",
        "API columns: frames per second of each detector called from Python in a warm process, "
        "decoding included (vidscene `FrameStream` + `fast`; PySceneDetect `open_video` + "
        "`SceneManager` + `ContentDetector`, defaults).",
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", type=Path, default=None, help="the dev clips folder")
    p.add_argument("--file", type=Path, action="append", default=None,
                   help="measure this file instead (repeatable)")
    p.add_argument("--runs", type=int, default=None, help="runs per command (default 3)")
    p.add_argument("--no-long", action="store_true", help="skip the long 720p composite")
    p.add_argument("--quick", action="store_true", help="testvideo.mp4 only, one run")
    p.add_argument("--out", type=Path, default=_report.OUT_DIR / "speed.json")
    p.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                   help="update BENCHMARKS.md (default: only on a full run)")
    args = p.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    runs = args.runs or (1 if args.quick else 3)
    write = args.write if args.write is not None else not (args.quick or args.file
                                                            or args.runs or args.no_long)
    if not (BIN / "vidscene").exists():
        log(f"error: no vidscene command next to {sys.executable}")
        return 2
    files = list(args.file or [])
    if not files:
        clips = _dataset.locate_clips(args.clips)
        if clips is None:
            log("error: no dev clips folder (use --clips, --file or set VIDSCENE_CLIPS)")
            return 2
        files.append(clips / "testvideo.mp4")
        if not (args.quick or args.no_long):
            files.append(build_long(clips, _dataset.CACHE_DIR / LONG_NAME, log))
    info = {"date": _report.now(), "command": _report.command(), "machine": _report.machine(),
            "versions": _report.versions(("scenedetect", "opencv-python"))}
    results = []
    for path in files:
        log(f"{path.name}:")
        results.append(measure_file(path, runs, log))
    _report.publish(SECTION, args.out, {"info": info, "runs": runs, "results": results},
                    markdown(results, info, runs), write, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
