"""Shot-boundary benchmark: vidscene against PySceneDetect on the same files, in one process.

    python bench/shots.py                 # full run: 40 synthetic videos + the real clips
    python bench/shots.py --quick         # 6 synthetic videos, no BENCHMARKS.md update
    python bench/shots.py --only vidscene-fast --videos 10

Scores precision/recall/F1 (``vidscene.metrics``: one-to-one matching, ±2 frames for cuts,
anywhere in the span for gradual transitions) per transition type, false positives on hard
negatives, and frames per second including decoding. Writes ``bench/out/shots.json`` and, on
a full run, the "Shot boundaries" section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _dataset
import _peers
import _report
from _dataset import BenchVideo
from vidscene.errors import ConfigError
from vidscene.metrics import Boundary, Counts, MatchResult, Tally, aggregate, match_transitions

SECTION = "Shot boundaries"
GRADUAL = ("dissolve", "fade", "wipe")
NEGATIVE_ORDER = ("flash", "fast-pan", "zoom", "brightness", "text", "dim", "occluder", "title",
                  "credits")
DEFAULT_THRESHOLD = 27.0


@dataclass
class Run:
    """One tool on one video."""

    predicted: list[Boundary]
    seconds: float
    result: MatchResult


@dataclass
class VideoRuns:
    video: BenchVideo
    frames: int
    runs: dict[str, Run] = field(default_factory=dict)
    sweep: dict[float, MatchResult] = field(default_factory=dict)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--videos", type=int, default=None,
                   help="number of synthetic videos (default 40; 6 with --quick)")
    p.add_argument("--only", action="append", default=None, metavar="TOOL",
                   help=f"run only this tool (repeatable); known: {', '.join(_peers.TOOLS)}")
    p.add_argument("--quick", action="store_true", help="6 synthetic videos, no BENCHMARKS.md")
    p.add_argument("--clips", type=Path, default=None, help="the dev clips folder")
    p.add_argument("--no-real", action="store_true", help="skip the hand-annotated real clips")
    p.add_argument("--no-held-out", action="store_true",
                   help="skip the hard-negative and gradual sets composed from held-out clips")
    p.add_argument("--no-sweep", action="store_true",
                   help="skip the ContentDetector threshold sweep")
    p.add_argument("--tolerance", type=int, default=2, help="cut tolerance in frames")
    p.add_argument("--out", type=Path, default=_report.OUT_DIR / "shots.json")
    p.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                   help="update BENCHMARKS.md (default: only on a full run)")
    return p.parse_args(argv)


def select_tools(only: list[str] | None) -> list[_peers.Tool]:
    names = [n for item in only for n in item.split(",")] if only else _peers.DEFAULT_TOOLS
    return [_peers.TOOLS.create(n) for n in names]


def score(video: BenchVideo, predicted: list[Boundary], tolerance: int) -> MatchResult:
    return match_transitions(video.truth, predicted, cut_tolerance=tolerance,
                             negatives=video.negatives, ignore=video.ignore)


def run_all(videos: list[BenchVideo], tools: list[_peers.Tool], sweep: bool,
            tolerance: int) -> list[VideoRuns]:
    """Each tool on each video, timed from opening the file to the last boundary."""
    # Warm-up: imports and first-call costs stay out of the timings.
    if videos:
        clock = _peers.FrameClock(videos[0].path)
        for tool in tools:
            tool.detect(videos[0].path, clock)
    results = []
    for k, video in enumerate(videos, 1):
        clock = _peers.FrameClock(video.path)  # also brings the file into the page cache
        if len(clock) != video.frame_count:
            log(f"warning: {video.name}: decoded {len(clock)} frames, labels say "
                f"{video.frame_count}")
        entry = VideoRuns(video, len(clock))
        for tool in tools:
            start = time.perf_counter()
            predicted = tool.detect(video.path, clock)
            seconds = time.perf_counter() - start
            entry.runs[tool.name] = Run(predicted, seconds, score(video, predicted, tolerance))
        if sweep:
            for threshold, predicted in _peers.content_sweep(video.path, clock).items():
                entry.sweep[threshold] = score(video, predicted, tolerance)
            default = entry.runs.get("scenedetect-content")
            swept = entry.sweep.get(DEFAULT_THRESHOLD)
            if default and swept and default.result.counts != swept.counts:
                log(f"warning: {video.name}: sweep at {DEFAULT_THRESHOLD} disagrees with "
                    f"ContentDetector ({swept.counts} vs {default.result.counts})")
        summary = "  ".join(f"{name}={run.result.f1:.2f}" for name, run in entry.runs.items())
        log(f"[{k}/{len(videos)}] {video.name}: {summary}")
        results.append(entry)
    return results


# -- summaries ---------------------------------------------------------------------------------

SUBSETS: dict[str, Any] = {
    "synthetic": lambda v: v.group == "synthetic",
    "real": lambda v: v.group == "real",
    "real-peer-test": lambda v: v.group == "real" and v.peer_test_video,
    "real-other": lambda v: v.group == "real" and not v.peer_test_video,
    "hard-negatives": lambda v: v.group == "hard-negatives",
    "gradual": lambda v: v.group == "gradual",
}


def summarise(results: list[VideoRuns], tools: list[_peers.Tool]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for subset, keep in SUBSETS.items():
        chosen = [r for r in results if keep(r.video)]
        if not chosen:
            continue
        frames = sum(r.frames for r in chosen)
        truth = Counter(t.type for r in chosen for t in r.video.truth)
        negatives = Counter(n.type for r in chosen for n in r.video.negatives)
        entry: dict[str, Any] = {
            "videos": len(chosen), "frames": frames, "truth": dict(truth),
            "negatives": dict(negatives), "tools": {},
        }
        same_clip = sum(len(r.video.same_clip) for r in chosen)
        entry["same_clip_transitions"] = same_clip
        for tool in tools:
            tally = aggregate(r.runs[tool.name].result for r in chosen)
            seconds = sum(r.runs[tool.name].seconds for r in chosen)
            entry["tools"][tool.name] = {
                **tally.to_dict(), "seconds": round(seconds, 3),
                "frames_per_second": round(frames / seconds, 1) if seconds else None,
                "fp_elsewhere": tally.overall.fp - sum(tally.negatives.values()),
                "same_clip_found": sum(_found(r.runs[tool.name].result, r.video.same_clip)
                                       for r in chosen),
            }
        if all(r.sweep for r in chosen):
            sweep = {t: aggregate(r.sweep[t] for r in chosen) for t in chosen[0].sweep}
            best = max(sweep, key=lambda t: (round(sweep[t].overall.f1, 6),
                                             -abs(t - DEFAULT_THRESHOLD)))
            entry["sweep"] = {
                "best_threshold": best,
                "by_threshold": {str(t): tally.to_dict() for t, tally in sweep.items()},
                "best": sweep[best].to_dict(),
                "same_clip_found": sum(_found(r.sweep[best], r.video.same_clip) for r in chosen),
            }
        out[subset] = entry
    return out


def _found(result: MatchResult, truth_indices: list[int]) -> int:
    matched = {m.truth_index for m in result.matches}
    return sum(1 for i in truth_indices if i in matched)


def per_video(results: list[VideoRuns]) -> list[dict[str, Any]]:
    return [{
        "name": r.video.name, "group": r.video.group, "frames": r.frames,
        "truth": [vars(t) for t in r.video.truth],
        "tools": {name: {"counts": vars(run.result.counts), "seconds": round(run.seconds, 4),
                         "predicted": [vars(p) for p in run.predicted]}
                  for name, run in r.runs.items()},
    } for r in results]


# -- Markdown ----------------------------------------------------------------------------------


def _f(x: float) -> str:
    return f"{x:.3f}"


def _label(tools: list[_peers.Tool]) -> dict[str, str]:
    return {t.name: t.label for t in tools}


def _counts(d: dict[str, Any]) -> Counts:
    return Counts(d["tp"], d["fp"], d["fn"])


def _type_counts(tool: dict[str, Any], *types: str) -> Counts:
    total = Counts()
    for t in types:
        if t in tool["by_type"]:
            total = total + _counts(tool["by_type"][t])
    return total


def _main_table(entry: dict[str, Any], tools: list[_peers.Tool], types: tuple[str, ...],
                negatives: bool) -> str:
    labels = _label(tools)
    headers = ["tool", "precision", "recall", "F1"]
    headers += [f"{t} recall" for t in types] + ["gradual recall"]
    same_clip = entry.get("same_clip_transitions", 0)
    if same_clip:
        headers.append(f"same-clip recall ({same_clip})")
    if negatives:
        headers.append("FP on negatives")
    headers.append("frames/s")
    rows = []
    for name, tool in entry["tools"].items():
        o = tool["overall"]
        row = [labels[name], _f(o["precision"]), _f(o["recall"]), _f(o["f1"])]
        row += [_f(_type_counts(tool, t).recall) if _type_counts(tool, t).truth else "—"
                for t in types]
        row.append(_f(_type_counts(tool, *GRADUAL).recall))
        if same_clip:
            row.append(_f(tool["same_clip_found"] / same_clip))
        if negatives:
            row.append(sum(tool["fp_on_negatives"].values()))
        row.append(f"{tool['frames_per_second']:,.0f}")
        rows.append(row)
    if "sweep" in entry:
        best, s = entry["sweep"]["best_threshold"], entry["sweep"]["best"]
        o = s["overall"]
        row = [f"PySceneDetect `ContentDetector`, best of threshold sweep ({best:g}; oracle)",
               _f(o["precision"]), _f(o["recall"]), _f(o["f1"])]
        tally = Tally(by_type={k: _counts(v) for k, v in s["by_type"].items()})
        row += [_f(tally.of(t).recall) if tally.of(t).truth else "—" for t in types]
        row.append(_f(tally.of(*GRADUAL).recall))
        if same_clip:
            row.append(_f(entry["sweep"]["same_clip_found"] / same_clip))
        if negatives:
            row.append(sum(s["fp_on_negatives"].values()))
        row.append("(as above)")
        rows.append(row)
    return _report.table(headers, rows)


def _per_type_table(entry: dict[str, Any], tools: list[_peers.Tool]) -> str:
    typed = {t.name: t.typed for t in tools}
    labels = _label(tools)
    headers = ["tool", "cut P / R / F1", *(f"{t} P / R / F1" for t in GRADUAL),
               "gradual (pooled) P / R / F1"]
    rows = []
    for name, tool in entry["tools"].items():
        row = [labels[name]]
        for types in (("cut",), *((t,) for t in GRADUAL), GRADUAL):
            c = _type_counts(tool, *types)
            # Undefined ratios show as a dash: precision without predictions of the type (or
            # for a tool that reports no types), recall without truth of the type.
            has_p = (types == ("cut",) or typed[name]) and c.tp + c.fp > 0
            p = _f(c.precision) if has_p else "—"
            r = _f(c.recall) if c.truth else "—"
            f1 = _f(c.f1) if has_p and c.truth else "—"
            row.append(f"{p} / {r} / {f1}")
        rows.append(row)
    return _report.table(headers, rows)


def _negatives_table(entry: dict[str, Any], tools: list[_peers.Tool]) -> str:
    labels = _label(tools)
    kinds = [k for k in NEGATIVE_ORDER if k in entry["negatives"]]
    headers = ["tool", *(f"{k} ({entry['negatives'][k]})" for k in kinds), "elsewhere"]
    rows = [[labels[name], *(tool["fp_on_negatives"].get(k, 0) for k in kinds),
             tool["fp_elsewhere"]] for name, tool in entry["tools"].items()]
    return _report.table(headers, rows)


def _per_clip_table(results: list[VideoRuns], tools: list[_peers.Tool]) -> str:
    labels = _label(tools)
    headers = ["clip", "truth", *(labels[t.name] for t in tools)]
    rows = []
    for r in results:
        if r.video.group != "real":
            continue
        kinds = Counter(t.type for t in r.video.truth)
        truth = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "none"
        name = r.video.name + (" ¹" if r.video.peer_test_video else "")
        cells = []
        for t in tools:
            c = r.runs[t.name].result.counts
            cells.append(f"{c.tp} / {c.fp} / {c.fn}")
        rows.append([name, truth, *cells])
    return _report.table(headers, rows)


def _truth_line(entry: dict[str, Any]) -> str:
    truth = entry["truth"]
    parts = [f"{truth[t]} {t}{'s' if truth[t] != 1 else ''}" for t in ("cut", *GRADUAL)
             if truth.get(t)]
    line = (f"{entry['videos']} videos, {entry['frames']:,} frames; truth: "
            + ", ".join(parts))
    if entry["negatives"]:
        neg = ", ".join(f"{n} {k}" for k, n in sorted(entry["negatives"].items()))
        line += f"; hard negatives: {neg}"
    return line + "."


def markdown(summary: dict[str, Any], results: list[VideoRuns], tools: list[_peers.Tool],
             info: dict[str, Any], tolerance: int) -> str:
    parts = [_report.provenance_md(info), ""]
    parts.append(
        f"Scoring: `vidscene.metrics.match_transitions`, one-to-one maximum matching; a cut "
        f"matches within ±{tolerance} frames, a gradual transition anywhere inside its span "
        f"(widened by {tolerance}); micro-averaged over videos. Frames/s include decoding "
        f"(each tool opens and decodes the file itself), measured in one process on the same "
        f"files, one tool after another per video.")
    if "synthetic" in summary:
        s = summary["synthetic"]
        parts += ["", "### Synthetic set", "",
                  f"Composed by `vidscene.train.synth` from single-shot dev clips, fixed seeds "
                  f"(`bench/_dataset.py`): {_truth_line(s)}", "",
                  _main_table(s, tools, ("cut", *GRADUAL), negatives=True), "",
                  "Per type: precision / recall / F1. False positives count under the type "
                  "the tool reported; PySceneDetect reports only cuts, so all its false "
                  "positives count against its cut precision and its gradual precision is "
                  "undefined (—).", "",
                  _per_type_table(s, tools), "",
                  "False positives on each kind of hard negative (the number of such events "
                  "in brackets) and elsewhere:", "",
                  _negatives_table(s, tools)]
    if "real" in summary:
        r = summary["real"]
        parts += ["", "### Real clips (hand-annotated)", "",
                  f"`bench/real_cuts.json`, annotated by eye from frame contact sheets: "
                  f"{_truth_line(r)} Don't-care regions (baked-in decoding damage, a jump "
                  f"inside one take) neither reward nor penalise.", "",
                  _main_table(r, tools, ("cut", "dissolve", "fade"), negatives=False), ""]
        split = []
        for name in r["tools"]:
            row = [_label(tools)[name]]
            for subset in ("real-peer-test", "real-other"):
                o = summary.get(subset, {}).get("tools", {}).get(name, {}).get("overall")
                row.append(f"{_f(o['precision'])} / {_f(o['recall'])} / {_f(o['f1'])}"
                           if o else "—")
            split.append(row)
        parts += ["Split by origin, precision / recall / F1 (¹ = a clip from PySceneDetect's "
                  "own test resources, where its defaults may have been tuned):", "",
                  _report.table(["tool", "PySceneDetect test clips ¹", "other clips"], split),
                  "", "Per clip, TP / FP / FN:", "", _per_clip_table(results, tools)]
    if "hard-negatives" in summary:
        h = summary["hard-negatives"]
        minutes = sum(r.frames / max(r.video.fps, 1e-9) for r in results
                      if r.video.group == "hard-negatives") / 60.0
        rows = []
        for name, tool in h["tools"].items():
            fp = tool["overall"]["fp"]
            rows.append([_label(tools)[name], fp, f"{fp / minutes * 10:.1f}",
                         _f(_type_counts(tool, "cut").recall)])
        parts += ["", "### Hard negatives (held-out clips)", "",
                  f"Composed only from the clips the shipped shot model never trained on "
                  f"({', '.join(_dataset.HELD_OUT_CLIPS)}), no threshold calibrated on it: "
                  f"long shots full of flashes, whip pans, zooms, lighting changes, captions, "
                  f"titles fading in and out, large objects sweeping through the frame, "
                  f"scrolling credits and dim shots, with a few cuts between them. "
                  f"{_truth_line(h)} {minutes:.1f} minutes.", "",
                  _report.table(["tool", "false transitions", "per 10 minutes",
                                 f"cut recall ({h['truth'].get('cut', 0)})"], rows), "",
                  "False transitions on each kind (events in brackets) and elsewhere:", "",
                  _negatives_table(h, tools)]
    if "gradual" in summary:
        g = summary["gradual"]
        parts += ["", "### Gradual transitions (held-out clips)", "",
                  f"Composed from the same held-out clips, no threshold calibrated on it: "
                  f"dissolves (linear and eased curves), fades and dips to black, white and "
                  f"other colours, and wipes of every shape (straight edges in eight "
                  f"directions, iris, clock, barn doors, hard and soft, push and slide), "
                  f"6–60 frames, between moving shots. {_truth_line(g)}", "",
                  _main_table(g, tools, GRADUAL, negatives=False), "",
                  _per_type_table(g, tools)]
    parts += ["", "### Notes", "",
              "- PySceneDetect runs with its defaults through its own API (`open_video`, OpenCV "
              "backend, `SceneManager` with automatic downscaling). Its scene starts become "
              "cuts at the decoded frame whose presentation time they name. `ContentDetector`, "
              "`AdaptiveDetector` and `HistogramDetector` find abrupt changes only; "
              "`ThresholdDetector` finds fades to and from black only, and reports one cut in "
              "the dark middle of a fade (which matches a labelled fade only when the dark hold "
              "is short: a hold of 0.5 s or more is a shot of its own in `real_cuts.json`); none "
              "of them reports spans or transition types.",
              "- The sweep row tries `ContentDetector` thresholds "
              f"{', '.join(f'{t:g}' for t in _peers.SWEEP_THRESHOLDS)} and keeps the best F1 "
              "on the very set it is scored on (an oracle choice, optimistic for the peer); its "
              "decisions are checked against the real detector at the default 27. A best "
              "threshold at either end of that range means the optimum may lie beyond it.",
              "- vidscene's `fast` thresholds were chosen on synthetic material composed from "
              "the same dev clips (other seeds), so the synthetic set favours it. The real "
              "clips are the fairer test, but they are few and they are a dev set: a detector "
              "calibrated on `real_cuts.json` is scored in-sample there. Neither set is a "
              "held-out test set.",
              "- vidscene's `transformer` was trained on other synthetic videos composed from "
              "9 of the single-shot dev clips (5 held out for its validation), none of them a "
              "clip with real cuts; its two thresholds were then chosen by "
              "`bench/calibrate_shots.py` on this synthetic set and the real clips that are not "
              "PySceneDetect's, so its scores there are in-sample for those two numbers, while "
              "PySceneDetect's test clips (¹) played no part in training or calibration.",
              "- The hard-negative and gradual sets are composed from the 5 clips the "
              "transformer's training held out and take no part in any calibration. They are "
              "not clean tests of `fast`, though: its rules for cuts to and from uniform frames "
              "and between flat colours, for objects passing in front of the lens and for "
              "mixtures that start in a flash were written after looking at its failures on "
              "them and on the real clips.",
              "- The hard-negative set packs events far more densely than edited footage "
              "(several per shot, one every few seconds), so its false transitions per 10 "
              "minutes are not what a film of that length would show.",
              "- Clips that contain real cuts are never used as synthetic material (an "
              "unlabelled cut inside a composed shot would be scored as a false positive)."]
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        tools = select_tools(args.only)
    except ConfigError as e:
        log(f"error: {e}")
        return 2
    clips = _dataset.locate_clips(args.clips)
    if clips is None:
        log("error: no dev clips folder (use --clips or set VIDSCENE_CLIPS)")
        return 2
    n = args.videos if args.videos is not None else (6 if args.quick else 40)
    write = args.write if args.write is not None else not (args.quick or args.only
                                                            or args.videos is not None)
    sweep = (not args.no_sweep) and any(t.name == "scenedetect-content" for t in tools)

    info = {"date": _report.now(), "command": _report.command(), "machine": _report.machine(),
            "versions": _report.versions(("scenedetect", "opencv-python"))}
    videos = _dataset.build_synthetic(n, clips, log=log)
    if not args.no_real:
        videos += _dataset.load_real(clips)
    if not args.no_held_out:
        for name in _dataset.HELD_OUT_SETS:
            videos += _dataset.build_held_out(name, clips, log=log)
    log(f"{len(videos)} videos, tools: {', '.join(t.name for t in tools)}")
    results = run_all(videos, tools, sweep, args.tolerance)
    summary = summarise(results, tools)

    document = {"info": info, "settings": {"tolerance": args.tolerance, "synthetic_videos": n,
                                           "tools": [t.name for t in tools]},
                "summary": summary, "videos": per_video(results)}
    text = markdown(summary, results, tools, info, args.tolerance)
    _report.publish(SECTION, args.out, document, text, write, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
