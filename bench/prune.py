"""Pruning benchmark: our shot and scene models trained dense and pruned, on an equal budget.

    python bench/prune.py                        # both models, 3 seeds, then the report
    python bench/prune.py train --model shots    # one model's runs (two can run side by side)
    python bench/prune.py report                 # latency + tables from the finished runs
    python bench/prune.py --quick                # 1 seed, tiny budgets, no BENCHMARKS.md

Rows (``ROWS``), each trained from scratch with the same number of optimiser steps, same data,
same schedule, for every seed:

* ``dense`` — the shipped recipe, shortened;
* ``attention-snip 2:4`` — the method: Xavier re-initialisation, scores |∂L'/∂c| with
  L' = L + Σ attention outputs + Σ model output on 4 mini-batches, 2:4 mask, mask fixed;
* ``snip 2:4`` — the same with L' = L;
* ``magnitude 2:4`` — NVIDIA's recipe at the same total budget: dense for the first half of
  the steps, 2:4 by weight magnitude, fine-tuned for the second half;
* ``random 2:4`` — random scores (the control pruning-at-initialisation must beat);
* ``(own init)`` variants (see ``ROWS``) score and train from the model's own initialisation
  instead of Xavier's;
* ``attention-snip ff×0.5 (own init)`` — structured: half of every feed-forward block's
  channels cut by the attention-aware scores, a smaller dense model.

What is pruned: every Linear of the transformer blocks (attention in/out projections,
feed-forward). The shot model's convolutional stem and the scene model's keyframe encoder are
not (the scene rows train the sequence transformer on the shipped encoder's embeddings; the
training places' embeddings are cross-fitted as in ``vidscene train scenes``).

Scores, on material no row trained or selected on:

* shots: boundary F1 (cuts and gradual transitions pooled, ±2 frames) on the shot benchmark's
  videos (``bench/shots.py``: 40 synthetic + the annotated real clips), with the trainer's
  thresholds (cut 0.5, gradual 0.8) for every row; and on the 100 held-out-clip validation
  videos of the training set;
* scenes: boundary F1 (±1 s) and coverage/overflow F on the scene benchmark's 24 films and its
  8 unseen-places films (``bench/scenes.py``, oracle shots, one keyframe per shot), and on 300
  held-out windows (K = 1).

Size: parameters, non-zero parameters, bytes on disk (2:4 layers stored packed). CPU latency:
one forward pass (shots: one 96-frame window; scenes: one 32-shot window, sequence part only),
median of repeated runs, all models interleaved in one process. No GPU was lent to this
benchmark's runs unless the report says so. Each finished run is kept as JSON under
``bench/out/prune/`` so an interrupted benchmark resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

import _dataset
import _report
from vidscene.prune import PruneSpec

SECTION = "Pruning"
OUT_DIR = _dataset.BENCH_DIR / "out" / "prune"
SEEDS = (0, 1, 2)
SHOT_STEPS = 160
SCENE_STEPS = 800


@dataclass(frozen=True)
class Row:
    spec: PruneSpec | None
    dense_first: bool = False
    """Train dense for half the steps, then prune (magnitude) and fine-tune the rest."""


ROWS: dict[str, Row] = {
    "dense": Row(None),
    "attention-snip 2:4": Row(PruneSpec("attention-snip", "2:4")),
    "attention-snip 2:4 (own init)": Row(PruneSpec("attention-snip", "2:4", reinit=False)),
    "snip 2:4": Row(PruneSpec("snip", "2:4")),
    "magnitude 2:4": Row(PruneSpec("magnitude", "2:4", reinit=False), dense_first=True),
    "random 2:4": Row(PruneSpec("random", "2:4")),
    "random 2:4 (own init)": Row(PruneSpec("random", "2:4", reinit=False)),
    "attention-snip ff×0.5 (own init)": Row(PruneSpec("attention-snip", pattern=None,
                                                      ff_keep=0.5, reinit=False)),
}
"""The method's rows re-initialise the prunable weights (Xavier uniform) before scoring, as it
prescribes; ``(own init)`` rows score and train from the model's own initialisation instead
(the shot model starts its residual branches small, which Xavier undoes). Per-group (N:M) and
per-layer (channel share) masks never compare scores across layers, so the equal-variance
reason for Xavier does not apply to them."""
SCENE_ROWS = ("dense", "attention-snip 2:4", "snip 2:4", "magnitude 2:4", "random 2:4",
              "attention-snip ff×0.5 (own init)")
"""The scene model keeps PyTorch's default initialisation (close to Xavier already), so its
``(own init)`` 2:4 rows would repeat the method's rows; only the structured row is run."""


def log(message: str) -> None:
    print(time.strftime("%H:%M:%S"), message, file=sys.stderr, flush=True)


def _slug(row: str) -> str:
    return (row.replace(" ", "-").replace(":", "").replace("×", "x").replace("(", "")
            .replace(")", ""))


def run_path(model: str, row: str, seed: int, steps: int) -> Path:
    return OUT_DIR / f"{model}-{_slug(row)}-s{seed}-{steps}steps.json"


def weights_path(model: str, row: str, seed: int, steps: int) -> Path:
    return OUT_DIR / f"{model}-{_slug(row)}-s{seed}-{steps}steps.safetensors"


# -- shots ---------------------------------------------------------------------------------------


def shot_dev_set(clips: Path) -> list[tuple[Any, list[Any]]]:
    """The shot benchmark's videos with their decoded tiny frames (decoded once)."""
    from vidscene.video import FrameStream

    videos = _dataset.build_synthetic(40, clips, log=log) + _dataset.load_real(clips)
    return [(v, list(FrameStream(v.path, with_analysis=False))) for v in videos]


def score_shot_model(weights: Path, dev: list[tuple[Any, list[Any]]], threshold: float = 0.5,
                     gradual_threshold: float = 0.8) -> dict[str, Any]:
    """Boundary F1 on ``dev`` (pooled, cuts, gradual; and on the synthetic videos and the real
    clips apart), and false positives on the synthetic videos' hard negatives. The default
    thresholds are the trainer's, the same for every row."""
    from vidscene.metrics import Boundary, aggregate, match_transitions
    from vidscene.shots import create_detector

    results: dict[str, list[Any]] = {"synthetic": [], "real": []}
    for video, batches in dev:
        detector = create_detector("transformer", weights=weights, threshold=threshold,
                                   gradual_threshold=gradual_threshold)
        found = detector.detect(batches)
        predicted = [Boundary(t.type, t.first_frame, t.last_frame) for t in found]
        results["real" if video.group == "real" else "synthetic"].append(
            match_transitions(video.truth, predicted, cut_tolerance=2,
                              negatives=video.negatives, ignore=video.ignore))
    tally = aggregate(results["synthetic"] + results["real"])
    counts, cuts, gradual = tally.overall, tally.of("cut"), tally.gradual
    synthetic, real = aggregate(results["synthetic"]), aggregate(results["real"])
    return {"f1": round(counts.f1, 4), "f1_cut": round(cuts.f1, 4),
            "f1_gradual": round(gradual.f1, 4), "f1_synthetic": round(synthetic.overall.f1, 4),
            "f1_real": round(real.overall.f1, 4),
            "negative_fp": sum(synthetic.negatives.values())}


def train_shot_row(row: str, seed: int, steps: int, data: Path, threads: int, out: Path
                   ) -> dict[str, Any]:
    from vidscene.train.shots_train import train_shots

    spec = ROWS[row]
    common: dict[str, Any] = dict(data_dir=data, epochs=1, batch_size=16, window=96, seed=seed,
                                  threads=threads, progress=False,
                                  command=f"bench/prune.py ({row}, seed {seed})")
    if spec.dense_first:
        half = steps // 2
        start = out.with_name(out.stem + "-dense-half.safetensors")
        train_shots(out=start, steps_per_epoch=half, **common)
        result = train_shots(out=out, steps_per_epoch=steps - half, init_weights=start,
                             pruning=spec.spec, **common)
    else:
        result = train_shots(out=out, steps_per_epoch=steps, pruning=spec.spec, **common)
    return {"val_f1": result["val_f1"], "val_f1_cut": result["val_f1_cut"],
            "val_f1_gradual": result["val_f1_gradual"]}


# -- scenes --------------------------------------------------------------------------------------


def scene_dev_films(clips: Path) -> dict[str, list[tuple[Any, Any]]]:
    """The scene benchmark's films analysed once (oracle shots, K = 1): every scene model here
    shares the shipped keyframe encoder, so only the segmenter differs."""
    import scenes as scene_bench

    held_out = scene_bench._held_out_clips()
    sets = {"dev": scene_bench.build_films(scene_bench.FILMS, clips, log),
            "unseen": scene_bench.build_films(scene_bench.UNSEEN_FILMS, clips, log,
                                              seed=scene_bench.UNSEEN_SEED,
                                              prefix="scenes-unseen", only=held_out)}
    return {name: [(f, scene_bench.analyse(f, "oracle", 1)) for f in films]
            for name, films in sets.items()}


def score_scene_model(weights: Path, films: dict[str, list[tuple[Any, Any]]]
                      ) -> dict[str, float]:
    from vidscene.metrics import SceneScores, score_scenes
    from vidscene.scenes import create_segmenter

    segmenter = create_segmenter("transformer", weights=weights)
    out: dict[str, float] = {}
    for name, analysed in films.items():
        pooled = SceneScores.pool(
            score_scenes(f.scenes, segmenter.segment(d.shots, d.embeddings, d.keyframes),
                         fps=f.fps, tolerance=1.0) for f, d in analysed)
        out[f"{name}_f1"] = round(pooled.f1, 4)
        out[f"{name}_fco"] = round(pooled.f_coverage_overflow, 4)
    return out


def train_scene_row(row: str, seed: int, steps: int, material: dict[str, Any], out: Path
                    ) -> dict[str, Any]:
    import _prune_scenes
    from vidscene.nn import SceneTransformer, create_model
    from vidscene.train.scenes_train import train_sequence
    from vidscene.train.shots_train import save_weights

    spec = ROWS[row]
    shipped = _prune_scenes.shipped_scene_model()
    torch.manual_seed(seed)
    model = create_model("scene-transformer", **shipped.config.to_dict())
    assert isinstance(model, SceneTransformer)
    model.encoder.load_state_dict(shipped.encoder.state_dict())
    cfg = replace(material["cfg"], seed=seed, scene_steps=steps, validate_every=steps)
    args = (material["train"], material["train_emb"], material["val"], material["val_emb"])
    if spec.dense_first:
        half = steps // 2
        state, _, _ = train_sequence(model, *args, replace(cfg, scene_steps=half,
                                                           validate_every=half),
                                     lambda _m: None, False)
        model.load_state_dict(state)
        cfg = replace(cfg, scene_steps=steps - half, validate_every=steps - half)
    state, curve, pruned = train_sequence(model, *args, cfg, lambda _m: None, False,
                                          pruning=spec.spec)
    card = {"task": "scene segmentation (pruning benchmark run)", "row": row, "seed": seed,
            "steps": steps, "threshold": cfg.threshold, "validation": curve[-1],
            "parameters": sum(p.numel() for p in model.parameters())}
    if pruned is not None:
        card["pruning"] = pruned
    save_weights(model, state, out, card,
                 markdown=lambda c, w: f"# {w.name}\n\nBenchmark run of `bench/prune.py`: "
                 f"{c['row']}, seed {c['seed']}, {c['steps']} steps.\n")
    last = curve[-1]
    return {"windows_f1_k1": last["k1"]["f1"], "windows_f1_k3": last["k3"]["f1"]}


# -- sizes and latency -----------------------------------------------------------------------------


def sizes(weights: Path) -> dict[str, int]:
    from vidscene.nn import load_model

    model, _ = load_model(weights)
    return {"bytes": weights.stat().st_size,
            "parameters": sum(p.numel() for p in model.parameters()),
            "nonzero": sum(int((p != 0).sum()) for p in model.parameters())}


def _latency_inputs(kind: str) -> tuple[Any, ...]:
    gen = torch.Generator().manual_seed(0)
    if kind == "shots":
        return (torch.randint(0, 256, (1, 96, 36, 64, 3), generator=gen, dtype=torch.uint8),)
    keys = torch.nn.functional.normalize(torch.randn(1, 32, 1, 64, generator=gen), dim=-1)
    return (keys, torch.ones(1, 32, 1, dtype=torch.bool), torch.rand(1, 32, generator=gen) * 5,
            torch.rand(1, 32, 16, generator=gen))


def latencies(files: dict[str, Path], kind: str, rounds: int, threads: int
              ) -> dict[str, float]:
    """Median milliseconds of one forward pass per model; models interleaved round by round so
    that a noisy neighbour hurts all alike."""
    from vidscene.nn import load_model

    torch.set_num_threads(threads)
    models = {k: load_model(p)[0].eval() for k, p in files.items()}
    inputs = _latency_inputs(kind)
    times: dict[str, list[float]] = {k: [] for k in models}
    with torch.inference_mode():
        for m in models.values():
            m(*inputs)
        for _ in range(rounds):
            for k, m in models.items():
                start = time.perf_counter()
                m(*inputs)
                times[k].append((time.perf_counter() - start) * 1000)
    return {k: round(statistics.median(v), 3) for k, v in times.items()}


# -- the runs ------------------------------------------------------------------------------------


def rows_of(kind: str, args: argparse.Namespace) -> list[str]:
    return [r for r in args.rows if kind == "shots" or r in SCENE_ROWS]


def train_model(kind: str, args: argparse.Namespace) -> None:
    """Every row × seed of one model that has no finished run yet."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    steps = args.shot_steps if kind == "shots" else args.scene_steps
    pending = [(row, seed) for seed in args.seeds for row in rows_of(kind, args)
               if not run_path(kind, row, seed, steps).is_file()]
    if not pending:
        log(f"{kind}: every run is done")
        return
    clips = _dataset.locate_clips(args.clips)
    if clips is None:
        raise SystemExit("no dev clips folder (use --clips or set VIDSCENE_CLIPS)")
    score: Callable[[Path], dict[str, float]]
    if kind == "shots":
        log("decoding the shot benchmark's videos")
        dev = shot_dev_set(clips)

        def score(w: Path) -> dict[str, float]:
            return score_shot_model(w, dev)

        def train(row: str, seed: int, out: Path) -> dict[str, Any]:
            return train_shot_row(row, seed, steps, args.shot_data, args.threads, out)
    else:
        import _prune_scenes

        material = _prune_scenes.scene_material(clips, args.scene_data, log)
        log("analysing the scene benchmark's films")
        films = scene_dev_films(clips)

        def score(w: Path) -> dict[str, float]:
            return score_scene_model(w, films)

        def train(row: str, seed: int, out: Path) -> dict[str, Any]:
            return train_scene_row(row, seed, steps, material, out)

    for row, seed in pending:
        out = weights_path(kind, row, seed, steps)
        # Several 'train' processes may share the work (say, one per seed): a run another one
        # finished or holds is skipped.
        claim = out.with_suffix(".running")  # a killed process leaves it: delete it by hand
        if run_path(kind, row, seed, steps).is_file():
            continue
        try:
            os.close(os.open(claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        started = time.perf_counter()
        try:
            trained = train(row, seed, out)
        finally:
            claim.unlink(missing_ok=True)
        seconds = time.perf_counter() - started
        entry = {"model": kind, "row": row, "seed": seed, "steps": steps,
                 "train_seconds": round(seconds, 1), "threads": args.threads,
                 "date": _report.now(), **trained, **score(out), **sizes(out),
                 "weights": out.name}
        run_path(kind, row, seed, steps).write_text(json.dumps(entry, indent=1) + "\n")
        for ckpt in OUT_DIR.glob(f"{out.stem}*.ckpt"):  # training checkpoints: done with
            ckpt.unlink()
        log(f"{kind} {row} seed {seed}: " + ", ".join(
            f"{k} {v}" for k, v in entry.items() if k.endswith(("f1", "fco", "k1"))))


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def _budgets(kind: str, args: argparse.Namespace) -> list[int]:
    """The main budget of ``kind`` first, then any other budget with finished runs (longer
    checks of a few rows, ``--shot-steps N --rows ...``)."""
    main = args.shot_steps if kind == "shots" else args.scene_steps
    found = {json.loads(p.read_text())["steps"] for p in OUT_DIR.glob(f"{kind}-*steps.json")}
    return [main] + sorted(found - {main})


def report(args: argparse.Namespace, write: bool) -> None:
    info = {"date": _report.now(), "command": _report.command(), "machine": _report.machine(),
            "versions": _report.versions(), "gpu": torch.cuda.is_available()}
    summary: dict[str, Any] = {}
    for kind in args.models:
        by_budget = {}
        for steps in _budgets(kind, args):
            runs = {row: [json.loads(run_path(kind, row, s, steps).read_text())
                          for s in args.seeds if run_path(kind, row, s, steps).is_file()]
                    for row in rows_of(kind, args)}
            by_budget[steps] = {row: r for row, r in runs.items() if r}
        files = {f"{steps}|{row}|{r['seed']}": OUT_DIR / r["weights"]
                 for steps, runs in by_budget.items() for row, rs in runs.items() for r in rs}
        if not files:
            continue
        log(f"{kind}: timing {len(files)} models")
        ms = latencies(files, kind, args.rounds, args.latency_threads)
        metrics = (("f1", "f1_cut", "f1_gradual", "val_f1") if kind == "shots"
                   else ("dev_f1", "dev_fco", "unseen_f1", "unseen_fco", "windows_f1_k1"))
        for steps, runs in by_budget.items():
            if not runs:
                continue
            table: dict[str, Any] = {}
            for row, rs in runs.items():
                table[row] = {
                    "seeds": [r["seed"] for r in rs], "n": len(rs),
                    **{m: _mean_sd([r[m] for r in rs]) for m in metrics},
                    "bytes": int(np.median([r["bytes"] for r in rs])),
                    "parameters": rs[0]["parameters"],
                    "nonzero": int(np.median([r["nonzero"] for r in rs])),
                    "latency_ms": float(np.median([ms[f"{steps}|{row}|{r['seed']}"]
                                                   for r in rs])),
                    "train_minutes": round(float(np.median(
                        [r["train_seconds"] for r in rs])) / 60, 1)}
            # Δ against dense on the same seeds only (rows may have run fewer seeds).
            if "dense" in runs:
                base = {r["seed"]: r[metrics[0]] for r in runs["dense"]}
                for row, rs in runs.items():
                    paired = [r[metrics[0]] - base[r["seed"]] for r in rs if r["seed"] in base]
                    table[row]["delta"] = float(np.mean(paired)) if paired else None
            summary[f"{kind}@{steps}"] = {"kind": kind, "steps": steps, "rows": table,
                                          "main_metric": metrics[0]}
    text = markdown(summary, info, args)
    _report.publish(SECTION, _dataset.BENCH_DIR / "out" / "prune.json",
                    {"info": info, "summary": summary}, text, write, log)


def markdown(summary: dict[str, Any], info: dict[str, Any], args: argparse.Namespace) -> str:
    parts = [_report.provenance_md(info), ""]
    for entry in summary.values():
        kind, rows = entry["kind"], entry["rows"]
        dense = rows.get("dense")
        main = entry["main_metric"]
        title = ("Shot model (`shot-transformer`, 586k parameters)" if kind == "shots"
                 else "Scene model (`scene-transformer`: sequence transformer trained on the "
                      "shipped keyframe encoder)")
        parts += [f"### {title}, {entry['steps']} steps", "",
                  f"{entry['steps']} optimiser steps per run (batch of "
                  + ("16 windows of 96 frames" if kind == "shots" else "32 windows of shots")
                  + f"); mean ± sd over the seeds run (column `seeds`), training "
                  f"{max(r['train_minutes'] for r in rows.values()):.1f} min per run at most.",
                  ""]
        if kind == "shots":
            headers = ["row", "dev F1", "dev F1 cut", "dev F1 gradual", "val F1 (held-out clips)"]
            cols = ["f1", "f1_cut", "f1_gradual", "val_f1"]
        else:
            headers = ["row", "dev F1", "dev C/O F", "unseen F1", "unseen C/O F",
                       "held-out windows F1"]
            cols = ["dev_f1", "dev_fco", "unseen_f1", "unseen_fco", "windows_f1_k1"]
        headers += ["seeds", "Δ F1 vs dense (same seeds)", "params", "non-zero", "file bytes",
                    "× dense file", "CPU ms", "× dense speed"]
        table = []
        for row, r in rows.items():
            cells = [row] + [f"{r[c][0]:.3f} ± {r[c][1]:.3f}" for c in cols] + [str(r["n"])]
            if dense is not None:
                cells += [f"{r['delta']:+.3f}" if r.get("delta") is not None else "–"]
            else:
                cells += ["–"]
            cells += [f"{r['parameters']:,}", f"{r['nonzero']:,}", f"{r['bytes']:,}",
                      f"{r['bytes'] / dense['bytes']:.2f}" if dense else "–",
                      f"{r['latency_ms']:.2f}",
                      f"{dense['latency_ms'] / r['latency_ms']:.2f}" if dense else "–"]
            table.append(cells)
        parts += [_report.table(headers, table), ""]
        if dense is not None:
            parts += [_verdict(rows, dense, main), ""]
    parts += [
        "Rows: see `bench/prune.py`'s docstring. Every row has the same optimiser steps, data "
        "and schedule; `magnitude 2:4` spends half of them dense and half fine-tuning after "
        "pruning. CPU latency is one forward pass with "
        f"{args.latency_threads} thread(s), median of {args.rounds} interleaved rounds: N:M "
        "masks store smaller but run at dense speed on a CPU (no sparse kernels are used); "
        "only the structured row is a smaller computation. "
        + "Runs were made by `python bench/prune.py train --model shots|scenes --threads 1` "
        "(two or three such processes side by side on the 2 cores; the 1000-step shot runs by "
        "`--shot-steps 1000 --seeds 0 --rows ROW`), and these tables by `report` from their "
        "files in `bench/out/prune/`. Training time per run includes validation and is "
        "inflated by the processes sharing the CPUs. "
        + ("A CUDA GPU was present." if info["gpu"] else
           "No GPU was lent for these runs: sparse tensor-core (2:4) speed was not measured."),
        "",
    ]
    return "\n".join(parts)


def _verdict(rows: dict[str, Any], dense: dict[str, Any], main: str) -> str:
    """The issue's targets, checked on this table's numbers."""
    lines = []

    def met(ok: bool) -> str:
        return "met" if ok else "**not met**"

    for name in ("attention-snip 2:4", "attention-snip 2:4 (own init)"):
        r = rows.get(name)
        if r is None:
            continue
        delta = r["delta"] if r.get("delta") is not None else r[main][0] - dense[main][0]
        ratio = r["bytes"] / dense["bytes"]
        lines.append(f"- `{name}`: dev F1 {delta:+.3f} vs dense (target ≥ −0.005: "
                     f"{met(delta >= -0.005)}); file {ratio:.2f}× dense (target ≤ 0.6×: "
                     f"{met(ratio <= 0.6)}).")
    for name in ("snip 2:4", "random 2:4", "magnitude 2:4"):
        a, b = rows.get("attention-snip 2:4"), rows.get(name)
        if a is not None and b is not None:
            lines.append(f"- `attention-snip 2:4` vs `{name}`: {a[main][0] - b[main][0]:+.3f} "
                         f"dev F1 (sd {a[main][1]:.3f} / {b[main][1]:.3f}).")
    a, b = rows.get("attention-snip 2:4 (own init)"), rows.get("random 2:4 (own init)")
    if a is not None and b is not None:
        lines.append(f"- `attention-snip 2:4 (own init)` vs `random 2:4 (own init)`: "
                     f"{a[main][0] - b[main][0]:+.3f} dev F1.")
    s = next((r for k, r in rows.items() if "ff×" in k), None)
    if s is not None:
        delta = s["delta"] if s.get("delta") is not None else s[main][0] - dense[main][0]
        speed = dense["latency_ms"] / s["latency_ms"]
        lines.append(f"- Structured (feed-forward ×0.5): {speed:.2f}× dense CPU speed at "
                     f"{delta:+.3f} dev F1 (target ≥ 1.3× at ≥ −0.01: "
                     f"{met(speed >= 1.3 and delta >= -0.01)}).")
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", nargs="?", choices=("all", "train", "report"), default="all")
    p.add_argument("--model", dest="models", action="append", choices=("shots", "scenes"),
                   help="Model(s) to run (default both).")
    p.add_argument("--rows", default=",".join(ROWS), help="Comma-separated rows of ROWS.")
    p.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    p.add_argument("--shot-steps", type=int, default=SHOT_STEPS)
    p.add_argument("--scene-steps", type=int, default=SCENE_STEPS)
    p.add_argument("--shot-data", type=Path, default=None,
                   help="Shot training set (built by 'vidscene train shots'; default: its cache "
                        "in the user cache directory).")
    p.add_argument("--scene-data", type=Path, default=None,
                   help="Scene shot-bank cache (default: that of 'vidscene train scenes').")
    p.add_argument("--clips", type=Path, default=None)
    p.add_argument("--threads", type=int, default=2, help="Training threads.")
    p.add_argument("--latency-threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--no-write", action="store_true", help="Leave BENCHMARKS.md alone.")
    args = p.parse_args(argv)
    args.models = args.models or ["shots", "scenes"]
    args.rows = [r for r in args.rows.split(",") if r]
    unknown = [r for r in args.rows if r not in ROWS]
    if unknown:
        p.error(f"unknown rows {unknown} (known: {', '.join(ROWS)})")
    args.seeds = [int(s) for s in args.seeds.split(",") if s]
    if args.quick:
        args.seeds, args.shot_steps, args.scene_steps, args.rounds = [0], 4, 20, 3
    from platformdirs import user_cache_dir

    cache = Path(user_cache_dir("vidscene"))
    args.shot_data = args.shot_data or cache / "train-shots"
    args.scene_data = args.scene_data or cache / "train-scenes"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.action in ("all", "train"):
        for kind in args.models:
            train_model(kind, args)
    if args.action in ("all", "report"):
        report(args, write=not (args.quick or args.no_write))
    return 0


if __name__ == "__main__":
    sys.exit(main())
