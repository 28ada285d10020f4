"""2:4 on a GPU: does a pruned model run on sparse tensor cores, give the same answers, and how
fast, against the same model dense.

    python bench/prune_gpu.py bench/out/prune/shots-magnitude-24-s0-160steps.safetensors

Needs a CUDA GPU of compute capability 8.0 or newer (sparse tensor cores); elsewhere it says so
and exits 2. The model runs in float16; every 2:4 ``nn.Linear`` is converted with
``vidscene.prune.to_semi_structured`` (PyTorch's semi-structured sparse format). Prints JSON:
layers converted, largest output difference, median milliseconds dense and sparse. Not run in
this project's CPU-only sessions so far; its result goes into ``BENCHMARKS.md`` by hand, with
the machine and date, when a GPU is lent.
"""

from __future__ import annotations

import copy
import json
import statistics
import sys
import time
from pathlib import Path

import torch

from vidscene.nn import load_model
from vidscene.prune import to_semi_structured


def _time(model: torch.nn.Module, inputs: tuple[torch.Tensor, ...], rounds: int) -> float:
    times = []
    with torch.inference_mode():
        for _ in range(5):
            model(*inputs)
        for _ in range(rounds):
            torch.cuda.synchronize()
            start = time.perf_counter()
            model(*inputs)
            torch.cuda.synchronize()
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    if not torch.cuda.is_available() or torch.cuda.get_device_capability()[0] < 8:
        print("needs a CUDA GPU of compute capability 8.0 or newer", file=sys.stderr)
        return 2
    model, _ = load_model(Path(argv[0]))
    if getattr(model, "name", "") != "shot-transformer":
        print("expects a shot-transformer file (a window of frames as input)", file=sys.stderr)
        return 2
    dense = model.half().cuda().eval()
    window = int(model.config.window)  # type: ignore[union-attr]
    frames = torch.randint(0, 256, (32, window, 36, 64, 3), dtype=torch.uint8, device="cuda")
    sparse = copy.deepcopy(dense)
    converted = to_semi_structured(sparse)
    with torch.inference_mode():
        a, b = dense(frames), sparse(frames)
    diff = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    result = {"device": torch.cuda.get_device_name(), "layers_converted": converted,
              "max_abs_output_difference": diff, "batch": list(frames.shape),
              "dense_ms": round(_time(dense, (frames,), 50), 3),
              "sparse_ms": round(_time(sparse, (frames,), 50), 3)}
    result["speedup"] = round(result["dense_ms"] / result["sparse_ms"], 3)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
