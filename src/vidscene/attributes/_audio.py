"""``audio``: loudness, silence and speech, per shot, scene and video, from the soundtrack.

- ``loudness_lufs``: integrated loudness (EBU R128 / ITU-R BS.1770) of the span, from the
  K-weighted block powers the decoder computes at 48 kHz (:mod:`vidscene.video._audio`);
  spans shorter than one 400 ms gating block have none.
- ``loudness_range_lu``: EBU Tech 3342 loudness range, for spans of at least 10 s.
- ``silence_share``: the share of 100 ms blocks quieter than :data:`SILENCE_DBFS`.
- ``speech_share``: the share of the span inside speech segments, which Silero VAD's ONNX
  model finds (run with ``onnxruntime``; the model file is read from the ``silero-vad``
  wheel without importing its PyTorch code, which would change PyTorch's thread settings).
  The segments themselves go to the Analysis's top-level ``speech`` list.

Scenes and the whole video are measured on their own audio, not averaged from shots (loudness
is not additive). A video without audio has none of these values.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vidscene.attributes._base import ATTRIBUTES, Attribute, AudioMeasure, FrameSample
from vidscene.errors import ConfigError

if TYPE_CHECKING:
    from vidscene.video import AudioTrack

__all__ = ["Audio", "SpeechDetector", "integrated_loudness", "loudness_range", "speech_segments"]

LRA_MIN_S = 10.0
"""Loudness range is given for spans at least this long (it describes a programme or a
scene; over a short shot it says little and costs most of the audio work)."""
SILENCE_DBFS = -50.0
"""A 100 ms block below this RMS level (dB full scale) counts as silence."""
_VAD_CHUNK = 512
_VAD_CONTEXT = 64
_VAD_LANES = 32
_VAD_WARMUP = 32
SPEECH_ON, SPEECH_OFF = 0.5, 0.35
"""Hysteresis on the model's speech probability: a segment starts above ``SPEECH_ON`` and
ends when the probability stays below ``SPEECH_OFF``."""
MIN_SPEECH_S, MIN_PAUSE_S, PAD_S = 0.25, 0.3, 0.05
"""Shorter bursts are dropped, shorter pauses bridged, and segments padded by ``PAD_S``."""


def _model_file() -> Path:
    spec = importlib.util.find_spec("silero_vad")  # locates the wheel, imports nothing
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the audio attribute needs the 'attributes' extra "
                          "(pip install 'vidscene[attributes]')")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise ConfigError(f"silero-vad's ONNX model is missing: {path}")
    return path


class SpeechDetector:
    """Silero VAD through onnxruntime: speech probability for each 32 ms of 16 kHz audio."""

    _lock = threading.Lock()
    _session: Any = None

    @classmethod
    def session(cls) -> Any:
        with cls._lock:
            if cls._session is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = 1  # a small recurrent model: threads only cost
                options.inter_op_num_threads = 1
                cls._session = ort.InferenceSession(str(_model_file()), options,
                                                    providers=["CPUExecutionProvider"])
            return cls._session

    def probabilities(self, mono: np.ndarray, rate: int = 16_000) -> np.ndarray:
        """One probability per :data:`_VAD_CHUNK` samples (the last chunk zero-padded).

        The model is recurrent, one 32 ms chunk a call; calling it 30 times a second of audio
        would cost more than the rest of the audio work. So the track is cut into
        :data:`_VAD_LANES` stretches run side by side as one batch, each starting
        :data:`_VAD_WARMUP` chunks early so its state has settled when its own part begins."""
        if rate != 16_000:
            raise ValueError("Silero VAD reads 16 kHz audio here")
        session = self.session()
        n = -(-len(mono) // _VAD_CHUNK)
        padded = np.zeros(n * _VAD_CHUNK + _VAD_CONTEXT, np.float32)
        padded[_VAD_CONTEXT:_VAD_CONTEXT + len(mono)] = mono
        lanes = max(1, min(_VAD_LANES, n // (4 * _VAD_WARMUP)))
        own = -(-n // lanes)  # chunks each lane reports
        starts = [max(0, k * own - _VAD_WARMUP) for k in range(lanes)]
        steps = own + _VAD_WARMUP
        state = np.zeros((2, lanes, 128), np.float32)
        sr = np.array(rate, np.int64)
        out = np.zeros(n, np.float32)
        x = np.zeros((lanes, _VAD_CHUNK + _VAD_CONTEXT), np.float32)
        for step in range(steps):
            for k, start in enumerate(starts):
                i = start + step
                # Each chunk is read with the 64 samples before it, as the model was trained;
                # a lane past the end reads silence.
                x[k] = (padded[i * _VAD_CHUNK:(i + 1) * _VAD_CHUNK + _VAD_CONTEXT] if i < n
                        else 0.0)
            prob, state = session.run(None, {"input": x, "state": state, "sr": sr})
            for k, start in enumerate(starts):
                i = start + step
                if k * own <= i < min(n, (k + 1) * own):
                    out[i] = prob[k, 0]
        return out


def speech_segments(probabilities: np.ndarray, rate: int = 16_000,
                    duration: float | None = None) -> list[tuple[float, float]]:
    """Speech ``(start, end)`` in seconds from per-chunk probabilities (see the constants)."""
    step = _VAD_CHUNK / rate
    segments: list[list[float]] = []
    start: float | None = None
    for i, p in enumerate(probabilities):
        t = i * step
        if start is None and p >= SPEECH_ON:
            start = t
        elif start is not None and p < SPEECH_OFF:
            segments.append([start, t])
            start = None
    if start is not None:
        segments.append([start, len(probabilities) * step])
    merged: list[list[float]] = []
    for seg in segments:
        if merged and seg[0] - merged[-1][1] < MIN_PAUSE_S:
            merged[-1][1] = seg[1]
        else:
            merged.append(seg)
    end_limit = duration if duration is not None else len(probabilities) * step
    return [(max(0.0, a - PAD_S), min(end_limit, b + PAD_S)) for a, b in merged
            if b - a >= MIN_SPEECH_S]


def _overlap(segments: Sequence[tuple[float, float]], start: float, end: float) -> float:
    return sum(max(0.0, min(b, end) - max(a, start)) for a, b in segments)


@ATTRIBUTES.register("audio")
class Audio(Attribute):
    name = "audio"
    description = "Loudness (LUFS), loudness range, silence and speech shares of the soundtrack."
    unit = "LUFS, LU, shares 0..1"
    kind = "fields"
    fields = {"loudness_lufs": "number", "loudness_range_lu": "number",
              "silence_share": "number", "speech_share": "number"}
    audio = True

    def measure(self, sample: FrameSample) -> Any:  # pragma: no cover  (audio only)
        raise NotImplementedError("audio is measured on the soundtrack")

    def measure_audio(self, track: AudioTrack, spans: Sequence[tuple[float, float]]
                      ) -> AudioMeasure:
        from vidscene.video import BLOCK_S

        rate = track.rate
        mono = track.mono
        duration = track.duration
        speech = speech_segments(SpeechDetector().probabilities(mono, rate), rate, duration)
        block = int(rate * BLOCK_S)
        n_blocks = len(mono) // block
        rms = np.sqrt(np.mean(mono[:n_blocks * block].reshape(n_blocks, block) ** 2, axis=1)
                      + 1e-12)
        quiet = 20 * np.log10(rms) < SILENCE_DBFS
        values: list[dict[str, Any]] = []
        for start, end in spans:
            out: dict[str, Any] = {}
            a, b = int(round(max(start, 0.0) / BLOCK_S)), int(round(min(end, duration) / BLOCK_S))
            lufs = integrated_loudness(track.k_power[:, a:b])
            if lufs is not None:
                out["loudness_lufs"] = lufs
            if end - start >= LRA_MIN_S and (lra := loudness_range(track.k_power[:, a:b])) \
                    is not None:
                out["loudness_range_lu"] = lra
            lo, hi = int(start / BLOCK_S), max(int(start / BLOCK_S) + 1, int(end / BLOCK_S))
            if hi <= n_blocks and hi > lo:
                out["silence_share"] = float(quiet[lo:hi].mean())
            if end > start:
                out["speech_share"] = min(1.0, _overlap(speech, start, end) / (end - start))
            values.append(out)
        return AudioMeasure(values, {"speech": [
            {"start_time": round(a, 3), "end_time": round(b, 3)} for a, b in speech]})


def _loudness(power: np.ndarray) -> np.ndarray:
    return -0.691 + 10 * np.log10(np.maximum(power, 1e-20))


def integrated_loudness(k_power: np.ndarray) -> float | None:
    """ITU-R BS.1770-4 integrated loudness (LUFS) from K-weighted mean squares per 100 ms
    (channels × blocks): 400 ms gating blocks every 100 ms, summed over channels, gated at
    −70 LUFS and 10 LU below the mean of what passes; ``None`` for less than one block or
    silence."""
    if k_power.shape[1] < 4:
        return None
    summed = k_power.sum(axis=0)
    blocks = np.convolve(summed, np.ones(4) / 4, mode="valid")  # 400 ms windows, 100 ms hop
    loud = blocks[_loudness(blocks) > -70.0]
    if not loud.size:
        return None
    kept = loud[_loudness(loud) > _loudness(np.array([loud.mean()]))[0] - 10.0]
    return float(_loudness(np.array([kept.mean()]))[0])


def loudness_range(k_power: np.ndarray) -> float | None:
    """EBU Tech 3342 loudness range (LU): the spread (10th to 95th percentile) of 3 s
    short-term loudness every 100 ms, gated at −70 LUFS and 20 LU below their mean."""
    if k_power.shape[1] < 30:
        return None
    blocks = np.convolve(k_power.sum(axis=0), np.ones(30) / 30, mode="valid")
    loud = blocks[_loudness(blocks) > -70.0]
    if not loud.size:
        return None
    kept = _loudness(loud[_loudness(loud) > _loudness(np.array([loud.mean()]))[0] - 20.0])
    return float(np.percentile(kept, 95) - np.percentile(kept, 10))
