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
_STD_FLOOR = 0.05
"""Added to a frame's luma deviation before standardising, so dim noise is not amplified."""


@dataclass(frozen=True)
class FastSettings:
    """Thresholds of the ``fast`` detector (chosen on synthetic material from the dev clips)."""

    cut_threshold: float = 0.20
    """Minimum cut score above the local median for a cut."""
    cut_min_score: float = 0.22
    """Minimum absolute cut score."""
    cut_changed_fraction: float = 0.25
    """Smallest share of the picture a cut must change (after a global brightness fit)."""
    window: int = 12
    """Half-width (frames) of the neighbourhood for the adaptive threshold."""
    flash_frames: int = 4
    """A difference that vanishes within this many frames is a flash, not a cut."""
    occluder_frames: int = 16
    occluder_changed_fraction: float = 0.7
    """A jump that changes less than this share of the picture and is gone within
    ``occluder_frames`` is something passing in front of the lens, not a cut."""
    gradual_scales: tuple[int, ...] = (5, 12, 20)
    """Half-distances (frames) of the long-range difference used for gradual transitions."""
    gradual_threshold: float = 0.22
    """Minimum long-range difference for a gradual transition."""
    gradual_contrast: float = 2.6
    """A gradual candidate's long-range difference must exceed this × its surroundings'."""
    gradual_structure: float = 0.3
    """Smallest structural (standardised luma) change between the ends of a gradual one."""
    mixture_residual: float = 0.32
    """Largest mean distance (relative) of in-between frames from the end frames' mixtures."""
    flat_std: float = 0.012
    """A frame whose luma standard deviation is below this is uniform (a fade's midpoint)."""
    fade_hold: int = 12
    """A uniform hold longer than this (frames) is a shot between a fade out and a fade in."""
    max_gradual: int = 90
    """Longest gradual transition considered (frames)."""


class _Features:
    """Per-frame features of a window of frames, as arrays indexed by frame offset, and the
    difference signals derived from them (each computed once, when its frames arrive):
    ``step[i]`` the cut distance between frames ``i-1`` and ``i``, ``span[s][c]`` the colour
    distance between frames ``c-s`` and ``c+s``."""

    def __init__(self, scales: tuple[int, ...]) -> None:
        self.start = 0
        self.step = np.empty(0, np.float32)
        self.span = {sc: np.empty(0, np.float32) for sc in scales}
        self.small = np.empty((0, 18, 32, 3), np.float32)  # blurred RGB 0..1
        self.z = np.empty((0, 18, 32), np.float32)  # standardised luma
        self.hist = np.empty((0, int(np.prod(_HIST_BINS))), np.float32)
        self.nhist = np.empty((0, int(np.prod(_HIST_BINS))), np.float32)
        self.mean = np.empty(0, np.float32)
        self.std = np.empty(0, np.float32)

    def __len__(self) -> int:
        return len(self.mean)

    @property
    def stop(self) -> int:
        return self.start + len(self)

    def append(self, tiny: np.ndarray) -> None:
        old = len(self)
        f = tiny.astype(np.float32) * (0.25 / 255.0)
        # 2×2 box average to 32×18 (strided sums: cheaper than a reshaped mean).
        small = f[:, 0::2, 0::2] + f[:, 1::2, 0::2] + f[:, 0::2, 1::2] + f[:, 1::2, 1::2]
        y = small @ _LUMA
        mean = y.mean(axis=(1, 2))
        std = y.std(axis=(1, 2))
        z = (y - mean[:, None, None]) / (std[:, None, None] + _STD_FLOOR)
        hist = _histograms(tiny)
        self.nhist = np.concatenate([self.nhist, _normalised_histograms(small, mean, std)])
        self.small = np.concatenate([self.small, small])
        self.z = np.concatenate([self.z, z])
        self.hist = np.concatenate([self.hist, hist])
        self.mean = np.concatenate([self.mean, mean])
        self.std = np.concatenate([self.std, std])
        self._extend_signals(old)

    def _extend_signals(self, old: int) -> None:
        n = len(self)
        first = max(1, old)
        step = np.zeros(n - old, np.float32)
        if n > first:
            idx = np.arange(first, n)
            step[first - old:] = _pair_distance(self, idx, idx - 1)
        self.step = np.concatenate([self.step, step])
        for sc, values in self.span.items():
            grown = np.concatenate([values, np.zeros(n - old, np.float32)])
            # Centres whose later frame just arrived; the first ``sc`` frames of the video
            # have no earlier frame and keep 0.
            centres = np.arange(max(old - sc, sc), n - sc)
            if len(centres):
                grown[centres] = _colour_distance(self, centres - sc, centres + sc)
            self.span[sc] = grown

    def drop_before(self, frame: int) -> None:
        k = max(0, frame - self.start)
        if k:
            self.small, self.z, self.hist = self.small[k:], self.z[k:], self.hist[k:]
            self.nhist = self.nhist[k:]
            self.mean, self.std = self.mean[k:], self.std[k:]
            self.step = self.step[k:]
            self.span = {sc: v[k:] for sc, v in self.span.items()}
            self.start += k


def _histograms(tiny: np.ndarray) -> np.ndarray:
    """Normalised joint YCbCr histograms, one row per frame, computed for the whole batch."""
    n = tiny.shape[0]
    # Every other pixel in each direction: plenty of samples for 128 bins, 4× less work.
    f = tiny[:, ::2, ::2].reshape(n, -1, 3).astype(np.int32)
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


def _normalised_histograms(small: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Colour histograms of frames standardised by their own luma mean and deviation, so a
    global brightness or contrast change (lights, iris, a flash's tail) leaves them alike."""
    n = small.shape[0]
    scale = 1.0 / (std + _STD_FLOOR)
    y = (small @ _LUMA - mean[:, None, None]) * scale[:, None, None]
    cb = (small[..., 2] - small @ _LUMA) * scale[:, None, None]
    cr = (small[..., 0] - small @ _LUMA) * scale[:, None, None]
    by, bcb, bcr = _HIST_BINS
    iy = np.clip(((y + 2.0) / 4.0 * by).astype(np.int64), 0, by - 1)
    icb = np.clip(((cb + 1.5) / 3.0 * bcb).astype(np.int64), 0, bcb - 1)
    icr = np.clip(((cr + 1.5) / 3.0 * bcr).astype(np.int64), 0, bcr - 1)
    idx = ((iy * bcb + icb) * bcr + icr).reshape(n, -1)
    idx += (np.arange(n) * (by * bcb * bcr))[:, None]
    counts = np.bincount(idx.ravel(), minlength=n * by * bcb * bcr)
    return counts.reshape(n, -1).astype(np.float32) / idx.shape[1]


def _shifted_distance(a: np.ndarray, b: np.ndarray, max_dx: int, max_dy: int) -> float:
    """Smallest mean absolute difference of two 2-D maps over translations of up to
    ``max_dx``×``max_dy`` cells, on their overlap: what is left of a change once camera or
    object translation is explained away."""
    h, w = a.shape
    best = float(np.abs(a - b).mean())
    for dy in range(-max_dy, max_dy + 1):
        for dx in range(-max_dx, max_dx + 1):
            if dx == 0 and dy == 0:
                continue
            aa = a[max(0, dy): h + min(0, dy), max(0, dx): w + min(0, dx)]
            bb = b[max(0, -dy): h + min(0, -dy), max(0, -dx): w + min(0, -dx)]
            best = min(best, float(np.abs(aa - bb).mean()))
    return best


_ZOOMS = (1.12, 1.25, 1.45)


def _zoom(a: np.ndarray, factor: float) -> np.ndarray:
    """The centre of map ``a`` enlarged by ``factor`` (nearest neighbour), same shape."""
    h, w = a.shape
    def grid(k: int) -> np.ndarray:
        c = (k - 1) / 2
        return np.clip(((np.arange(k) - c) / factor + c).round().astype(int), 0, k - 1)

    return a[np.ix_(grid(h), grid(w))]


def _motion_distance(a: np.ndarray, b: np.ndarray, max_dx: int, max_dy: int) -> float:
    """Like :func:`_shifted_distance`, also trying zooms in and out: what is left of a change
    once a camera pan or zoom is explained away."""
    best = _shifted_distance(a, b, max_dx, max_dy)
    for f in _ZOOMS:
        best = min(best, _shifted_distance(_zoom(a, f), b, 3, 2),
                   _shifted_distance(a, _zoom(b, f), 3, 2))
    return best


def _push_error(A: np.ndarray, B: np.ndarray, mid: np.ndarray) -> float:
    """Mean error of the best "push" explanation of ``mid``: ``B`` entering from one side
    by some offset while ``A`` leaves by the same offset (``inf`` if no offset fits)."""
    h, w = mid.shape[:2]
    best = np.inf
    for axis, size in ((1, w), (0, h)):
        for off in range(2, size - 1):
            for forward in (True, False):
                if axis == 1:
                    if forward:  # B enters from the left
                        model = np.concatenate([B[:, size - off:], A[:, : size - off]], axis=1)
                    else:
                        model = np.concatenate([A[:, off:], B[:, :off]], axis=1)
                else:
                    if forward:
                        model = np.concatenate([B[size - off:], A[: size - off]], axis=0)
                    else:
                        model = np.concatenate([A[off:], B[:off]], axis=0)
                best = min(best, float(np.abs(model - mid).mean()))
    return best


def _changed_fraction(a: np.ndarray, b: np.ndarray) -> float:
    """Share of cells of RGB map ``b`` not explained by a global gain and offset of ``a``
    (least squares on luma): the area a change really touched."""
    ya, yb = (a @ _LUMA).ravel(), (b @ _LUMA).ravel()
    flat_a, flat_b = float(ya.std()) < 0.02, float(yb.std()) < 0.02
    if flat_a != flat_b:
        # A picture replaced by a uniform frame or the other way round (a cut to or from
        # black): a gain fit "explains" it, but no lighting change wipes out all structure,
        # or makes it, in one frame.
        return 1.0
    if flat_a:  # one flat colour to another: all of it changed, or none of it
        return float(np.abs(a.mean(axis=(0, 1)) - b.mean(axis=(0, 1))).max() > 0.08)
    # The fit below is of luma; light changes colour little, a cut to another colour much.
    chroma_a = (a - ya.reshape(a.shape[:2])[..., None]).mean(axis=(0, 1))
    chroma_b = (b - yb.reshape(b.shape[:2])[..., None]).mean(axis=(0, 1))
    if float(np.abs(chroma_a - chroma_b).max()) > 0.1:
        return 1.0
    va = float(ya.var())
    gain = float(((ya - ya.mean()) * (yb - yb.mean())).mean() / va) if va > 1e-6 else 0.0
    residual = np.abs(yb - (gain * (ya - ya.mean()) + yb.mean()))
    return float((residual > max(0.01, 0.3 * float(yb.std()))).mean())


def _pair_distance(feat: _Features, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cut-style distance between frames ``a[i]`` and ``b[i]`` (offsets into the window):
    half change of brightness-normalised colour histograms, half structural change of
    standardised luma. Both ignore global brightness/contrast steps."""
    h = 0.5 * np.abs(feat.nhist[a] - feat.nhist[b]).sum(axis=1)
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
        # A chunk's stream must outlive the feature window (two contexts behind the decided
        # frames) before its decisions see the same window as a pass from frame 0.
        self.chunk_warmup = 3 * self.context
        self._feat = _Features(s.gradual_scales)
        self._done = 1  # decisions are final for anchors < _done (frame 0 cannot be a cut)
        self._frame_interval: float | None = None
        self._last_emitted = 0
        self._origin: int | None = None

    def describe(self) -> str:
        return "fast (classic histogram/structure detector)"

    def process(self, batch: FrameBatch) -> list[Transition]:
        if self._origin is None:
            # The stream's first frame: 0 for a whole video, anywhere for a chunk.
            self._origin = self._feat.start = batch.start
            self._done = self._last_emitted = batch.start
            self._done += 1
        if len(batch) > 1:
            # The frame interval of the batch at hand (not the video's first), so a chunk
            # judges motion as a pass from the start does.
            self._frame_interval = float(np.median(np.diff(batch.times)))
        self._feat.append(batch.tiny)
        return self._decide(final=False)

    def flush(self) -> list[Transition]:
        return self._decide(final=True)

    @property
    def lookahead_frames(self) -> int:  # type: ignore[override]
        """Decisions wait for ``context`` frames after the frame they judge."""
        return self.context

    def synced_from(self) -> int | None:
        if self._origin is None:
            return None
        return 0 if self._origin == 0 else self._origin + 3 * self.context

    def final_until(self) -> int:
        # A candidate decided at anchor ``_done`` or later can start a gradual span (or a
        # fade's ramp and hold) before its anchor.
        s = self.settings
        return max(self._origin or 0, self._done - s.max_gradual - s.fade_hold)

    # ------------------------------------------------------------------------------------
    def _decide(self, final: bool) -> list[Transition]:
        feat = self._feat
        limit = feat.stop if final else feat.stop - self.context
        if limit <= self._done:
            return []
        cands = self._candidates(self._done - feat.start, limit - feat.start)
        out: list[Transition] = []
        for c in sorted(cands, key=lambda c: c.anchor):
            if not (self._done <= c.anchor < limit):
                continue
            if c.first <= self._last_emitted and self._last_emitted > (self._origin or 0):
                continue
            out.append(Transition(c.kind, c.first, c.last, round(float(c.confidence), 3)))
            self._last_emitted = c.last
        self._done = limit
        feat.drop_before(self._done - 2 * self.context)
        return out

    def _candidates(self, lo: int, hi: int) -> list[_Candidate]:
        """Candidates that may be anchored in window offsets ``[lo, hi)`` (the frames about
        to be decided), plus those near enough to compete with them for the same frames."""
        feat = self._feat
        n = len(feat)
        if n < 2:
            return []
        reach = max(self.settings.gradual_scales) + 3
        cands = self._cuts(lo - reach, hi + reach) + self._fades() + self._graduals(
            lo - 2 * reach, hi + 2 * reach)
        # Resolve overlaps: fades beat everything, then dissolves/wipes (whose mixture test
        # already rejects a single dominant step), then cuts.
        # Among gradual candidates the longest span first: the same dissolve seen at a short
        # scale is a piece of the one seen at a long scale.
        cands.sort(key=lambda c: (c.priority, -(c.last - c.first) if c.priority == 1 else 0,
                                  -c.confidence))
        kept: list[_Candidate] = []
        for c in cands:
            if not any(_overlap(c, k) for k in kept):
                kept.append(c)
        return kept

    def _cuts(self, lo: int, hi: int) -> list[_Candidate]:
        s, feat = self.settings, self._feat
        d = feat.step
        out: list[_Candidate] = []
        w = s.window
        for found in np.flatnonzero(d > s.cut_min_score):
            t = int(found)
            if not lo <= t < hi:
                continue
            if d[t] < d[max(1, t - 2): t + 3].max():
                continue
            neigh = np.concatenate([d[max(1, t - w): max(1, t - 1)], d[t + 2: t + w + 1]])
            base = float(np.median(neigh)) if len(neigh) else 0.0
            margin = float(d[t]) - base
            if margin < s.cut_threshold:
                continue
            if self._is_flash(t, float(d[t])):
                continue
            # A caption appearing or a brightness step changes part of the picture, or all of
            # it in one affine way; a cut changes most of it in no such way.
            changed = _changed_fraction(feat.small[t - 1], feat.small[t])
            if changed < s.cut_changed_fraction:
                continue
            # Part of the picture jumped and the whole picture is back a moment later: an
            # object passing in front of the lens (a hand, a bird), not a cut. A short insert
            # of another shot changes all of it, and stays a cut.
            if changed < s.occluder_changed_fraction and self._comes_back(
                    t - 1, t, reach=s.occluder_frames):
                continue
            # Fast camera or object motion: the jump mostly disappears once shifted back.
            reach = self._motion_reach()
            moved = _shifted_distance(feat.z[t - 1], feat.z[t], 2 * reach, reach)
            if moved < 0.5 * float(np.abs(feat.z[t - 1] - feat.z[t]).mean()) and moved < 0.45:
                continue
            conf = 1.0 / (1.0 + np.exp(-(margin - s.cut_threshold) * 12.0))
            out.append(_Candidate("cut", feat.start + t, feat.start + t, feat.start + t,
                                  0.5 + 0.5 * conf, 2))
        return out

    def _motion_reach(self) -> int:
        """Vertical cells a camera may move between two frames (twice that horizontally):
        2 at 25 fps and above, more at low frame rates, where one frame step spans more
        motion (a 6 fps clip moves four times as far per frame)."""
        interval = self._frame_interval or 0.04
        return int(np.clip(round(2 * interval / 0.04), 2, 6))

    def _is_flash(self, t: int, jump: float) -> bool:
        """A frame from before the jump at ``t`` looks like one after it, within
        ``flash_frames``: the picture came back (the start or the end of a flash)."""
        f, n = self.settings.flash_frames, len(self._feat)
        before = np.arange(max(0, t - 1 - f), t)
        after = np.arange(t, min(n, t + f + 1))
        a, b = np.meshgrid(before, after, indexing="ij")
        keep = (b - a) > 1  # the pair (t-1, t) is the jump itself
        if not keep.any():
            return False
        return bool(_pair_distance(self._feat, a[keep], b[keep]).min() < 0.45 * jump)

    def _fades(self) -> list[_Candidate]:
        """Fades through a uniform frame (black, white or any flat colour)."""
        s, feat = self.settings, self._feat
        n = len(feat)
        out: list[_Candidate] = []
        flat = self._uniform(np.arange(n))
        i = 0
        while i < n:
            if not flat[i]:
                i += 1
                continue
            j = i
            while j + 1 < n and flat[j + 1]:
                j += 1
            a, b = self._ramp(i, -1), self._ramp(j, +1)
            # A flat run with no ramp on either side is a flat shot (or a cut to black, which
            # the cut pass reports); a flash or blink is too short; a dip that returns to the
            # same picture is not a transition either.
            long_enough = b - a >= 3
            same = (a > 0 and b + 1 < n and float(_pair_distance(
                feat, np.array([a - 1]), np.array([b + 1]))[0]) < s.cut_min_score)
            if (a < i or b > j) and long_enough and not same:
                conf = min(1.0, 0.5 + max(float(feat.std[a]), float(feat.std[b])) * 8.0)
                if j - i + 1 > s.fade_hold:
                    # A long hold on the uniform colour is a shot of its own: fade out into it,
                    # fade in out of it.
                    if a < i:
                        out.append(_Candidate("fade", feat.start + a, feat.start + i,
                                              feat.start + i, conf, 0))
                    if b > j:
                        out.append(_Candidate("fade", feat.start + j, feat.start + b,
                                              feat.start + j, conf, 0))
                else:
                    out.append(_Candidate("fade", feat.start + a, feat.start + b,
                                          feat.start + (i + j) // 2, conf, 0))
            i = j + 1
        return out

    def _uniform(self, idx: np.ndarray) -> np.ndarray:
        """Frames that are one flat colour, or near-black/near-white with little detail (a
        logo or noise on black still counts as black)."""
        s, std, mean = self.settings, self._feat.std[idx], self._feat.mean[idx]
        extreme = (mean < 0.07) | (mean > 0.93)
        return (std < s.flat_std) | (extreme & (std < 3 * s.flat_std))

    def _ramp(self, k: int, step: int) -> int:
        """Walk from the flat frame ``k`` while the picture keeps emerging (contrast rising or
        brightness moving away from the flat level); return the ramp's last frame (``k`` when
        there is none). Works for low-contrast pictures, where contrast alone barely moves."""
        s, feat, n = self.settings, self._feat, len(self._feat)
        std, mean = feat.std, feat.mean
        level = float(mean[k])

        def emerged(i: int) -> float:
            return float(std[i]) + 0.5 * abs(float(mean[i]) - level)

        i = k
        while 0 <= i + step < n and abs(i + step - k) <= s.max_gradual:
            if emerged(i + step) > emerged(i) + 0.003:
                i += step
            else:
                break
        # A ramp must take at least two frames (a flash or a cut to black jumps in one) and
        # reach a real picture, not noise on a flat shot.
        real = abs(i - k) >= 2 and emerged(i) - emerged(k) > 0.02 and std[i] > 2 * std[k]
        return i if real else k

    def _graduals(self, lo: int, hi: int) -> list[_Candidate]:
        s, feat = self.settings, self._feat
        n = len(feat)
        out: list[_Candidate] = []
        for sc in s.gradual_scales:
            if n <= 2 * sc + 2:
                continue
            D = feat.span[sc]
            for peak in np.flatnonzero(D > s.gradual_threshold):
                c = int(peak)
                if not lo <= c < hi:
                    continue
                left, right = max(sc, c - sc), min(n - sc, c + sc + 1)
                # Local maximum; on a plateau only its first frame counts.
                if c != left + int(np.argmax(D[left:right])):
                    continue
                # Standing out from its surroundings (an adaptive threshold, as for cuts):
                # hand-held or busy footage keeps the long-range difference high everywhere.
                around = np.concatenate([D[max(sc, c - 4 * sc): max(sc, c - 2 * sc)],
                                         D[c + 2 * sc: c + 4 * sc]])
                around = around[around > 0]
                # A low percentile, so a neighbouring transition inside the surroundings does
                # not raise the bar.
                if len(around) and D[c] < s.gradual_contrast * float(np.percentile(around, 25)):
                    continue
                cand = self._mixture(c - sc, c + sc, float(D[c]))
                if cand is not None:
                    out.append(cand)
        return out

    def _mixture(self, a: int, b: int, strength: float) -> _Candidate | None:
        """Test whether frames strictly between ``a`` and ``b`` are mixtures of frames ``a``
        and ``b``; if so return the transition with its span and type. Cheap tests first."""
        s, feat = self.settings, self._feat
        A, B = feat.small[a], feat.small[b]
        diff = B - A
        norm2 = float((diff * diff).sum())
        if norm2 < 1e-6 or b - a < 2:
            return None
        # A dissolve or wipe changes the picture's structure; a lighting change does not.
        za, zb = feat.z[a], feat.z[b]
        structure = float(np.abs(za - zb).mean())
        if structure < s.gradual_structure:
            return None
        # A title fading in changes a part of the picture; a transition changes most of it.
        if _changed_fraction(A, B) < s.cut_changed_fraction:
            return None
        # Something passing in front of the lens (a hand, a bird, a title that fades in and
        # out again) leaves the picture as it was: the shot goes on.
        if self._comes_back(a, b):
            return None
        # An end frame inside a flash makes the flash's decay look like a dissolve.
        if self._in_flash(a) or self._in_flash(b):
            return None
        mid = feat.small[a + 1: b]
        # Global mixing weight per frame (least squares), and residual from the mixture line.
        alpha = ((mid - A) * diff).sum(axis=(1, 2, 3)) / norm2
        alpha_c = np.clip(alpha, 0.0, 1.0)
        resid = np.abs(mid - (A + alpha_c[:, None, None, None] * diff)).mean(axis=(1, 2, 3))
        rel = float(resid.mean() / (np.abs(diff).mean() + 1e-6))
        if rel > s.mixture_residual:
            return self._push(a, b, strength)
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
        m = (first + last) // 2
        kind = self._gradual_kind(A, diff, m, first, last)
        if kind != "fade" and self._is_camera_motion(a, b, first, last, kind):
            return None
        conf = min(1.0, 0.5 + (strength - s.gradual_threshold) * 2 + (s.mixture_residual - rel))
        return _Candidate(kind, feat.start + first, feat.start + last, feat.start + m,
                          max(0.5, conf), 1)

    def _in_flash(self, i: int) -> bool:
        """Whether frame ``i`` is at the start of a flash (a jump at ``i`` or next to it that
        the flash test says goes away again)."""
        d, s = self._feat.step, self.settings
        return any(1 <= j < len(d) and d[j] > s.cut_min_score and self._is_flash(j, float(d[j]))
                   for j in (i - 1, i, i + 1))

    def _comes_back(self, a: int, b: int, reach: int | None = None) -> bool:
        """Whether a frame shortly before ``a`` looks like one shortly after ``b`` (within
        ``reach`` frames, default ``b - a``; as the flash test asks of a cut): the change
        between them went away again."""
        n = len(self._feat)
        reach = reach or b - a
        before = np.arange(max(0, a - reach), a + 1, max(1, reach // 4))
        after = np.arange(b, min(n, b + reach + 1), max(1, reach // 4))
        if not len(before) or not len(after):
            return False
        x, y = np.meshgrid(before, after, indexing="ij")
        across = float(_pair_distance(self._feat, np.array([a]), np.array([b]))[0])
        return bool(_pair_distance(self._feat, x.ravel(), y.ravel()).min() < 0.45 * across)

    def _push(self, a: int, b: int, strength: float) -> _Candidate | None:
        """A push (slide) wipe: the new picture slides in and shoves the old one out, so
        in-between frames are not pixel mixtures but two shifted pieces of the end frames.
        Fit that model at the middle frame for each direction and offset."""
        s, feat = self.settings, self._feat
        A, B = feat.small[a], feat.small[b]
        scale = float(np.abs(B - A).mean()) + 1e-6
        # A few frames around the middle (where the push is under way), not all: each fit
        # tries every direction and offset.
        probes = sorted({int(round(t)) for t in np.linspace(a + 1, b - 1, 7)})
        best_err, best_t = min((_push_error(A, B, feat.small[t]) / scale, t) for t in probes)
        if best_err > 0.5 * s.mixture_residual:
            return None
        # A push leaves the old picture step by step; one that is gone at once was cut away
        # (and what moves after the cut is the new shot's own motion).
        away = np.array([float(np.abs(feat.small[t] - A).mean()) / scale
                         for t in range(a, b + 1)])
        if float(np.diff(away).max()) > 0.6:
            return None
        # The span: frames that are neither end picture.
        first, last = a + 1, b - 1
        while first < best_t and float(np.abs(feat.small[first] - A).mean()) < 0.15 * scale:
            first += 1
        while last > best_t and float(np.abs(feat.small[last] - B).mean()) < 0.15 * scale:
            last -= 1
        if last - first + 1 < 2:
            return None
        conf = min(1.0, 0.5 + (strength - s.gradual_threshold) * 2)
        return _Candidate("wipe", feat.start + first, feat.start + last, feat.start + best_t,
                          max(0.5, conf), 1)

    def _gradual_kind(self, A: np.ndarray, diff: np.ndarray, m: int, first: int,
                      last: int) -> str:
        """Per-pixel mixing weights at the middle frame cluster at 0.5 for a dissolve and at 0
        or 1 for a wipe; a flat frame inside the span makes it a fade."""
        feat = self._feat
        if self._uniform(np.arange(first, last + 1)).any():
            return "fade"
        d_px = diff.sum(axis=2)
        strong = np.abs(d_px) > 0.08
        if strong.sum() > 20:
            px = ((feat.small[m] - A).sum(axis=2)[strong]) / d_px[strong]
            if float(((px > 0.25) & (px < 0.75)).mean()) < 0.35:
                return "wipe"
        return "dissolve"

    def _is_camera_motion(self, a: int, b: int, first: int, last: int, kind: str) -> bool:
        """A pan or zoom mimics a gradual transition: consecutive frames inside the span are
        explained by a small shift or zoom of their predecessor. A push wipe moves like a pan
        too, but its end frame shares nothing with its start frame, which a pan's does."""
        z = self._feat.z
        pairs = sorted({(first + last) // 2, first + (last - first) // 4,
                        first + 3 * (last - first) // 4})
        ratios = []
        for i in pairs:
            raw = float(np.abs(z[i] - z[i + 1]).mean())
            if raw > 0.05:
                ratios.append(_motion_distance(z[i], z[i + 1], 4, 2) / raw)
        if not ratios or float(np.median(ratios)) >= 0.5:
            return False
        if kind == "wipe":
            ends = float(np.abs(z[a] - z[b]).mean())
            return _motion_distance(z[a], z[b], 14, 8) < 0.4 * ends
        return True
