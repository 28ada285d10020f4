"""``vidscene prune-train``: prune a user's network before training, train it, save it.

Kept outside ``vidscene.prune`` so that mounting the command does not import PyTorch (the
package does); the work is imported only when the command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vidscene.errors import VidsceneError

__all__ = ["prune_train_cmd"]

_err = Console(stderr=True)

PRUNE_TRAIN_HELP = (
    "Prune a network before training and train it with the mask fixed.\n\n"
    "MODEL and DATA name two functions as MODULE:FUNCTION (the module must be importable, e.g. "
    "from the current folder): MODEL builds the untrained torch.nn.Module, DATA returns a "
    "vidscene.prune.PruneTask (the batches of each epoch, the loss, optionally a validation). "
    "The prunable weights (the Linear layers of attention and feed-forward blocks) are "
    "re-initialised (Xavier uniform) and scored on a few mini-batches by METHOD; the mask "
    "keeps N of every M weights along each row (--pattern, 2:4 by default, the layout of "
    "sparse tensor cores) or the top share of all scores (--keep); training then runs with "
    "the mask fixed. The weights are written with the N:M layers packed (~53 % of dense "
    "float32), with a model card in the header.\n\n"
    "Example: vidscene prune-train --model mynet:build --data mynet:dataset --epochs 10 "
    "--out mynet-24.safetensors"
)


def prune_train_cmd(
    model: Annotated[str, typer.Option("--model", help="MODULE:FUNCTION building the network.")],
    data: Annotated[str, typer.Option("--data", help="MODULE:FUNCTION returning a PruneTask.")],
    out: Annotated[Path, typer.Option("--out", help="Weights to write (safetensors).")],
    method: Annotated[str, typer.Option(
        "--method", help="Scores: attention-snip (loss + attention outputs + model output), "
        "snip, magnitude or random.")] = "attention-snip",
    pattern: Annotated[str | None, typer.Option(
        "--pattern", help="N:M semi-structured mask (default 2:4).")] = None,
    keep: Annotated[float | None, typer.Option(
        "--keep", min=0.0, max=1.0, help="Unstructured instead: the share of weights kept.")
    ] = None,
    own_init: Annotated[bool, typer.Option(
        "--own-init", help="Score and train from the network's own initialisation instead of "
        "re-initialising the prunable weights Xavier-uniform first (the method's default; "
        "per-group N:M masks do not need the equal variances it gives).")] = False,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Training epochs.")] = 1,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of scores and training.")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT.ckpt.")] = False,
    name: Annotated[str | None, typer.Option(
        "--name", help="Also store the result in the model store as the next version of "
        "NAME (`vidscene models list`).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Prune a network before training (help text: ``PRUNE_TRAIN_HELP``)."""
    import sys

    from vidscene.errors import ConfigError
    from vidscene.prune import load_callable, prune_train

    if "" not in sys.path:
        sys.path.insert(0, "")  # MODULE may live in the current folder
    try:
        if pattern is not None and keep is not None:
            raise ConfigError("give --pattern or --keep, not both")
        card = prune_train(load_callable(model), load_callable(data), method=method,
                           pattern=None if keep is not None else (pattern or "2:4"), keep=keep,
                           epochs=epochs, out=out, seed=seed, resume=resume,
                           progress=not quiet, reinit=not own_init,
                           card={"model": model, "data": data, "command": " ".join(sys.argv)})
    except VidsceneError as e:
        _err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    summary = {k: card[k] for k in ("method", "pattern", "keep", "sparsity", "file_size_bytes",
                                    "seconds")}
    if name:
        from vidscene.model_store import ModelStore

        try:
            summary["stored"] = ModelStore().add(out, name).ref
        except VidsceneError as e:
            _err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    _err.print(json.dumps(summary), highlight=False, soft_wrap=True)
