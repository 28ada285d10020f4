"""What the soundtrack says about scene changes: per-shot sound features for the scene model.

Scene changes often come with a change of sound (another room, another street, the music
stopping), and continuous dialogue or music rarely crosses one. Two steps, shared by the
analysis pipeline and the scene model's training so that both measure alike:

1. :func:`sound_blocks`: the soundtrack's power in eight frequency bands per 100 ms block
   (mono, 16 kHz, what :func:`vidscene.video.read_audio` decodes). A two-hour film is 72,000
   rows of eight numbers.
2. :func:`shot_sound_features`: per shot, from the blocks and the shots' times
   (:data:`SOUND_FEATURES`): its level, how much the sound's level and spectral shape change
   across the cut that enters it (over 1 s and 3 s each side, so a sound change that leads or
   lags the picture cut by a second still counts), the quietest block around the cut, how much
   the sound changes anyway just before and just after it, and how unlike the three shots
   before it the shot sounds.

Shape is the band powers relative to their sum, in dB: it tells a voice from traffic from
music whatever the level. A video without audio gives all zeros, the first feature
(``present``) included, and the model reads the picture alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["BLOCK_S", "SOUND_BANDS", "SOUND_FEATURES", "shot_sound_features", "sound_blocks"]

BLOCK_S = 0.1
"""Seconds per block (the loudness blocks of :mod:`vidscene.video._audio` are as long)."""
SOUND_BANDS: tuple[tuple[float, float], ...] = (
    (50, 150), (150, 300), (300, 600), (600, 1200), (1200, 2400), (2400, 4000), (4000, 6000),
    (6000, 8000))
"""Frequency bands (Hz), roughly octaves: hum and rumble, voice fundamentals, vowels,
consonants, hiss."""
SOUND_FEATURES = ("present", "level", "entry_level_step", "entry_change_1s", "entry_change_3s",
                  "entry_quietest", "steady_before", "steady_after", "unlike_previous_1",
                  "unlike_previous_2", "unlike_previous_3")
"""Per-shot sound inputs of the scene model (module doc); changes are in tens of dB."""

_FLOOR = 1e-7
"""Power floor (−70 dBFS): silence has a level and a flat shape instead of −inf."""
_CHUNK = 2048
"""Blocks transformed at once (bounds the memory of a long film's spectrum)."""


def sound_blocks(mono: np.ndarray, rate: int) -> np.ndarray:
    """``(blocks, len(SOUND_BANDS))`` mean power per band of each 100 ms block of ``mono``
    (float samples in [−1, 1]); a partial last block is dropped."""
    size = int(round(rate * BLOCK_S))
    count = len(mono) // size
    out = np.zeros((count, len(SOUND_BANDS)), np.float32)
    if count == 0:
        return out
    window = np.hanning(size).astype(np.float32)
    freqs = np.fft.rfftfreq(size, 1.0 / rate)
    bins = [(freqs >= lo) & (freqs < hi) for lo, hi in SOUND_BANDS]
    # One-sided power spectrum scaled so the bands of a full-band signal sum to its mean square.
    scale = 2.0 / (size * size * float(np.mean(window ** 2)))
    frames = np.asarray(mono[:count * size], np.float32).reshape(count, size)
    for start in range(0, count, _CHUNK):
        spectrum = np.abs(np.fft.rfft(frames[start:start + _CHUNK] * window, axis=1)) ** 2
        for b, mask in enumerate(bins):
            out[start:start + _CHUNK, b] = spectrum[:, mask].sum(axis=1) * scale
    return out


def shot_sound_features(blocks: np.ndarray | None, starts: Sequence[float],
                        ends: Sequence[float]) -> np.ndarray:
    """``(len(starts), len(SOUND_FEATURES))`` features of shots ``[starts[i], ends[i])``
    (seconds) from :func:`sound_blocks`; zeros where there is no sound (``blocks`` ``None`` or
    empty, or a shot past the soundtrack's end). Spans reaching before the soundtrack's start
    or past its end are clipped; a span with no block gives 0 for what it takes part in."""
    n = len(starts)
    out = np.zeros((n, len(SOUND_FEATURES)), np.float32)
    if blocks is None or len(blocks) == 0 or n == 0:
        return out
    power = np.asarray(blocks, np.float64)
    total = len(power)
    cumulative = np.concatenate([np.zeros((1, power.shape[1])), np.cumsum(power, axis=0)])
    a = np.asarray(starts, np.float64)
    b = np.asarray(ends, np.float64)

    def span(lo_s: np.ndarray, hi_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean band power over the blocks of each ``[lo_s, hi_s)`` and whether it has any."""
        lo = np.clip(np.floor(lo_s / BLOCK_S + 1e-6).astype(np.int64), 0, total)
        hi = np.clip(np.ceil(hi_s / BLOCK_S - 1e-6).astype(np.int64), 0, total)
        hi = np.maximum(hi, lo)
        count = (hi - lo)[:, None]
        return (cumulative[hi] - cumulative[lo]) / np.maximum(count, 1), count[:, 0] > 0

    whole, present = span(a, b)
    before1, has_b1 = span(a - 1.0, a)
    after1, has_a1 = span(a, a + 1.0)
    before3, has_b3 = span(a - 3.0, a)
    after3, has_a3 = span(a, a + 3.0)
    earlier, has_e = span(a - 2.0, a - 1.0)
    later, has_l = span(a + 1.0, a + 2.0)
    entered = a > 0  # the video's first shot is entered by nothing
    out[:, 0] = 1.0
    out[:, 1] = (_level(whole) + 40.0) / 20.0
    out[:, 2] = np.where(entered & has_b1 & has_a1, (_level(after1) - _level(before1)) / 10, 0)
    out[:, 3] = np.where(entered & has_b1 & has_a1, _distance(before1, after1), 0)
    out[:, 4] = np.where(entered & has_b3 & has_a3, _distance(before3, after3), 0)
    levels = 10 * np.log10(power.sum(axis=1) + _FLOOR)
    # The quietest block within half a second of the cut: a running minimum over 10 blocks.
    reach = int(round(0.5 / BLOCK_S))
    padded = np.concatenate([np.full(reach, np.inf), levels, np.full(reach, np.inf)])
    lowest = np.lib.stride_tricks.sliding_window_view(padded, 2 * reach).min(axis=1)
    at = np.clip(np.round(a / BLOCK_S).astype(np.int64), 0, len(lowest) - 1)
    out[:, 5] = np.where(entered, (lowest[at] + 40.0) / 20.0, 0)
    out[:, 6] = np.where(entered & has_e & has_b1, _distance(earlier, before1), 0)
    out[:, 7] = np.where(has_a1 & has_l, _distance(after1, later), 0)
    for k in (1, 2, 3):
        if n > k:
            both = present[k:] & present[:-k]
            out[k:, 7 + k] = np.where(both, _distance(whole[:-k], whole[k:]), 0)
    out[~present] = 0.0
    return np.clip(np.nan_to_num(out), -3.0, 3.0)


def _level(p: np.ndarray) -> np.ndarray:
    """Level (dBFS) of each row of band powers."""
    return np.asarray(10 * np.log10(p.sum(axis=-1) + _FLOOR))


def _shape(p: np.ndarray) -> np.ndarray:
    return np.asarray(10 * np.log10(p + _FLOOR / p.shape[-1]) - _level(p)[..., None])


def _distance(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """RMS difference of the rows' spectral shapes, in tens of dB."""
    return np.asarray(np.sqrt(np.mean((_shape(p) - _shape(q)) ** 2, axis=-1)) / 10.0)
