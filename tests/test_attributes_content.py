"""The content attributes: faces, on-screen text, audio (loudness, silence, speech), camera
motion; the interface they grew (several fields, defaults, detail copies, audio spans) and
their use in queries."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from vidscene.analysis import Scene, Shot
from vidscene.attributes import (
    ATTRIBUTES,
    Attribute,
    FrameSample,
    aggregate_scenes,
    aggregate_shots,
    attribute_fields,
    create_attributes,
    resolve_attribute_names,
    summarise_video,
)
from vidscene.attributes._audio import speech_segments
from vidscene.attributes._camera import CAMERA_MOTIONS, classify_motion, frame_motion
from vidscene.attributes._faces import shot_scale
from vidscene.attributes._text import distinct_lines, read_text
from vidscene.metrics import character_error_rate
from vidscene.video import read_audio

VIDSCENE = [sys.executable, "-m", "vidscene.cli"]
FFMPEG = shutil.which("ffmpeg")
ESPEAK = shutil.which("espeak-ng")
needs_ffmpeg = pytest.mark.skipif(FFMPEG is None, reason="ffmpeg not installed (make media-tools)")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VIDSCENE, *args], capture_output=True, text=True, timeout=600)


def texture(width: int = 960, height: int = 540, seed: int = 3) -> np.ndarray:
    """A picture with corners everywhere: blurred noise and random shapes."""
    rng = np.random.default_rng(seed)
    img = Image.fromarray((rng.random((height // 8, width // 8, 3)) * 255).astype(np.uint8))
    img = img.resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(120):
        x, y = rng.integers(0, width), rng.integers(0, height)
        r = int(rng.integers(6, 30))
        draw.rectangle((x, y, x + r, y + r), fill=tuple(int(v) for v in rng.integers(0, 255, 3)))
    return np.asarray(img.filter(ImageFilter.GaussianBlur(1)))


def view(picture: np.ndarray, dx: float, dy: float, zoom: float = 1.0,
         size: tuple[int, int] = (320, 180)) -> np.ndarray:
    """The part of ``picture`` a camera at offset (dx, dy) px and ``zoom`` sees."""
    h, w = picture.shape[:2]
    cw, ch = w / 2 / zoom, h / 2 / zoom
    cx, cy = w / 2 + dx, h / 2 + dy
    box = (cx - cw / 2, cy - ch / 2, cx + cw / 2, cy + ch / 2)
    return np.asarray(Image.fromarray(picture).resize(size, Image.Resampling.BILINEAR, box=box))


# -- the interface ---------------------------------------------------------------------------
def test_the_default_set_leaves_out_costly_attributes_and_all_turns_every_one_on() -> None:
    default = resolve_attribute_names(None)
    assert {"brightness", "palette", "cues", "tone", "audio"} <= set(default)
    assert not {"faces", "text", "camera", "text_present"} & set(default)
    assert set(resolve_attribute_names(["all"])) == set(ATTRIBUTES.names())
    assert resolve_attribute_names(["faces", "default"])[0] == "faces"
    assert attribute_fields("faces") == {"faces": "number", "face_height": "number",
                                         "shot_scale": "label"}
    assert attribute_fields("brightness") == {"brightness": "number"}


class _Pair(Attribute):
    """A two-field plugin: a number and a label from the frame's mean red."""

    name = "pair"
    kind = "fields"
    fields = {"redness": "number", "tone": "label"}

    def measure(self, sample: FrameSample) -> float:
        return float(sample.rgb[..., 0].mean() / 255)

    def reduce_shot(self, values: list[float]) -> dict[str, object]:
        mean = float(np.mean(values))
        return {"redness": mean, "tone": "red" if mean > 0.5 else "dark"}


def test_an_attribute_of_several_fields_writes_each_on_shots_scenes_and_the_video() -> None:
    shots = [Shot(0, 0, 10, 0.0, 1.0), Shot(1, 10, 40, 1.0, 4.0)]
    scenes = [Scene(0, 0, 1, 0, 40, 0.0, 4.0, 1.0)]
    values = {"pair": [(0, 0.9), (5, 0.7), (20, 0.1), (30, 0.3)]}
    reducers = {"pair": _Pair()}
    aggregate_shots(shots, values, reducers)
    assert shots[0].attributes == {"redness": 0.8, "tone": "red"}
    assert shots[1].attributes == {"redness": 0.2, "tone": "dark"}
    aggregate_scenes(scenes, shots, reducers)
    # Numbers weighted by duration (1 s and 3 s), labels by a duration-weighted vote.
    assert scenes[0].attributes == {"redness": pytest.approx(0.35), "tone": "dark"}
    summary = summarise_video(shots, scenes, 4.0, reducers)
    assert summary["redness_mean"] == pytest.approx(0.5) and summary["tone"] == "dark"


# -- camera ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("motion", "step"), [
    ("pan_right", (6.0, 0.0, 1.0)), ("pan_left", (-6.0, 0.0, 1.0)),
    ("tilt_down", (0.0, 5.0, 1.0)), ("tilt_up", (0.0, -5.0, 1.0)),
    ("zoom_in", (0.0, 0.0, 1.01)), ("zoom_out", (0.0, 0.0, 1 / 1.01)),
    ("static", (0.0, 0.0, 1.0))])
def test_camera_moves_over_a_still_are_classified(motion: str, step: tuple[float, float, float]
                                                  ) -> None:
    picture = texture()
    fps = 25.0
    motions = []
    for k in range(8):  # eight sampled frames of the shot, each with the frame before it
        x, y, z = step[0] * k * 3, step[1] * k * 3, step[2] ** (k * 3)
        before = view(picture, x, y, z)
        after = view(picture, x + step[0], y + step[1], z * step[2])
        found = frame_motion(before, after, 1 / fps)
        assert found is not None
        motions.append(found)
    assert classify_motion(motions)[0] == motion


def test_a_shaking_camera_is_handheld_and_a_cut_gives_no_motion() -> None:
    picture = texture()
    rng = np.random.default_rng(1)
    motions = []
    for _ in range(10):
        jolt = rng.normal(0, 5, 2)
        found = frame_motion(view(picture, 0, 0), view(picture, *jolt), 1 / 25)
        assert found is not None
        motions.append(found)
    assert classify_motion(motions)[0] == "handheld"
    other = texture(seed=9)
    assert frame_motion(view(picture, 0, 0), view(other, 0, 0), 1 / 25) is None
    assert set(CAMERA_MOTIONS) >= {"static", "handheld", "pan_left", "zoom_out"}


# -- faces -----------------------------------------------------------------------------------
def test_shot_scale_follows_the_largest_face() -> None:
    assert shot_scale(None) == "none"
    assert shot_scale(0.5) == "close-up"
    assert shot_scale(0.2) == "medium"
    assert shot_scale(0.05) == "wide"


def test_faces_and_shot_scale_on_the_demo(demo_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "faces.json"
    r = run("analyze", str(demo_video), "--db", str(tmp_path / "f.db"), "--json", str(out),
            "-q", "--attributes", "faces")
    assert r.returncode == 0, r.stderr
    shots = json.loads(out.read_text())["shots"]
    by_start = {round(s["start_time"]): s["attributes"] for s in shots}
    # The demo's animated dinner scene (about 8-14 s) is close-ups of faces; its opening
    # shots (a field, buildings) have nobody in them.
    for start in (8, 10, 12):
        assert by_start[start]["shot_scale"] == "close-up", by_start[start]
        assert by_start[start]["faces"] >= 1
    for start in (0, 3, 5):
        assert by_start[start]["shot_scale"] == "none" and by_start[start]["faces"] == 0
    assert all(s["attributes"]["shot_scale"] in ("close-up", "medium", "wide", "none")
               for s in shots)


# -- text ------------------------------------------------------------------------------------
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def test_rendered_text_is_read_with_few_errors() -> None:
    picture = Image.fromarray(view(texture(), 0, 0, size=(480, 270)))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((30, 100, 450, 160), fill=(20, 20, 20))
    draw.text((45, 108), "GOAL 2 - 1 in Lisbon", font=_font(36), fill=(255, 255, 255))
    found = read_text(np.asarray(picture))
    text = " ".join(line[0] for line in found["lines"])
    assert character_error_rate(text, "GOAL 2 - 1 in Lisbon") <= 0.1, text
    assert 0.02 < found["share"] < 0.3
    blank = read_text(np.full((270, 480, 3), 90, np.uint8))
    assert blank == {"share": 0.0, "lines": []}


def test_a_shot_none_of_whose_frames_was_read_has_empty_text() -> None:
    from vidscene.attributes._text import OnScreenText

    text = OnScreenText(gate=False)
    assert text.reduce_shot([None, None]) == {"text": ""}
    assert text.reduce_shot([]) is None


def test_lines_read_on_several_frames_are_kept_once() -> None:
    lines = [["Breaking news", 0.9], ["Breaking  news", 0.95], ["BREAKlNG NEWS", 0.8],
             ["Weather at six", 0.9]]
    assert distinct_lines(lines) == [("Breaking  news", 0.95), ("Weather at six", 0.9)]


# -- audio -----------------------------------------------------------------------------------
def _mux(tmp_path: Path, wav: Path, seconds: float, name: str = "talk.mp4") -> Path:
    out = tmp_path / name
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"testsrc2=size=320x180:rate=25:duration={seconds}", "-i", str(wav),
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-b:a", "128k", "-t", str(seconds), str(out)], check=True)
    return out


def _write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    import wave

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1 if pcm.ndim == 1 else pcm.shape[0])
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.T.tobytes() if pcm.ndim > 1 else pcm.tobytes())
    return path


def _ebur128(path: Path) -> float:
    assert FFMPEG is not None
    r = subprocess.run([FFMPEG, "-hide_banner", "-nostats", "-i", str(path), "-vn", "-af",
                        "ebur128", "-f", "null", "-"], capture_output=True, text=True)
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", r.stderr)[-1])


@needs_ffmpeg
@pytest.mark.skipif(ESPEAK is None, reason="espeak-ng not installed (make media-tools)")
def test_speech_loudness_and_silence_from_the_soundtrack(tmp_path: Path) -> None:
    rate = 16000
    speech_wav = tmp_path / "speech.wav"
    subprocess.run([str(ESPEAK), "-w", str(speech_wav), "-s", "150",
                    "The archive keeps every hour of the evening news."], check=True)
    speech, speech_rate = _read_wav(speech_wav)
    speech = np.interp(np.arange(int(len(speech) * rate / speech_rate)) * speech_rate / rate,
                       np.arange(len(speech)), speech)
    seconds = 10.0
    track = np.zeros(int(seconds * rate))
    rng = np.random.default_rng(0)
    t = np.arange(len(track)) / rate
    track[6 * rate:] = 0.1 * np.sin(2 * np.pi * 440 * t[6 * rate:])  # a tone from 6 s
    start = 1.5
    track[int(start * rate):int(start * rate) + len(speech)] += 0.6 * speech
    track[:int(1.0 * rate)] = rng.normal(0, 1e-4, rate)  # near-silence for the first second
    video = _mux(tmp_path, _write_wav(tmp_path / "mix.wav", track, rate), seconds)
    out = tmp_path / "a.json"
    r = run("analyze", str(video), "--db", str(tmp_path / "a.db"), "--json", str(out), "-q",
            "--attributes", "audio,brightness")
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert abs(doc["attributes"]["loudness_lufs"] - _ebur128(video)) <= 0.5
    spoken = (start, start + len(speech) / rate)
    [segment] = [s for s in doc["speech"] if s["end_time"] > spoken[0] and
                 s["start_time"] < spoken[1]]
    overlap = min(segment["end_time"], spoken[1]) - max(segment["start_time"], spoken[0])
    union = max(segment["end_time"], spoken[1]) - min(segment["start_time"], spoken[0])
    assert overlap / union >= 0.75, (segment, spoken)
    assert not [s for s in doc["speech"] if s["start_time"] > spoken[1] + 0.5]  # the tone
    video_attrs = doc["attributes"]
    assert 0.2 < video_attrs["speech_share"] < 0.6
    # Silent: the first 1.5 s and from the speech's end to the tone; pauses between words add.
    quiet = (start + (6.0 - spoken[1])) / seconds
    assert quiet - 0.03 <= video_attrs["silence_share"] <= quiet + 0.15
    for scene in doc["scenes"]:
        assert "loudness_lufs" in scene["attributes"]


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    import wave

    with wave.open(str(path), "rb") as f:
        raw = np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(np.float64) / 32768
        return raw.reshape(-1, f.getnchannels()).mean(axis=1), f.getframerate()


def test_speech_segments_bridge_short_pauses_and_drop_blips() -> None:
    step = 512 / 16000
    probs = np.zeros(200)
    probs[20:60] = 0.9   # 1.28 s of speech
    probs[64:90] = 0.9   # after a 0.13 s pause: the same segment
    probs[150:153] = 0.9  # a 0.1 s blip: dropped
    [(a, b)] = speech_segments(probs)
    assert a == pytest.approx(20 * step - 0.05) and b == pytest.approx(90 * step + 0.05)


def test_a_video_without_audio_has_no_audio_values(demo_video: Path, tmp_path: Path) -> None:
    assert read_audio(demo_video) is None
    out = tmp_path / "n.json"
    r = run("analyze", str(demo_video), "--db", str(tmp_path / "n.db"), "--json", str(out),
            "-q", "--attributes", "audio,brightness")
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    keys = {"loudness_lufs", "speech_share", "silence_share", "loudness_range_lu"}
    assert not keys & set(doc["attributes"]) and doc["speech"] == []
    assert all(not keys & set(s["attributes"]) for s in doc["shots"] + doc["scenes"])
    assert all("brightness" in s["attributes"] for s in doc["shots"])


# -- every attribute at once, searched ---------------------------------------------------------
@needs_ffmpeg
def test_every_attribute_on_a_titled_video_and_searched(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    picture = texture(seed=5)
    title = Image.new("RGB", (480, 270), (10, 10, 40))
    ImageDraw.Draw(title).text((60, 110), "GOAL OF THE MONTH", font=_font(34),
                                 fill=(250, 250, 250))
    fps, n = 25, 0
    for _ in range(75):  # 3 s title card
        title.save(frames / f"{n:05d}.png")
        n += 1
    for k in range(100):  # 4 s of a steady pan to the right
        Image.fromarray(view(picture, -200 + 4 * k, 0, size=(480, 270))).save(
            frames / f"{n:05d}.png")
        n += 1
    assert FFMPEG is not None
    video = tmp_path / "titled.mp4"
    subprocess.run([FFMPEG, "-v", "error", "-y", "-framerate", str(fps), "-i",
                    str(frames / "%05d.png"), "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(video)], check=True)
    db = tmp_path / "all.db"
    out = tmp_path / "all.json"
    r = run("analyze", str(video), "--db", str(db), "--json", str(out), "-q",
            "--attributes", "all", "--csv", str(tmp_path / "all.csv"))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    # The Contract's per-shot keys are on every shot (text: "" where nothing was read).
    assert all("shot_scale" in s["attributes"] and isinstance(s["attributes"]["text"], str)
               for s in doc["shots"])
    first, last = doc["shots"][0]["attributes"], doc["shots"][-1]["attributes"]
    assert "GOAL" in first["text"].upper() and first["text_share"] > 0.01
    assert last["camera_motion"] == "pan_right", last
    assert last["text"] == "" and first["shot_scale"] == "none"
    header = (tmp_path / "all.csv").read_text().splitlines()[0]
    for column in ("text", "camera_motion", "shot_scale", "faces", "palette"):
        assert column in header
    shots = run("search", "text ~ goal", "--shots", "--db", str(db), "--json")
    assert shots.returncode == 0, shots.stderr
    assert [row["index"] for row in json.loads(shots.stdout)] == [0]
    pans = run("search", "camera_motion = pan_right", "--shots", "--db", str(db),
               "--json")
    assert [row["index"] for row in json.loads(pans.stdout)] == [len(doc["shots"]) - 1]
    scenes = run("search", "text ~ month", "--scenes", "--db", str(db), "--json")
    assert len(json.loads(scenes.stdout)) >= 1


def test_attributes_command_lists_every_attribute() -> None:
    r = run("attributes", "--json")
    assert r.returncode == 0, r.stderr
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert set(rows) == set(ATTRIBUTES.names())
    assert rows["text"]["default"] is False and rows["audio"]["default"] is True
    assert rows["audio"]["fields"]["loudness_lufs"] == "number"
    assert {a.name for a in create_attributes(["all"])} == set(rows)


# -- the learned attribute from the model store ------------------------------------------------
def test_the_learned_text_present_attribute_loads_its_model_by_store_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vidscene.attributes._text_present import TextPresent
    from vidscene.model_store import ModelStore

    plain = view(texture(seed=11), 0, 0, size=(224, 126))
    titled = Image.fromarray(plain.copy())
    ImageDraw.Draw(titled).text((12, 40), "EVENING NEWS", font=_font(30), fill=(255, 255, 255),
                                stroke_width=2, stroke_fill=(0, 0, 0))
    attribute = TextPresent()
    p_plain = attribute.measure(FrameSample(0, 0.0, plain, plain[:36, :64]))
    p_text = attribute.measure(FrameSample(0, 0.0, np.asarray(titled), plain[:36, :64]))
    assert 0.0 <= p_plain < p_text <= 1.0
    assert attribute.model.startswith("text-present@shipped sha256:")
    # A version the user stores under the same name is the one used from then on.
    monkeypatch.setenv("VIDSCENE_MODELS", str(tmp_path / "models"))
    from vidscene.prune import load_packed, save_packed

    # The user's own training run: other weights (here the shipped ones, one bias changed).
    state = load_packed(ModelStore().get("text-present@shipped").path)
    state["head.bias"] = state["head.bias"] + 0.5
    retrained = tmp_path / "retrained.safetensors"
    save_packed(state, retrained, {}, {"card": json.dumps({"method": "attention-snip"})})
    stored = ModelStore().add(retrained, "text-present")
    assert stored.ref == "text-present@v1"
    mine = TextPresent()
    mine.measure(FrameSample(0, 0.0, plain, plain[:36, :64]))
    assert mine.model.startswith("text-present@v1 sha256:")


def test_an_analysis_records_the_learned_attributes_model(demo_video: Path, tmp_path: Path
                                                          ) -> None:
    out = tmp_path / "tp.json"
    r = run("analyze", str(demo_video), "--db", str(tmp_path / "tp.db"), "--json", str(out),
            "-q", "--attributes", "text_present")
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert re.match(r"text-present@\w+ sha256:[0-9a-f]{12}$",
                    doc["models"]["attribute text_present"])
    assert all(0 <= s["attributes"]["text_present"] <= 1 for s in doc["shots"])


def test_tone_says_warm_cool_and_black_and_white() -> None:
    from vidscene.attributes._tone import Tone

    tone = Tone()

    def frame(rgb: tuple[int, int, int]) -> FrameSample:
        picture = np.broadcast_to(np.array(rgb, np.uint8), (126, 224, 3)).copy()
        picture[:40] = 128  # a grey part does not pull the balance to neutral
        return FrameSample(0, 0.0, picture, picture[:36, :64])

    assert tone.reduce_shot([tone.measure(frame((220, 140, 60)))]) == {
        "warmth": pytest.approx(0.627, abs=0.01), "tone": "warm", "colour_mode": "colour"}
    assert tone.reduce_shot([tone.measure(frame((40, 90, 200)))])["tone"] == "cool"
    grey = np.asarray(Image.fromarray(view(texture(), 0, 0, size=(224, 126))).convert("L")
                      .convert("RGB"))
    mono = tone.reduce_shot([tone.measure(FrameSample(0, 0.0, grey, grey[:36, :64]))] * 3)
    assert mono["colour_mode"] == "black_and_white" and mono["tone"] == "neutral"


@needs_ffmpeg
def test_scrolling_end_credits_are_a_cue(tmp_path: Path) -> None:
    frames = tmp_path / "credits"
    frames.mkdir()
    picture = texture(seed=8)
    names = [f"{role}  {name}" for role, name in zip(
        ["Director", "Producer", "Editor", "Camera", "Sound", "Music", "Script", "Grip",
         "Lights", "Costumes", "Casting", "Colour"] * 2,
        ["Ada Lovel", "Alan Turin", "Grace Hopp", "Edsger Dijk", "Barbara Lisk",
         "Donald Knut", "John Backu", "Ken Thomps", "Dennis Ritch", "Frances Alle",
         "Margaret Ham", "Niklaus Wir"] * 2, strict=True)]
    sheet = Image.new("RGB", (480, 60 + 34 * len(names) + 270), (0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    for i, line in enumerate(names):
        draw.text((90, 270 + 34 * i), line, font=_font(24), fill=(235, 235, 235))
    n = 0
    for k in range(150):  # 6 s of picture
        Image.fromarray(view(picture, -100 + k, 0, size=(480, 270))).save(frames / f"{n:05d}.png")
        n += 1
    for k in range(250):  # 10 s of credits rolling up over black
        y = int(k * (sheet.height - 270) / 250)
        sheet.crop((0, y, 480, y + 270)).save(frames / f"{n:05d}.png")
        n += 1
    video = tmp_path / "credits.mp4"
    assert FFMPEG is not None
    subprocess.run([FFMPEG, "-v", "error", "-y", "-framerate", "25", "-i",
                    str(frames / "%05d.png"), "-c:v", "libx264", "-preset", "ultrafast",
                    "-pix_fmt", "yuv420p", str(video)], check=True)
    out = tmp_path / "c.json"
    r = run("analyze", str(video), "--db", str(tmp_path / "c.db"), "--json", str(out), "-q",
            "--attributes", "text,cues")
    assert r.returncode == 0, r.stderr
    cues = [c for c in json.loads(out.read_text())["cues"] if c["type"] == "end_credits"]
    assert len(cues) == 1, cues
    assert 5.5 <= cues[0]["start_time"] <= 9.0 and cues[0]["end_time"] >= 14.0
