"""Exports: JSON, CSV, EDL, WebVTT and the HTML report, plus the atomic writer."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import re
from dataclasses import replace

import pytest
from PIL import Image

from vidscene.analysis import Analysis, AnalysisResult, Scene, Shot, Transition, VideoInfo
from vidscene.errors import ExportError, VidsceneError
from vidscene.report import (
    FORMATS,
    export,
    export_formats,
    frames_to_timecode,
    integer_timebase,
    render,
    seconds_to_timecode,
)

FPS = 25.0


def _jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (32, 18)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=80)
    return out.getvalue()


def _shot(index: int, start: int, end: int, transition: Transition, keyframes: list[int],
          attributes: dict[str, float]) -> Shot:
    return Shot(index, start, end, start / FPS, end / FPS, transition, keyframes, attributes)


@pytest.fixture
def result() -> AnalysisResult:
    """Four shots over 10 s at 25 fps: a cut, a 12-frame dissolve, a cut, a 25-frame fade."""
    video = VideoInfo("/videos/clip.mp4", "ab" * 32, 10.0, FPS, 250, 640, 360, True, codec="h264")
    shots = [
        _shot(0, 0, 50, Transition("cut", 0, 0, 1.0), [25], {"brightness": 0.4, "motion": 0.1}),
        _shot(1, 50, 100, Transition("dissolve", 50, 61, 0.8), [75, 90],
              {"brightness": 0.6, "motion": 0.3}),
        _shot(2, 100, 175, Transition("cut", 100, 100, 0.95), [140],
              {"brightness": 0.2, "faces": 2.0}),
        _shot(3, 175, 250, Transition("fade", 175, 199, 0.7), [210], {"brightness": 0.5}),
    ]
    scenes = [
        Scene(0, 0, 1, 0, 100, 0.0, 4.0, 0.9, {"mood": 0.25}),
        Scene(1, 2, 3, 100, 250, 4.0, 10.0, 0.6),
    ]
    analysis = Analysis(video, shots, scenes, attributes={"shot_count": 4, "mean_shot_length": 2.5},
                        models={"shots": "fast"}, timing={"total_s": 1.2346})
    analysis.check()
    # Frame 210 has no thumbnail on purpose: the report must show a placeholder.
    thumbnails = {25: _jpeg((200, 30, 30)), 75: _jpeg((30, 200, 30)), 90: _jpeg((30, 30, 200)),
                  140: _jpeg((200, 200, 30))}
    return AnalysisResult(analysis, thumbnails)


def _many_shots(count: int) -> AnalysisResult:
    frames = 10 * count
    video = VideoInfo("long.mp4", "", frames / FPS, FPS, frames, 320, 180, False)
    shots = [
        _shot(i, 10 * i, 10 * i + 10, Transition("cut", 10 * i, 10 * i, 0.9), [10 * i + 5],
              {"brightness": (i % 7) / 7})
        for i in range(count)
    ]
    scenes = [Scene(j, 20 * j, 20 * j + 19, 200 * j, 200 * j + 200, 8.0 * j, 8.0 * j + 8, 0.5)
              for j in range(count // 20)]
    thumbnails = {10 * i + 5: _jpeg((i % 256, 80, 160), (48, 27)) for i in range(count)}
    return AnalysisResult(Analysis(video, shots, scenes), thumbnails)


# ------------------------------------------------------------------------------- timecodes


@pytest.mark.parametrize(("seconds", "text"), [
    (0.0, "00:00:00.000"),
    (3725.5, "01:02:05.500"),
    (59.9996, "00:01:00.000"),  # rounding carries into the minutes, never ".1000"
    (-1.0, "00:00:00.000"),
    (math.nan, "00:00:00.000"),
    (90000.0, "25:00:00.000"),  # hours keep counting
])
def test_seconds_to_timecode(seconds: float, text: str) -> None:
    assert seconds_to_timecode(seconds) == text


def test_frames_to_timecode_and_timebase() -> None:
    assert frames_to_timecode(0, 25) == "00:00:00:00"
    assert frames_to_timecode(24, 25) == "00:00:00:24"
    assert frames_to_timecode(25 * 3661 + 7, 25) == "01:01:01:07"
    assert [integer_timebase(f) for f in (29.97, 23.976, 59.94, 25.0, 0.0)] == [30, 24, 60, 25, 25]
    with pytest.raises(ValueError):
        frames_to_timecode(10, 0)


# ------------------------------------------------------------------------------- registry


def test_formats_are_registered() -> None:
    assert set(FORMATS) == {"json", "csv", "scenes-csv", "edl", "webvtt", "html"}
    assert export_formats() == sorted(export_formats())


def test_unknown_format_raises_export_error(result: AnalysisResult, tmp_path) -> None:
    with pytest.raises(ExportError, match="unknown export format 'pdf'"):
        render(result, "pdf")
    with pytest.raises(VidsceneError):
        export(result, "pdf", tmp_path / "out.pdf")
    assert list(tmp_path.iterdir()) == []


def test_unknown_option_raises_export_error(result: AnalysisResult) -> None:
    with pytest.raises(ExportError, match="'csv'"):
        render(result, "csv", colour=True)


# ------------------------------------------------------------------------------- writing


def test_export_writes_file_atomically(result: AnalysisResult, tmp_path) -> None:
    dest = tmp_path / "out.json"
    export(result, "json", dest)
    assert os.listdir(tmp_path) == ["out.json"]
    assert json.loads(dest.read_text("utf-8"))["schema"] == "vidscene.analysis/1"


def test_failed_write_keeps_old_file_and_leaves_no_temp(
    result: AnalysisResult, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "out.csv"
    dest.write_text("old contents")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ExportError, match="No space left"):
        export(result, "csv", dest)
    assert dest.read_text() == "old contents"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_unwritable_destination_raises_export_error(result: AnalysisResult, tmp_path) -> None:
    with pytest.raises(ExportError):
        export(result, "json", tmp_path / "missing-folder" / "out.json")
    with pytest.raises(ExportError):
        export(result, "json", tmp_path)  # a directory cannot be replaced by a file
    assert list(tmp_path.iterdir()) == []


def test_dash_writes_to_stdout(result: AnalysisResult, capsys: pytest.CaptureFixture[str]) -> None:
    export(result, "csv", "-")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["shot_index"] for r in rows] == ["0", "1", "2", "3"]


# ------------------------------------------------------------------------------- json


def test_json_round_trips(result: AnalysisResult) -> None:
    text = render(result, "json")
    assert isinstance(text, str) and text.endswith("}\n")
    assert "\n  \"video\": {" in text  # indented
    assert Analysis.from_dict(json.loads(text)) == result.analysis


def test_json_replaces_non_finite_numbers(result: AnalysisResult) -> None:
    result.analysis.shots[0].attributes["motion"] = math.nan
    document = json.loads(str(render(result, "json")))  # strict JSON: no NaN literal
    assert document["shots"][0]["attributes"]["motion"] is None


def test_render_accepts_a_bare_analysis(result: AnalysisResult) -> None:
    assert render(result.analysis, "json") == render(result, "json")


# ------------------------------------------------------------------------------- csv


def test_csv_rows_and_columns(result: AnalysisResult) -> None:
    reader = csv.DictReader(io.StringIO(str(render(result, "csv")), newline=""))
    rows = list(reader)
    assert reader.fieldnames is not None
    assert reader.fieldnames[:12] == [
        "shot_index", "scene_index", "start_frame", "end_frame", "start_time", "end_time",
        "start_timecode", "end_timecode", "duration", "transition_type",
        "transition_confidence", "keyframes",
    ]
    assert reader.fieldnames[12:] == ["brightness", "faces", "motion"]  # union, sorted
    assert len(rows) == 4
    assert [r["scene_index"] for r in rows] == ["0", "0", "1", "1"]
    assert [r["transition_type"] for r in rows] == ["cut", "dissolve", "cut", "fade"]
    second = rows[1]
    assert (second["start_frame"], second["end_frame"]) == ("50", "100")
    assert (float(second["start_time"]), float(second["end_time"])) == (2.0, 4.0)
    assert (second["start_timecode"], second["end_timecode"]) == ("00:00:02.000", "00:00:04.000")
    assert float(second["duration"]) == 2.0
    assert second["transition_confidence"] == "0.8"
    assert second["keyframes"] == "75 90"
    assert [r["faces"] for r in rows] == ["", "", "2.0", ""]
    assert float(rows[3]["brightness"]) == 0.5


def test_csv_without_scenes_and_with_clashing_attribute(result: AnalysisResult) -> None:
    result.analysis.scenes.clear()
    result.analysis.shots[0].attributes["duration"] = 9.0
    rows = list(csv.DictReader(io.StringIO(str(render(result, "csv")), newline="")))
    assert {r["scene_index"] for r in rows} == {""}
    assert rows[0]["attributes.duration"] == "9.0"
    assert float(rows[0]["duration"]) == 2.0  # the shot's own duration is untouched


def _scene_rows(result: AnalysisResult) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(str(render(result, "scenes-csv")), newline=""))
    rows = list(reader)
    assert reader.fieldnames is not None
    return list(reader.fieldnames), rows


def test_scenes_csv_one_row_per_scene(result: AnalysisResult) -> None:
    fields, rows = _scene_rows(result)
    assert fields == [
        "scene_index", "first_shot", "last_shot", "shot_count", "start_frame", "end_frame",
        "start_time", "end_time", "start_timecode", "end_timecode", "duration", "confidence",
        "mood",  # scene attributes follow, union sorted, as for shots
    ]
    scenes = result.analysis.scenes
    assert len(rows) == len(scenes) == 2
    for row, scene in zip(rows, scenes, strict=True):
        assert int(row["scene_index"]) == scene.index
        assert (int(row["first_shot"]), int(row["last_shot"])) == (scene.first_shot,
                                                                    scene.last_shot)
        assert int(row["shot_count"]) == scene.last_shot - scene.first_shot + 1
        assert (int(row["start_frame"]), int(row["end_frame"])) == (scene.start_frame,
                                                                    scene.end_frame)
        assert float(row["start_time"]) == scene.start_time
        assert float(row["end_time"]) == scene.end_time
        assert float(row["duration"]) == scene.end_time - scene.start_time
        assert float(row["confidence"]) == scene.confidence
    assert [r["confidence"] for r in rows] == ["0.9", "0.6"]
    assert [(r["start_timecode"], r["end_timecode"]) for r in rows] == [
        ("00:00:00.000", "00:00:04.000"), ("00:00:04.000", "00:00:10.000")]
    assert [r["mood"] for r in rows] == ["0.25", ""]


def test_scenes_csv_joins_the_shot_rows(result: AnalysisResult) -> None:
    _, scene_rows = _scene_rows(result)
    shot_rows = list(csv.DictReader(io.StringIO(str(render(result, "csv")), newline="")))
    for scene in scene_rows:
        first, last = int(scene["first_shot"]), int(scene["last_shot"])
        members = [r for r in shot_rows if r["scene_index"] == scene["scene_index"]]
        assert [int(r["shot_index"]) for r in members] == list(range(first, last + 1))
        # The scene spans exactly its shots.
        assert members[0]["start_frame"] == scene["start_frame"]
        assert members[-1]["end_frame"] == scene["end_frame"]


def test_scenes_csv_without_scenes_and_with_clashing_attribute(result: AnalysisResult) -> None:
    result.analysis.scenes[1].attributes["confidence"] = 0.1
    fields, rows = _scene_rows(result)
    assert fields[-2:] == ["attributes.confidence", "mood"]
    assert [r["confidence"] for r in rows] == ["0.9", "0.6"]  # the scene's own confidence
    assert [r["attributes.confidence"] for r in rows] == ["", "0.1"]
    result.analysis.scenes.clear()
    text = str(render(result, "scenes-csv"))
    assert text.splitlines() == [",".join(fields[:12])]  # header only


def test_scenes_csv_from_the_export_command(result: AnalysisResult, tmp_path) -> None:
    from typer.testing import CliRunner

    from vidscene.cli import app
    from vidscene.store import open_store

    db = tmp_path / "store.db"
    with open_store(db) as store:
        analysis_id = store.save(result, "test-settings")
    out = tmp_path / "scenes.csv"
    r = CliRunner().invoke(app, ["export", analysis_id[:8], "--format", "scenes-csv",
                                 "--db", str(db), "-o", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert out.read_bytes().decode() == render(result, "scenes-csv")


# ------------------------------------------------------------------------------- edl

_EVENT = re.compile(
    r"^(\d{3,})  (\S+)\s+V\s+(C|D)\s+(\d{3})?\s*"
    r"(\d\d:\d\d:\d\d:\d\d) (\d\d:\d\d:\d\d:\d\d) (\d\d:\d\d:\d\d:\d\d) (\d\d:\d\d:\d\d:\d\d)$"
)


def _edl_events(text: str) -> list[tuple[str, ...]]:
    return [m.groups() for line in text.splitlines() if (m := _EVENT.match(line))]


def test_edl_one_event_per_shot_with_record_timecodes(result: AnalysisResult) -> None:
    text = str(render(result, "edl"))
    lines = text.splitlines()
    assert lines[0] == "TITLE: clip.mp4"
    assert lines[1] == "FCM: NON-DROP FRAME"
    assert "25 FPS, NON-DROP-FRAME" in lines[2] and lines[2].startswith("*")
    events = _edl_events(text)
    assert sorted({e[0] for e in events}) == ["001", "002", "003", "004"]
    # The incoming line of each event (the last one with that number) carries the shot.
    incoming = {e[0]: e for e in events}
    assert incoming["001"][2:] == (
        "C", None, "00:00:00:00", "00:00:02:00", "00:00:00:00", "00:00:02:00")
    assert incoming["002"][2:] == (
        "D", "012", "00:00:02:00", "00:00:04:00", "00:00:02:00", "00:00:04:00")
    assert incoming["003"][2] == "C" and incoming["003"][6:] == ("00:00:04:00", "00:00:07:00")
    assert incoming["004"][2:4] == ("D", "025")
    assert incoming["004"][6:] == ("00:00:07:00", "00:00:10:00")
    # A dissolve starts with a zero-length line for the outgoing source.
    outgoing = [e for e in events if e[0] == "002"][0]
    assert outgoing[2] == "C" and outgoing[6] == outgoing[7] == "00:00:02:00"
    assert text.count("* FROM CLIP NAME: clip.mp4") == 4
    assert "* TRANSITION: DISSOLVE" in text and "* TRANSITION: FADE" in text


def test_edl_rounds_ntsc_rate_and_fades_in_from_black(result: AnalysisResult) -> None:
    analysis = result.analysis
    analysis.video = replace(analysis.video, fps=29.97)
    analysis.shots[0].transition_in = Transition("fade", 0, 14, 0.9)
    text = str(render(result, "edl"))
    assert "AT 30 FPS" in text and "29.97" in text
    first = [e for e in _edl_events(text) if e[0] == "001"]
    assert first[0][1] == "BL" and first[1][1:4] == ("AX", "D", "015")
    # Frame 50 at a 30-frame timebase is 1 s 20 frames.
    assert first[1][5] == "00:00:01:20"


def _edl_blocks(text: str) -> dict[str, list[str]]:
    """Each event number's lines (event lines and comments), from the blank-line blocks."""
    blocks = {}
    for block in text.split("\n\n")[1:]:
        lines = block.strip("\n").split("\n")
        blocks[lines[0][:3]] = lines
    return blocks


def test_edl_names_each_shots_scene_in_a_comment(result: AnalysisResult) -> None:
    text = str(render(result, "edl"))
    blocks = _edl_blocks(text)
    first = "* SCENE: 1 (SHOTS 1-2, 00:00:00:00-00:00:04:00, CONFIDENCE 0.90)"
    second = "* SCENE: 2 (SHOTS 3-4, 00:00:04:00-00:00:10:00, CONFIDENCE 0.60)"
    assert [[ln for ln in blocks[n] if ln.startswith("* SCENE:")] for n in sorted(blocks)] == [
        [first], [first], [second], [second]]
    # Still CMX 3600: every line is a header, an event or a comment.
    for line in text.splitlines():
        assert (line == "" or line.startswith(("TITLE:", "FCM:", "*"))
                or _EVENT.match(line)), line
    assert len(_edl_events(text)) == 6  # the comments added no events


def test_edl_scene_comments_only_for_shots_in_scenes(result: AnalysisResult) -> None:
    scenes = result.analysis.scenes
    scenes[:] = [replace(scenes[1], index=0, first_shot=3, start_frame=175, start_time=7.0,
                         confidence=math.nan)]
    text = str(render(result, "edl"))
    blocks = _edl_blocks(text)
    assert not any(ln.startswith("* SCENE:") for n in ("001", "002", "003") for ln in blocks[n])
    assert "* SCENE: 1 (SHOT 4, 00:00:07:00-00:00:10:00, CONFIDENCE UNKNOWN)" in blocks["004"]
    scenes.clear()
    assert "SCENE" not in str(render(result, "edl"))


# ------------------------------------------------------------------------------- webvtt

_CUE_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d{3}) --> (\d\d):(\d\d):(\d\d)\.(\d{3})$")


def _vtt_cues(text: str) -> list[tuple[float, float, str]]:
    assert text.startswith("WEBVTT\n\n")
    cues = []
    for block in text.split("\n\n")[1:]:
        ident, timing, title = block.strip("\n").split("\n")
        m = _CUE_TIME.match(timing)
        assert m, timing
        h1, m1, s1, ms1, h2, m2, s2, ms2 = map(int, m.groups())
        cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000,
                     title))
    return cues


def test_webvtt_scene_chapters(result: AnalysisResult) -> None:
    cues = _vtt_cues(str(render(result, "webvtt")))
    assert cues == [(0.0, 4.0, "Scene 1 (shots 1–2)"), (4.0, 10.0, "Scene 2 (shots 3–4)")]


def test_webvtt_falls_back_to_shots(result: AnalysisResult) -> None:
    result.analysis.scenes.clear()
    cues = _vtt_cues(str(render(result, "webvtt")))
    assert [c[2] for c in cues] == ["Shot 1", "Shot 2", "Shot 3", "Shot 4"]
    starts = [c[0] for c in cues]
    assert starts == sorted(starts) and all(start < end for start, end, _ in cues)


# ------------------------------------------------------------------------------- html


def test_html_shows_every_shot_and_embeds_thumbnails(result: AnalysisResult) -> None:
    html = str(render(result, "html"))
    assert html.startswith("<!doctype html>")
    for number in (1, 2, 3, 4):
        assert f'id="shot-{number}"' in html
    assert html.count('<article class="shot"') == 4
    for frame in (25, 75, 90, 140):
        uri = "data:image/jpeg;base64," + base64.b64encode(result.thumbnails[frame]).decode()
        assert uri in html
    assert html.count("no thumbnail</div>") == 1  # frame 210
    assert 'id="scene-1"' in html and 'id="scene-2"' in html
    assert "clip.mp4" in html and "640 × 360" in html and "00:00:10.000" in html
    assert "mean_shot_length" in html  # video-level attributes in the header
    for name in ("brightness", "faces", "motion"):  # one chart per shot attribute
        assert f'aria-label="{name} per shot' in html
    assert ">dissolve · 0.8<" in html and ">fade · 0.7<" in html


def test_html_scene_headers_show_times_shots_and_confidence(result: AnalysisResult) -> None:
    html = str(render(result, "html"))
    sections = re.findall(r'<section class="scene" id="(scene-\d+)".*?<p class="time">([^<]*)</p>',
                          html, re.S)
    assert sections == [
        ("scene-1", "00:00:00.000 – 00:00:04.000 · 4.00 s · shots 1–2 · confidence 0.9"),
        ("scene-2", "00:00:04.000 – 00:00:10.000 · 6.00 s · shots 3–4 · confidence 0.6"),
    ]
    # Each scene's cards are its own shots.
    for anchor, shots in (("scene-1", [1, 2]), ("scene-2", [3, 4])):
        section = html.split(f'id="{anchor}"', 1)[1].split('<section class="scene"', 1)[0]
        cards = re.findall(r'<article class="shot" id="shot-(\d+)"', section)
        assert [int(n) for n in cards] == shots
    # The timeline's scene bars say the same on hover.
    assert ("<title>Scene 2 · 00:00:04.000 – 00:00:10.000 · shots 3–4 · confidence 0.6</title>"
            in html)
    assert ">mood</dt><dd>0.25<" in html


def test_html_is_self_contained(result: AnalysisResult) -> None:
    html = str(render(result, "html"))
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert re.findall(r'src="([^"]*)"', html) and all(
        src.startswith("data:") for src in re.findall(r'src="([^"]*)"', html))


def test_html_escapes_file_name(result: AnalysisResult) -> None:
    hostile = "/tmp/<script>alert(1)</script>.mp4"
    result.analysis.video = replace(result.analysis.video, path=hostile)
    html = str(render(result, "html"))
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.mp4" in html


def test_html_shrinks_large_and_skips_broken_thumbnails(result: AnalysisResult) -> None:
    result.thumbnails[25] = _jpeg((10, 120, 240), (1280, 720))
    result.thumbnails[140] = b"not an image"
    html = str(render(result, "html"))
    encoded = re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html)
    sizes = [Image.open(io.BytesIO(base64.b64decode(e))).size for e in encoded]
    assert (320, 180) in sizes and max(w for w, _ in sizes) == 320
    assert html.count("no thumbnail</div>") == 2  # frame 210 missing, frame 140 unreadable


def test_html_without_scenes(result: AnalysisResult) -> None:
    result.analysis.scenes.clear()
    html = str(render(result, "html"))
    assert html.count('<article class="shot"') == 4
    assert 'id="scene-' not in html and "one colour per scene" not in html


def test_html_single_shot_and_no_shots() -> None:
    video = VideoInfo("one.mp4", "", 2.0, FPS, 50, 320, 240, False)
    one = Analysis(video, [_shot(0, 0, 50, Transition("cut", 0, 0, 1.0), [], {})])
    html = str(render(one, "html"))
    assert html.count('<article class="shot"') == 1
    assert "no thumbnail</div>" in html  # a shot without keyframes still gets a tile
    empty = str(render(Analysis(replace(video, frame_count=0, duration=0.0), []), "html"))
    assert "No shots were found" in empty and '<article class="shot"' not in empty


def test_html_stays_compact_for_two_thousand_shots() -> None:
    result = _many_shots(2000)
    html = str(render(result, "html"))
    assert html.count('<article class="shot"') == 2000
    assert 'id="shot-2000"' in html and 'id="scene-100"' in html
    assert html.count("data:image/jpeg;base64,") == 2000  # one thumbnail per shot
    thumbnail_bytes = sum(len(u) for u in re.findall(r'"data:image/jpeg;base64,[^"]+"', html))
    assert len(html.encode()) - thumbnail_bytes < 1_600_000  # under 800 bytes per shot


def test_html_shows_a_palette_as_swatches(result: AnalysisResult) -> None:
    result.analysis.shots[0].attributes["palette"] = [
        {"rgb": [200, 30, 30], "share": 0.75}, {"rgb": [0, 0, 255], "share": 0.25}]
    result.analysis.attributes["palette"] = [{"rgb": [1, 2, 3], "share": 1.0}]
    html = str(render(result, "html"))
    assert 'style="background:#c81e1e;flex-grow:0.750"' in html
    assert 'title="#0000ff · 25 %"' in html and "#010203" in html
    assert '"rgb"' not in html  # not shown as JSON text
    result.analysis.shots[1].attributes["palette"] = [{"rgb": ["x"], "share": "y"}]
    assert "#c81e1e" in str(render(result, "html"))  # a malformed one is shown as text


def test_html_lists_cues_and_speech(result: AnalysisResult) -> None:
    assert 'id="cues"' not in str(render(result, "html"))
    result.analysis.cues = [{"type": "black_frames", "start_time": 2.0, "end_time": 2.5,
                             "confidence": 0.9}]
    result.analysis.speech = [{"start_time": 4.0, "end_time": 6.25}]
    html = str(render(result, "html"))
    assert 'id="cues"' in html and "black frames" in html and "speech" in html
