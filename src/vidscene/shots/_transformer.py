"""The learned shot detector ``transformer``: the ``shot-transformer`` model of
:mod:`vidscene.nn`, run over overlapping windows of tiny frames.

Streaming without seam errors: each window of ``W`` frames overlaps its neighbours by
``margin`` frames on each side, and only a frame's prediction from a window where it sits at
least ``margin`` frames from both edges is kept (at the video's own start and end, the edge
frames are kept too). Every frame's prediction therefore comes from a window that saw
``margin`` frames of context on each side, whatever the batch sizes.

Decoding (shared with the trainer's validation, :func:`decode`): a transition is a run of
frames where the ``boundary`` head is up, split where the ``start`` head peaks again (back-to-back
transitions), kept when the ``start`` head's highest value in it reaches the threshold, and typed
by the ``type`` head over its span; the two halves of a fade through black are joined.

PyTorch is imported only when this detector is built, so the classic path stays light.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidscene.analysis import SHOT_MODEL_CLASSES, Transition
from vidscene.errors import ConfigError
from vidscene.shots._base import DETECTORS, ShotDetector
from vidscene.video import FrameBatch

TYPE_NAMES = SHOT_MODEL_CLASSES
"""Class order of the model's type head."""

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "nn" / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "shot-transformer-v2.safetensors"
FEATURE_CHUNK = 32
"""Frames turned into per-frame features at a time (fixed, so results never depend on the
sizes of the batches the stream delivers)."""
SPAN_THRESHOLD = 0.3
"""``boundary`` probability at which a frame counts as inside a transition."""
FADE_GAP = 12
"""Fade halves this many frames apart or fewer are one fade through a held colour."""


@dataclass(frozen=True)
class Predictions:
    """Per-frame probabilities: ``start`` (T,), ``boundary`` (T,), ``type`` (T, 5)."""

    start: np.ndarray
    boundary: np.ndarray
    type: np.ndarray


def _peak(p: Predictions, k: int, level: float) -> bool:
    """Whether the ``start`` head peaks at row ``k`` (reaches ``level`` and is the highest
    within two rows either side)."""
    return bool(p.start[k] >= level and p.start[k] >= p.start[max(0, k - 2):k + 3].max())


def _opens(p: Predictions, k: int, threshold: float, span_threshold: float) -> bool:
    """Whether row ``k`` can open a candidate: inside a transition by the ``boundary`` head,
    or a ``start`` peak (a cut the boundary head under-calls)."""
    return bool(p.boundary[k] >= span_threshold or _peak(p, k, threshold))


def decode(p: Predictions, *, offset: int = 0, begin: int = 0, threshold: float = 0.5,
           gradual_threshold: float | None = None, span_threshold: float = SPAN_THRESHOLD,
           split_threshold: float = 0.9, max_span: int = 90, fade_gap: int = FADE_GAP,
           complete: bool = True) -> tuple[list[Transition], int]:
    """Transitions in ``p`` (row ``i`` of ``p`` is video frame ``offset + i``), looking for
    them from row ``begin`` on (earlier rows are context for the peak tests).

    A candidate is a run of frames where the ``boundary`` head is at least ``span_threshold``
    (or a lone peak of the ``start`` head, a cut the boundary head under-calls). A run is split
    where the ``start`` head peaks again at ``split_threshold`` or more (back-to-back
    transitions), and two fades less than ``fade_gap`` frames apart are one fade through a held
    colour (the out and the in are often called apart). Its type is the one the ``type`` head
    favours over the run. A cut is kept when the highest ``start`` probability near it (its
    confidence) reaches ``threshold``; a gradual transition when its confidence, the higher of
    that peak and the mean ``boundary`` probability over its span, reaches
    ``gradual_threshold`` (default: ``threshold``). Runs and span means rather than start peaks
    alone, because the first frame of a slow dissolve is ambiguous and the start head spreads
    over several frames there; the two thresholds are calibrated apart because the two scores
    are not on the same scale.

    With ``complete=False`` more predictions will follow: a candidate whose run (or fade gap)
    reaches the last known rows is left undecided. Returns the transitions and the row from
    which decoding must resume.
    """
    n = len(p.start)
    limit = n if complete else n - 2

    def opens(k: int) -> bool:
        return _opens(p, k, threshold, span_threshold)

    def run_end(t: int) -> int:
        end = t
        while (end + 1 < n and end + 1 - t < max_span
               and p.boundary[end + 1] >= span_threshold
               and not (end + 1 - t >= 3 and _peak(p, end + 1, split_threshold))):
            end += 1
        return end

    def kind_of(a: int, b: int) -> str:
        return TYPE_NAMES[1 + int(np.argmax(p.type[a:b + 1, 1:].mean(axis=0)))]

    out: list[Transition] = []
    t = resume = begin
    while t < limit:
        if not opens(t):
            t += 1
            resume = t
            continue
        end = run_end(t)
        if not complete and end + 1 >= n:
            break  # the run may continue past what is known: decide later
        kind = kind_of(t, end)
        undecided = False
        while kind == "fade":
            nxt = next((k for k in range(end + 1, min(n, end + 1 + fade_gap)) if opens(k)), None)
            if nxt is None:
                undecided = not complete and end + fade_gap >= n
                break
            nxt_end = run_end(nxt)
            if (not complete and nxt_end + 1 >= n) or kind_of(nxt, nxt_end) != "fade":
                undecided = not complete and nxt_end + 1 >= n
                break
            end = nxt_end
        if undecided:
            break
        lo = max(0, t - 2)
        score = float(p.start[lo:end + 1].max())
        if kind == "cut":
            first = last = lo + int(np.argmax(p.start[lo:end + 1]))
            keep = score >= threshold
        else:
            first, last = t, end
            score = max(score, float(p.boundary[t:end + 1].mean()))
            keep = score >= (threshold if gradual_threshold is None else gradual_threshold)
        if keep:
            out.append(Transition(kind, offset + first, offset + last, round(score, 3)))
        t = resume = end + 1
    return out, resume


def quiet_point(p: Predictions, begin: int, *, threshold: float,
                span_threshold: float = SPAN_THRESHOLD, fade_gap: int = FADE_GAP) -> int | None:
    """The first row ``q >= begin`` that starts ``fade_gap + 1`` rows in which no candidate
    can open, or ``None`` if the known rows hold none (the last two rows are not judged).

    :func:`decode` never carries anything across such a stretch: a run cannot contain a row
    that does not open, and a fade is joined only across ``fade_gap`` rows. So a decode that
    starts at ``q`` continues exactly as one that started at the video's first frame; this is
    how a chunk that starts inside a video falls in step with a whole-video pass.
    """
    quiet = 0
    for k in range(max(begin, 2), len(p.start) - 2):
        quiet = 0 if _opens(p, k, threshold, span_threshold) else quiet + 1
        if quiet > fade_gap:
            return k - fade_gap
    return None


def next_window(p: int, known: int, window: int, margin: int, final: bool,
                origin: int = 0) -> tuple[int, int, int] | None:
    """Where to run the model next: ``(win_start, win_stop, keep_stop)`` to predict frames
    ``p..keep_stop`` when ``known`` frames are decoded, or None if more frames are needed.

    The one rule for placing windows, used by the streaming detector and by whole-video
    prediction (training validation), so both judge every frame from the same window: a window
    starts ``margin`` frames before the first frame it predicts and keeps all but its last
    ``margin`` frames, except the video's last window, which ends at the last frame.
    ``origin`` is the first frame of a stream that starts inside the video (a chunk): with an
    origin on the window grid (a multiple of ``window - 2 * margin``) every later window is the
    whole-video pass's own.
    """
    if p >= known:
        return None
    win_start = max(origin, p - margin)
    win_stop = win_start + window
    if win_stop <= known:
        return win_start, win_stop, win_stop - margin
    if not final:
        return None
    return max(origin, known - window), known, known


def window_positions(n: int, window: int, margin: int) -> list[tuple[int, int, int, int]]:
    """``(win_start, win_stop, keep_start, keep_stop)`` for a whole video of ``n`` frames, each
    frame kept exactly once: :func:`next_window` applied until the end."""
    if not 0 <= 2 * margin < window:
        raise ConfigError(f"margin {margin} too large for a {window}-frame window")
    out = []
    p = 0
    while (step := next_window(p, n, window, margin, final=True)) is not None:
        win_start, win_stop, keep_stop = step
        out.append((win_start, win_stop, p, keep_stop))
        p = keep_stop
    return out


class _ModelLoader:
    """Imports PyTorch and loads a shot-transformer in a thread; :meth:`result` waits for it
    and re-raises whatever the load raised (a corrupt file is still a ``ConfigError``)."""

    def __init__(self, path: Path, threads: int | None, device: str = "cpu") -> None:
        self._model: Any = None
        self._error: BaseException | None = None
        # Not a daemon: a process that exits (a cancelled job, an error) while this thread is
        # inside ``import torch`` aborts in C++ teardown; exit waits for the load instead.
        self._thread = threading.Thread(target=self._load, args=(path, threads, device),
                                        name="vidscene-model-load", daemon=False)
        self._thread.start()

    def _load(self, path: Path, threads: int | None, device: str) -> None:
        try:
            import torch

            from vidscene.nn import shared_model

            if threads:
                torch.set_num_threads(threads)
            # Shared by every detector of this process: a worker loads the weights once.
            self._model = shared_model(path, device=device)
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def done(self) -> bool:
        """Whether the load has finished (successfully or not); never waits."""
        return not self._thread.is_alive()

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._model.eval()


@DETECTORS.register("transformer")
class TransformerShotDetector(ShotDetector):
    """Learned detector (see module doc); ``weights`` defaults to the shipped model."""

    name = "transformer"
    chunk_warmup = 64
    """With the grid's alignment, 64 to 127 frames before the chunk's core: enough for the
    window margin and, on almost any footage, a quiet stretch where decoding falls in step
    (:func:`quiet_point`); a chunk that finds none in time is decoded again, wider."""

    def __init__(self, weights: str | Path | None = None, *, threshold: float | None = None,
                 gradual_threshold: float | None = None, margin: int = 16,
                 threads: int | None = None, device: str = "cpu",
                 windows_per_call: int = 1) -> None:
        from vidscene.model_store import resolve

        path = resolve(weights) if weights else DEFAULT_WEIGHTS
        if not path.is_file():
            raise ConfigError(
                f"no weights for the transformer detector at {path} (train them with "
                "`vidscene train shots`, or use --detector fast)")
        from vidscene.nn import read_header

        header = read_header(path)
        if header.model != "shot-transformer":
            raise ConfigError(f"{path} holds a {header.model!r} model, not a shot-transformer")
        self.card = header.card
        self.window = int(header.config.get("window", 96))
        if not 0 <= 2 * margin < self.window:
            raise ConfigError(f"margin {margin} too large for a {self.window}-frame window")
        # PyTorch takes a second or more to import: load it and the weights in the background
        # while the first frames decode; frames are buffered until the model is ready.
        self.device = device
        # How many windows one forward call runs: 1 on a CPU (no faster batched, and the same
        # numbers as any other CPU run), more on a GPU, where a call costs launch overhead.
        self.windows_per_call = max(1, int(windows_per_call))
        self._loader = _ModelLoader(path, threads, device)
        self._model: Any = None
        self.margin = margin
        self.threshold = float(threshold if threshold is not None
                               else self.card.get("threshold", 0.5))
        gradual = (gradual_threshold if gradual_threshold is not None
                   else self.card.get("gradual_threshold"))
        self.gradual_threshold = float(gradual) if gradual is not None else self.threshold
        self.path = path
        # Frames wait in ``_pending`` until a whole chunk of FEATURE_CHUNK frames (counted from
        # the video's start) can be turned into per-frame features; the features of the frames
        # windows still need live in ``_features`` (each (1, T, ...)), from ``_features_start``.
        self._pending = np.empty((0, 36, 64, 3), np.uint8)
        self._features: dict[str, Any] = {}
        self._features_start = 0  # video index of the first cached feature row
        self._featured = 0  # frames turned into features so far
        self._pred_start = np.empty(0, np.float32)
        self._pred_boundary = np.empty(0, np.float32)
        self._pred_type = np.empty((0, len(TYPE_NAMES)), np.float32)
        self._pred_offset = 0  # video index of the first kept prediction
        self._predicted_until = 0  # predictions are final for frames < this
        self._last_emitted = -1
        self._begin = 0  # row of the predictions where decoding resumes
        self._origin: int | None = None  # first frame of the stream (0 unless a chunk)
        self._synced_from: int | None = None  # decoding is in step with a whole pass from here

    @property
    def chunk_alignment(self) -> int:  # type: ignore[override]
        """Windows start every ``window - 2 * margin`` frames and features are made in
        chunks of ``FEATURE_CHUNK``: a chunk that starts on both grids sees the same windows
        and features as a whole-video pass."""
        return math.lcm(self.window - 2 * self.margin, FEATURE_CHUNK)

    @property
    def lookahead_frames(self) -> int:  # type: ignore[override]
        """The frame a window predicts last is ``margin`` frames before its end, and the first
        it predicts a whole window minus a margin before it; a window runs once its last frame
        has features (made in chunks of ``FEATURE_CHUNK``, on the same grid), and a cut is
        decided two rows after its peak."""
        return self.window - self.margin + 2

    def synced_from(self) -> int | None:
        return self._synced_from

    def final_until(self) -> int:
        if self._origin is None:
            return 0
        if self._synced_from is None:
            return self._origin
        # Decoding resumes at row ``_begin``; a cut found there may start two rows earlier.
        return max(self._synced_from, self._pred_offset + self._begin - 2)

    def _start_at(self, origin: int) -> None:
        """The stream's first frame: a whole video starts at 0, a chunk anywhere on the
        window grid; its predictions are exact from ``margin`` frames in."""
        self._origin = origin
        self._features_start = self._featured = origin
        self._pred_offset = self._predicted_until = origin
        self._last_emitted = origin - 1
        self._synced_from = 0 if origin == 0 else None

    @property
    def model(self) -> Any:
        """The loaded network (waits for the background load on first use)."""
        if self._model is None:
            self._model = self._loader.result()
        return self._model

    @model.setter
    def model(self, value: Any) -> None:
        self._model = value

    @property
    def _torch(self) -> Any:
        import torch  # loaded by then: the model's load imported it

        return torch

    def describe(self) -> str:
        """Which model file ran: its store reference (``name@version``) and sha256 prefix."""
        from vidscene.model_store import identify

        return f"{self.name} ({identify(self.path)})"

    # -- streaming ---------------------------------------------------------------------------
    def process(self, batch: FrameBatch) -> list[Transition]:
        if self._origin is None:
            self._start_at(batch.start)
        self._pending = np.concatenate([self._pending, batch.tiny])
        if self._model is None and not self._loader.done():
            return []  # still loading: keep the frames, let decoding run on meanwhile
        self._featurise(final=False)
        self._run_windows(final=False)
        return self._emit(final=False)

    def flush(self) -> list[Transition]:
        if self._origin is None:
            return []
        self._featurise(final=True)
        self._run_windows(final=True)
        return self._emit(final=True)

    def _featurise(self, final: bool) -> None:
        """Per-frame features (the model's :meth:`frame_features`), computed once per frame
        although most frames fall in two windows. Always in the same chunks of the video, so
        the numbers cannot depend on how frames arrived."""
        torch = self._torch
        while len(self._pending) >= FEATURE_CHUNK or (final and len(self._pending)):
            chunk = self._pending[:FEATURE_CHUNK]
            self._pending = self._pending[len(chunk):]
            with torch.inference_mode():
                new = self.model.frame_features(
                    torch.from_numpy(np.ascontiguousarray(chunk))[None].to(self.device))
            self._features = ({k: torch.cat([self._features[k], v], dim=1) for k, v in new.items()}
                              if self._features else new)
            self._featured += len(chunk)

    def _run_windows(self, final: bool) -> None:
        """Predict every frame that now has ``margin`` frames of context on both sides (and,
        when ``final``, all remaining frames). Window positions depend only on the window and
        margin, never on how the frames arrived, so results do not depend on batch sizes."""
        w, m = self.window, self.margin
        torch = self._torch
        while True:
            steps: list[tuple[int, int, int, int]] = []
            p = self._predicted_until
            while len(steps) < self.windows_per_call and (
                    step := next_window(p, self._featured, w, m, final, self._origin or 0)):
                if steps and step[1] - step[0] != steps[0][2] - steps[0][1]:
                    break  # a shorter last window runs on its own
                steps.append((p, *step))
                p = step[2]
            if not steps:
                break
            with torch.inference_mode():
                out = self.model.forward_frame_features({
                    k: torch.cat([v[:, a - self._features_start:b - self._features_start]
                                  for _, a, b, _ in steps])
                    for k, v in self._features.items()})
                start = torch.sigmoid(out["start"]).cpu().numpy()
                boundary = torch.sigmoid(out["boundary"]).cpu().numpy()
                kind = torch.softmax(out["type"], dim=-1).cpu().numpy()
            for row, (first, win_start, _, keep_stop) in enumerate(steps):
                a, b = first - win_start, keep_stop - win_start
                self._pred_start = np.concatenate([self._pred_start, start[row, a:b]])
                self._pred_boundary = np.concatenate([self._pred_boundary, boundary[row, a:b]])
                self._pred_type = np.concatenate([self._pred_type, kind[row, a:b]])
                self._predicted_until = keep_stop
        # The next window starts one margin before the first unpredicted frame, and the
        # video's last window ends at its last frame, so it may reach back a whole window from
        # the last frame known now: features before both points are no longer needed.
        keep_from = min(self._predicted_until - m, self._featured - w)
        drop = max(0, keep_from - self._features_start)
        if drop and self._features:
            self._features = {k: v[:, drop:] for k, v in self._features.items()}
            self._features_start += drop

    def _emit(self, final: bool) -> list[Transition]:
        p = Predictions(self._pred_start, self._pred_boundary, self._pred_type)
        if self._synced_from is None and not self._sync(p):
            return []
        found, resume = decode(p, offset=self._pred_offset, begin=self._begin,
                               threshold=self.threshold,
                               gradual_threshold=self.gradual_threshold, complete=final)
        found = [t for t in found if t.first_frame > self._last_emitted]
        if found:
            self._last_emitted = found[-1].last_frame
        # Drop decided rows, keeping two rows of context for the local-maximum test.
        keep_from = max(0, resume - 2)
        self._pred_start = self._pred_start[keep_from:]
        self._pred_boundary = self._pred_boundary[keep_from:]
        self._pred_type = self._pred_type[keep_from:]
        self._pred_offset += keep_from
        self._begin = resume - keep_from
        return found

    def _sync(self, p: Predictions) -> bool:
        """In a chunk, start decoding at the first quiet stretch whose context is exact (its
        frames at least ``margin + 2`` from the stream's start); until one is seen, keep only
        the rows that may still begin it."""
        lowest = (self._origin or 0) + self.margin + 2
        q = quiet_point(p, max(0, lowest - self._pred_offset), threshold=self.threshold)
        if q is not None:
            self._synced_from = self._pred_offset + q
            self._begin = q
            return True
        # A stretch may still begin at a row from ``lowest`` on that has not been judged with
        # all of its rows yet; keep two rows of context before it.
        first_open = max(lowest - self._pred_offset, len(p.start) - (FADE_GAP + 3))
        keep_from = min(len(p.start), max(0, first_open - 2))
        self._pred_start = self._pred_start[keep_from:]
        self._pred_boundary = self._pred_boundary[keep_from:]
        self._pred_type = self._pred_type[keep_from:]
        self._pred_offset += keep_from
        return False
