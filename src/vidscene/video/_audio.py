"""The soundtrack of a video, decoded once for every audio attribute.

Audio is resampled to 16 kHz (what speech models read; loudness measured there stays within a
few tenths of a LU of the full band on programme material) and kept as at most two channels,
because EBU R128 loudness sums the channels' energy: a stereo track folded to mono would read
3 LU quieter. Sample 0 is the video's first frame (time 0 of the Analysis): audio that starts
later is padded with silence, audio that starts earlier is cut.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vidscene.video._probe import open_video

__all__ = ["AUDIO_RATE", "AudioTrack", "read_audio"]

AUDIO_RATE = 16_000


@dataclass(frozen=True, eq=False)
class AudioTrack:
    """``samples``: float32, channels × frames, at ``rate`` Hz; ``skipped``: damaged packets."""

    samples: np.ndarray
    rate: int
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
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray())
        except av.error.FFmpegError:
            skipped += 1  # a damaged tail: keep what decoded
    if skipped:
        warnings.warn(f"{path}: skipped {skipped} damaged audio packet(s)", RuntimeWarning,
                      stacklevel=2)
    if not pieces:
        return None
    samples = np.concatenate(pieces, axis=1).astype(np.float32, copy=False)
    offset = int(round(((first_time or 0.0) - video_start) * rate))
    if offset > 0:
        samples = np.concatenate([np.zeros((samples.shape[0], offset), np.float32), samples],
                                 axis=1)
    elif offset < 0:
        samples = samples[:, -offset:]
    return AudioTrack(np.ascontiguousarray(samples), rate, skipped)
