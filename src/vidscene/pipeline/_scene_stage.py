"""The scene stage: a video's chunk results in, its Analysis out.

It joins the chunks (their transitions, times and attribute samples, and the shots each chunk
closed), closes the shots that were still open where one chunk handed over to the next (with
the samples both sides sent), then runs the scene segmenter over all shots and aggregates the
attributes per shot, scene and video. A video analysed in one piece is the same with one chunk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from vidscene import attributes as attrs
from vidscene.analysis import Analysis, AnalysisResult, Shot, Transition, VideoInfo
from vidscene.pipeline._settings import AnalyzeSettings
from vidscene.pipeline._shot_stage import (
    ChunkNotInStep,
    ChunkResult,
    ClosedShot,
    Sample,
    _options,
    close_shot,
    embed_closed,
)
from vidscene.pipeline._stage import Resources, Stage
from vidscene.scenes import SEGMENTERS, SceneSegmenter, create_segmenter, sound_blocks
from vidscene.shots import shots_from_transitions
from vidscene.video import AudioTrack, SpanMismatch, read_audio


@dataclass
class VideoChunks:
    """The scene stage's input: a video's probe and its chunks' results (in chunk order)."""

    info: VideoInfo
    results: list[ChunkResult]
    elapsed_s: float = 0.0
    """Wall time spent on the video before this stage (for ``timing.total_s``)."""
    soundtrack: bool = True
    """Whether the video's soundtrack can be read from ``info.path`` (not so for a live
    input's segment)."""


class SceneStage(Stage[VideoChunks, AnalysisResult]):
    """Joins chunks, segments scenes, aggregates attributes (see module doc)."""

    name = "scenes"

    def __init__(self, settings: AnalyzeSettings, resources: Resources | None = None, *,
                 segmenter: SceneSegmenter | None = None) -> None:
        super().__init__(settings, resources)
        self.segmenter = segmenter

    def _setup(self) -> None:
        if self.segmenter is None:
            self.segmenter = create_segmenter(self.settings.scenes, **_options(
                SEGMENTERS, self.settings.scenes, weights=self.settings.scene_model,
                threads=self.resources.threads or None, device=self.resources.device))
        self.embedder = self.segmenter.keyframe_embedder()
        # The attributes' own reductions (a palette is not averaged like a number); an
        # attribute loads any model of its own on first measure, so this is cheap.
        self.reducers = {a.name: a for a in attrs.create_attributes(self.settings.attributes)}

    def warm_up(self) -> None:
        """Load the segmenter's model now rather than on the first video (a worker that
        starts ahead of its work hides the load)."""
        self.setup()
        load = getattr(self.segmenter, "model", None)
        if callable(load):
            load()

    def __call__(self, item: VideoChunks) -> AnalysisResult:
        self.setup()
        assert self.segmenter is not None
        t0 = time.perf_counter()
        results = sorted(item.results, key=lambda r: r.number)
        _check_seams(item.info.path, results)
        transitions: list[Transition] = []
        times: list[np.ndarray] = []
        values: dict[str, list[tuple[int, Any]]] = {}
        closed: list[ClosedShot] = []
        open_start: int | None = None  # a shot handed on from one chunk to the next
        open_samples: list[Sample] = []
        for r in results:
            transitions.extend(r.transitions)
            times.append(r.times)
            for name, samples in r.values.items():
                values.setdefault(name, []).extend(samples)
            if open_start is not None:
                open_samples.extend(r.head)
                if r.opened_at is not None:
                    closed.append(self._close(open_start, r.opened_at, open_samples))
                    open_start, open_samples = None, []
            closed.extend(r.shots)
            if r.tail_start is not None:
                open_start, open_samples = r.tail_start, list(r.tail)
        last = results[-1]
        if open_start is not None:
            closed.append(self._close(open_start, last.frame_count, open_samples))

        video = decoded_info(item.info, last.frame_count, last.duration, last.fps)
        all_times = np.concatenate(times).tolist()
        shots = shots_from_transitions(transitions, video.frame_count, all_times, video.fps,
                                       video.duration)
        _attach_keyframes(shots, closed)
        embeddings = (np.stack([c.embedding for c in closed]) if closed
                      else np.zeros((0, 1), np.float32))
        listeners = [a for a in self.reducers.values() if a.audio]
        track = (read_audio(item.info.path)
                 if item.soundtrack and (listeners or self.segmenter.listens) else None)
        t_scenes = time.perf_counter()
        keyframe_embeddings = ([c.keyframe_embeddings for c in closed
                                if c.keyframe_embeddings is not None]
                               if self.embedder is not None else None)
        sound = (sound_blocks(track.mono, track.rate)
                 if track is not None and self.segmenter.listens else None)
        scenes = self.segmenter.segment(shots, embeddings, keyframe_embeddings, sound)
        t_scenes = time.perf_counter() - t_scenes
        attrs.aggregate_shots(shots, values, self.reducers)
        heard = self._listen(track, listeners, shots, scenes, video.duration)
        attrs.aggregate_scenes(scenes, shots, self.reducers)
        summary = attrs.summarise_video(shots, scenes, video.duration, self.reducers)
        segments: dict[str, list[dict[str, Any]]] = {name: [] for name in attrs.SEGMENT_LISTS}
        for spans, whole, found_segments in heard:
            for scene, measured in zip(scenes, spans, strict=True):
                scene.attributes.update(measured)
            summary.update(whole)
            for listed, items in found_segments.items():
                segments.setdefault(listed, []).extend(items)
        for name, attribute in self.reducers.items():
            found = attribute.segments(values.get(name, []), all_times, video.fps)
            for listed, items in found.items():
                segments.setdefault(listed, []).extend(items)
        for items in segments.values():
            items.sort(key=lambda seg: (seg["start_time"], seg.get("type", "")))
        thumbnails = {i: jpeg for c in closed for i, jpeg in c.thumbnails.items()}
        analysis = Analysis(
            video=video,
            shots=shots,
            scenes=scenes,
            attributes=summary,
            cues=segments["cues"],
            speech=segments["speech"],
            models={"shots": last.detector, "scenes": self.segmenter.describe(),
                    **last.attribute_models},
            timing={"decode_s": sum(r.decode_s for r in results),
                    "shots_s": sum(r.shots_s for r in results), "scenes_s": t_scenes,
                    "total_s": item.elapsed_s + time.perf_counter() - t0},
            settings=self.settings.to_dict(),
        )
        analysis.check()
        return AnalysisResult(analysis, thumbnails, shot_embeddings=embeddings,
                              keyframe_embeddings=keyframe_embeddings)

    def _listen(self, track: AudioTrack | None, listeners: list[attrs.Attribute],
                shots: list[Shot], scenes: list[Any], duration: float
                ) -> list[tuple[list[dict[str, Any]], dict[str, Any], dict[str, list[Any]]]]:
        """Measure the audio attributes on the soundtrack, decoded once for all of them:
        shot values are set here; each attribute's scene values, whole-video values and
        segments are returned (scene values are set after the frame reductions, which they
        replace). Nothing when no audio attribute is on or the video has no audio."""
        if not listeners or track is None:
            return []
        spans = ([(s.start_time, s.end_time) for s in shots]
                 + [(c.start_time, c.end_time) for c in scenes] + [(0.0, duration)])
        heard = []
        for attribute in listeners:
            measured = attribute.measure_audio(track, spans)
            rounded = [{k: attrs.rounded(v) for k, v in m.items()
                        if attrs.rounded(v) is not None} for m in measured.values]
            for shot, values in zip(shots, rounded, strict=False):
                shot.attributes.update(values)
            heard.append((rounded[len(shots):len(shots) + len(scenes)], rounded[-1],
                          measured.segments))
        return heard

    def _close(self, start: int, end: int, samples: list[Sample]) -> ClosedShot:
        """A shot that crossed a chunk boundary, from the samples both chunks sent."""
        mine = [s for s in samples if start <= s.index < end]
        if not mine:  # cannot happen with the planned tail length; never guess a keyframe
            raise ChunkNotInStep(f"no sampled frame in the shot [{start}, {end}) that crosses "
                                 "a chunk boundary")
        shot = close_shot(start, end, mine, self.settings.keyframes_per_shot, self.embedder)
        embed_closed([shot], self.embedder)
        return shot


def _check_seams(path: str, results: list[ChunkResult]) -> None:
    """Neighbouring chunks must have decoded the frames they both decoded alike; else a
    seek gave other pixels than a pass from the start, and the video is analysed whole."""
    for a, b in zip(results, results[1:], strict=False):
        lo = max(a.hashed_from, b.hashed_from)
        hi = min(a.hashed_from + len(a.frame_hashes), b.hashed_from + len(b.frame_hashes))
        if hi <= lo:
            continue
        mine = a.frame_hashes[lo - a.hashed_from:hi - a.hashed_from]
        theirs = b.frame_hashes[lo - b.hashed_from:hi - b.hashed_from]
        if not np.array_equal(mine, theirs):
            first = lo + int(np.argmax(mine != theirs))
            raise SpanMismatch(f"{path}: frame {first} decodes differently after a seek")


def decoded_info(info: VideoInfo, frame_count: int, duration: float, fps: float) -> VideoInfo:
    """The probe's metadata with frame count and duration replaced by what decoding found."""
    return replace(info, frame_count=frame_count, duration=round(duration, 6),
                   fps=round(fps, 6) if fps else info.fps)


def _attach_keyframes(shots: list[Shot], closed: list[ClosedShot]) -> None:
    """Give each shot the keyframes chosen when it was closed (they match 1:1)."""
    if [(c.start, c.end) for c in closed] != [(s.start_frame, s.end_frame) for s in shots]:
        raise ChunkNotInStep("internal error: closed shots do not match the shot list")
    for shot, c in zip(shots, closed, strict=True):
        shot.keyframes = list(c.keyframes)
