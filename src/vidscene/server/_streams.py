"""The live inputs a server watches: each a :class:`~vidscene.pipeline.LiveAnalysis` on a
thread of its own, its events kept in a bounded ring that the ``/v1/streams/{id}/events``
route replays and follows (``_api_streams``). Segments go to the server's store, so they show
in the library like any analysis."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from vidscene.pipeline import AnalyzeSettings
from vidscene.pipeline._live import LiveAnalysis, WatchSettings
from vidscene.store import ResultStore
from vidscene.video import LiveOptions, LiveSource

log = logging.getLogger("vidscene.server")

RING = 5000
"""Events a stream keeps for late listeners (a few hours of shots; older ones are in the
stored segments)."""


@dataclass
class LiveStream:
    """One watched input and what it has reported."""

    id: str
    source: str
    started: float
    analysis: LiveAnalysis | None = None
    state: str = "starting"
    """``starting``, ``running``, ``stopping``, ``ended`` or ``failed``."""
    error: str = ""
    events: deque[tuple[int, dict[str, Any]]] = field(default_factory=lambda: deque(maxlen=RING))
    counts: dict[str, int] = field(default_factory=dict)
    next_seq: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)

    def add(self, event: dict[str, Any]) -> None:
        with self.changed:
            self.events.append((self.next_seq, event))
            self.next_seq += 1
            self.counts[event["event"]] = self.counts.get(event["event"], 0) + 1
            if event["event"] == "start":
                self.state = "running"
            self.changed.notify_all()

    def since(self, seq: int) -> list[tuple[int, dict[str, Any]]]:
        """Events numbered ``seq`` and later that the ring still holds."""
        with self.changed:
            return [(n, e) for n, e in self.events if n >= seq]

    @property
    def active(self) -> bool:
        return self.state in ("starting", "running", "stopping")

    def summary(self) -> dict[str, Any]:
        analysis = self.analysis
        return {
            "id": self.id, "source": self.source, "state": self.state, "error": self.error,
            "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "events": dict(self.counts),
            "frames": analysis.summary.frames if analysis else 0,
            "dropped_frames": analysis.source.dropped if analysis else 0,
            "segments": list(analysis.summary.segments) if analysis else [],
        }


class StreamHub:
    """Starts, lists and stops the server's live streams."""

    def __init__(self, store: ResultStore, settings: AnalyzeSettings, *, limit: int = 4) -> None:
        self.store = store
        self.settings = settings
        self.limit = limit
        self.streams: dict[str, LiveStream] = {}
        self._lock = threading.Lock()

    def start(self, source: str, watch: WatchSettings, options: LiveOptions) -> LiveStream:
        with self._lock:
            running = sum(s.active for s in self.streams.values())
            if running >= self.limit:
                raise RuntimeError(f"this server watches {running} streams already "
                                   f"(at most {self.limit})")
            stream = LiveStream(uuid.uuid4().hex, source, time.time())
            self.streams[stream.id] = stream
        analysis = LiveAnalysis(LiveSource(source, options), self.settings, stream.add,
                                watch=watch, store=self.store, stream_id=stream.id)
        stream.analysis = analysis

        def watch_it() -> None:
            try:
                analysis.run()
                stream.state = "ended"
            except Exception as e:  # reported on the stream; the server carries on
                log.warning("stream %s (%s) failed: %s", stream.id, source, e)
                stream.state, stream.error = "failed", str(e)
            with stream.changed:
                stream.changed.notify_all()

        threading.Thread(target=watch_it, name=f"vidscene-stream-{stream.id[:8]}",
                         daemon=True).start()
        return stream

    def get(self, stream_id: str) -> LiveStream | None:
        return self.streams.get(stream_id)

    def stop(self, stream: LiveStream) -> None:
        if stream.active and stream.analysis is not None:
            stream.state = "stopping"
            stream.analysis.stop()

    def stop_all(self, wait: float = 10.0) -> None:
        """Stop every stream and give them ``wait`` seconds to store their segments."""
        for stream in list(self.streams.values()):
            self.stop(stream)
        deadline = time.monotonic() + wait
        for stream in list(self.streams.values()):
            with stream.changed:
                while stream.active and time.monotonic() < deadline:
                    stream.changed.wait(0.1)
