"""Scene benchmark: every scene segmenter on the same shots of the same films, in one run.

    python bench/scenes.py              # 24 synthetic scene films + the demo, both modes
    python bench/scenes.py --quick      # 4 films, no BENCHMARKS.md update

Inputs, built only from ``../shared/data``:

* **Synthetic scene films** (``vidscene.train.scene_synth``, fixed seeds, 320×180, 25 fps):
  4–9 scenes of 1–12 shots; a scene is differently framed segments of one single-shot dev
  clip, a scene change switches clip (sometimes back to the place of two scenes before); cuts
  inside scenes, cuts, dissolves and fades between them. Cached in ``bench/_cache/``.
* **The demo** (``examples/demo.mp4``, 8 scenes annotated in ``demo.truth.json``).

Two modes, so that segmenters are compared apart from shot errors and as users get them:

* **oracle shots**: the true shot boundaries drive the pipeline (a stand-in detector emits the
  composition's transitions), so keyframes and embeddings come from exactly the true shots;
* **end to end**: shots from vidscene's default shot detector.

In each mode the pipeline runs once per film and every segmenter groups the same shots and
embeddings. Two reference rows bracket the scores: every shot its own scene, and the whole film
one scene. Scores (``vidscene.metrics``): scene-boundary precision / recall / F1, boundaries
matched one to one within ``--tolerance`` seconds (default 1 s), and Vendrig–Worring coverage,
overflow and their F-score on frames; pooled over films (boundary counts summed, coverage and
overflow weighted by frames). Writes ``bench/out/scenes.json`` and, on a full run, the "Scenes"
section of ``BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import _dataset
import _report
from vidscene.analysis import Scene, Shot, Transition
from vidscene.metrics import SceneScores, score_scenes
from vidscene.pipeline import AnalyzeSettings, analyze
from vidscene.scenes import SEGMENTERS, create_segmenter, scenes_from_bounds
from vidscene.shots import ShotDetector
from vidscene.video import FrameBatch

SECTION = "Scenes"
SEED = 20261129
FILMS = 24
SIZE = (320, 180)
REFERENCES = ("every-shot", "one-scene")
MODES = ("oracle", "end-to-end")


@dataclass
class Film:
    name: str
    path: Path
    fps: float
    transitions: list[Transition]
    scenes: list[tuple[int, int]]  # half-open frame ranges


class OracleDetector(ShotDetector):
    """Emits the known transitions, each once its last frame has been seen (as a real detector
    would report it), so the pipeline builds keyframes and embeddings for the true shots."""

    name = "oracle"

    def __init__(self, transitions: list[Transition]) -> None:
        self.waiting = sorted(transitions, key=lambda t: t.first_frame)

    def process(self, batch: FrameBatch) -> list[Transition]:
        seen = batch.start + len(batch)
        out = [t for t in self.waiting if t.last_frame < seen]
        self.waiting = self.waiting[len(out):]
        return out

    def flush(self) -> list[Transition]:
        out, self.waiting = self.waiting, []
        return out


def build_films(n: int, clips_dir: Path, log: Any) -> list[Film]:
    from vidscene.train.scene_synth import make_scene_film, scene_frame_ranges
    from vidscene.train.synth import GroundTruth

    clip_paths = _dataset.material_clips(clips_dir)
    salt = _dataset._composer_salt()
    _dataset.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    films = []
    for i in range(n):
        path = _dataset.CACHE_DIR / f"scenes-{i:03d}-{salt}.mp4"
        truth_path = path.with_suffix(".truth.json")
        if path.is_file() and truth_path.is_file():
            truth = GroundTruth.from_json(truth_path)
        else:
            for stale in _dataset.CACHE_DIR.glob(f"scenes-{i:03d}-*"):
                stale.unlink()
            log(f"composing {path.name}")
            truth = make_scene_film(path, seed=SEED + i, clips=clip_paths, size=SIZE)
        films.append(Film(path.stem, path, truth.fps,
                          [Transition(t.type, t.first_frame, t.last_frame, 1.0)
                           for t in truth.transitions],
                          scene_frame_ranges(truth)))
    return films


def demo_film() -> Film | None:
    from vidscene.train.scene_synth import scene_frame_ranges
    from vidscene.train.synth import GroundTruth

    path = _report.REPO / "examples" / "demo.mp4"
    truth_path = path.with_suffix(".truth.json")
    if not (path.is_file() and truth_path.is_file()):
        return None
    truth = GroundTruth.from_json(truth_path)
    return Film("demo", path, truth.fps,
                [Transition(t.type, t.first_frame, t.last_frame, 1.0) for t in truth.transitions],
                scene_frame_ranges(truth))


def _reference(name: str, shots: list[Shot]) -> list[Scene]:
    starts = list(range(len(shots))) if name == "every-shot" else [0]
    return scenes_from_bounds(shots, starts, [1.0] * len(starts))


def run(films: list[Film], segmenters: list[str], tolerance: float, log: Any
        ) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {mode: {} for mode in MODES}
    for film in films:
        for mode in MODES:
            detector = OracleDetector(film.transitions) if mode == "oracle" else None
            result = analyze(film.path, AnalyzeSettings(), detector=detector)
            shots, embeddings = result.analysis.shots, np.asarray(result.shot_embeddings)
            for name in [*segmenters, *REFERENCES]:
                start = time.perf_counter()
                scenes = (_reference(name, shots) if name in REFERENCES
                          else create_segmenter(name).segment(shots, embeddings))
                seconds = time.perf_counter() - start
                score = score_scenes(film.scenes, scenes, fps=film.fps, tolerance=tolerance)
                entry = results[mode].setdefault(name, {"films": {}, "seconds": 0.0})
                entry["films"][film.name] = {"score": score, "scenes": len(scenes),
                                             "truth_scenes": len(film.scenes),
                                             "shots": len(shots)}
                entry["seconds"] += seconds
            log(f"{film.name} {mode}: {len(shots)} shots, " + ", ".join(
                f"{name} F1 {results[mode][name]['films'][film.name]['score'].f1:.2f}"
                for name in segmenters))
    return results


def summarise(results: dict[str, dict[str, Any]], synthetic: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode, by_name in results.items():
        out[mode] = {}
        for name, entry in by_name.items():
            films = entry["films"]
            pooled = SceneScores.pool(films[f]["score"] for f in synthetic if f in films)
            out[mode][name] = {
                "synthetic": pooled.to_dict(),
                "demo": films["demo"]["score"].to_dict() if "demo" in films else None,
                "seconds": round(entry["seconds"], 3),
                "films": {f: {**v, "score": v["score"].to_dict()} for f, v in films.items()},
            }
    return out


def markdown(summary: dict[str, Any], info: dict[str, Any], n_films: int, tolerance: float,
             segmenters: list[str]) -> str:
    lines = [_report.provenance_md(info), "",
             f"{n_films} synthetic scene films (`vidscene.train.scene_synth`, seeds "
             f"{SEED}…, {SIZE[0]}×{SIZE[1]}) and the demo (8 annotated scenes). Boundary "
             f"P/R/F1 within ±{tolerance:g} s; C / O / F: Vendrig–Worring coverage, overflow "
             "and their F-score on frames, pooled over films. `every-shot` and `one-scene` are "
             "reference rows, not segmenters.", ""]
    for mode in MODES:
        title = ("Oracle shots (true shot boundaries)" if mode == "oracle"
                 else "End to end (shots from the default detector)")
        lines += [f"### {title}", ""]
        rows = []
        for name in [*segmenters, *REFERENCES]:
            s = summary[mode][name]["synthetic"]
            b = s["boundaries"]
            demo = summary[mode][name]["demo"]
            rows.append([f"`{name}`", f"{b['precision']:.3f}", f"{b['recall']:.3f}",
                         f"**{b['f1']:.3f}**", f"{s['coverage']:.3f}", f"{s['overflow']:.3f}",
                         f"**{s['f_coverage_overflow']:.3f}**",
                         f"{demo['boundaries']['f1']:.3f} / {demo['f_coverage_overflow']:.3f}"
                         if demo else "—"])
        lines += [_report.table(["segmenter", "P", "R", "F1", "C", "O", "F (C/O)",
                                 "demo F1 / F (C/O)"], rows), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--films", type=int, default=None, help=f"synthetic films (default {FILMS})")
    p.add_argument("--quick", action="store_true", help="4 films, no BENCHMARKS.md update")
    p.add_argument("--tolerance", type=float, default=1.0, help="boundary tolerance, seconds")
    p.add_argument("--segmenters", default=",".join(sorted(SEGMENTERS)),
                   help="comma-separated segmenter names (default: all registered)")
    p.add_argument("--clips", type=Path, default=None, help="the dev clips folder")
    p.add_argument("--out", type=Path, default=_report.OUT_DIR / "scenes.json")
    p.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                   help="update BENCHMARKS.md (default: only on a full run)")
    args = p.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    n = args.films or (4 if args.quick else FILMS)
    write = args.write if args.write is not None else not (args.quick or args.films)
    clips = _dataset.locate_clips(args.clips)
    if clips is None:
        log("error: no dev clips folder (use --clips or set VIDSCENE_CLIPS)")
        return 2
    segmenters = [s for s in args.segmenters.split(",") if s]
    films = build_films(n, clips, log)
    synthetic = [f.name for f in films]
    demo = demo_film()
    if demo is not None:
        films.append(demo)
    info = {"date": _report.now(), "command": _report.command(), "machine": _report.machine(),
            "versions": _report.versions()}
    results = run(films, segmenters, args.tolerance, log)
    summary = summarise(results, synthetic)
    _report.publish(SECTION, args.out,
                    {"info": info, "tolerance_s": args.tolerance, "films": n, "results": summary},
                    markdown(summary, info, n, args.tolerance, segmenters), write, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
