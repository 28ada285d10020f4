"""What the learned scene segmenter adds to an analysis.

    python bench/scene_cost.py             # a long composed film at 720p
    python bench/scene_cost.py --quick     # one child-process round, no BENCHMARKS.md update

The first long film of ``bench/scenes.py`` (10+ minutes), scaled to 1280×720 (H.264), is
analysed with the shipped defaults. The learned segmenter costs three things: loading its
model, its keyframe encoder (every sampled frame shrunk to 96×54 while decoding, the chosen
keyframes embedded many shots at a time), the soundtrack's band powers it listens to (the
soundtrack itself is decoded for the audio attributes in any case) and its segment call (the
sound features, the shot-sequence model over the windows, then the decoder). The film has its
soundtrack (``bench/scenes.py``'s long films). Measured two ways:

* **inside one analysis** (``vidscene.pipeline.analyze``, this process): the segmenter's own
  methods are timed where the pipeline calls them, against the analysis's wall time (PyTorch
  is imported first: the default shot detector loads it whatever the segmenter). Immune to
  the machine's drift between runs. Two clocks: wall time inside the calls, an upper bound
  (it includes waiting for the interpreter lock while the decoder's and the attributes'
  threads run), and the calling thread's CPU time, the work itself (what the calls add to
  the critical path when nothing else could have used the core meanwhile);
* **as a user runs it**: ``vidscene analyze FILE --json … --db memory: -q`` as child processes,
  alternately with ``--scenes transformer`` and ``--scenes osg`` (no model; its grouping takes
  milliseconds), medians of ``--rounds``. Their difference also holds the run-to-run noise of
  a shared machine (a few per cent), so it is reported beside the first, not instead of it.

Writes ``bench/out/scene_cost.json`` and, on a full run, the "Scene segmenter cost" section of
``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import _dataset
import _report
import scenes
from speed import BIN, run_checked

SECTION = "Scene segmenter cost"
SIZE = (1280, 720)


def scaled_film(log: Any) -> Path:
    """The first long film at 720p (cached beside it)."""
    clips = _dataset.locate_clips(None)
    if clips is None:
        raise SystemExit("error: no dev clips folder (set VIDSCENE_CLIPS)")
    film = scenes.build_films(1, clips, log, seed=scenes.LONG_SEED, prefix="films",
                              long=True, sound=True)[0]
    out = film.path.with_name(film.path.stem + "-720p.mp4")
    if not out.is_file():
        log(f"scaling {film.path.name} to {SIZE[0]}x{SIZE[1]}")
        tmp = out.with_name(out.stem + ".tmp.mp4")
        subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", str(film.path), "-vf",
                        f"scale={SIZE[0]}:{SIZE[1]}:flags=bicubic", "-c:v", "libx264",
                        "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-c:a",
                        "copy", str(tmp)],
                       check=True)
        tmp.replace(out)
    return out


class Stopwatch:
    """Wall seconds and the calling thread's CPU seconds spent inside the wrapped callables
    (thread-safe enough: one adder per call)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        self.seconds.setdefault(name, 0.0)
        self.cpu.setdefault(name, 0.0)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start, cpu = time.perf_counter(), time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - start
                self.cpu[name] += time.thread_time() - cpu

        return timed


def inside_one_analysis(video: Path) -> dict[str, Any]:
    """The segmenter's costs timed where the pipeline calls them, in one default analysis."""
    import torch  # noqa: F401  (the default shot detector imports it in any case)

    from vidscene.pipeline import AnalyzeSettings, _scene_stage, analyze
    from vidscene.scenes import TransformerSegmenter

    watch = Stopwatch()
    listen = _scene_stage.sound_blocks
    start = time.perf_counter()
    segmenter = TransformerSegmenter()
    segmenter.model()  # the load, timed on its own
    load = time.perf_counter() - start
    embedder = segmenter.keyframe_embedder()
    embedder.prepare = watch.wrap("prepare", embedder.prepare)  # type: ignore[method-assign]
    embedder.embed = watch.wrap("embed", embedder.embed)  # type: ignore[method-assign]
    segmenter.keyframe_embedder = lambda: embedder  # type: ignore[method-assign]
    segmenter.segment = watch.wrap("segment", segmenter.segment)  # type: ignore[method-assign]
    _scene_stage.sound_blocks = watch.wrap("sound", listen)  # type: ignore[attr-defined]
    start = time.perf_counter()
    try:
        result = analyze(video, AnalyzeSettings(), segmenter=segmenter)
    finally:
        _scene_stage.sound_blocks = listen  # type: ignore[attr-defined]
    total = time.perf_counter() - start + load
    added = load + sum(watch.seconds.values())
    added_cpu = load + sum(watch.cpu.values())
    return {"analysis_s": round(total, 3), "model_load_s": round(load, 4),
            **{f"{k}_s": round(v, 4) for k, v in watch.seconds.items()},
            **{f"{k}_cpu_s": round(v, 4) for k, v in watch.cpu.items()},
            "added_s": round(added, 4), "added_share": round(added / total, 5),
            "added_cpu_s": round(added_cpu, 4), "added_cpu_share": round(added_cpu / total, 5),
            "shots": len(result.analysis.shots), "scenes": len(result.analysis.scenes)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=2, help="child-process rounds (default 2)")
    p.add_argument("--quick", action="store_true", help="1 round, no BENCHMARKS.md update")
    p.add_argument("--out", type=Path, default=_report.OUT_DIR / "scene_cost.json")
    p.add_argument("--write", action=argparse.BooleanOptionalAction, default=None)
    args = p.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    rounds = 1 if args.quick else args.rounds
    write = args.write if args.write is not None else not args.quick
    video = scaled_film(log)
    info = {"date": _report.now(), "command": _report.command(), "machine": _report.machine(),
            "versions": _report.versions()}
    inside = inside_one_analysis(video)
    log(f"inside one analysis: {inside}")
    runs: dict[str, list[dict[str, Any]]] = {"transformer": [], "osg": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(rounds):
            for name in (("transformer", "osg") if r % 2 == 0 else ("osg", "transformer")):
                json_path = Path(tmp) / f"{name}.json"
                child = run_checked(name, [str(BIN / "vidscene"), "analyze", str(video), "--json",
                                           str(json_path), "--db", "memory:", "--scenes", name,
                                           "-q"], video)
                analysis = json.loads(json_path.read_text())
                runs[name].append({"seconds": round(child.seconds, 3),
                                   "scenes": len(analysis["scenes"])})
                log(f"round {r + 1} {name}: {child.seconds:.1f} s")
    median = {k: statistics.median(x["seconds"] for x in v) for k, v in runs.items()}
    added = median["transformer"] - median["osg"]
    share = added / median["transformer"]
    text = "\n".join([
        _report.provenance_md(info), "",
        f"`vidscene analyze` with the shipped defaults on a {SIZE[1]}p long composed film "
        f"({video.name}: the first film of \"Scenes on long films\" scaled up; "
        f"{inside['shots']} shots, {inside['scenes']} scenes found).", "",
        "Inside one analysis (the segmenter's methods timed where the pipeline calls them):", "",
        _report.table(["part", "wall seconds (upper bound)", "CPU seconds (the work)"], [
            ["model load", f"{inside['model_load_s']:.3f}", f"{inside['model_load_s']:.3f}"],
            *([label, f"{inside[key + '_s']:.3f}", f"{inside[key + '_cpu_s']:.3f}"]
              for label, key in (
                  ("keyframe inputs (`prepare`, every sampled frame)", "prepare"),
                  ("keyframe encoder (`embed`, 64 closed shots a call)", "embed"),
                  ("soundtrack band powers (`sound_blocks`)", "sound"),
                  ("sound features + sequence model + decoder (`segment`)", "segment"))),
            ["**added by the learned segmenter**", f"**{inside['added_s']:.3f}**",
             f"**{inside['added_cpu_s']:.3f}**"],
            ["the whole analysis (wall)", f"{inside['analysis_s']:.2f}", ""]]), "",
        f"Share of the analysis's wall time: **{inside['added_cpu_share']:.2%}** by the work "
        f"itself, {inside['added_share']:.2%} at most with the waits (target < 2 %). The "
        "soundtrack is decoded for the audio attributes whatever the segmenter.", "",
        f"As a user runs it, {rounds} interleaved round(s) of separate processes, medians:", "",
        _report.table(["run", "median seconds", "rounds"], [
            [f"`--scenes {k}`", f"{median[k]:.2f}", ", ".join(f"{x['seconds']:.1f}" for x in v)]
            for k, v in runs.items()]), "",
        f"Difference: {added:+.2f} s ({share:+.1%}); it includes the machine's run-to-run "
        "noise.", ""])
    _report.publish(SECTION, args.out, {"info": info, "video": video.name, "inside": inside,
                                        "runs": runs, "median_s": median,
                                        "added_s": round(added, 3),
                                        "added_share": round(share, 4)}, text, write, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
