"""The soundtrack of a video, decoded once for every audio attribute.

Two forms come out of the one decoding pass:

- ``samples``: the audio at 16 kHz (what speech models read), at most two channels;
- ``k_power``: for loudness, the mean square of the K-weighted signal (ITU-R BS.1770) of
  each channel over each 100 ms, computed at 48 kHz by FFmpeg's own resampler and biquad
  filters. Loudness needs the full band (the K filter lifts everything above 2 kHz; at
  16 kHz a cymbal or a noisy room reads several LU too quiet) but not the samples, so a
  two-hour film keeps 72,000 numbers a channel instead of 350 million. EBU R128 sums the
  channels' energy, so a stereo track is kept as two channels, never folded to mono.

Sample 0 and block 0 are the video's first frame (time 0 of the Analysis): audio that
starts later is padded with silence, audio that starts earlier is cut.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vidscene.video._probe import open_video

__all__ = ["AUDIO_RATE", "BLOCK_S", "AudioTrack", "read_audio"]

AUDIO_RATE = 16_000
BLOCK_S = 0.1
_K_RATE = 48_000
# The K-weighting pre-filter and RLB high-pass at 48 kHz, as ITU-R BS.1770-4 tabulates them.
_K_FILTERS = ("b0=1.53512485958697:b1=-2.69169618940638:b2=1.19839281085285:"
              "a0=1:a1=-1.69065929318241:a2=0.73248077421585",
              "b0=1:b1=-2:b2=1:a0=1:a1=-1.99004745483398:a2=0.99007225036621")


@dataclass(frozen=True, eq=False)
class AudioTrack:
    """``samples``: float32, channels × frames, at ``rate`` Hz; ``k_power``: float64,
    channels × 100 ms blocks (see the module doc); ``skipped``: damaged packets."""

    samples: np.ndarray
    rate: int
    k_power: np.ndarray
    skipped: int = 0

    @property
    def duration(self) -> float:
        return self.samples.shape[1] / self.rate

    @property
    def mono(self) -> np.ndarray:
        return self.samples.mean(axis=0)


def read_audio(path: str | Path, rate: int = AUDIO_RATE) -> AudioTrack | None:
    """The first audio stream of ``path`` at ``rate`` Hz, or ``None`` when it has none (or
    none that decodes). Damaged packets are skipped with a :class:`RuntimeWarning`."""
    with open_video(path) as (container, video):
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        if stream.codec_context is None or not stream.codec_context.name:
            return None
        channels = stream.codec_context.channels or 1
        layout = "stereo" if channels >= 2 else "mono"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        weighting = _KWeighting(stream, layout)
        video_start = (float(video.start_time * video.time_base)
                       if video.start_time is not None and video.time_base else 0.0)
        pieces: list[np.ndarray] = []
        first_time: float | None = None
        skipped = 0
        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except av.error.FFmpegError:
                    skipped += 1
                    continue
                for frame in frames:
                    if first_time is None and frame.pts is not None and frame.time_base:
                        first_time = float(frame.pts * frame.time_base)
                    for out in resampler.resample(frame):
                        pieces.append(out.to_ndarray())
                    weighting.push(frame)
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray())
            weighting.push(None)
        except av.error.FFmpegError:
            skipped += 1  # a damaged tail: keep what decoded
    if skipped:
        warnings.warn(f"{path}: skipped {skipped} damaged audio packet(s)", RuntimeWarning,
                      stacklevel=2)
    if not pieces:
        return None
    samples = np.concatenate(pieces, axis=1).astype(np.float32, copy=False)
    shift = (first_time or 0.0) - video_start
    return AudioTrack(np.ascontiguousarray(_aligned(samples, int(round(shift * rate)))), rate,
                      _aligned(weighting.power(), int(round(shift / BLOCK_S))), skipped)


def _aligned(x: np.ndarray, offset: int) -> np.ndarray:
    """``x`` (channels × time) moved ``offset`` steps later (padded) or earlier (cut)."""
    if offset > 0:
        return np.concatenate([np.zeros((x.shape[0], offset), x.dtype), x], axis=1)
    return x[:, -offset:] if offset < 0 else x


class _KWeighting:
    """Decoded frames in, K-weighted mean squares per 100 ms out (FFmpeg filter graph)."""

    def __init__(self, stream: av.AudioStream, layout: str) -> None:
        import av.filter

        self.graph = av.filter.Graph()
        chain = [self.graph.add_abuffer(template=stream),
                 self.graph.add("aresample", str(_K_RATE)),
                 self.graph.add("aformat", f"sample_fmts=fltp:channel_layouts={layout}"),
                 *(self.graph.add("biquad", f) for f in _K_FILTERS),
                 self.graph.add("abuffersink")]
        for a, b in zip(chain, chain[1:], strict=False):
            a.link_to(b)
        self.graph.configure()
        self.sums: list[np.ndarray] = []
        self.tail: np.ndarray | None = None
        self.hop = int(_K_RATE * BLOCK_S)

    def push(self, frame: av.AudioFrame | None) -> None:
        self.graph.push(frame)
        while True:
            try:
                out = self.graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            x = out.to_ndarray()
            if self.tail is not None and self.tail.shape[1]:
                x = np.concatenate([self.tail, x], axis=1)
            n = x.shape[1] // self.hop
            if n:
                squares = np.square(x[:, :n * self.hop], dtype=np.float32)
                self.sums.append(squares.reshape(x.shape[0], n, self.hop)
                                 .mean(axis=2, dtype=np.float64))
            self.tail = x[:, n * self.hop:]

    def power(self) -> np.ndarray:
        if not self.sums:
            return np.zeros((1, 0))
        return np.concatenate(self.sums, axis=1)
