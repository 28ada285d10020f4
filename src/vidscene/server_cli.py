"""``vidscene serve`` (the HTTP API and web UI) and ``vidscene tokens …`` (its API tokens)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from vidscene.errors import ConfigError, VidsceneError
from vidscene.jobs_cli import fail, store_or_exit

__all__ = ["serve_cmd", "tokens_app"]

_err = Console(stderr=True)
tokens_app = typer.Typer(
    name="tokens",
    help="API tokens of `vidscene serve`: made here, shown once, stored hashed.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
DbOption = Annotated[str | None, typer.Option(
    "--db", help="Results database the server uses (default: $VIDSCENE_DB or the user data "
    "directory).", show_default=False)]


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="Who or what the token is for (unique).")],
    scope: Annotated[str, typer.Option("--scope", help="read (look), submit (also run "
                                       "jobs) or admin (everything).")] = "submit",
    db: DbOption = None,
) -> None:
    """Make a token; it is printed once, on the last line of stdout."""
    from vidscene.tokens import TokenBook

    with store_or_exit(db) as store:
        try:
            token = TokenBook(store).create(name, scope)
        except VidsceneError as e:
            fail(str(e), 2)
    _err.print(f"Token {name!r} ({scope}) made. Keep it: it is not shown again.")
    sys.stdout.write(token + "\n")


@tokens_app.command("list")
def tokens_list(db: DbOption = None,
                as_json: Annotated[bool, typer.Option("--json", help="JSON on stdout.")]
                = False) -> None:
    """The tokens (names, scopes, dates; never the tokens themselves)."""
    from vidscene.tokens import TokenBook

    with store_or_exit(db) as store:
        infos = TokenBook(store).list()
    if as_json:
        sys.stdout.write(json.dumps([i.__dict__ for i in infos], indent=1) + "\n")
        return
    table = Table("name", "scope", "created", "starts with", "revoked")
    for i in infos:
        table.add_row(i.name, i.scope, i.created[:19], i.hint + "…", (i.revoked or "")[:19])
    Console().print(table)


@tokens_app.command("revoke")
def tokens_revoke(name: Annotated[str, typer.Argument(help="The token's name.")],
                  db: DbOption = None) -> None:
    """Revoke a token: it and its UI sessions stop working at once."""
    from vidscene.tokens import TokenBook

    with store_or_exit(db) as store:
        count = TokenBook(store).revoke(name)
    if not count:
        fail(f"no live token named {name!r}", 1)
    _err.print(f"Revoked {name!r}.")


def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on. Anything but loopback "
                                      "needs tokens (no --no-auth).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    db: DbOption = None,
    media_root: Annotated[list[Path] | None, typer.Option(
        "--media-root", help="A folder whose videos may be submitted by path and played "
        "(repeatable). Uploads are kept in --data-dir.", show_default=False)] = None,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Where uploads are kept (default: beside a SQLite store, else "
        "the user data directory).", show_default=False)] = None,
    executor: Annotated[str, typer.Option(help="Where analyses run: local (this process) or "
                                          "ray.")] = "local",
    ray_address: Annotated[str | None, typer.Option(
        "--ray-address", metavar="ADDRESS", help="With --executor ray: the cluster (auto, "
        "HOST:PORT, ray://…; default: start Ray here).", show_default=False)] = None,
    max_streams: Annotated[int | None, typer.Option(
        "--max-streams", min=1, help="With --executor ray: at most this many shot-stage "
        "workers; more than the cluster has lets its autoscaler add nodes (default: the "
        "cluster's CPUs).", show_default=False)] = None,
    min_streams: Annotated[int, typer.Option(
        "--min-streams", min=0, help="With --executor ray: workers kept when idle.")] = 1,
    chunk_seconds: Annotated[float | None, typer.Option(
        "--chunk-seconds", min=0.0, help="Split long videos into chunks analysed in "
        "parallel (as for analyze; 0: never).", show_default=False)] = None,
    max_upload_mb: Annotated[float, typer.Option(
        "--max-upload-mb", help="Largest upload accepted; larger ones get 413.")] = 4096.0,
    max_queue: Annotated[int, typer.Option(
        "--max-queue", min=1, help="Jobs accepted and not finished at most; more get 429 "
        "with Retry-After.")] = 64,
    no_auth: Annotated[bool, typer.Option(
        "--no-auth", help="No tokens (refused unless --host is a loopback address).")] = False,
    webhook_secret: Annotated[str | None, typer.Option(
        "--webhook-secret", envvar="VIDSCENE_WEBHOOK_SECRET", show_envvar=True,
        help="HMAC secret that signs job callbacks (callback_url).", show_default=False)]
    = None,
    cors_origin: Annotated[list[str] | None, typer.Option(
        "--cors-origin", help="Allow browser pages from this origin (repeatable; default: "
        "none, CORS off).", show_default=False)] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the HTTP job API (/v1, OpenAPI at /v1/openapi.json) and the web UI (/).

    Make a token first (`vidscene tokens create me --scope submit`), then open
    http://127.0.0.1:8000/ and sign in with it, or call the API with `Authorization: Bearer
    TOKEN`. Example: vidscene serve --db archive.db --media-root /srv/videos
    """
    try:
        import uvicorn

        from vidscene.server import ServerSettings
        from vidscene.server._app import create_app
    except ImportError:
        fail("vidscene serve needs the server extra: pip install 'vidscene[server]'", 2)
    options: dict[str, object] = {}
    if chunk_seconds is not None and 0 < chunk_seconds < 2:
        fail("--chunk-seconds must be 0 (never split) or at least 2", 2)
    if chunk_seconds is not None:
        options["chunk_seconds"] = chunk_seconds or float("inf")
    if executor == "ray":
        options.update(address=ray_address, max_actors=max_streams, min_actors=min_streams)
    elif ray_address or max_streams:
        fail("--ray-address and --max-streams need --executor ray", 2)
    settings = ServerSettings(
        db=db, media_roots=list(media_root or []), data_dir=data_dir, executor=executor,
        executor_options=options, max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        max_queue=max_queue, no_auth=no_auth, host=host,
        admin_token=os.environ.get("VIDSCENE_ADMIN_TOKEN") or None,
        webhook_secret=webhook_secret, cors_origins=_origins(cors_origin))
    try:
        app = create_app(settings)
    except (VidsceneError, ConfigError) as e:
        fail(str(e), 2)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                            proxy_headers=False, server_header=False, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    try:
        server.run()
    except (VidsceneError, OSError) as e:
        fail(str(e), 1)


def _origins(values: list[str] | None) -> list[str]:
    return [v.rstrip("/") for v in values or [] if v.strip()]
