"""``vidscene models …``: list, show, export, import and remove stored models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vidscene.errors import VidsceneError
from vidscene.model_store import ModelStore

__all__ = ["models_app"]

models_app = typer.Typer(
    name="models",
    help="The model store: shipped models and your own trained or pruned versions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_out = Console()
_err = Console(stderr=True)

StoreOption = Annotated[Path | None, typer.Option(
    "--store", help="Model store folder (default: $VIDSCENE_MODELS or the user data "
    "directory).", show_default=False)]
RefArgument = Annotated[str, typer.Argument(metavar="NAME[@VERSION]",
                                            help="A model, newest version unless given.")]


def _fail(e: VidsceneError) -> None:
    _err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@models_app.command("list")
def list_cmd(store: StoreOption = None) -> None:
    """List models: name, version, architecture, size, sparsity, digest."""
    table = Table(title="models", title_justify="left")
    for col in ("model", "architecture", "size", "sparsity", "sha256"):
        # The reference is what users type: never cut; a long architecture folds instead.
        table.add_column(col, justify="right" if col in ("size", "sparsity") else "left",
                         no_wrap=col in ("model", "sha256"),
                         overflow="fold" if col == "architecture" else "ellipsis")
    for m in ModelStore(store).list():
        size = m.card.get("file_size_bytes") or m.path.stat().st_size
        # prune-train cards carry it at the top; training with --prune in its pruning section
        sparsity = m.card.get("sparsity", (m.card.get("pruning") or {}).get("sparsity"))
        table.add_row(m.ref, str(m.card.get("architecture", m.card.get("model", "—"))),
                      f"{size / 1e6:.2f} MB",
                      f"{sparsity:.0%}" if isinstance(sparsity, float) else "—",
                      str(m.card.get("sha256", ""))[:12] or "—")
    _out.print(table)


@models_app.command("show")
def show_cmd(ref: RefArgument, store: StoreOption = None) -> None:
    """Print a model's card (JSON): data, recipe, metrics, sparsity, size."""
    try:
        m = ModelStore(store).get(ref)
    except VidsceneError as e:
        _fail(e)
    print(json.dumps({"model": m.ref, "path": str(m.path), **m.card}, indent=1,
                     sort_keys=True))


@models_app.command("export")
def export_cmd(ref: RefArgument,
               output: Annotated[Path, typer.Option("--output", "-o",
                                                    help="File or folder to copy to.")],
               store: StoreOption = None) -> None:
    """Copy a model's safetensors file out of the store."""
    try:
        dest = ModelStore(store).export(ref, output)
    except VidsceneError as e:
        _fail(e)
    _err.print(f"wrote {dest}", highlight=False)


@models_app.command("import")
def import_cmd(path: Annotated[Path, typer.Argument(help="A safetensors model file.")],
               name: Annotated[str, typer.Option("--name", help="Name to store it under.")],
               store: StoreOption = None) -> None:
    """Store a copy of a model file as the next version of NAME (versions never change)."""
    try:
        m = ModelStore(store).add(path, name)
    except VidsceneError as e:
        _fail(e)
    _err.print(f"stored {m.ref}", highlight=False)


@models_app.command("remove")
def remove_cmd(ref: Annotated[str, typer.Argument(metavar="NAME@VERSION")],
               store: StoreOption = None) -> None:
    """Delete one stored version (shipped models stay)."""
    try:
        m = ModelStore(store).remove(ref)
    except VidsceneError as e:
        _fail(e)
    _err.print(f"removed {m.ref}", highlight=False)
