"""Queries over stored analyses: the filter language, and the same answers from every
backend (memory, SQLite with JSON functions, MongoDB with aggregations)."""

from __future__ import annotations

import pytest

from vidscene.analysis import Analysis, AnalysisResult, Scene, Shot, Transition, VideoInfo
from vidscene.store import QueryError, parse_query
from vidscene.store._query import Stored, evaluate

KEY = "0123456789abcdef"


def _analysis(name: str, duration: float, shots: list[tuple[float, str, float | None]],
              scene_starts: list[int]) -> AnalysisResult:
    """``shots``: (length in seconds, transition type in, motion or None)."""
    fps = 25.0
    shot_list, t, frame = [], 0.0, 0
    for i, (length, kind, motion) in enumerate(shots):
        frames = int(round(length * fps))
        attrs = {"brightness": round(0.1 * (i + 1), 4)}
        if motion is not None:
            attrs["motion"] = motion
        shot_list.append(Shot(i, frame, frame + frames, t, t + length,
                              Transition(kind, frame, frame, 0.9), [frame], attrs))
        t += length
        frame += frames
    bounds = [*scene_starts, len(shot_list)]
    scenes = [Scene(j, a, b - 1, shot_list[a].start_frame, shot_list[b - 1].end_frame,
                    shot_list[a].start_time, shot_list[b - 1].end_time, 0.5 + 0.1 * j,
                    {"brightness": 0.2 * (j + 1)})
              for j, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False))]
    lengths = [s[0] for s in shots]
    video = VideoInfo(f"/archive/{name}", name[0] * 64, duration, fps, frame, 640, 360, False)
    attributes = {"shot_count": len(shots), "scene_count": len(scenes),
                  "mean_shot_length": round(sum(lengths) / len(lengths), 4),
                  "cuts_per_minute": round((len(shots) - 1) / duration * 60, 4),
                  "motion_mean": 0.05}
    analysis = Analysis(video, shot_list, scenes, attributes, {"shots": "test"}, {}, {})
    analysis.check()
    return AnalysisResult(analysis, {})


def _fill(store) -> dict[str, str]:
    ids = {}
    ids["beach"] = store.save(_analysis("Beach Day.mp4", 700.0, [
        (1.5, "cut", 0.2), (1.0, "dissolve", 0.05), (1.8, "cut", None), (1.2, "fade", 0.3)],
        [0, 2]), KEY)
    ids["city"] = store.save(_analysis("city.mp4", 900.0, [
        (4.0, "cut", 0.01), (5.0, "wipe", 0.15), (3.0, "cut", 0.12)], [0, 1]), KEY)
    ids["short"] = store.save(_analysis("short clip.mov", 30.0, [
        (10.0, "cut", 0.5), (20.0, "cut", 0.0)], [0]), KEY)
    return ids


def test_parse_errors_are_one_clear_line() -> None:
    for expr, message in [
        ("duration >", "cannot read"), ("duration > 10 or shot_count < 3", "expected 'and'"),
        ("durations > 10", "unknown field 'durations'"), ("path < 3", "path is text"),
        ("duration ~ 10", "~ is for text"), ("duration > ten", "is a number"),
        ("duration > 10 and", "ends with 'and'"), ("duration = 'x y'", "is a number"),
    ]:
        with pytest.raises(QueryError, match=message) as error:
            parse_query(expr)
        assert "\n" not in str(error.value)
    with pytest.raises(QueryError, match="unknown field 'motion_mean'"):
        parse_query("motion_mean > 1", "shots")
    with pytest.raises(QueryError, match="unknown sort field"):
        parse_query("", "shots", sort="-speed")
    q = parse_query("duration > 600 AND path ~ 'beach day' and motion >= 0.1")
    assert [(c.field.name, c.op, c.value) for c in q.conditions] == [
        ("duration", ">", 600.0), ("path", "~", "beach day"), ("motion", ">=", 0.1)]


def test_videos_by_duration_and_pacing(any_store) -> None:
    ids = _fill(any_store)
    found = any_store.query("duration > 600 and mean_shot_length < 2")
    assert [r["id"] for r in found] == [ids["beach"]]
    assert found[0]["path"] == "/archive/Beach Day.mp4" and found[0]["shot_count"] == 4
    assert [r["id"] for r in any_store.query("path ~ CITY")] == [ids["city"]]
    assert [r["id"] for r in any_store.query("path != '/archive/city.mp4'")] == \
        [ids["beach"], ids["short"]]
    assert [r["id"] for r in any_store.query("", sort="-duration")] == \
        [ids["city"], ids["beach"], ids["short"]]
    assert [r["id"] for r in any_store.query("", sort="duration", limit=1, offset=1)] == \
        [ids["beach"]]


def test_shots_with_motion_and_their_times(any_store) -> None:
    ids = _fill(any_store)
    rows = any_store.query("motion > 0.1", "shots")
    assert [(r["analysis_id"], r["index"]) for r in rows] == [
        (ids["beach"], 0), (ids["beach"], 3), (ids["city"], 1), (ids["city"], 2),
        (ids["short"], 0)]
    assert rows[1]["start_time"] == pytest.approx(4.3) and rows[1]["type"] == "fade"
    assert rows[1]["attributes"]["motion"] == 0.3
    # A shot without the attribute meets no condition on it, "!=" included.
    assert (ids["beach"], 2) not in [(r["analysis_id"], r["index"])
                                     for r in any_store.query("motion != 0.5", "shots")]
    long_cuts = any_store.query("type = cut and duration >= 4", "shots", sort="-duration")
    assert [r["duration"] for r in long_cuts] == [20.0, 10.0, 4.0]


def test_scenes_and_their_opening_transition(any_store) -> None:
    ids = _fill(any_store)
    rows = any_store.query("type = dissolve", "scenes")
    assert rows == []
    rows = any_store.query("type = cut and start_time >= 2", "scenes")
    assert [(r["analysis_id"], r["index"]) for r in rows] == [(ids["beach"], 1)]
    assert rows[0]["first_shot"] == 2 and rows[0]["end_time"] == pytest.approx(5.5)
    wipes = any_store.query("type = wipe", "scenes")
    assert [(r["analysis_id"], r["first_shot"]) for r in wipes] == [(ids["city"], 1)]


def test_every_backend_answers_as_the_reference(any_store) -> None:
    _fill(any_store)
    stored = [Stored(s.id, s.created, any_store.get(s.id).analysis.to_dict())
              for s in any_store.list()]
    for level, expr, sort in [
        ("videos", "", None), ("videos", "cuts_per_minute > 0.1", "-mean_shot_length"),
        ("shots", "brightness >= 0.2 and type != cut", None),
        ("shots", "", "motion"), ("shots", "end_time <= 5", "-start_time"),
        ("scenes", "brightness < 0.3", "-confidence"), ("scenes", "", None),
    ]:
        for offset in (0, 2):
            query = parse_query(expr, level, sort=sort, limit=3, offset=offset)
            assert any_store.search(query) == evaluate(query, stored), (level, expr, sort)


def test_the_content_attributes_are_queryable_by_their_keys() -> None:
    from vidscene.store._query import fields_for

    shots = fields_for("shots")
    assert shots["shot_scale"].text and shots["camera_motion"].text and shots["text"].text
    assert not shots["speech_share"].text and shots["faces"].path == ("attributes", "faces")
    videos = fields_for("videos")
    # Audio is measured over the whole soundtrack: the video's own value, not a shot mean.
    assert videos["loudness_lufs"].path == ("attributes", "loudness_lufs")
    assert videos["faces"].path == ("attributes", "faces_mean")
    q = parse_query("shot_scale = close-up and speech_share > 0.5", "shots")
    assert [c.field.name for c in q.conditions] == ["shot_scale", "speech_share"]
    assert parse_query("loudness_lufs > -14").conditions[0].value == -14.0
    with pytest.raises(QueryError):
        parse_query("palette ~ red", "shots")
