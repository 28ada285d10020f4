"""Signed callbacks: a ``POST`` to the job's ``callback_url`` when it ends.

The body is the job's JSON; ``X-Vidscene-Signature: sha256=HEX`` is the HMAC-SHA256 of
``TIMESTAMP.BODY`` under the server's webhook secret, and ``X-Vidscene-Timestamp`` the Unix
time it was signed, so a receiver can check both origin and freshness (replays). Delivery is
tried a few times with back-off in a background thread and never blocks or fails a job.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from vidscene.server._errors import ApiError

log = logging.getLogger("vidscene.server")
ATTEMPTS = 4
TIMEOUT_S = 10.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                   hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_callback_url(url: str, secret: str | None) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (a bad port raises here, not when the callback is sent)
    except ValueError:
        raise ApiError(422, "callback_url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ApiError(422, "callback_url must be an http:// or https:// URL")
    if not secret:
        raise ApiError(422, "this server has no webhook secret (--webhook-secret or "
                            "$VIDSCENE_WEBHOOK_SECRET), so it cannot sign callbacks")
    return url


class Webhooks:
    """Sends each finished job's callback once (per job and final time)."""

    def __init__(self, secret: str | None, *, backoff_s: float = 1.0) -> None:
        self.secret = secret
        self.backoff_s = backoff_s
        self._sent: set[tuple[str, str | None]] = set()
        self._lock = threading.Lock()
        self.delivered = 0
        self.failed = 0

    def job_ended(self, job: dict[str, Any], url: str | None) -> threading.Thread | None:
        if not url or not self.secret:
            return None
        with self._lock:
            key = (job["id"], job.get("finished"))
            if key in self._sent:
                return None
            self._sent.add(key)
        thread = threading.Thread(target=self._deliver, args=(url, job), daemon=True,
                                  name="vidscene-webhook")
        thread.start()
        return thread

    def _deliver(self, url: str, job: dict[str, Any]) -> None:
        assert self.secret is not None
        body = json.dumps({"event": "job.finished", "job": job}).encode("utf-8")
        for attempt in range(ATTEMPTS):
            stamp = str(int(time.time()))
            request = urllib.request.Request(url, data=body, method="POST", headers={
                "Content-Type": "application/json", "User-Agent": "vidscene-webhook",
                "X-Vidscene-Event": "job.finished", "X-Vidscene-Timestamp": stamp,
                "X-Vidscene-Signature": sign(self.secret, stamp, body)})
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                    if 200 <= answer.status < 300:
                        self.delivered += 1
                        return
            except (urllib.error.URLError, OSError, ValueError) as e:
                log.warning("webhook for job %s to %s failed: %s", job["id"][:12], url, e)
            time.sleep(self.backoff_s * 2**attempt)
        self.failed += 1
