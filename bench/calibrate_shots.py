"""Choose the learned shot detector's threshold on the dev benchmark.

    python bench/calibrate_shots.py                      # the shipped weights, report only
    python bench/calibrate_shots.py --weights W --write  # store the chosen threshold in W

The model runs once per video (windows placed exactly as the ``transformer`` detector places
them); the predictions are then decoded at every threshold of a grid and scored as
``bench/shots.py`` scores them. The calibration set is the dev benchmark minus the real clips
that ship as other projects' test videos (we never tune on those): the synthetic videos and the
annotated real clips of ``../shared/data``. The pair of thresholds (cuts, gradual transitions)
deepest inside the plateau of the best mean of pooled cut F1 and gradual F1 wins (pairs within
``PLATEAU`` of the best count as equally good; the deepest is the farthest from the others);
``--write`` stores it, with the grid's
two lines through it, in the weights' model card (safetensors header and the Markdown card
beside it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

import _dataset
import _report
from _dataset import BenchVideo
from vidscene.metrics import Boundary, aggregate, match_transitions

CUT_STEP = GRADUAL_STEP = 0.05
CUT_GRID = tuple(round(float(x), 2) for x in np.arange(0.2, 0.96, CUT_STEP))
GRADUAL_GRID = tuple(round(float(x), 2) for x in np.arange(0.4, 0.96, GRADUAL_STEP))
PLATEAU = 0.005
"""Score (mean of cut and gradual F1) within which threshold pairs count as equally good."""


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", type=Path, default=None,
                   help="weights to calibrate (default: the shipped shot-transformer)")
    p.add_argument("--write", action="store_true",
                   help="store the chosen threshold and the grid in the weights' model card")
    p.add_argument("--videos", type=int, default=40, help="synthetic videos (as bench/shots.py)")
    p.add_argument("--clips", type=Path, default=None, help="development clips folder")
    p.add_argument("--threads", type=int, default=2, help="PyTorch threads")
    return p.parse_args(argv)


def predictions(model: Any, video: BenchVideo) -> Any:
    import torch

    from vidscene.shots._transformer import Predictions
    from vidscene.train.shots_data import decode_tiny
    from vidscene.train.shots_train import predict_video

    frames = decode_tiny(video.path)
    with torch.inference_mode():
        logits = predict_video(model, frames)
    return Predictions(torch.sigmoid(logits["start"]).numpy(),
                       torch.sigmoid(logits["boundary"]).numpy(),
                       torch.softmax(logits["type"], -1).numpy())


def sweep(cached: list[tuple[BenchVideo, Any]]) -> list[dict[str, float]]:
    from vidscene.shots._transformer import decode

    rows = []
    for threshold, gradual in itertools.product(CUT_GRID, GRADUAL_GRID):
        results = []
        for video, p in cached:
            found, _ = decode(p, threshold=threshold, gradual_threshold=gradual)
            predicted = [Boundary(t.type, t.first_frame, t.last_frame) for t in found]
            results.append(match_transitions(video.truth, predicted, negatives=video.negatives,
                                             ignore=video.ignore))
        tally = aggregate(results)
        rows.append({"threshold": threshold, "gradual_threshold": gradual,
                     "f1_cut": round(tally.of("cut").f1, 4),
                     "f1_gradual": round(tally.gradual.f1, 4),
                     "f1": round(tally.overall.f1, 4)})
    return rows


def calibration_set(clips_arg: Path | None, synthetic: int
                    ) -> tuple[list[BenchVideo], list[BenchVideo]]:
    """The dev benchmark's synthetic videos and its annotated real clips, minus the real clips
    that ship as other projects' test videos (never tuned on)."""
    clips = _dataset.locate_clips(clips_arg)
    if clips is None:
        raise SystemExit("no development clips found (../shared/data/clips or --clips)")
    videos = _dataset.build_synthetic(synthetic, clips, log=lambda m: print(m, file=sys.stderr))
    return videos, [v for v in _dataset.load_real(clips) if not v.peer_test_video]


def calibrate(model: Any, videos: list[BenchVideo]
              ) -> tuple[dict[str, float], list[dict[str, float]]]:
    """The best threshold pair for ``model`` on ``videos`` and the grid's two lines through it."""
    cached = []
    for i, video in enumerate(videos, 1):
        print(f"[{i}/{len(videos)}] {video.name}", file=sys.stderr)
        cached.append((video, predictions(model, video)))
    rows = sweep(cached)

    def score(r: dict[str, float]) -> float:
        return round((r["f1_cut"] + r["f1_gradual"]) / 2, 6)

    # The scores form a plateau with cliffs at its edges (a gradual threshold a step too
    # high loses many fades at once). Footage the calibration never saw moves the cliffs a
    # little, so take the pair deepest inside the plateau (all pairs within PLATEAU of the
    # best score): the one farthest, in grid steps, from any pair outside it; the better
    # score breaks ties.
    top = max(score(r) for r in rows)
    plateau = [r for r in rows if score(r) >= top - PLATEAU]
    outside = [r for r in rows if score(r) < top - PLATEAU]

    def depth(r: dict[str, float]) -> float:
        # The grid's own ends count as edges too: what lies beyond them is unknown.
        edge = 1 + min(CUT_GRID.index(r["threshold"]),
                       len(CUT_GRID) - 1 - CUT_GRID.index(r["threshold"]),
                       GRADUAL_GRID.index(r["gradual_threshold"]),
                       len(GRADUAL_GRID) - 1 - GRADUAL_GRID.index(r["gradual_threshold"]))
        return min([float(edge)] + [
            max(abs(r["threshold"] - o["threshold"]) / CUT_STEP,
                abs(r["gradual_threshold"] - o["gradual_threshold"]) / GRADUAL_STEP)
            for o in outside])

    best = max(plateau, key=lambda r: (round(depth(r), 6), score(r)))
    # The grid's two lines through the best point: each threshold's own effect.
    shown = [r for r in rows if r["threshold"] == best["threshold"]
             or r["gradual_threshold"] == best["gradual_threshold"]]
    return best, shown


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    import torch

    from vidscene.nn import load_model
    from vidscene.shots._transformer import DEFAULT_WEIGHTS
    from vidscene.train.shots_train import save_weights

    torch.set_num_threads(args.threads)
    weights = args.weights or DEFAULT_WEIGHTS
    model, card = load_model(weights)
    synthetic, real = calibration_set(args.clips, args.videos)
    best, shown = calibrate(model, synthetic + real)
    print(_report.table(["threshold (cut / gradual)", "F1 cut", "F1 gradual", "F1"],
                        [[f"{r['threshold']} / {r['gradual_threshold']}", f"{r['f1_cut']:.3f}",
                          f"{r['f1_gradual']:.3f}", f"{r['f1']:.3f}"] for r in shown]))
    print(f"chosen thresholds: cut {best['threshold']}, gradual {best['gradual_threshold']} "
          f"(were {card.get('threshold')}, {card.get('gradual_threshold')})")
    if args.write:
        card["threshold"] = best["threshold"]
        card["gradual_threshold"] = best["gradual_threshold"]
        card["calibration"] = {
            "command": _report.command(),
            "set": f"{len(synthetic)} synthetic videos of bench/shots.py and {len(real)} "
                   "annotated real clips, PySceneDetect's test clips excluded",
            "videos": len(synthetic) + len(real),
            "rule": f"the pair deepest inside the plateau (within {PLATEAU} of the best mean "
                    "of cut F1 and gradual F1; the grid's ends count as its edges)",
            "grid": shown,
        }
        save_weights(model, model.state_dict(), Path(weights), card)
        print(json.dumps({"weights": str(weights), "threshold": best["threshold"],
                          "gradual_threshold": best["gradual_threshold"]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
