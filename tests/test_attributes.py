"""Attributes: built-in measurements, the plugin registry, and shot/scene/video aggregation."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter

from vidscene.analysis import Scene, Shot
from vidscene.attributes import (
    ATTRIBUTES,
    ENTRY_POINT_GROUP,
    Attribute,
    Brightness,
    FrameSample,
    aggregate_scenes,
    aggregate_shots,
    create_attributes,
    load_plugins,
    summarise_video,
)
from vidscene.errors import ConfigError
from vidscene.registry import Registry

CLIPS = Path("/work/shared/data/clips")
BUILT_INS = {"brightness", "colourfulness", "contrast", "motion", "sharpness"}


def sample(rgb: np.ndarray, tiny: np.ndarray | None = None,
           tiny_previous: np.ndarray | None = None) -> FrameSample:
    if tiny is None:
        tiny = np.zeros((36, 64, 3), np.uint8)
    return FrameSample(index=1, time=0.04, rgb=rgb, tiny=tiny, tiny_previous=tiny_previous)


def solid(value: tuple[int, int, int], shape: tuple[int, int] = (126, 224)) -> np.ndarray:
    return np.broadcast_to(np.array(value, np.uint8), (*shape, 3)).copy()


def measure(name: str, s: FrameSample) -> float:
    value = ATTRIBUTES.create(name).measure(s)
    assert isinstance(value, float)
    return value


# -- built-ins --------------------------------------------------------------------------------
def test_brightness_is_rec709_luma() -> None:
    assert measure("brightness", sample(solid((0, 0, 0)))) == 0.0
    assert measure("brightness", sample(solid((255, 255, 255)))) == pytest.approx(1.0)
    assert measure("brightness", sample(solid((255, 0, 0)))) == pytest.approx(0.2126, abs=1e-5)
    assert measure("brightness", sample(solid((0, 255, 0)))) == pytest.approx(0.7152, abs=1e-5)
    # A horizontal ramp through every grey level averages to exactly mid-grey.
    ramp = np.repeat(np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, 2), 10, 0)
    assert measure("brightness", sample(ramp)) == pytest.approx(0.5, abs=1e-5)


def test_contrast_is_rms_of_luma() -> None:
    assert measure("contrast", sample(solid((90, 90, 90)))) == pytest.approx(0.0, abs=1e-6)
    split = solid((0, 0, 0))
    split[:, 112:] = 255
    assert measure("contrast", sample(split)) == pytest.approx(0.5, abs=1e-5)
    ramp = np.repeat(np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, 2), 10, 0)
    expected = float(np.std(np.arange(256) / 255))
    assert measure("contrast", sample(ramp)) == pytest.approx(expected, abs=1e-5)


def test_colourfulness_is_zero_for_grey_and_high_for_saturated() -> None:
    rng = np.random.default_rng(0)
    grey = np.repeat(rng.integers(0, 256, (126, 224, 1), dtype=np.uint8), 3, axis=2)
    assert measure("colourfulness", sample(grey)) == pytest.approx(0.0, abs=1e-4)
    # A uniform colour has no spread, only the 0.3 × mean term: 0.3 * |(255, 127.5)|.
    red = measure("colourfulness", sample(solid((255, 0, 0))))
    assert red == pytest.approx(0.3 * np.hypot(255, 127.5), rel=1e-5)
    patches = solid((0, 0, 0))
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)]):
        patches[:, i * 56 : (i + 1) * 56] = colour
    assert measure("colourfulness", sample(patches)) > 100  # "extremely colourful"
    dull = (patches.astype(np.float32) * 0.2 + 100).astype(np.uint8)  # same hues, washed out
    assert measure("colourfulness", sample(dull)) < 0.3 * measure(
        "colourfulness", sample(patches))


def test_sharpness_is_high_for_detail_and_low_for_blur() -> None:
    rng = np.random.default_rng(1)
    detail = rng.integers(0, 256, (126, 224, 3), dtype=np.uint8)
    blurred = np.asarray(Image.fromarray(detail).filter(ImageFilter.GaussianBlur(3)))
    sharp_value = measure("sharpness", sample(detail))
    blurred_value = measure("sharpness", sample(blurred))
    assert 0.9 < sharp_value < 1.0
    assert blurred_value < 0.2
    assert measure("sharpness", sample(solid((128, 128, 128)))) == 0.0
    assert measure("sharpness", sample(solid((1, 2, 3), shape=(2, 2)))) == 0.0


def test_motion_is_mean_luma_change_between_tiny_frames() -> None:
    black, white = solid((0, 0, 0), (36, 64)), solid((255, 255, 255), (36, 64))
    frame = solid((40, 50, 60))
    assert measure("motion", sample(frame, black, black)) == 0.0
    assert measure("motion", sample(frame, white, None)) == 0.0  # frame 0 has no predecessor
    assert measure("motion", sample(frame, white, black)) == pytest.approx(1.0)
    half = black.copy()
    half[:, :32] = 255
    assert measure("motion", sample(frame, half, black)) == pytest.approx(0.5)


def test_frame_sample_is_frozen() -> None:
    s = sample(solid((0, 0, 0)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.index = 5  # type: ignore[misc]


# -- registry and plugins ---------------------------------------------------------------------
def test_built_ins_are_registered_with_metadata() -> None:
    assert BUILT_INS <= set(ATTRIBUTES.names())
    for attribute in create_attributes(sorted(BUILT_INS)):
        assert attribute.name in BUILT_INS
        assert attribute.description and attribute.unit


def test_create_attributes_by_name() -> None:
    names = [a.name for a in create_attributes(["motion", "brightness", "motion"])]
    assert names == ["motion", "brightness"]
    assert BUILT_INS <= {a.name for a in create_attributes()}
    with pytest.raises(ConfigError):
        create_attributes(["no-such-attribute"])


class FaceCount(Attribute):
    name = "faces"
    description = "Number of faces."
    unit = "count"

    def measure(self, sample: FrameSample) -> float:
        return 2.0


class Redness(Attribute):
    name = "redness"
    description = "Mean red channel."
    unit = "0..1"

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def measure(self, sample: FrameSample) -> float:
        return float(sample.rgb[..., 0].mean() / 255 * self.scale)


class FakeEntryPoint:
    def __init__(self, name: str, target: object) -> None:
        self.name, self.value, self.group = name, f"fake_plugin:{name}", ENTRY_POINT_GROUP
        self._target = target

    def load(self) -> object:
        if isinstance(self._target, BaseException):
            raise self._target
        return self._target


@pytest.fixture
def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> list[FakeEntryPoint]:
    found: list[FakeEntryPoint] = []

    def entry_points(**selection: Any) -> list[FakeEntryPoint]:
        return found if selection.get("group") == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return found


def fresh_registry() -> Registry[Attribute]:
    registry: Registry[Attribute] = Registry("attribute")
    registry.add("brightness", Brightness)
    return registry


def test_plugins_load_from_entry_points_and_broken_ones_only_warn(
    fake_entry_points: list[FakeEntryPoint],
) -> None:
    fake_entry_points += [
        FakeEntryPoint("faces", FaceCount),
        FakeEntryPoint("redness", Redness(scale=2.0)),  # a configured instance
        FakeEntryPoint("broken", ImportError("No module named 'cv3'")),
        FakeEntryPoint("notone", len),
        FakeEntryPoint("misnamed", FaceCount),
        FakeEntryPoint("brightness", FaceCount),  # clashes with a built-in
    ]
    registry = fresh_registry()
    with pytest.warns(RuntimeWarning) as caught:
        added = load_plugins(registry)
    assert added == ["faces", "redness"]
    messages = " | ".join(str(w.message) for w in caught)
    for name in ("broken", "notone", "misnamed", "brightness"):
        assert f"'{name}'" in messages
    assert "cv3" in messages
    assert registry.names() == ["brightness", "faces", "redness"]
    red = sample(solid((255, 0, 0)))
    assert registry.create("redness").measure(red) == pytest.approx(2.0)
    assert registry.create("faces").measure(red) == 2.0


def test_plugin_loading_is_idempotent_and_used_by_create_attributes(
    fake_entry_points: list[FakeEntryPoint],
) -> None:
    fake_entry_points.append(FakeEntryPoint("faces", FaceCount))
    registry = fresh_registry()
    # create_attributes discovers plugins on first use ...
    assert [a.name for a in create_attributes(registry=registry)] == ["brightness", "faces"]
    # ... and a later explicit load neither re-adds nor complains.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_plugins(registry) == []
    assert isinstance(create_attributes(["faces"], registry=registry)[0], FaceCount)


# -- aggregation ------------------------------------------------------------------------------
def three_shots() -> list[Shot]:
    return [Shot(0, 0, 10, 0.0, 1.0), Shot(1, 10, 30, 1.0, 3.0), Shot(2, 30, 40, 3.0, 4.0)]


def test_aggregate_shots_means_the_samples_inside_each_shot() -> None:
    shots = three_shots()
    aggregate_shots(shots, {
        "brightness": [(0, 0.2), (5, 0.4), (10, 0.1), (20, 0.2), (29, 0.3), (35, 0.9),
                       (40, 5.0), (-1, 5.0)],  # the last two lie outside every shot
        "motion": [(12, 0.5), (31, float("nan")), (33, 0.25)],
    })
    assert shots[0].attributes == {"brightness": 0.3}
    assert shots[1].attributes == {"brightness": 0.2, "motion": 0.5}
    assert shots[2].attributes == {"brightness": 0.9, "motion": 0.25}
    one = [Shot(0, 0, 10, 0.0, 1.0)]
    aggregate_shots(one, {"contrast": [(0, 0.1), (1, 0.1), (2, 0.2)]})
    assert one[0].attributes["contrast"] == 0.1333  # rounded to 4 decimals


def test_aggregate_scenes_weights_shots_by_duration() -> None:
    shots = three_shots()
    for shot, value in zip(shots, (0.3, 0.6, 0.9), strict=True):
        shot.attributes["brightness"] = value
    shots[2].attributes["faces"] = 2.0
    scenes = [Scene(0, 0, 1, 0, 30, 0.0, 3.0, 0.9), Scene(1, 2, 2, 30, 40, 3.0, 4.0, 0.9)]
    aggregate_scenes(scenes, shots)
    assert scenes[0].attributes == {"brightness": 0.5}  # (0.3*1 + 0.6*2) / 3
    assert scenes[1].attributes == {"brightness": 0.9, "faces": 2.0}


def test_summarise_video_reports_pacing_and_attribute_spread() -> None:
    shots = three_shots()
    for shot, value in zip(shots, (0.3, 0.6, 0.9), strict=True):
        shot.attributes["brightness"] = value
    scenes = [Scene(0, 0, 2, 0, 40, 0.0, 4.0, 1.0)]
    summary = summarise_video(shots, scenes, duration=4.0)
    assert summary == {
        "shot_count": 3,
        "scene_count": 1,
        "mean_shot_length": 1.3333,
        "median_shot_length": 1.0,
        "min_shot_length": 1.0,
        "max_shot_length": 2.0,
        "shot_length_std": 0.4714,
        "cuts_per_minute": 30.0,  # two cuts in four seconds
        "brightness_mean": 0.6,
        "brightness_min": 0.3,
        "brightness_max": 0.9,
    }
    empty = summarise_video([], [], duration=0.0)
    assert empty["shot_count"] == 0 and empty["cuts_per_minute"] == 0.0
    assert empty["mean_shot_length"] == 0.0


# -- real footage -----------------------------------------------------------------------------
@pytest.mark.skipif(not (CLIPS / "fades.mp4").is_file(), reason="development clips not present")
def test_attributes_on_real_footage_follow_a_fade_to_black() -> None:
    from vidscene.video import FrameStream

    attributes = create_attributes(sorted(BUILT_INS))
    values: dict[str, list[tuple[int, float]]] = {a.name: [] for a in attributes}
    previous_tiny: np.ndarray | None = None
    for batch in FrameStream(CLIPS / "fades.mp4", sample_fps=5.0, threads=False):
        analysis = dict(batch.analysis)
        for offset in range(len(batch)):
            index = batch.start + offset
            if index in analysis:
                s = FrameSample(index, float(batch.times[offset]), analysis[index],
                                batch.tiny[offset], previous_tiny)
                for attribute in attributes:
                    values[attribute.name].append((index, attribute.measure(s)))
            previous_tiny = batch.tiny[offset]
    brightness = [v for _, v in values["brightness"]]
    assert min(brightness) < 0.05 < 0.2 < max(brightness)  # it fades through black
    assert all(0.0 <= v <= 1.0 for _, v in values["sharpness"] + values["motion"])
    assert all(0.0 <= v <= 0.5 for _, v in values["contrast"])
    assert values["motion"][0] == (0, 0.0)


# -- attributes whose values are not numbers ---------------------------------------------------


class Label(Attribute):
    """A label attribute, as a plugin writes one: the shot's most common label."""

    name = "mood"
    kind = "label"

    def measure(self, sample: FrameSample) -> str:
        return "dark" if sample.rgb.mean() < 60 else "light"

    def reduce_shot(self, values: Any) -> Any:
        return max(sorted(set(values)), key=list(values).count) if values else None

    def reduce_span(self, values: Any, weights: Any) -> Any:
        totals: dict[str, float] = {}
        for v, w in zip(values, weights, strict=True):
            totals[v] = totals.get(v, 0.0) + w
        return max(sorted(totals), key=totals.__getitem__) if totals else None


def test_a_label_attribute_uses_its_own_reductions_at_every_level() -> None:
    shots = three_shots()  # 1 s, 2 s and 1 s long
    mood = Label()
    values = {"mood": [(0, "dark"), (5, "light"), (6, "dark"), (12, "light"), (35, "light")],
              "brightness": [(0, 0.2), (12, 0.4)]}
    aggregate_shots(shots, values, {"mood": mood})
    assert [s.attributes["mood"] for s in shots] == ["dark", "light", "light"]
    assert shots[0].attributes["brightness"] == 0.2  # numbers keep the number reductions
    scenes = [Scene(0, 0, 2, 0, 40, 0.0, 4.0, 1.0)]
    aggregate_scenes(scenes, shots, {"mood": mood})
    assert scenes[0].attributes["mood"] == "light"  # 3 s of light against 1 s of dark
    summary = summarise_video(shots, scenes, 4.0, {"mood": mood})
    assert summary["mood"] == "light" and "mood_mean" not in summary
    assert summary["brightness_mean"] == 0.3


def test_plugins_written_for_numbers_keep_working_without_a_kind() -> None:
    class Legacy(Attribute):
        name = "legacy"

        def measure(self, sample: FrameSample) -> float:
            return 1.0

    legacy = Legacy()
    assert legacy.kind == "number"
    assert legacy.reduce_shot([1.0, 2.0, float("nan")]) == 1.5
    assert legacy.reduce_span([1.0, 4.0], [3.0, 1.0]) == 1.75
    assert legacy.reduce_span([1.0, 3.0], [0.0, 0.0]) == 2.0
    assert legacy.reduce_shot([]) is None


def near(rgb: list[int], want: tuple[int, int, int]) -> bool:
    """Within 3 levels per channel: the shrunk frame blends the pixels along an edge."""
    return max(abs(a - b) for a, b in zip(rgb, want, strict=True)) <= 3


def test_palette_finds_the_colours_and_their_shares() -> None:
    rgb = solid((20, 40, 200))
    rgb[:, :56] = (200, 30, 30)  # a quarter red, three quarters blue
    palette = ATTRIBUTES.create("palette")
    assert palette.kind == "list"
    colours = palette.measure(sample(rgb))
    assert len(colours) == 2
    assert near(colours[0]["rgb"], (20, 40, 200)) and abs(colours[0]["share"] - 0.75) < 0.05
    assert near(colours[1]["rgb"], (200, 30, 30)) and abs(colours[1]["share"] - 0.25) < 0.05
    assert colours == palette.measure(sample(rgb.copy()))  # deterministic
    grey = palette.measure(sample(solid((128, 128, 128))))
    assert grey == [{"rgb": [128, 128, 128], "share": 1.0}]
    shot = palette.reduce_shot([colours, grey])
    assert len(shot) == 3
    assert all(any(near(c["rgb"], want) for c in shot)
               for want in ((20, 40, 200), (200, 30, 30), (128, 128, 128)))
    assert abs(sum(c["share"] for c in shot) - 1.0) < 0.01
    assert shot[0]["rgb"] == [128, 128, 128]  # half of the shot is grey
    mostly_blue = palette.reduce_span([colours, grey], [9.0, 1.0])
    assert near(mostly_blue[0]["rgb"], (20, 40, 200))
    assert palette.reduce_shot([]) is None


def test_palette_reaches_the_analysis_csv_and_queries(tmp_path: Path) -> None:
    import json

    from vidscene.pipeline import AnalyzeSettings, analyze
    from vidscene.report import render
    from vidscene.store import QueryError, parse_query

    demo = Path(__file__).resolve().parents[1] / "examples" / "demo.mp4"
    result = analyze(demo, AnalyzeSettings(detector="fast", scenes="osg",
                                          attributes=("palette", "brightness")))
    analysis = result.analysis
    assert all(isinstance(s.attributes["palette"], list) for s in analysis.shots)
    assert isinstance(analysis.scenes[0].attributes["palette"], list)
    assert isinstance(analysis.attributes["palette"], list)
    assert "palette_mean" not in analysis.attributes
    json.dumps(analysis.to_dict())  # plain JSON all the way down
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(str(render(result, "csv")))))
    assert json.loads(rows[0]["palette"]) == analysis.shots[0].attributes["palette"]
    with pytest.raises(QueryError, match="palette"):
        parse_query("palette > 1", "shots")


# -- technical cues ------------------------------------------------------------------------------

SMPTE = [(192, 192, 192), (192, 192, 0), (0, 192, 192), (0, 192, 0), (192, 0, 192),
         (192, 0, 0), (0, 0, 192)]


def _cue_video(path: Path) -> None:
    """11 s at 25 fps: moving content, then black (2–3 s), colour bars (3–5 s), moving, a
    frozen picture (7–8.5 s), letterboxed moving content (8.5–10.5 s), moving."""
    import av

    w, h = 320, 180
    yy, xx = np.mgrid[0:h, 0:w]

    def moving(i: int) -> np.ndarray:
        # A picture, not black anywhere: 50..230 in every channel.
        frame = (50 + np.stack([(xx + 3 * i) % 180, (yy * 2 + i) % 180,
                                ((xx + yy) // 2 + 5 * i) % 180], axis=2)).astype(np.uint8)
        x0 = (10 * i) % (w - 40)
        frame[60:100, x0:x0 + 40] = (255, 255, 255)
        return frame

    bars = np.zeros((h, w, 3), np.uint8)
    for k, colour in enumerate(SMPTE):
        bars[: h * 2 // 3, k * w // 7:(k + 1) * w // 7] = colour
    bars[h * 2 // 3:] = (16, 16, 16)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"qscale": "2"}
        for i in range(275):
            t = i / 25
            if 2 <= t < 3:
                frame = np.zeros((h, w, 3), np.uint8)
            elif 3 <= t < 5:
                frame = bars
            elif 7 <= t < 8.5:
                frame = moving(175)
            elif 8.5 <= t < 10.5:
                frame = moving(i)
                frame[:27], frame[-27:] = 0, 0
            else:
                frame = moving(i)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_cues_are_found_to_the_frame(tmp_path: Path) -> None:
    from vidscene.pipeline import AnalyzeSettings, analyze

    path = tmp_path / "cues.mp4"
    _cue_video(path)
    analysis = analyze(path, AnalyzeSettings(detector="fast", scenes="osg",
                                             attributes=("cues", "brightness"))).analysis
    found = {c["type"]: c for c in analysis.cues}
    expected = {"black_frames": (2.0, 3.0), "color_bars": (3.0, 5.0),
                "freeze_frame": (7.04, 8.5), "letterbox": (8.5, 10.5)}
    assert set(found) == set(expected), analysis.cues
    for kind, (start, end) in expected.items():
        assert abs(found[kind]["start_time"] - start) <= 0.08, (kind, found[kind])
        assert abs(found[kind]["end_time"] - end) <= 0.08, (kind, found[kind])
    assert all(set(c) == {"type", "start_time", "end_time", "confidence"}
               for c in analysis.cues)
    assert "cues" not in analysis.shots[0].attributes  # segments only, no shot value
    assert analysis.speech == []
    again = type(analysis).from_dict(analysis.to_dict())
    assert again.cues == analysis.cues


# -- batches, set-up and lanes ------------------------------------------------------------------
class BatchedRedness(Attribute):
    """Measures a whole decoded batch's samples at once, and loads its "model" in setup()."""

    name = "batched_redness"
    description = "Mean red channel, measured a batch at a time."
    calls: list[int] = []
    set_up: list[str] = []

    def setup(self) -> None:
        BatchedRedness.set_up.append(threading.current_thread().name)

    def measure(self, sample: FrameSample) -> float:  # pragma: no cover  (batches only)
        raise AssertionError("measure_batch is the one called")

    def measure_batch(self, samples: Sequence[FrameSample]) -> list[Any]:
        BatchedRedness.calls.append(len(samples))
        return [float(s.rgb[..., 0].mean() / 255) for s in samples]


class WrongLength(Attribute):
    name = "wrong_length"

    def measure(self, sample: FrameSample) -> float:  # pragma: no cover
        return 0.0

    def measure_batch(self, samples: Sequence[FrameSample]) -> list[Any]:
        return []


def test_batched_attributes_are_set_up_once_and_agree_with_per_sample_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from vidscene.pipeline import AnalyzeSettings, analyze

    monkeypatch.setitem(ATTRIBUTES._factories, "batched_redness", BatchedRedness)
    monkeypatch.setitem(ATTRIBUTES._factories, "redness", Redness)
    BatchedRedness.calls.clear()
    BatchedRedness.set_up.clear()
    demo = Path(__file__).resolve().parents[1] / "examples" / "demo.mp4"
    analysis = analyze(demo, AnalyzeSettings(
        detector="fast", scenes="osg", attributes=("batched_redness", "redness"))).analysis
    assert BatchedRedness.set_up == ["vidscene-attribute-setup"]
    assert max(BatchedRedness.calls) > 1  # whole batches, not one sample a call
    for shot in analysis.shots:  # the same frames, the same reduction, either way
        assert shot.attributes["batched_redness"] == pytest.approx(
            shot.attributes["redness"], abs=1e-4)


def test_a_batch_measure_that_loses_samples_fails_the_analysis(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from vidscene.errors import VidsceneError
    from vidscene.pipeline import AnalyzeSettings, analyze

    monkeypatch.setitem(ATTRIBUTES._factories, "wrong_length", WrongLength)
    demo = Path(__file__).resolve().parents[1] / "examples" / "demo.mp4"
    with pytest.raises(VidsceneError, match="wrong_length: measure_batch gave 0 values"):
        analyze(demo, AnalyzeSettings(detector="fast", scenes="osg",
                                      attributes=("wrong_length",)))
