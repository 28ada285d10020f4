"""The ``vidscene`` command line (Typer + Rich).

Every :class:`~vidscene.errors.VidsceneError` becomes one line on stderr, ``error: <what>:
<why>``, and a non-zero exit code; no traceback reaches a user. Machine-readable output
(``--json -``) is the only thing written to stdout when asked for; progress bars, tables and
errors go to stderr so pipes stay clean.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from vidscene import __version__
from vidscene.analysis import Analysis, AnalysisResult
from vidscene.errors import ConfigError, ExportError, VidsceneError
from vidscene.pipeline import (
    DEFAULT_CHUNK_SECONDS,
    AnalyzeSettings,
    ExecutorError,
    VideoOutcome,
    detect_shots,
)
from vidscene.report import export, export_formats
from vidscene.store import ResultStore, open_store
from vidscene.video import probe

# OpenMP's worker threads (PyTorch's, YuNet's) spin while they wait for work. Where the cores
# are shared with the decoder's threads, the spinning takes the decoder's time (about a tenth
# of `vidscene shots` at 720p on 2 cores); waiting threads sleep instead, unless the user set
# it. Set before anything loads PyTorch (none of the imports above does); Ray workers and
# subprocesses inherit it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

VIDEO_SUFFIXES = {
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
    ".wmv", ".flv", ".ogv", ".3gp", ".mxf", ".dv", ".vob",
}

app = typer.Typer(
    name="vidscene",
    help="Turn videos into shots, keyframes, scenes and attributes.\n\n"
    "Start with `vidscene analyze my.mp4 --html report.html`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Results database: a file path, sqlite:///path, "
                 "mongodb://HOST:PORT/DBNAME or memory: (default: $VIDSCENE_DB or a SQLite "
                 "file in the user data directory).", show_default=False),
]

DETECTOR_HELP = ("Shot detector: transformer (learned, the default) or fast (classic "
                 "thresholds, no PyTorch, for machines where every second counts).")
SCENES_HELP = ("Scene segmenter: transformer (learned shot-sequence model over the shots' "
               "keyframes, the default), osg (optimal sequential grouping) or stg (scene "
               "transition graph); the last two need no PyTorch.")
_DEFAULTS = AnalyzeSettings()
_NEVER = float("inf")
"""A chunk length no video reaches: ``--chunk-seconds 0``."""


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        out.print(f"vidscene {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Turn videos into shots, keyframes, scenes and attributes."""


def _expand(paths: list[Path]) -> Iterator[Path]:
    """Files as given; folders searched recursively for files with a video suffix."""
    for p in paths:
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.suffix.lower() in VIDEO_SUFFIXES
                              and q.is_file())
        else:
            yield p


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.completed:>7.0f}/{task.total:.0f} frames"), TimeRemainingColumn(),
        console=err, transient=True, disable=quiet,
    )


def _destination(template: str, video: Path, fmt: str, many: bool) -> str:
    """Where one video's export goes: ``-`` (stdout), a file, or for several videos a
    folder (``DIR/``) or a name pattern with ``{stem}``."""
    if template == "-":
        return "-"
    if "{stem}" in template:
        target = Path(template.replace("{stem}", video.stem))
    elif many or template.endswith("/") or Path(template).is_dir():
        suffix = {"webvtt": "vtt"}.get(fmt, fmt)
        target = Path(template) / f"{video.stem}.{suffix}"
    else:
        target = Path(template)
    target.parent.mkdir(parents=True, exist_ok=True)
    return str(target)


def _summary_table(rows: list[tuple[str, AnalysisResult]]) -> Table:
    table = Table(title="vidscene analyze", title_justify="left")
    for col, justify in [("video", "left"), ("id", "left"), ("duration", "right"),
                         ("shots", "right"), ("scenes", "right"), ("mean shot", "right"),
                         ("cuts/min", "right"), ("time", "right")]:
        table.add_column(col, justify=justify,  # type: ignore[arg-type]
                         overflow="fold", no_wrap=col != "video")
    for name, result in rows:
        a = result.analysis
        attrs = a.attributes
        table.add_row(
            name, (result.id or "")[:8], f"{a.video.duration:.1f} s", str(len(a.shots)),
            str(len(a.scenes)), f"{attrs.get('mean_shot_length', 0):.2f} s",
            f"{attrs.get('cuts_per_minute', 0):.1f}", f"{a.timing.get('total_s', 0):.1f} s",
        )
    return table


EXECUTOR_HELP = ("Where the stages run: local (this process, the default) or ray (a Ray "
                 "cluster: many videos and chunks of long videos at once; needs the [ray] "
                 "extra).")


@app.command("analyze")
def analyze_cmd(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Video files or folders (searched recursively for video files).",
        show_default=False)] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the Analysis JSON here "
                                                 "(`-` for stdout).", metavar="PATH")] = None,
    csv_out: Annotated[str | None, typer.Option("--csv", help="Write one CSV row per shot.",
                                                metavar="PATH")] = None,
    edl_out: Annotated[str | None, typer.Option("--edl", help="Write a CMX 3600 EDL of the "
                                                "shots.", metavar="PATH")] = None,
    html_out: Annotated[str | None, typer.Option("--html", help="Write a self-contained HTML "
                                                 "report.", metavar="PATH")] = None,
    vtt_out: Annotated[str | None, typer.Option("--vtt", help="Write WebVTT chapters (one "
                                                "per scene).", metavar="PATH")] = None,
    detector: Annotated[str, typer.Option(help=DETECTOR_HELP)] = "transformer",
    scenes: Annotated[str, typer.Option(help=SCENES_HELP)] = _DEFAULTS.scenes,
    keyframes_per_shot: Annotated[int, typer.Option(min=1, max=64, help=(
        "Keyframes per shot: the frames shown for each shot, and the evidence the "
        "transformer scene segmenter compares (more keyframes, more looks of a shot "
        "to match; it reads at most 8)."))] = _DEFAULTS.keyframes_per_shot,
    sample_fps: Annotated[float, typer.Option(min=0.05, max=120.0, help="Analysis frames per "
                                              "second for keyframes and attributes.")] = 2.0,
    attributes: Annotated[str | None, typer.Option(help="Comma-separated attribute names; "
                                                   "'all' for every one, 'default' for the "
                                                   "default set (everything but the costly "
                                                   "faces and text). 'vidscene attributes' "
                                                   "lists them.")] = None,
    shot_model: Annotated[str | None, typer.Option(
        "--shot-model", metavar="MODEL", help="Weights of the transformer detector: a file, or "
        "a model-store name[@version] ('vidscene models list'). Default: the shipped model.",
        show_default=False)] = None,
    scene_model: Annotated[str | None, typer.Option(
        "--scene-model", metavar="MODEL", help="Weights of the transformer scene segmenter, "
        "as --shot-model.", show_default=False)] = None,
    executor: Annotated[str, typer.Option("--executor", help=EXECUTOR_HELP)] = "local",
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", metavar="ADDRESS", help="With --executor ray: the cluster to use "
        "(auto, HOST:PORT or ray://HOST:PORT). Default: start Ray on this machine for the "
        "run.", show_default=False)] = None,
    chunk_seconds: Annotated[float | None, typer.Option(
        "--chunk-seconds", min=0.0, help="Split videos at least twice this long into chunks "
        f"analysed in parallel (--executor ray: default {DEFAULT_CHUNK_SECONDS:g}; 0: never; "
        "the results are the same as unsplit).", show_default=False)] = None,
    max_streams: Annotated[int | None, typer.Option(
        "--max-streams", min=1, help="With --executor ray: at most this many shot-stage "
        "workers (default: as many as the cluster's CPUs allow).", show_default=False)] = None,
    min_streams: Annotated[int, typer.Option(
        "--min-streams", min=0, help="With --executor ray: workers kept even when idle.")] = 1,
    cpus_per_stream: Annotated[float, typer.Option(
        "--cpus-per-stream", min=0.1, help="With --executor ray: CPUs each shot-stage worker "
        "asks Ray for (and threads it uses).")] = 1.0,
    gpus_per_stream: Annotated[float | None, typer.Option(
        "--gpus-per-stream", min=0.0, help="With --executor ray: the share of a GPU each "
        "shot-stage worker asks for (default 0.25 when the cluster has GPUs, else none).",
        show_default=False)] = None,
    model_batch: Annotated[int, typer.Option(
        "--model-batch", min=0, help="With --executor ray: detector windows per model call "
        "(0: from the hardware: 1 on a CPU, 32 on a GPU).")] = 0,
    db: DbOption = None,
    force: Annotated[bool, typer.Option("--force", help="Analyse again even if the store "
                                        "has a result for this file and these settings.")]
    = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the unfinished jobs of "
                                         "the store (a run that was killed), with their own "
                                         "settings; with paths, also analyse those.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or "
                                        "tables.")] = False,
) -> None:
    """Analyse videos: shots, keyframes, scenes and attributes, stored and exported.

    Several files or folders may be given; each is a job (`vidscene jobs list`) and is
    analysed even if another fails; the exit code is 1 if any failed. With several videos,
    export paths name a folder (`--html out/`) or a pattern (`--json {stem}.json`). A file
    already analysed with the same settings is taken from the store; running the same command
    again after a crash continues where it stopped.

    Examples: vidscene analyze film.mp4 --html film.html --json film.json;
    vidscene analyze archive/ --executor ray --ray-address auto --db mongodb://db:27017/vs
    """
    from vidscene.pipeline import JobRunner, RunEvents, create_executor

    paths = paths or []
    if not paths and not resume:
        _fail("give video files or folders to analyse (or --resume)")
        raise typer.Exit(2)
    try:
        settings = AnalyzeSettings(
            detector=detector, scenes=scenes, keyframes_per_shot=keyframes_per_shot,
            sample_fps=sample_fps, shot_model=_pin_model(shot_model),
            scene_model=_pin_model(scene_model),
            attributes=tuple(a.strip() for a in attributes.split(",") if a.strip())
            if attributes else None,
        )
        _check_names(settings)
        if chunk_seconds is not None and 0 < chunk_seconds < 2:
            raise ConfigError("--chunk-seconds must be 0 (never split) or at least 2")
        options: dict[str, object] = {}
        if executor == "ray":
            options = {"address": ray_address, "max_actors": max_streams,
                       "min_actors": min_streams, "num_cpus": cpus_per_stream,
                       "num_gpus": gpus_per_stream, "batch": model_batch}
            if chunk_seconds is not None:
                options["chunk_seconds"] = chunk_seconds or _NEVER
        elif ray_address or max_streams or gpus_per_stream is not None or model_batch:
            raise ConfigError("--ray-address, --max-streams, --gpus-per-stream and "
                              "--model-batch need --executor ray")
        elif chunk_seconds:
            options = {"chunk_seconds": chunk_seconds}
        runner_executor = create_executor(executor, **options)
    except VidsceneError as e:
        _fail(str(e))
        raise typer.Exit(2) from None
    exports = {fmt: dest for fmt, dest in [("json", json_out), ("csv", csv_out), ("edl", edl_out),
                                            ("html", html_out), ("webvtt", vtt_out)] if dest}
    stdout_used = any(d == "-" for d in exports.values())
    videos = list(_expand(paths))
    if paths and not videos:
        _fail("no video files found in " + ", ".join(str(p) for p in paths))
        raise typer.Exit(1)
    many = len(videos) > 1 or resume
    rows: list[tuple[str, AnalysisResult]] = []
    failed = 0
    bar = _progress(quiet or stdout_used and not err.is_terminal)
    tasks: dict[str, TaskID] = {}

    def progress(path: str, done: int, total: int) -> None:
        if path not in tasks:
            tasks[path] = bar.add_task(Path(path).name, total=max(total, 1))
        bar.update(tasks[path], completed=done, total=max(total, 1))

    def finished(outcome: VideoOutcome) -> None:
        nonlocal failed
        if outcome.path in tasks:
            bar.remove_task(tasks.pop(outcome.path))
        if outcome.result is None:
            failed += 1
            message = outcome.error or "failed"
            _fail(message if message.startswith(outcome.path) else
                  f"{outcome.path}: {message}")
            return
        result = outcome.result
        if outcome.reused and not quiet:
            err.print(f"{outcome.path}: stored result {(result.id or '')[:8]} reused "
                      "(--force analyses again)", highlight=False)
        _warn_truncated(outcome)
        try:
            for fmt, dest in exports.items():
                export(result, fmt, _destination(dest, Path(outcome.path), fmt, many))
        except VidsceneError as e:
            failed += 1
            _fail(str(e))
            return
        rows.append((Path(outcome.path).name, result))

    # The executor first (an unreachable cluster fails before the store is touched), then
    # the store (an unreachable database fails before any job is recorded).
    try:
        with runner_executor:
            store = _open_store(db)
            with store, bar:
                runner = JobRunner(store, runner_executor, force=force,
                                   events=RunEvents(progress=progress, finished=finished))
                if resume:
                    runner.resume()
                if videos:
                    runner.run([str(v) for v in videos], settings)
    except ExecutorError as e:
        _fail(str(e))
        raise typer.Exit(2) from None
    if rows and not quiet and not stdout_used:
        out.print(_summary_table(rows))
    if failed:
        raise typer.Exit(1)


def _warn_truncated(outcome: VideoOutcome) -> None:
    """A file that decoded to much less than its container claims is worth a word."""
    if outcome.result is None or outcome.reused:
        return
    claimed = outcome.job.frames_total
    decoded = outcome.result.analysis.video.frame_count
    if claimed and decoded < 0.95 * claimed:
        err.print(f"warning: {outcome.path}: decoded {decoded} of the {claimed} frames the "
                  "container announces (truncated or damaged?); the analysis covers those",
                  highlight=False, soft_wrap=True)


def _open_store(db: str | None) -> ResultStore:
    """The store, or one line and exit code 2 (a database that cannot be opened or reached
    is a setup problem, like a bad option)."""
    try:
        return open_store(db)
    except VidsceneError as e:
        _fail(str(e))
        raise typer.Exit(2) from None


def _pin_model(ref: str | None) -> str | None:
    """A model-store reference pinned to its version (``name`` → ``name@v3``), so a stored
    result is reused only for the same model; files are kept as given. Fails fast if absent."""
    if ref is None:
        return None
    from vidscene.model_store import ModelStore, resolve

    path = resolve(ref)  # an unknown name fails here, before any decoding
    if Path(ref) == path:
        if not path.is_file():
            raise ConfigError(f"{ref}: no such model file")
        return ref
    return ModelStore().get(ref).ref


def _check_names(settings: AnalyzeSettings) -> None:
    """Fail fast on unknown stage names, before any decoding."""
    from vidscene.attributes import ATTRIBUTES, load_plugins
    from vidscene.scenes import SEGMENTERS
    from vidscene.shots import DETECTORS

    if settings.detector not in DETECTORS:
        raise ConfigError(f"unknown detector {settings.detector!r} "
                          f"(known: {', '.join(DETECTORS.names())})")
    if settings.scenes not in SEGMENTERS:
        raise ConfigError(f"unknown scene segmenter {settings.scenes!r} "
                          f"(known: {', '.join(SEGMENTERS.names())})")
    for stage, registry, name, weights in (
            ("detector", DETECTORS, settings.detector, settings.shot_model),
            ("scene segmenter", SEGMENTERS, settings.scenes, settings.scene_model)):
        if weights is not None and "weights" not in inspect.signature(
                registry.factory(name)).parameters:
            raise ConfigError(f"the {name!r} {stage} takes no model weights")
    load_plugins()
    for name in settings.attributes or ():
        if name not in ATTRIBUTES and name not in ("all", "default"):
            raise ConfigError(f"unknown attribute {name!r} "
                              f"(known: {', '.join(ATTRIBUTES.names())})")


@app.command("shots")
def shots_cmd(
    path: Annotated[Path, typer.Argument(help="A video file.", show_default=False)],
    json_out: Annotated[str | None, typer.Option("--json", help="Write the Analysis JSON "
                                                 "(shots only) here; `-` for stdout.",
                                                 metavar="PATH")] = None,
    detector: Annotated[str, typer.Option(help=DETECTOR_HELP)] = "transformer",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or "
                                        "table.")] = False,
) -> None:
    """Detect shots only (fastest): print a table, or the Analysis JSON with `--json`.

    Nothing is stored. Example: vidscene shots clip.mp4 --json -
    """
    try:
        with _progress(quiet or json_out == "-" and not err.is_terminal) as bar:
            info = probe(path)
            task = bar.add_task(path.name, total=max(info.frame_count, 1))
            analysis = detect_shots(
                path, detector, info=info,
                progress=lambda d, t: bar.update(task, completed=d, total=t))
        if json_out:
            export(AnalysisResult(analysis), "json", json_out)
        if not quiet and json_out != "-":
            out.print(_shots_table(analysis))
    except VidsceneError as e:
        _fail(str(e))
        raise typer.Exit(1) from None


def _shots_table(a: Analysis) -> Table:
    table = Table(title=f"{Path(a.video.path).name}: {len(a.shots)} shots, "
                  f"{len(a.scenes)} scenes", title_justify="left")
    for col in ("shot", "frames", "start", "end", "length", "in", "conf", "scene", "keyframes"):
        table.add_column(col, justify="left" if col in ("in", "frames", "keyframes") else "right")
    scene_of = {i: sc.index for sc in a.scenes for i in range(sc.first_shot, sc.last_shot + 1)}
    for s in a.shots:
        t = s.transition_in
        table.add_row(str(s.index), f"{s.start_frame}–{s.end_frame}", f"{s.start_time:.2f}",
                      f"{s.end_time:.2f}", f"{s.duration:.2f}", t.type if t else "",
                      f"{t.confidence:.2f}" if t else "", str(scene_of.get(s.index, "")),
                      " ".join(map(str, s.keyframes)))
    return table


@app.command("list")
def list_cmd(db: DbOption = None) -> None:
    """List stored analyses, newest first."""
    try:
        with _open_store(db) as store:
            entries = store.list()
    except VidsceneError as e:
        _fail(str(e))
        raise typer.Exit(1) from None
    table = Table(title=f"{len(entries)} stored analyses", title_justify="left")
    table.add_column("id", no_wrap=True)
    table.add_column("video", overflow="fold")
    for col in ("duration", "shots", "scenes", "created"):
        table.add_column(col, justify="right" if col != "created" else "left")
    for entry in entries:
        table.add_row(entry.id[:12], Path(entry.path).name, f"{entry.duration:.1f} s",
                      str(entry.shot_count), str(entry.scene_count),
                      entry.created[:19].replace("T", " "))
    out.print(table)


@app.command("attributes")
def attributes_cmd(
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a "
                                           "table.")] = False,
) -> None:
    """List the attributes that can be measured (built-in and plugins): the JSON keys each
    writes on shots, scenes and the video, and whether it is on by default.

    Turn them on with `vidscene analyze --attributes NAME,NAME` or `--attributes all`.
    """
    import json

    from vidscene.attributes import ATTRIBUTES, attribute_fields, load_plugins

    load_plugins()
    rows: list[dict[str, Any]] = []
    for name in ATTRIBUTES.names():
        factory = ATTRIBUTES.factory(name)
        rows.append({"name": name, "default": bool(getattr(factory, "default", True)),
                     "fields": attribute_fields(name),
                     "description": str(getattr(factory, "description", ""))})
    if json_out:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} attributes", title_justify="left")
    for col in ("name", "default", "keys (kind)", "what it says"):
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(row["name"], "yes" if row["default"] else "no",
                      ", ".join(f"{k} ({v})" for k, v in row["fields"].items()),
                      escape(row["description"]))
    out.print(table)


@app.command("show")
def show_cmd(
    analysis_id: Annotated[str, typer.Argument(metavar="ID", help="Id or unique id prefix "
                                               "(see `vidscene list`).")],
    db: DbOption = None,
) -> None:
    """Show one stored analysis: video, summary attributes and its shots."""
    try:
        with _open_store(db) as store:
            result = store.get(analysis_id)
    except VidsceneError as e:
        _fail(str(e))
        raise typer.Exit(1) from None
    a = result.analysis
    v = a.video
    out.print(f"[bold]{v.path}[/]  {v.width}×{v.height}  {v.fps:.3f} fps  {v.duration:.2f} s  "
              f"{v.frame_count} frames  id {result.id}")
    summary = Table(show_header=False, box=None)
    for k, val in a.attributes.items():
        summary.add_row(k, f"{val:.4g}" if isinstance(val, float) else str(val))
    out.print(summary)
    out.print(_shots_table(a))


@app.command("export")
def export_cmd(
    analysis_id: Annotated[str, typer.Argument(metavar="ID", help="Id or unique id prefix.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="One of: "
                                     + ", ".join(export_formats()) + ".")] = "json",
    output: Annotated[str, typer.Option("--output", "-o", help="Destination file, or `-` "
                                        "for stdout.")] = "-",
    db: DbOption = None,
) -> None:
    """Export a stored analysis as JSON, CSV, EDL, WebVTT or HTML."""
    try:
        if fmt not in export_formats():
            raise ExportError(f"unknown format {fmt!r} (known: {', '.join(export_formats())})")
        with _open_store(db) as store:
            result = store.get(analysis_id)
        export(result, fmt, output)
    except VidsceneError as e:
        _fail(str(e))
        raise typer.Exit(1) from None


def _mount_subcommands() -> None:
    """Sub-apps of their own modules (they import heavy libraries only when run)."""
    from vidscene.jobs_cli import jobs_app, search_cmd
    from vidscene.live_cli import WATCH_HELP, watch_cmd
    from vidscene.models_cli import models_app
    from vidscene.prune_cli import PRUNE_TRAIN_HELP, prune_train_cmd
    from vidscene.server_cli import serve_cmd, tokens_app
    from vidscene.train.cli import train_app

    app.add_typer(train_app, name="train")
    app.add_typer(models_app, name="models")
    app.add_typer(jobs_app, name="jobs")
    app.command("search")(search_cmd)
    app.command("serve")(serve_cmd)
    app.command("watch", help=WATCH_HELP)(watch_cmd)
    app.add_typer(tokens_app, name="tokens")
    app.command("prune-train", help=PRUNE_TRAIN_HELP)(prune_train_cmd)


_mount_subcommands()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        _fail("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
