"""``vidscene jobs …`` (the job records) and ``vidscene search`` (queries over the store)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from vidscene.errors import VidsceneError
from vidscene.store import JOB_STATES, Job, ResultStore, open_store

__all__ = ["fail", "jobs_app", "search_cmd", "store_or_exit"]

jobs_app = typer.Typer(
    name="jobs",
    help="Job records: one per submitted video, with its state, progress, workers and error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_out = Console()
_err = Console(stderr=True)

DbOption = Annotated[str | None, typer.Option(
    "--db", help="Results database (as for `vidscene analyze`; default: $VIDSCENE_DB or the "
    "user data directory).", show_default=False)]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of a "
                                          "table.")]
IdArgument = Annotated[str, typer.Argument(metavar="ID", help="Job id or unique id prefix.")]


def fail(message: str, code: int = 1) -> NoReturn:
    _err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def store_or_exit(db: str | None) -> ResultStore:
    try:
        return open_store(db)
    except VidsceneError as e:
        fail(str(e), 2)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=1, ensure_ascii=False) + "\n")


def _percent(job: Job) -> str:
    if job.state == "done":
        return "100%"
    if not job.frames_total:
        return ""
    return f"{min(100.0, 100.0 * job.frames_done / job.frames_total):.0f}%"


@jobs_app.command("list")
def list_cmd(
    state: Annotated[str | None, typer.Option(
        "--state", help="Only jobs in this state: " + ", ".join(JOB_STATES) + ".")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List jobs, newest first."""
    with store_or_exit(db) as store:
        try:
            jobs = store.jobs.list(state, limit=limit)
        except VidsceneError as e:
            fail(str(e), 2 if "unknown job state" in str(e) else 1)
    if as_json:
        _print_json([j.to_dict() for j in jobs])
        return
    table = Table(title=f"{len(jobs)} jobs" + (f" ({state})" if state else ""),
                  title_justify="left")
    for col in ("id", "state", "done", "video", "attempts", "created", "error"):
        table.add_column(col, overflow="fold", no_wrap=col in ("id", "state", "created"))
    for j in jobs:
        table.add_row(j.id[:12], j.state + (" (stored)" if j.reused else ""), _percent(j),
                      Path(j.path).name, str(j.attempts), j.created[:19].replace("T", " "),
                      (j.error or "")[:80])
    _out.print(table)


@jobs_app.command("show")
def show_cmd(job_id: IdArgument, as_json: JsonOption = False, db: DbOption = None) -> None:
    """Show one job: state, progress, attempts, workers, error, times, analysis."""
    with store_or_exit(db) as store:
        try:
            job = store.jobs.get(job_id)
        except VidsceneError as e:
            fail(str(e))
    if as_json:
        _print_json(job.to_dict())
        return
    table = Table(show_header=False, box=None)
    for name, value in job.to_dict().items():
        if name in ("owner", "lease_until", "frames_done", "frames_total", "seconds_done",
                    "seconds_total"):
            continue
        if name == "progress":
            value = (f"{_percent(job)} ({job.frames_done}/{job.frames_total} frames, "
                     f"{job.seconds_done:.1f}/{job.seconds_total:.1f} s)")
        elif name == "streams":
            value = (f"{len(value)} changes, at most {max(int(s[1]) for s in value)} shot "
                     "workers" if value else "")
        elif isinstance(value, dict):
            value = json.dumps(value)
        table.add_row(name, "" if value is None else str(value))
    _out.print(table)


@jobs_app.command("cancel")
def cancel_cmd(job_id: IdArgument, db: DbOption = None) -> None:
    """Cancel a queued or running job; the process running it stops at its next look
    (within a few seconds)."""
    with store_or_exit(db) as store:
        try:
            job = store.jobs.cancel(job_id)
        except VidsceneError as e:
            fail(str(e))
    _err.print(f"job {job.id[:12]} cancelled ({job.path})", highlight=False)


@jobs_app.command("retry")
def retry_cmd(
    job_id: IdArgument,
    executor: Annotated[str, typer.Option("--executor", help="local or ray.")] = "local",
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", metavar="ADDRESS", help="With --executor ray: the cluster.",
        show_default=False)] = None,
    db: DbOption = None,
) -> None:
    """Run a failed or cancelled job again, now, with its own settings (same job id, one
    more attempt)."""
    from vidscene.pipeline import ExecutorError, JobRunner, create_executor

    try:
        runner_executor = create_executor(
            executor, **({"address": ray_address} if executor == "ray" else {}))
    except VidsceneError as e:
        fail(str(e), 2)
    try:
        with runner_executor, store_or_exit(db) as store:
            outcome = JobRunner(store, runner_executor).retry(job_id)
    except ExecutorError as e:
        fail(str(e), 2)
    except VidsceneError as e:
        fail(str(e))
    if outcome.result is None:
        fail(f"job {outcome.job.id[:12]}: {outcome.error}")
    _err.print(f"job {outcome.job.id[:12]} done: analysis {outcome.job.analysis_id}",
               highlight=False)


def search_cmd(
    expr: Annotated[str, typer.Argument(
        metavar="EXPR", help="FIELD OP VALUE [and FIELD OP VALUE …], OP one of < <= > >= = "
        "!= ~ (~: contains, for text). Empty (\"\") matches everything.")],
    shots: Annotated[bool, typer.Option("--shots", help="Search shots (fields start_time, "
                                        "end_time, duration, type, and every attribute).")]
    = False,
    scenes: Annotated[bool, typer.Option("--scenes", help="Search scenes (the same fields, "
                                         "plus confidence).")] = False,
    sort: Annotated[str | None, typer.Option(
        "--sort", metavar="FIELD", help="Sort by this field (-FIELD: descending).",
        show_default=False)] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many rows.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many rows (paging).")] = 0,
    as_json: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Find videos (or with --shots / --scenes, shots or scenes) in the store.

    Videos have duration, shot_count, scene_count, mean_shot_length, path and every
    video-level attribute (cuts_per_minute, motion_mean, ...). Examples:

      vidscene search "duration > 600 and mean_shot_length < 2"

      vidscene search "motion > 0.1" --shots --json
    """
    if shots and scenes:
        fail("give --shots or --scenes, not both", 2)
    level = "shots" if shots else "scenes" if scenes else "videos"
    from vidscene.store import parse_query

    try:
        query = parse_query(expr, level, sort=sort, limit=limit, offset=offset)
    except VidsceneError as e:
        fail(str(e), 2)
    with store_or_exit(db) as store:
        try:
            rows = store.search(query)
        except VidsceneError as e:
            fail(str(e))
    if as_json:
        _print_json(rows)
        return
    _out.print(_rows_table(level, rows))


def _rows_table(level: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(rows)} {level}", title_justify="left")
    if level == "videos":
        for col in ("id", "video", "duration", "shots", "scenes", "mean shot"):
            table.add_column(col, justify="left" if col in ("id", "video") else "right",
                             overflow="fold")
        for r in rows:
            table.add_row(r["id"][:12], r["path"], f"{r['duration']:.1f} s",
                          str(r["shot_count"]), str(r["scene_count"]),
                          f"{r['mean_shot_length'] or 0:.2f} s")
        return table
    for col in ("analysis", "video", level[:-1], "start", "end", "type", "attributes"):
        table.add_column(col, overflow="fold")
    for r in rows:
        attrs = " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in r["attributes"].items())
        table.add_row(r["analysis_id"][:12], Path(r["path"]).name, str(r["index"]),
                      f"{r['start_time']:.2f}", f"{r['end_time']:.2f}", r["type"] or "", attrs)
    return table
