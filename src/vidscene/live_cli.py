"""``vidscene watch SOURCE``: shots, scenes and alerts of a live input as it plays."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import IO, Annotated, Any

import typer
from rich.console import Console

from vidscene.errors import VidsceneError
from vidscene.jobs_cli import fail as _fail

__all__ = ["WATCH_HELP", "watch_cmd"]

_err = Console(stderr=True)

WATCH_HELP = (
    "Analyse a live input while it plays: shot boundaries (with type and confidence) as soon "
    "as they are final, closed shots with keyframes and attributes, scenes, and alerts for "
    "black, frozen or silent picture, as JSON lines; each segment of the stream (--segment, "
    "ending on a shot boundary, and at every gap) is stored as an Analysis with wall-clock "
    "times.\n\n"
    "SOURCE is anything FFmpeg opens as a live input: udp://HOST:PORT or srt:// / rtsp:// "
    "(MPEG-TS), an HLS playlist that keeps growing (.m3u8), a file still being written, or - "
    "for a pipe on stdin; --device reads a capture device (with --input-format, e.g. v4l2).\n\n"
    "Frames are numbered from the first decoded frame. When the input stalls, ends or its "
    "timestamps jump, a 'gap' event is written and the input is opened again with back-off. "
    "If the analysis falls behind, frames are dropped (never queued without bound) and "
    "counted in 'dropped_frames'. SIGINT/SIGTERM close the open shot and the current segment, "
    "then exit 0.\n\n"
    "Example: ffmpeg -re -i film.mp4 -c copy -f mpegts udp://127.0.0.1:5000 & "
    "vidscene watch udp://127.0.0.1:5000 --jsonl -"
)


def watch_cmd(
    source: Annotated[str | None, typer.Argument(
        help="Live input: udp://, srt://, rtsp:// URL, .m3u8 playlist, growing file, or - "
        "(stdin).", show_default=False)] = None,
    device: Annotated[str | None, typer.Option(
        "--device", metavar="DEVICE", help="Read a capture device instead (e.g. /dev/video0).",
        show_default=False)] = None,
    input_format: Annotated[str | None, typer.Option(
        "--input-format", metavar="FORMAT", help="FFmpeg demuxer for the input (v4l2 for a "
        "device; default: guessed).", show_default=False)] = None,
    jsonl: Annotated[str | None, typer.Option(
        "--jsonl", metavar="PATH", help="Write events as JSON lines to PATH ('-': stdout).",
        show_default=False)] = None,
    db: Annotated[str | None, typer.Option(
        "--db", help="Store the segments here (default: $VIDSCENE_DB or the user data "
        "directory); 'none' stores nothing.", show_default=False)] = None,
    segment: Annotated[float, typer.Option(
        "--segment", min=1.0, help="Seconds of stream per stored segment.")] = 3600.0,
    detector: Annotated[str, typer.Option(
        help="Shot detector: transformer (learned, default) or fast.")] = "transformer",
    scenes: Annotated[str, typer.Option(help="Scene segmenter.")] = "transformer",
    attributes: Annotated[str | None, typer.Option(
        help="Comma-separated attribute names, as for analyze (the audio attributes are left "
        "out live; the silence alert reads the input's level).")] = None,
    black_after: Annotated[float, typer.Option(
        "--black-after", min=0.0, help="Seconds of black picture before an alert.")] = 2.0,
    freeze_after: Annotated[float, typer.Option(
        "--freeze-after", min=0.0, help="Seconds of frozen picture before an alert.")] = 5.0,
    silence_after: Annotated[float, typer.Option(
        "--silence-after", min=0.0, help="Seconds of silence before an alert.")] = 5.0,
    silence_db: Annotated[float, typer.Option(
        "--silence-db", help="Level (RMS dBFS) below which audio is silence.")] = -50.0,
    read_timeout: Annotated[float, typer.Option(
        "--read-timeout", min=0.1, help="Seconds without data before the input counts as "
        "stalled (a gap) and is opened again (for an HLS playlist at least 30 s: the next "
        "segment may take that long).")] = 5.0,
    open_timeout: Annotated[float, typer.Option(
        "--open-timeout", min=0.1, help="Seconds to wait for the input to start.")] = 10.0,
    give_up_after: Annotated[float, typer.Option(
        "--give-up-after", min=0.0, help="Exit after this many seconds without a frame "
        "(before the first one: since the start; 0: keep trying).")] = 0.0,
    reconnect: Annotated[bool, typer.Option(
        "--reconnect/--no-reconnect", help="Open the input again when it stalls or ends.")
    ] = True,
    queue_seconds: Annotated[float, typer.Option(
        "--queue-seconds", min=0.1, help="Video decoded ahead of the analysis before frames "
        "are dropped.")] = 2.0,
    shot_model: Annotated[str | None, typer.Option(
        "--shot-model", metavar="MODEL", help="Weights of the transformer detector.",
        show_default=False)] = None,
    threads: Annotated[int, typer.Option("--threads", min=0, help="CPU threads for the "
                                         "models (0: all).")] = 0,
) -> None:
    """Analyse a live input while it plays (help text: ``WATCH_HELP``)."""
    if (source is None) == (device is None):
        _fail("give exactly one of SOURCE or --device", 2)
    url = device or source
    assert url is not None
    if url != "-" and "://" not in url and not url.endswith(".m3u8") and device is None \
            and not Path(url).exists():
        _fail(f"{url}: no such file (a URL needs its scheme, e.g. udp://127.0.0.1:5000)", 2)
    try:
        from vidscene.pipeline import AnalyzeSettings
        from vidscene.pipeline._live import LiveAnalysis, WatchSettings
        from vidscene.pipeline._stage import Resources
        from vidscene.video import LiveOptions, LiveSource

        settings = AnalyzeSettings(
            detector=detector, scenes=scenes, shot_model=shot_model,
            attributes=tuple(a.strip() for a in attributes.split(",") if a.strip())
            if attributes else None)
        store = None
        if (db or "").lower() != "none":
            from vidscene.jobs_cli import store_or_exit

            store = store_or_exit(db)
        live = LiveSource(url, LiveOptions(
            open_timeout=open_timeout, read_timeout=read_timeout, reconnect=reconnect,
            queue_seconds=queue_seconds, input_format=input_format or ("v4l2" if device and
                                                                       sys.platform.startswith(
                                                                           "linux") else None),
            give_up_after=give_up_after))
        out = _open_out(jsonl)
        watch = LiveAnalysis(
            live, settings, _writer(out), store=store,
            watch=WatchSettings(segment_seconds=segment, black_after=black_after,
                                freeze_after=freeze_after, silence_after=silence_after,
                                silence_dbfs=silence_db),
            resources=Resources(threads=threads))
    except VidsceneError as e:
        _fail(str(e), 2)

    def stop(signum: int, frame: Any) -> None:
        del signum, frame
        watch.stop()  # the open shot and segment are flushed, then run() returns

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
    try:
        summary = watch.run()
    except VidsceneError as e:
        _fail(str(e), 1)
    finally:
        if out is not None and out is not sys.stdout:
            out.close()
    _err.print(f"watched {summary.frames} frames in {summary.runs} run(s), {summary.gaps} "
               f"gap(s), {summary.dropped} dropped; {len(summary.segments)} segment(s) stored",
               highlight=False)


def _open_out(path: str | None) -> IO[str] | None:
    if path is None:
        return None
    if path == "-":
        return sys.stdout
    return open(path, "a", encoding="utf-8")  # noqa: SIM115  (closed at the end of the watch)


def _writer(out: IO[str] | None) -> Any:
    def write(event: dict[str, Any]) -> None:
        if out is not None:
            out.write(json.dumps(event, ensure_ascii=False) + "\n")
            out.flush()  # a line is worth nothing to a monitor until it is out
    return write
