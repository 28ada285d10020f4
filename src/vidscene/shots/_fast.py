"""The classic shot detector ``fast``: colour and structure differences of tiny frames.

How it decides, in three passes over per-frame features of 64×36 frames:

* **Cuts** — a frame whose difference from the previous one (colour histogram + standardised
  luma structure) stands far above its neighbourhood's median (an adaptive threshold, so
  steady camera motion does not fire) and is the largest within ±2 frames. A *flash* (a
  difference that vanishes a few frames later, because the content comes back) is rejected,
  and so is a pure brightness step, because the structure term is normalised per frame.
* **Fades** — a run of near-uniform frames (black, white, any flat colour) entered and/or left
  by a monotone contrast ramp. The ramp gives the span.
* **Dissolves and wipes** — peaks of the long-range difference between frames ``t-s`` and
  ``t+s`` at two scales. A peak is accepted only if the frames between are *mixtures* of the
  two ends (each pixel lies on the colour segment between the two end frames), which is true of
  dissolves and wipes and false of pans, zooms and object motion. The per-frame mixing weight
  gives the span; the spread of per-pixel weights at the midpoint tells a dissolve (all pixels
  half-way) from a wipe (pixels at either end).

The detector keeps a bounded window of features, so memory does not grow with the video; it
reports each transition once its look-ahead context has been decoded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vidscene.analysis import Transition
from vidscene.shots._base import DETECTORS, ShotDetector
from vidscene.video import FrameBatch

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_HIST_BINS = (8, 4, 4)  # Y, Cb, Cr


@dataclass(frozen=True)
class FastSettings:
    """Thresholds of the ``fast`` detector (chosen on synthetic material from the dev clips)."""

    cut_threshold: float = 0.20
    """Minimum cut score above the local median for a cut."""
    cut_min_score: float = 0.22
    """Minimum absolute cut score."""
    window: int = 12
    """Half-width (frames) of the neighbourhood for the adaptive threshold."""
    flash_frames: int = 4
    """A difference that vanishes within this many frames is a flash, not a cut."""
    gradual_scales: tuple[int, ...] = (5, 12)
    """Half-distances (frames) of the long-range difference used for gradual transitions."""
    gradual_threshold: float = 0.22
    """Minimum long-range difference for a gradual transition."""
    mixture_residual: float = 0.32
    """Largest mean distance (relative) of in-between frames from the end frames' mixtures."""
    flat_std: float = 0.035
    """A frame whose luma standard deviation is below this is "flat" (fade midpoint)."""
    max_gradual: int = 90
    """Longest gradual transition considered (frames)."""


class _Features:
    """Per-frame features of a window of frames, as arrays indexed by frame offset."""

    def __init__(self) -> None:
        self.start = 0
        self.small = np.empty((0, 18, 32, 3), np.float32)  # blurred RGB 0..1
        self.z = np.empty((0, 18, 32), np.float32)  # standardised luma
        self.hist = np.empty((0, int(np.prod(_HIST_BINS))), np.float32)
        self.mean = np.empty(0, np.float32)
        self.std = np.empty(0, np.float32)

    def __len__(self) -> int:
        return len(self.mean)

    @property
    def stop(self) -> int:
        return self.start + len(self)

    def append(self, tiny: np.ndarray) -> None:
        n, h, w, _ = tiny.shape
        f = tiny.astype(np.float32) * (1.0 / 255.0)
        small = f.reshape(n, 18, h // 18, 32, w // 32, 3).mean(axis=(2, 4))
        y = small @ _LUMA
        mean = y.mean(axis=(1, 2))
        std = y.std(axis=(1, 2))
        z = (y - mean[:, None, None]) / (std[:, None, None] + 0.03)
        hist = _histograms(tiny)
        self.small = np.concatenate([self.small, small])
        self.z = np.concatenate([self.z, z])
        self.hist = np.concatenate([self.hist, hist])
        self.mean = np.concatenate([self.mean, mean])
        self.std = np.concatenate([self.std, std])

    def drop_before(self, frame: int) -> None:
        k = max(0, frame - self.start)
        if k:
            self.small, self.z, self.hist = self.small[k:], self.z[k:], self.hist[k:]
            self.mean, self.std = self.mean[k:], self.std[k:]
            self.start += k


def _histograms(tiny: np.ndarray) -> np.ndarray:
    """Normalised joint YCbCr histograms, one row per frame, computed for the whole batch."""
    n = tiny.shape[0]
    f = tiny.reshape(n, -1, 3).astype(np.int32)
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    y = (77 * r + 150 * g + 29 * b) >> 8
    cb = ((-43 * r - 85 * g + 128 * b) >> 8) + 128
    cr = ((128 * r - 107 * g - 21 * b) >> 8) + 128
    by, bcb, bcr = _HIST_BINS
    idx = (np.clip(y * by >> 8, 0, by - 1) * bcb + np.clip(cb * bcb >> 8, 0, bcb - 1)) * bcr
    idx += np.clip(cr * bcr >> 8, 0, bcr - 1)
    idx += (np.arange(n) * (by * bcb * bcr))[:, None]
    counts = np.bincount(idx.ravel(), minlength=n * by * bcb * bcr)
    return counts.reshape(n, -1).astype(np.float32) / f.shape[1]


def _pair_distance(feat: _Features, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cut-style distance between frames ``a[i]`` and ``b[i]`` (offsets into the window):
    half colour-histogram change, half structural change of standardised luma."""
    h = 0.5 * np.abs(feat.hist[a] - feat.hist[b]).sum(axis=1)
    s = np.minimum(np.abs(feat.z[a] - feat.z[b]).mean(axis=(1, 2)) / 1.1, 1.0)
    # Two flat frames have meaningless structure, and their one-bin histograms jump bins
    # on tiny brightness steps: compare their mean colours instead.
    flat = np.maximum(feat.std[a], feat.std[b]) < 0.02
    m = np.minimum(np.abs(feat.small[a] - feat.small[b]).mean(axis=(1, 2, 3)) * 4.0, 1.0)
    return np.where(flat, m, 0.5 * h + 0.5 * s)


def _colour_distance(feat: _Features, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Appearance distance used for gradual transitions (colour histogram + mean abs pixel)."""
    h = 0.5 * np.abs(feat.hist[a] - feat.hist[b]).sum(axis=1)
    p = np.abs(feat.small[a] - feat.small[b]).mean(axis=(1, 2, 3))
    return 0.5 * h + 0.5 * np.minimum(p * 3.0, 1.0)


@dataclass
class _Candidate:
    kind: str
    first: int
    last: int
    anchor: int
    confidence: float
    priority: int


def _overlap(a: _Candidate, b: _Candidate) -> bool:
    """Spans overlap; a cut also claims the two frames on either side of it."""
    margin = 2 if "cut" in (a.kind, b.kind) else 0
    return a.first - margin <= b.last and b.first <= a.last + margin


@DETECTORS.register("fast")
class FastShotDetector(ShotDetector):
    """Classic histogram + structure detector with adaptive thresholds (see module doc)."""

    name = "fast"

    def __init__(self, settings: FastSettings | None = None, **overrides: float) -> None:
        base = settings or FastSettings()
        self.settings = FastSettings(**{**base.__dict__, **overrides}) if overrides else base
        s = self.settings
        # Frames of context a decision needs on each side.
        self.context = max(s.window + s.flash_frames + 3, max(s.gradual_scales) * 2 + s.max_gradual)
        self._feat = _Features()
        self._done = 1  # decisions are final for anchors < _done (frame 0 cannot be a cut)
        self._last_emitted = 0

    def describe(self) -> str:
        return "fast (classic histogram/structure detector)"

    def process(self, batch: FrameBatch) -> list[Transition]:
        self._feat.append(batch.tiny)
        return self._decide(final=False)

    def flush(self) -> list[Transition]:
        return self._decide(final=True)

    # ------------------------------------------------------------------------------------
    def _decide(self, final: bool) -> list[Transition]:
        feat = self._feat
        limit = feat.stop if final else feat.stop - self.context
        if limit <= self._done:
            return []
        cands = self._candidates()
        out: list[Transition] = []
        for c in sorted(cands, key=lambda c: c.anchor):
            if not (self._done <= c.anchor < limit):
                continue
            if c.first <= self._last_emitted and self._last_emitted > 0:
                continue
            out.append(Transition(c.kind, c.first, c.last, round(float(c.confidence), 3)))
            self._last_emitted = c.last
        self._done = limit
        feat.drop_before(self._done - 2 * self.context)
        return out

    def _candidates(self) -> list[_Candidate]:
        feat = self._feat
        n = len(feat)
        if n < 2:
            return []
        cands = self._cuts() + self._fades() + self._graduals()
        # Resolve overlaps: fades beat everything, then cuts, then dissolves/wipes.
        cands.sort(key=lambda c: (c.priority, -c.confidence))
        kept: list[_Candidate] = []
        for c in cands:
            if not any(_overlap(c, k) for k in kept):
                kept.append(c)
        return kept

    def _cuts(self) -> list[_Candidate]:
        s, feat = self.settings, self._feat
        n = len(feat)
        idx = np.arange(1, n)
        d = np.zeros(n, np.float32)
        d[1:] = _pair_distance(feat, idx, idx - 1)
        out: list[_Candidate] = []
        w = s.window
        for t in np.flatnonzero(d > s.cut_min_score):
            t = int(t)
            lo, hi = max(1, t - 2), min(n, t + 3)
            if d[t] < d[lo:hi].max():
                continue
            neigh = np.concatenate([d[max(1, t - w): max(1, t - 1)], d[t + 2: t + w + 1]])
            base = float(np.median(neigh)) if len(neigh) else 0.0
            margin = float(d[t]) - base
            if margin < s.cut_threshold:
                continue
            # Flash: the frame before the jump reappears shortly after it.
            ahead = np.arange(t + 1, min(n, t + 1 + s.flash_frames))
            if len(ahead):
                back = _pair_distance(feat, np.full(len(ahead), t - 1), ahead)
                if back.min() < 0.45 * d[t]:
                    continue
            conf = 1.0 / (1.0 + np.exp(-(margin - s.cut_threshold) * 12.0))
            out.append(_Candidate("cut", feat.start + t, feat.start + t, feat.start + t,
                                  0.5 + 0.5 * conf, 1))
        return out

    def _fades(self) -> list[_Candidate]:
        s, feat = self.settings, self._feat
        n = len(feat)
        flat = feat.std < s.flat_std
        out: list[_Candidate] = []
        i = 0
        while i < n:
            if not flat[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and flat[j + 1]:
                j += 1
            a = self._ramp(i, -1)
            b = self._ramp(j, +1)
            # A flat run with no contrast ramp on either side is a flat shot, not a fade;
            # the video's own start and end count as ramps (fade in from / out to nothing).
            has_out = a < i or i == 0
            has_in = b > j or j == n - 1
            if (a < i or b > j) and has_out and has_in:
                first = feat.start + a
                last = feat.start + b
                if first <= 0 and feat.start == 0:
                    first = 0
                contrast = max(float(feat.std[a]), float(feat.std[b]))
                conf = min(1.0, 0.5 + contrast * 3.0)
                out.append(_Candidate("fade", first, last, feat.start + (i + j) // 2, conf, 0))
            i = j + 1
        return out

    def _ramp(self, k: int, step: int) -> int:
        """Walk from the flat frame ``k`` while contrast keeps rising; return the last frame
        of the ramp (``k`` itself when there is none)."""
        s, std, n = self.settings, self._feat.std, len(self._feat)
        i = k
        while 0 <= i + step < n and abs(i + step - k) <= s.max_gradual:
            if std[i + step] > std[i] + 0.002:
                i += step
            else:
                break
        # Ramps that barely change contrast are noise on a flat shot.
        return i if std[i] - std[k] > 0.04 else k

    def _graduals(self) -> list[_Candidate]:
        s, feat = self.settings, self._feat
        n = len(feat)
        out: list[_Candidate] = []
        for sc in s.gradual_scales:
            if n <= 2 * sc + 2:
                continue
            centres = np.arange(sc, n - sc)
            D = np.zeros(n, np.float32)
            D[centres] = _colour_distance(feat, centres - sc, centres + sc)
            for c in np.flatnonzero(D > s.gradual_threshold):
                c = int(c)
                lo, hi = max(sc, c - sc), min(n - sc, c + sc + 1)
                # Local maximum; on a plateau only its first frame counts.
                if c != lo + int(np.argmax(D[lo:hi])):
                    continue
                cand = self._mixture(c - sc, c + sc, float(D[c]))
                if cand is not None:
                    out.append(cand)
        return out

    def _mixture(self, a: int, b: int, strength: float) -> _Candidate | None:
        """Test whether frames strictly between ``a`` and ``b`` are mixtures of frames ``a``
        and ``b``; if so return the transition with its span and type."""
        s, feat = self.settings, self._feat
        A, B = feat.small[a], feat.small[b]
        diff = B - A
        norm2 = float((diff * diff).sum())
        if norm2 < 1e-6 or b - a < 2:
            return None
        mid = feat.small[a + 1: b]
        # Global mixing weight per frame (least squares), and residual from the mixture line.
        alpha = ((mid - A) * diff).sum(axis=(1, 2, 3)) / norm2
        alpha_c = np.clip(alpha, 0.0, 1.0)
        resid = np.abs(mid - (A + alpha_c[:, None, None, None] * diff)).mean(axis=(1, 2, 3))
        rel = float(resid.mean() / (np.abs(diff).mean() + 1e-6))
        if rel > s.mixture_residual:
            return None
        # Mixing weight must progress from A to B (not jump back and forth).
        steps = np.diff(np.concatenate([[0.0], alpha_c, [1.0]]))
        if alpha_c[-1] - alpha_c[0] < 0.5 or steps.min() < -0.25:
            return None
        # Most of the change in one frame step is a cut (found by the cut pass), not a mix.
        if steps.max() > 0.6:
            return None
        inside = np.flatnonzero((alpha > 0.04) & (alpha < 0.96))
        if len(inside) == 0:
            return None
        first, last = a + 1 + int(inside[0]), a + 1 + int(inside[-1])
        if last - first + 1 < 2:
            return None  # an instant change is a cut, found by the cut pass
        # Dissolve or wipe: per-pixel weights at the middle frame cluster at 0.5 for a
        # dissolve and at 0 or 1 for a wipe.
        m = (first + last) // 2
        d_px = diff.sum(axis=2)
        strong = np.abs(d_px) > 0.08
        kind = "dissolve"
        if strong.sum() > 20:
            px = ((feat.small[m] - A).sum(axis=2)[strong]) / d_px[strong]
            between = float(((px > 0.25) & (px < 0.75)).mean())
            if between < 0.35:
                kind = "wipe"
        if feat.std[first: last + 1].min() < s.flat_std:
            kind = "fade"
        conf = min(1.0, 0.5 + (strength - s.gradual_threshold) * 2 + (s.mixture_residual - rel))
        return _Candidate(kind, feat.start + first, feat.start + last, feat.start + m,
                          max(0.5, conf), 2)
