"""Video input: probing and one-pass streaming decode with PyAV (see ``FrameStream``)."""

from vidscene.video._probe import file_sha256, open_video, probe
from vidscene.video._stream import ANALYSIS_WIDTH, TINY_SIZE, FrameBatch, FrameStream

__all__ = [
    "ANALYSIS_WIDTH",
    "TINY_SIZE",
    "FrameBatch",
    "FrameStream",
    "file_sha256",
    "open_video",
    "probe",
]
