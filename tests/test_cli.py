"""End-to-end CLI: analyse, store, list/show/export, exports, and bad inputs."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vidscene.analysis import Analysis
from vidscene.cli import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_help_teaches() -> None:
    r = _run("--help")
    assert r.exit_code == 0
    for cmd in ("analyze", "shots", "list", "show", "export"):
        assert cmd in r.output
    r = _run("analyze", "--help")
    assert "--keyframes-per-shot" in r.output and "--html" in r.output


def test_analyze_writes_every_export_and_stores(synthetic_video, tmp_path: Path) -> None:
    video, truth = synthetic_video("mixed", seed=3, n_shots=8)
    db = tmp_path / "store.db"
    out = tmp_path / "out"
    r = _run("analyze", str(video), "--db", str(db), "--json", str(out / "a.json"),
             "--csv", str(out / "a.csv"), "--edl", str(out / "a.edl"),
             "--html", str(out / "a.html"), "--vtt", str(out / "a.vtt"), "-q")
    assert r.exit_code == 0, r.output
    a = Analysis.from_dict(json.loads((out / "a.json").read_text()))
    a.check()
    assert a.video.frame_count == truth.frame_count
    assert len(a.shots) >= 2 and all(s.keyframes for s in a.shots)
    assert all(s.start_frame <= k < s.end_frame for s in a.shots for k in s.keyframes)
    assert a.scenes and a.scenes[-1].last_shot == len(a.shots) - 1
    assert {"brightness", "motion"} <= set(a.shots[0].attributes)
    assert a.attributes["shot_count"] == len(a.shots)
    rows = list(csv.DictReader((out / "a.csv").open()))
    assert len(rows) == len(a.shots)
    assert (out / "a.edl").read_text().count("\n001 ") + 1 >= 1
    html = (out / "a.html").read_text()
    assert "data:image/jpeg;base64," in html
    assert (out / "a.vtt").read_text().startswith("WEBVTT")

    # Stored: list shows it, show prints it, export reproduces the JSON.
    from vidscene.store import open_store
    with open_store(db) as store:
        [entry] = store.list()
    assert entry.path == str(video)
    r = _run("list", "--db", str(db))
    assert r.exit_code == 0 and entry.id[:12] in r.output and "1 stored" in r.output
    r = _run("show", entry.id[:6], "--db", str(db))
    assert r.exit_code == 0 and "shot_count" in r.output
    r = _run("export", entry.id[:6], "--format", "json", "--db", str(db))
    assert r.exit_code == 0
    assert json.loads(r.stdout)["shots"] == json.loads((out / "a.json").read_text())["shots"]

    # Same file, same settings: reused from the store, not recomputed.
    r = _run("analyze", str(video), "--db", str(db))
    assert r.exit_code == 0 and "stored result" in r.output


def test_shots_json_to_stdout_is_clean(synthetic_video) -> None:
    video, truth = synthetic_video("only-cut", seed=11, n_shots=5, mix={"cut": 1.0},
                                   shot_frames=(40, 60), gradual_frames=(10, 20))
    proc = subprocess.run([sys.executable, "-m", "vidscene.cli", "shots", str(video), "--json",
                           "-"], capture_output=True, text=True, check=True)
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "vidscene.analysis/1"
    starts = [s["start_frame"] for s in doc["shots"][1:]]
    assert starts == [t.first_frame for t in truth.transitions]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.mp4", b"", "empty file"),
        ("text.mp4", b"hello, this is not a video\n" * 40, "not a video"),
        ("missing.mp4", None, "no such file"),
    ],
)
def test_bad_input_is_one_line_error(tmp_path: Path, name: str, content: bytes | None,
                                     reason: str) -> None:
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    proc = subprocess.run([sys.executable, "-m", "vidscene.cli", "analyze", str(p), "--db",
                           str(tmp_path / "s.db")], capture_output=True, text=True)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {p}: ") and reason in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_one_bad_input_does_not_stop_the_others(synthetic_video, tmp_path: Path) -> None:
    video, _ = synthetic_video("mixed", seed=3, n_shots=8)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    r = _run("analyze", str(bad), str(video), "--db", str(tmp_path / "s.db"), "--json",
             str(tmp_path / "j") + "/")
    assert r.exit_code == 1
    assert (tmp_path / "j" / f"{video.stem}.json").exists()
    assert not (tmp_path / "j" / "bad.json").exists()


def test_unknown_detector_fails_before_decoding(synthetic_video, tmp_path: Path) -> None:
    video, _ = synthetic_video("mixed", seed=3, n_shots=8)
    r = _run("analyze", str(video), "--detector", "nope", "--db", str(tmp_path / "s.db"))
    assert r.exit_code == 2 and "unknown detector 'nope'" in r.output


def test_demo_sample_end_to_end(demo_video, tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    r = _run("analyze", str(demo_video), "--db", str(tmp_path / "s.db"), "--json", str(out),
             "-q")
    assert r.exit_code == 0, r.output
    a = Analysis.from_dict(json.loads(out.read_text()))
    a.check()
    truth = json.loads(demo_video.with_suffix(".truth.json").read_text())
    assert abs(len(a.shots) - (len(truth["transitions"]) + 1)) <= 3


def test_audio_only_and_cut_off_header_are_one_line_errors(synthetic_video, audio_only_file,
                                                           tmp_path: Path) -> None:
    video, _ = synthetic_video("mixed", seed=3, n_shots=8)
    head = tmp_path / "head.mp4"
    head.write_bytes(video.read_bytes()[:300])
    tone = audio_only_file
    proc = subprocess.run([sys.executable, "-m", "vidscene.cli", "analyze", str(tone), str(head),
                           "--db", str(tmp_path / "s.db")], capture_output=True, text=True)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 2, proc.stderr
    assert lines[0] == f"error: {tone}: no video stream (found: audio)"
    assert lines[1].startswith(f"error: {head}: ")
    assert "Traceback" not in proc.stderr


def test_truncated_file_is_analysed_with_a_warning(synthetic_video, tmp_path: Path) -> None:
    import av

    video, truth = synthetic_video("mixed", seed=3, n_shots=8)
    mkv = tmp_path / "whole.mkv"  # Matroska decodes without its index, as a cut-off file must
    with av.open(str(video)) as src, av.open(str(mkv), "w") as dst:
        s_in = src.streams.video[0]
        s_out = dst.add_stream_from_template(s_in)
        for packet in src.demux(s_in):
            if packet.dts is not None:
                packet.stream = s_out
                dst.mux(packet)
    data = mkv.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "cut.json"
    proc = subprocess.run([sys.executable, "-m", "vidscene.cli", "analyze", str(cut), "--json",
                           str(out), "--db", str(tmp_path / "s.db"), "-q"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    assert 0 < doc["video"]["frame_count"] < truth.frame_count
    assert proc.stderr.startswith(f"warning: {cut}: decoded ")
    assert "truncated" in proc.stderr


@pytest.mark.parametrize(("given", "expected"), [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_command_line_lets_openmp_threads_sleep_unless_told_otherwise(
        given: str | None, expected: str) -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given is not None:
        env["OMP_WAIT_POLICY"] = given
    code = "import os, vidscene.cli; print(os.environ['OMP_WAIT_POLICY'])"
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       check=True)
    assert r.stdout.strip() == expected
