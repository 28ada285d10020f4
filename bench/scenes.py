"""Scene benchmark: every scene segmenter on the same shots of the same films, in one run.

    python bench/scenes.py              # both sets below, both modes
    python bench/scenes.py --set long   # only the long films (section "Scenes on long films")
    python bench/scenes.py --quick      # 4 short and 2 long films, no BENCHMARKS.md update

Inputs, built only from ``../shared/data``:

* **Synthetic scene films** (``vidscene.train.scene_synth``, fixed seeds, 320×180, 25 fps):
  4–9 scenes of 1–12 shots; a scene is differently framed segments of one single-shot dev
  clip, a scene change switches clip (sometimes back to the place of two scenes before); cuts
  inside scenes, cuts, dissolves and fades between them. Cached in ``bench/_cache/``.
* **The demo** (``examples/demo.mp4``, 8 scenes annotated in ``demo.truth.json``).
* **Long films** (``scene_synth.plan_film``, seeds from 20261201, 320×180, 25 fps; section
  "Scenes on long films"): 10+ minutes and 12+ scenes each, with a film's scene structure
  (scenes of 12 s to 2.5 min and 3–40 shots, establishing shots, shot / reverse shot, inserts
  and cutaways, returns, gradual transitions at most scene changes and a few inside scenes,
  titles and end credits as one scene each), with a soundtrack planned with the scenes
  (``vidscene.train.scene_sound.film_soundtrack``: a clip's own sound for its scenes, held-out
  procedural beds for the rest, J / L cuts, sound bridges across scene changes, music coming
  in). Scored within ±2 s and ±1 s, with the scene count error and the share of one-shot
  scenes; the classic segmenters are tuned on two long films of other seeds. The transformer
  also runs deaf (``transformer-silent``: the same shots with no sound, as on a video without
  audio) and with the previous weights (``--baseline-weights``, default v2).

Two modes, so that segmenters are compared apart from shot errors and as users get them:

* **oracle shots**: the true shot boundaries drive the pipeline (a stand-in detector emits the
  composition's transitions), so keyframes and embeddings come from exactly the true shots;
* **end to end**: shots from vidscene's default shot detector.

In each mode the pipeline runs once per film and every segmenter groups the same shots,
embeddings and keyframe embeddings (``transformer`` once more with ``--ablation-k`` keyframes
per shot, the ``transformer-kK`` row, in oracle mode). The classic segmenters run with their
defaults and, as ``osg-tuned`` / ``stg-tuned``, with the best of a small grid on tuning films
of other seeds (``--no-tune`` skips it). Two reference rows bracket the scores: every shot its
own scene, and the whole film one scene. Scores (``vidscene.metrics``): scene-boundary
precision / recall / F1, boundaries matched one to one within ``--tolerance`` seconds (default
1 s), and Vendrig–Worring coverage, overflow and their F-score on frames; pooled over films
(boundary counts summed, coverage and overflow weighted by frames). Writes
``bench/out/scenes.json`` and, on a full run, the "Scenes" section of ``BENCHMARKS.md``.
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
from vidscene.errors import ConfigError
from vidscene.metrics import SceneScores, score_scenes
from vidscene.pipeline import AnalyzeSettings, analyze
from vidscene.scenes import (
    SEGMENTERS,
    SceneSegmenter,
    create_segmenter,
    scenes_from_bounds,
    sound_blocks,
)
from vidscene.shots import ShotDetector
from vidscene.video import FrameBatch, read_audio

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


def _film_salt(long: bool) -> str:
    """Hash of the compositor and of the film planner in use: either changed, new films."""
    import hashlib
    import inspect

    from vidscene.train import scene_synth

    planner = ((scene_synth.FilmRecipe, scene_synth.plan_film, scene_synth.make_film) if long
               else (scene_synth.SceneFilmRecipe, scene_synth.plan_scene_film,
                     scene_synth.make_scene_film))
    text = _dataset._composer_salt() + "".join(inspect.getsource(o) for o in planner)
    text += inspect.getsource(scene_synth._draw) + inspect.getsource(scene_synth._draw_scene_length)
    text += repr((scene_synth.FILM_BETWEEN_MIX, scene_synth.FILM_WITHIN_MIX) if long
                 else (scene_synth.BETWEEN_MIX, scene_synth.WITHIN_MIX))
    if long:
        text += inspect.getsource(scene_synth._lognormal)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _sound_salt() -> str:
    """Hash of the soundtrack planner and the sound features: either changed, new tracks."""
    import hashlib

    from vidscene.scenes import _sound
    from vidscene.train import scene_sound

    text = Path(scene_sound.__file__).read_bytes() + Path(_sound.__file__).read_bytes()
    return hashlib.sha256(text).hexdigest()[:12]


def _add_soundtrack(silent: Path, out: Path, truth: Any, clips: list[Path], seed: int) -> None:
    """``out``: ``silent`` with a soundtrack planned with its scenes (module doc)."""
    import subprocess
    import tempfile
    import wave

    from vidscene.train.scene_sound import RATE, film_soundtrack

    fps = truth.fps
    seconds = [(b - a) / fps for a, b in truth.shots]
    ends = [0] * len(truth.shots)
    for _first, last in truth.scenes:
        ends[last] = 1
    # A scene is heard as the place of its first shot; titles and credits as music.
    credits = {e.first_frame for e in truth.negatives if e.type in ("title", "credits")}
    places = []
    for first, last in truth.scenes:
        a, b = truth.shots[first][0], truth.shots[last][1]
        places.append("credits" if any(a <= f < b for f in credits)
                      else truth.sources[first].split("@")[0])
    track = film_soundtrack(seconds, ends, places, {c.name: c for c in clips}, seed)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "sound.wav"
        with wave.open(str(wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes((np.clip(track, -1, 1) * 32767).astype(np.int16).tobytes())
        part = out.with_name(out.name + ".part.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(silent), "-i", str(wav),
                        "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", "-b:a",
                        "96k", str(part)], check=True)
        part.replace(out)


def build_films(n: int, clips_dir: Path, log: Any, *, seed: int = SEED,
                prefix: str = "scenes", only: list[str] | None = None,
                long: bool = False, sound: bool = False) -> list[Film]:
    """``n`` scene films of fixed seeds (cached); ``only``: compose from these clips alone;
    ``long``: films with a film's scene structure (``scene_synth.plan_film``) instead of the
    short scene films; ``sound``: with a soundtrack planned with the scenes."""
    from vidscene.train.scene_synth import make_film, make_scene_film, scene_frame_ranges
    from vidscene.train.synth import GroundTruth

    clip_paths = _dataset.material_clips(clips_dir)
    if only is not None:
        clip_paths = [p for p in clip_paths if p.name in set(only)]
    salt = _film_salt(long)
    _dataset.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    films = []
    for i in range(n):
        path = _dataset.CACHE_DIR / f"{prefix}-{i:03d}-{salt}.mp4"
        truth_path = path.with_suffix(".truth.json")
        if path.is_file() and truth_path.is_file():
            truth = GroundTruth.from_json(truth_path)
        else:
            for stale in _dataset.CACHE_DIR.glob(f"{prefix}-{i:03d}-*"):
                stale.unlink()
            log(f"composing {path.name}")
            make = make_film if long else make_scene_film
            truth = make(path, seed=seed + i, clips=clip_paths, size=SIZE)
        if sound:
            heard = path.with_name(f"{path.stem}-sound-{_sound_salt()}.mp4")
            if not heard.is_file():
                for stale in _dataset.CACHE_DIR.glob(f"{path.stem}-sound-*"):
                    stale.unlink()
                log(f"adding a soundtrack: {heard.name}")
                _add_soundtrack(path, heard, truth, clip_paths, seed + i)
            path = heard
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


LONG_SECTION = "Scenes on long films"
LONG_SEED = 20261201
LONG_FILMS = 5
LONG_TUNE_SEED = 778000
LONG_TUNE_FILMS = 2
LONG_TOLERANCE = 2.0
SETS = ("short", "long")

UNSEEN_SEED = 20262000
UNSEEN_FILMS = 8


def _held_out_clips() -> list[str]:
    """The clips the transformer's training held out (from its model card), if any."""
    try:
        seg = _segmenter("transformer", SCENE_WEIGHTS)
    except ConfigError:  # no weights: no unseen-places films
        return []
    return list(getattr(seg, "card", {}).get("data", {}).get("held_out_clips", []))


TUNE_SEED = 777000
TUNE_FILMS = 12
TUNE_GRID: dict[str, list[dict[str, float]]] = {
    "osg": [{"penalty": p} for p in (0.75, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0)],
    "stg": [{"window": w, "link": link} for w in (8.0, 12.0, 20.0, 30.0, 45.0)
            for link in (0.75, 1.0, 1.25, 1.5, 2.0)],
}
"""Settings tried for each classic segmenter on the tuning films (seeds apart from the
benchmark's): the ``-tuned`` rows use the best, so the baselines get the same chance to fit
this kind of material that the learned model got from its training data."""


@dataclass
class Analysed:
    shots: list[Shot]
    embeddings: np.ndarray
    keyframes: list[np.ndarray] | None
    sound: np.ndarray | None = None
    """The soundtrack's band-power blocks, as the scene stage measures them."""


SILENT_ROWS: set[str] = set()
"""Rows whose segmenter gets no sound (as on a video without audio)."""


SCENE_WEIGHTS: dict[str, Any] = {}
"""Keyword arguments of the transformer segmenter (``--scene-weights``)."""
_SEGMENTERS: dict[str, SceneSegmenter] = {}


def _segmenter(name: str, kwargs: dict[str, Any]) -> SceneSegmenter:
    """One segmenter per name and settings for the whole run (the transformer loads its
    weights once, not once per film)."""
    key = f"{name}|{sorted(kwargs.items())!r}"
    if key not in _SEGMENTERS:
        _SEGMENTERS[key] = create_segmenter(name, **kwargs)
    return _SEGMENTERS[key]


def analyse(film: Film, mode: str, keyframes_per_shot: int) -> Analysed:
    """One pipeline run (its scenes are ignored: every segmenter regroups the same shots,
    keyframe embeddings from the transformer's encoder included)."""
    detector = OracleDetector(film.transitions) if mode == "oracle" else None
    settings = AnalyzeSettings(scenes="transformer", keyframes_per_shot=keyframes_per_shot)
    segmenter = _segmenter("transformer", SCENE_WEIGHTS)
    result = analyze(film.path, settings, detector=detector, segmenter=segmenter)
    track = read_audio(film.path)
    return Analysed(result.analysis.shots, np.asarray(result.shot_embeddings),
                    result.keyframe_embeddings,
                    sound_blocks(track.mono, track.rate) if track is not None else None)


def segment(spec: tuple[str, dict[str, Any]], data: Analysed, hear: bool = True
            ) -> list[Scene]:
    name, kwargs = spec
    if name in REFERENCES:
        return _reference(name, data.shots)
    return _segmenter(name, kwargs).segment(data.shots, data.embeddings, data.keyframes,
                                            data.sound if hear else None)


def tune(films: list[Film], log: Any, tolerance: float = 1.0) -> dict[str, dict[str, float]]:
    """The best setting of each classic segmenter on ``films`` (oracle shots), by pooled
    boundary F1 within ``tolerance`` seconds, ties broken by coverage/overflow F."""
    data = [(film, analyse(film, "oracle", 1)) for film in films]
    best: dict[str, dict[str, float]] = {}
    for name, grid in TUNE_GRID.items():
        scored = []
        for kwargs in grid:
            pooled = SceneScores.pool(
                score_scenes(f.scenes, segment((name, kwargs), d), fps=f.fps,
                             tolerance=tolerance)
                for f, d in data)
            scored.append(((pooled.f1, pooled.f_coverage_overflow), kwargs))
        (f1, fco), best[name] = max(scored, key=lambda item: item[0])
        log(f"tuned {name}: {best[name]} (tuning films F1 {f1:.3f}, F (C/O) {fco:.3f})")
    return best


def run(films: list[Film], specs: dict[str, tuple[str, dict[str, Any]]], tolerance: float,
        keyframes_per_shot: int, ablation_k: int, log: Any, *, other_tolerance: float = 2.0
        ) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {mode: {} for mode in MODES}
    results["analyze_seconds"] = {}
    for film in films:
        for mode in MODES:
            start = time.perf_counter()
            data = analyse(film, mode, keyframes_per_shot)
            results["analyze_seconds"][f"{film.name}|{mode}"] = time.perf_counter() - start
            rows = dict(specs)
            by_data = {row: data for row in rows}
            if mode == "oracle" and "transformer" in specs and ablation_k != keyframes_per_shot:
                # The keyframes ablation: the same model with another number of keyframes.
                row = f"transformer-k{ablation_k}"
                rows[row] = specs["transformer"]
                by_data[row] = analyse(film, mode, ablation_k)
            for row, spec in [*rows.items(), *((r, (r, {})) for r in REFERENCES)]:
                d = by_data.get(row, data)
                start = time.perf_counter()
                scenes = segment(spec, d, hear=row not in SILENT_ROWS)
                seconds = time.perf_counter() - start
                score = score_scenes(film.scenes, scenes, fps=film.fps, tolerance=tolerance)
                other = score_scenes(film.scenes, scenes, fps=film.fps,
                                     tolerance=other_tolerance)
                entry = results[mode].setdefault(row, {"films": {}, "seconds": 0.0})
                entry["films"][film.name] = {
                    "score": score, "score_other_tolerance": other, "scenes": len(scenes),
                    "one_shot_scenes": sum(sc.first_shot == sc.last_shot for sc in scenes),
                    "truth_scenes": len(film.scenes), "shots": len(d.shots)}
                entry["seconds"] += seconds
            log(f"{film.name} {mode}: {len(data.shots)} shots, " + ", ".join(
                f"{row} F1 {results[mode][row]['films'][film.name]['score'].f1:.2f}"
                for row in rows))
    return results


def summarise(results: dict[str, dict[str, Any]], synthetic: list[str], unseen: list[str]
              ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in MODES:
        by_name = results[mode]
        out[mode] = {}
        for name, entry in by_name.items():
            films = entry["films"]
            pooled = SceneScores.pool(films[f]["score"] for f in synthetic if f in films)
            held = [films[f]["score"] for f in unseen if f in films]
            out[mode][name] = {
                "synthetic": pooled.to_dict(),
                "unseen": SceneScores.pool(held).to_dict() if held else None,
                "demo": films["demo"]["score"].to_dict() if "demo" in films else None,
                "seconds": round(entry["seconds"], 3),
                "films": {f: {**v, "score": v["score"].to_dict(),
                              "score_other_tolerance": v["score_other_tolerance"].to_dict()}
                          for f, v in films.items()},
            }
    return out


def summarise_long(results: dict[str, dict[str, Any]], names: list[str]) -> dict[str, Any]:
    """The long films' scores per mode and segmenter: pooled boundaries at both tolerances,
    coverage / overflow, scene counts against the annotation and one-shot scenes."""
    out: dict[str, Any] = {}
    for mode in MODES:
        out[mode] = {}
        for name, entry in results[mode].items():
            films = [entry["films"][f] for f in names if f in entry["films"]]
            errors = [(f["scenes"] - f["truth_scenes"]) / f["truth_scenes"] for f in films]
            found = sum(f["scenes"] for f in films)
            out[mode][name] = {
                "pooled": SceneScores.pool(f["score"] for f in films).to_dict(),
                "pooled_other_tolerance": SceneScores.pool(
                    f["score_other_tolerance"] for f in films).to_dict(),
                "scenes": found, "truth_scenes": sum(f["truth_scenes"] for f in films),
                "count_error_mean": round(float(np.mean(np.abs(errors))), 4),
                "count_error_worst": round(float(max(errors, key=abs)), 4),
                "one_shot_share": round(sum(f["one_shot_scenes"] for f in films)
                                        / max(found, 1), 4),
                "seconds": round(entry["seconds"], 3),
                "films": {f: {**v, "score": v["score"].to_dict(),
                              "score_other_tolerance": v["score_other_tolerance"].to_dict()}
                          for f, v in entry["films"].items() if f in names},
            }
    return out


def markdown_long(summary: dict[str, Any], info: dict[str, Any], films: list[Film],
                  tuned: dict[str, dict[str, float]], analyze_seconds: float) -> str:
    tuned_text = "; ".join(f"`{k}-tuned`: " + ", ".join(f"{a} {v:g}" for a, v in kw.items())
                           for k, kw in tuned.items())
    minutes = [f.scenes[-1][1] / f.fps / 60 for f in films]
    scenes = [len(f.scenes) for f in films]
    lines = [_report.provenance_md(info), "",
             f"{len(films)} long composed films (`vidscene.train.scene_synth.plan_film`, seeds "
             f"{LONG_SEED}…, {SIZE[0]}×{SIZE[1]}, 25 fps; {min(minutes):.1f}–{max(minutes):.1f} "
             f"min, {min(scenes)}–{max(scenes)} scenes, {sum(scenes)} in all): scenes of 12 s "
             "to 2.5 min and 3–40 shots, establishing shots, shot / reverse shot, inserts and "
             "cutaways inside scenes, returns to earlier places, dissolves and fades at most "
             "scene changes and a few inside scenes, opening titles and end credits as one "
             "scene each. Each has a soundtrack planned with its scenes "
             "(`scene_sound.film_soundtrack`: a clip's own sound, where it has one, for the "
             "scenes of that clip, held-out procedural beds for the rest, music for titles "
             "and credits; J / L cuts, sound carried across some scene changes, music coming "
             "in inside scenes). `transformer-silent`: the same model and shots without the "
             "sound, as on a video with no audio; `transformer-v2`: the previous weights. "
             "Boundaries matched one to one within ±2 s (P / R / F1) and ±1 s "
             "(F1); C / O / F: Vendrig–Worring coverage, overflow and their F-score on frames; "
             "all pooled over films. *Count error*: mean over films of |found − annotated| / "
             "annotated, and the worst film's signed error. *One-shot*: share of the found "
             "scenes that hold a single shot. Classic segmenters with their defaults and "
             f"`-tuned` on {LONG_TUNE_FILMS} long tuning films of other seeds ({LONG_TUNE_SEED}"
             f"…; {tuned_text or 'not run'}). *seconds*: the segmenter's own time, all films; "
             f"the pipeline's analyses took {analyze_seconds:.0f} s.", ""]
    for mode in MODES:
        title = ("Oracle shots (true shot boundaries)" if mode == "oracle"
                 else "End to end (shots from the default detector)")
        lines += [f"### {title}", ""]
        rows = []
        for name, r in summary[mode].items():
            b = r["pooled"]["boundaries"]
            rows.append([f"`{name}`", f"{r['scenes']} / {r['truth_scenes']}",
                         f"{r['count_error_mean']:.1%} ({r['count_error_worst']:+.0%})",
                         f"{b['precision']:.3f}", f"{b['recall']:.3f}", f"**{b['f1']:.3f}**",
                         f"{r['pooled_other_tolerance']['boundaries']['f1']:.3f}",
                         f"{r['pooled']['coverage']:.3f}", f"{r['pooled']['overflow']:.3f}",
                         f"**{r['pooled']['f_coverage_overflow']:.3f}**",
                         f"{r['one_shot_share']:.1%}", f"{r['seconds']:.2f}"])
        lines += [_report.table(["segmenter", "scenes found / annotated", "count error",
                                 "P", "R", "F1 ±2 s", "F1 ±1 s", "C", "O", "F (C/O)",
                                 "one-shot", "seconds"], rows), ""]
    return "\n".join(lines)


def markdown(summary: dict[str, Any], info: dict[str, Any], n_films: int, tolerance: float,
             tuned: dict[str, dict[str, float]], keyframes_per_shot: int, ablation_k: int,
             n_unseen: int) -> str:
    tuned_text = "; ".join(f"`{k}-tuned`: " + ", ".join(f"{a} {v:g}" for a, v in kw.items())
                           for k, kw in tuned.items())
    lines = [_report.provenance_md(info), "",
             f"{n_films} synthetic scene films (`vidscene.train.scene_synth`, seeds "
             f"{SEED}…, {SIZE[0]}×{SIZE[1]}) and the demo (8 annotated scenes). Boundary "
             f"P/R/F1 within ±{tolerance:g} s; C / O / F: Vendrig–Worring coverage, overflow "
             "and their F-score on frames, pooled over films. `every-shot` and `one-scene` are "
             "reference rows, not segmenters. Classic segmenters appear with their defaults "
             f"and `-tuned` on {TUNE_FILMS} tuning films (seeds {TUNE_SEED}…, oracle shots; "
             f"{tuned_text or 'not run'}); `transformer` runs with its shipped weights and "
             f"threshold, {keyframes_per_shot} keyframe(s) per shot (the analysis default), "
             f"and `transformer-k{ablation_k}` with {ablation_k} (oracle mode); "
             "`transformer-v2` is the previous weights. These films have no soundtrack, so "
             "a model that listens reads the picture alone here. *Unseen places*: "
             f"{n_unseen} more films (seeds {UNSEEN_SEED}…) composed only from the clips the "
             "scene model held out in training (listed in its model card): places it never saw. "
             f"The main columns pool the {n_films} films, whose clips the model partly trained "
             "on.", ""]
    for mode in MODES:
        title = ("Oracle shots (true shot boundaries)" if mode == "oracle"
                 else "End to end (shots from the default detector)")
        lines += [f"### {title}", ""]
        rows = []
        for name in summary[mode]:
            s = summary[mode][name]["synthetic"]
            b = s["boundaries"]
            demo = summary[mode][name]["demo"]
            rows.append([f"`{name}`", f"{b['precision']:.3f}", f"{b['recall']:.3f}",
                         f"**{b['f1']:.3f}**", f"{s['coverage']:.3f}", f"{s['overflow']:.3f}",
                         f"**{s['f_coverage_overflow']:.3f}**",
                         f"{demo['boundaries']['f1']:.3f} / {demo['f_coverage_overflow']:.3f}"
                         if demo else "—",
                         f"{unseen['boundaries']['f1']:.3f} / {unseen['f_coverage_overflow']:.3f}"
                         if (unseen := summary[mode][name]["unseen"]) else "—",
                         f"{summary[mode][name]['seconds']:.2f}"])
        lines += [_report.table(["segmenter", "P", "R", "F1", "C", "O", "F (C/O)",
                                 "demo F1 / F (C/O)", "unseen places F1 / F (C/O)", "seconds"],
                                rows), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set", choices=[*SETS, "all"], default="all",
                   help="which films: the short scene films (section Scenes), the long films "
                   f"(section {LONG_SECTION}), or both (default)")
    p.add_argument("--films", type=int, default=None,
                   help=f"films of each set (default {FILMS} short, {LONG_FILMS} long)")
    p.add_argument("--quick", action="store_true", help="4 films, no BENCHMARKS.md update")
    p.add_argument("--tolerance", type=float, default=1.0,
                   help="boundary tolerance of the short films, seconds (the long films are "
                   f"scored at ±{LONG_TOLERANCE:g} s and ±1 s)")
    p.add_argument("--segmenters", default=",".join(sorted(SEGMENTERS)),
                   help="comma-separated segmenter names (default: all registered)")
    p.add_argument("--clips", type=Path, default=None, help="the dev clips folder")
    p.add_argument("--keyframes-per-shot", type=int, default=AnalyzeSettings().keyframes_per_shot,
                   help="K for the pipeline (default: the analysis default)")
    p.add_argument("--unseen", type=int, default=UNSEEN_FILMS,
                   help="films composed only from the scene model's held-out clips (0: none)")
    p.add_argument("--scene-weights", type=Path, default=None,
                   help="weights of the transformer segmenter (default: the shipped ones)")
    p.add_argument("--baseline-weights", type=Path,
                   default=_report.REPO / "src" / "vidscene" / "nn" / "weights"
                   / "scene-transformer-v2.safetensors",
                   help="earlier transformer weights run beside the default (row "
                   "transformer-VERSION; default v2)")
    p.add_argument("--ablation-k", type=int, default=3,
                   help="keyframes per shot of the transformer-kK row (oracle mode; default 3)")
    p.add_argument("--tune", action=argparse.BooleanOptionalAction, default=True,
                   help="tune the classic segmenters on the tuning films first (default: on)")
    p.add_argument("--out", type=Path, default=_report.OUT_DIR / "scenes.json")
    p.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                   help="update BENCHMARKS.md (default: only on a full run)")
    args = p.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    write = args.write if args.write is not None else not (args.quick or args.films)
    clips = _dataset.locate_clips(args.clips)
    if clips is None:
        log("error: no dev clips folder (use --clips or set VIDSCENE_CLIPS)")
        return 2
    segmenters = [s for s in args.segmenters.split(",") if s]
    if args.scene_weights:
        SCENE_WEIGHTS["weights"] = args.scene_weights
    specs: dict[str, tuple[str, dict[str, Any]]] = {
        name: (name, dict(SCENE_WEIGHTS) if name == "transformer" else {})
        for name in segmenters}
    info = {"date": _report.now(), "command": _report.command(), "machine": _report.machine(),
            "versions": _report.versions()}
    if args.set in ("short", "all"):
        run_short(args, clips, specs, info, write, log)
    if args.set in ("long", "all"):
        run_long(args, clips, specs, info, write, log)
    return 0


def _with_tuned(specs: dict[str, tuple[str, dict[str, Any]]],
                tuned: dict[str, dict[str, float]]) -> dict[str, tuple[str, dict[str, Any]]]:
    out = dict(specs)
    for name, kwargs in tuned.items():
        if name in specs:
            out[f"{name}-tuned"] = (name, kwargs)
    return out


def _with_baseline(specs: dict[str, tuple[str, dict[str, Any]]], base: Path | None
                   ) -> dict[str, tuple[str, dict[str, Any]]]:
    """``specs`` and, beside the transformer, a row for the earlier weights ``base``."""
    out = dict(specs)
    if "transformer" in specs and base is not None and base.is_file():
        out[f"transformer-{base.stem.split('-')[-1]}"] = ("transformer", {"weights": base})
    return out


def run_short(args: argparse.Namespace, clips: Path, specs: dict[str, tuple[str, dict[str, Any]]],
              info: dict[str, Any], write: bool, log: Any) -> None:
    """The short scene films, the unseen-places films and the demo (section Scenes)."""
    n = args.films or (4 if args.quick else FILMS)
    tuned: dict[str, dict[str, float]] = {}
    if args.tune:
        tuning = build_films(TUNE_FILMS, clips, log, seed=TUNE_SEED, prefix="scenes-tune")
        tuned = tune(tuning, log)
    films = build_films(n, clips, log)
    synthetic = [f.name for f in films]
    unseen: list[str] = []
    held_out = _held_out_clips()
    if held_out and not args.quick and args.unseen:
        extra = build_films(args.unseen, clips, log, seed=UNSEEN_SEED, prefix="scenes-unseen",
                            only=held_out)
        unseen = [f.name for f in extra]
        films += extra
    demo = demo_film()
    if demo is not None:
        films.append(demo)
    results = run(films, _with_tuned(_with_baseline(specs, args.baseline_weights), tuned),
                  args.tolerance, args.keyframes_per_shot, args.ablation_k, log)
    summary = summarise(results, synthetic, unseen)
    _report.publish(SECTION, args.out,
                    {"info": info, "tolerance_s": args.tolerance, "films": n, "tuned": tuned,
                     "keyframes_per_shot": args.keyframes_per_shot, "results": summary},
                    markdown(summary, info, n, args.tolerance, tuned, args.keyframes_per_shot,
                             args.ablation_k, len(unseen)),
                    write, log)


def run_long(args: argparse.Namespace, clips: Path, specs: dict[str, tuple[str, dict[str, Any]]],
             info: dict[str, Any], write: bool, log: Any) -> None:
    """The long films (section Scenes on long films)."""
    n = args.films or (2 if args.quick else LONG_FILMS)
    tuned: dict[str, dict[str, float]] = {}
    if args.tune:
        tuning = build_films(LONG_TUNE_FILMS, clips, log, seed=LONG_TUNE_SEED,
                             prefix="films-tune", long=True)
        tuned = tune(tuning, log, tolerance=LONG_TOLERANCE)
    films = build_films(n, clips, log, seed=LONG_SEED, prefix="films", long=True, sound=True)
    specs = _with_baseline(specs, args.baseline_weights)
    if "transformer" in specs:
        specs["transformer-silent"] = specs["transformer"]
        SILENT_ROWS.add("transformer-silent")
    results = run(films, _with_tuned(specs, tuned), LONG_TOLERANCE, args.keyframes_per_shot,
                  args.keyframes_per_shot, log, other_tolerance=1.0)
    summary = summarise_long(results, [f.name for f in films])
    analyze_seconds = sum(results["analyze_seconds"].values())
    out = args.out.with_name(args.out.stem + "-long" + args.out.suffix)
    _report.publish(LONG_SECTION, out,
                    {"info": info, "tolerance_s": LONG_TOLERANCE, "films": n, "tuned": tuned,
                     "keyframes_per_shot": args.keyframes_per_shot,
                     "analyze_seconds": results["analyze_seconds"], "results": summary},
                    markdown_long(summary, info, films, tuned, analyze_seconds), write, log)


if __name__ == "__main__":
    sys.exit(main())
