"""Video input: probing, the frame index, and one-pass streaming decode with PyAV
(see ``FrameStream``)."""

from vidscene.video._audio import AUDIO_RATE, BLOCK_S, AudioTrack, read_audio
from vidscene.video._index import FrameSpan, VideoIndex, build_index
from vidscene.video._live import AudioLevels, Gap, LiveOptions, LiveRun, LiveSource
from vidscene.video._probe import file_sha256, open_video, probe
from vidscene.video._stream import (
    ANALYSIS_WIDTH,
    TINY_SIZE,
    FrameBatch,
    FrameStream,
    SpanMismatch,
    sample_slot,
)

__all__ = [
    "ANALYSIS_WIDTH",
    "AUDIO_RATE",
    "AudioLevels",
    "AudioTrack",
    "BLOCK_S",
    "TINY_SIZE",
    "FrameBatch",
    "FrameSpan",
    "FrameStream",
    "Gap",
    "LiveOptions",
    "LiveRun",
    "LiveSource",
    "SpanMismatch",
    "VideoIndex",
    "build_index",
    "file_sha256",
    "open_video",
    "probe",
    "read_audio",
    "sample_slot",
]
