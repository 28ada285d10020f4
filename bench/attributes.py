"""Content attributes against references that do not come from their own code, and their cost.

- faces: YuNet counts on development-clip frames annotated by inspection (``faces_truth.json``);
- text: random strings rendered over development-clip frames (several fonts, sizes, places,
  colours), read back: detection recall and character error rate;
- audio: integrated loudness against FFmpeg's ``ebur128`` filter on the clips' soundtracks;
  speech segments (frame F1) on soundtracks built from espeak-ng speech mixed with music
  (synthesised chords), noise and silence at known times;
- camera: the class of synthetic pans, tilts, zooms, shakes and static shots over
  development-clip frames;
- cues: black frames, SMPTE colour bars (FFmpeg's ``smptebars``) and a freeze inserted at known
  times into a development clip, found within 0.5 s;
- cost: ``vidscene analyze`` wall time at 720p (with a soundtrack) with the five pixel
  statistics (the attribute set before these attributes), the default set, and ``all``.

Run: ``python bench/attributes.py`` (``--quick`` for fewer repeats; ffmpeg and espeak-ng come
from ``make media-tools``).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

import _dataset
import _report
from vidscene.attributes._base import FrameSample
from vidscene.attributes._camera import classify_motion, frame_motion
from vidscene.attributes._faces import Faces, shot_scale
from vidscene.attributes._text import read_text
from vidscene.metrics import character_error_rate, segment_frame_f1

SECTION = "Attributes"
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
ESPEAK = shutil.which("espeak-ng") or "espeak-ng"
PIXEL_STATS = "brightness,contrast,colourfulness,sharpness,motion"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def frame_at(path: Path, t: float) -> np.ndarray:
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            if f.time is not None and f.time >= t:
                return f.to_ndarray(format="rgb24")
    raise SystemExit(f"{path.name}: no frame at {t} s")


def fit(rgb: np.ndarray, long_side: int) -> np.ndarray:
    img = Image.fromarray(rgb)
    img.thumbnail((long_side, long_side))
    return np.asarray(img)


# -- faces --------------------------------------------------------------------------------------
def bench_faces(clips: Path) -> dict[str, Any]:
    truth = json.loads((HERE / "faces_truth.json").read_text())["frames"]
    faces = Faces()
    tp = fp = fn = 0
    scale_ok = scale_n = 0
    times = []
    for item in truth:
        rgb = fit(frame_at(clips / item["clip"], item["time"]), 480)
        sample = FrameSample(0, 0.0, rgb, rgb[:36, :64], detail=rgb)
        t0 = time.perf_counter()
        found = faces.measure(sample)
        times.append(time.perf_counter() - t0)
        assert found is not None
        tp += min(found["count"], item["faces"])
        fp += max(0, found["count"] - item["faces"])
        fn += max(0, item["faces"] - found["count"])
        if "shot_scale" in item:
            scale_n += 1
            scale_ok += shot_scale(found["largest"] if found["count"] else None) == \
                item["shot_scale"]
    return {"frames": len(truth), "faces": tp + fn, "recall": tp / max(1, tp + fn),
            "precision": tp / max(1, tp + fp), "scale_agreement": scale_ok / max(1, scale_n),
            "scale_frames": scale_n, "ms_per_frame": 1000 * statistics.median(times)}


# -- text ---------------------------------------------------------------------------------------
FONTS = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
         "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
         "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf"]


def _random_words(rng: np.random.Generator) -> str:
    words = []
    for _ in range(int(rng.integers(1, 4))):
        letters = string.ascii_letters + string.digits
        words.append("".join(rng.choice(list(letters), int(rng.integers(3, 9)))))
    return " ".join(words)


def bench_text(clips: Path, n: int) -> dict[str, Any]:
    rng = np.random.default_rng(14)
    sources = sorted(p for p in clips.iterdir() if p.suffix in (".mp4", ".avi"))
    fonts = [f for f in FONTS if Path(f).is_file()]
    from vidscene.attributes._text import GATE
    from vidscene.attributes._text_present import TextPresent

    gate = TextPresent()
    found_n = gated = found_gated = 0
    errors, times = [], []
    for i in range(n):
        clip = sources[i % len(sources)]
        base = Image.fromarray(fit(frame_at(clip, 1.0), 480)).convert("RGB")
        truth = _random_words(rng)
        size = int(rng.integers(18, 40))  # readable at 480 px: 18 px and up
        font = (ImageFont.truetype(fonts[i % len(fonts)], size) if fonts
                else ImageFont.load_default(size=size))
        draw = ImageDraw.Draw(base)
        w, h = base.size
        box = draw.textbbox((0, 0), truth, font=font)
        x = int(rng.integers(0, max(1, w - (box[2] - box[0]) - 4)))
        y = int(rng.integers(0, max(1, h - (box[3] - box[1]) - 4)))
        light = bool(rng.integers(0, 2))
        fill = tuple(int(v) for v in (rng.integers(200, 256, 3) if light
                                      else rng.integers(0, 50, 3)))
        outline = (0, 0, 0) if light else (255, 255, 255)
        draw.text((x, y), truth, font=font, fill=fill, stroke_width=max(1, size // 12),
                  stroke_fill=outline)
        t0 = time.perf_counter()
        read = read_text(np.asarray(base))
        times.append(time.perf_counter() - t0)
        cer = min(1.0, character_error_rate(_closest(read["lines"], truth), truth))
        small = np.asarray(base.resize((224, round(224 * base.height / base.width))))
        passed = gate.measure(FrameSample(0, 0.0, small, small[:36, :64])) >= GATE
        gated += passed
        found_n += cer < 0.5
        found_gated += cer < 0.5 and passed
        errors.append(cer)
    return {"samples": n, "recall": found_n / n, "gate_pass": gated / n,
            "recall_gated": found_gated / n, "cer_mean": float(np.mean(errors)),
            "cer_median": float(np.median(errors)), "ms_per_frame": 1000 * statistics.median(times)}


def _closest(lines: list[Any], truth: str) -> str:
    """The lines read that best match the rendered string (others are the clip's own text)."""
    if not lines:
        return ""
    candidates = [line[0] for line in lines] + [" ".join(line[0] for line in lines)]
    return min(candidates, key=lambda c: character_error_rate(c, truth))


def bench_text_present(clips: Path, n: int) -> dict[str, Any]:
    """The learned ``text_present`` against the OCR detector it stands in for, on frames of
    the clips held out of its training: each frame with (half of them) or without random
    text rendered in this benchmark's fonts; truth: rendered, or the OCR reads text there."""
    from vidscene.attributes._text_present import TextPresent
    from vidscene.train.text_present import HELD_OUT

    rng = np.random.default_rng(21)
    fonts = [f for f in FONTS if Path(f).is_file()]
    attribute = TextPresent()
    agree = tp = fp = fn = tn = 0
    learned_ms, ocr_ms = [], []
    for i in range(n):
        clip = clips / HELD_OUT[i % len(HELD_OUT)]
        with av.open(str(clip)) as c:
            duration = float(c.duration or 1e6) / 1e6
        frame = fit(frame_at(clip, float(rng.uniform(0, max(0.1, duration - 0.5)))), 480)
        base = Image.fromarray(frame).convert("RGB")
        rendered = bool(rng.integers(0, 2))
        if rendered:
            size = int(rng.integers(18, 48))
            font = ImageFont.truetype(fonts[i % len(fonts)], size) if fonts else \
                ImageFont.load_default(size=size)
            draw = ImageDraw.Draw(base)
            draw.text((int(rng.integers(0, 200)), int(rng.integers(0, base.height - size))),
                      _random_words(rng), font=font, fill=(255, 255, 255),
                      stroke_width=2, stroke_fill=(0, 0, 0))
        big = np.asarray(base)
        t0 = time.perf_counter()
        ocr = bool(read_text(big)["lines"])
        ocr_ms.append(1000 * (time.perf_counter() - t0))
        small = np.asarray(base.resize((224, round(224 * base.height / base.width))))
        t0 = time.perf_counter()
        p = attribute.measure(FrameSample(0, 0.0, small, small[:36, :64]))
        learned_ms.append(1000 * (time.perf_counter() - t0))
        truth, said = rendered or ocr, p >= 0.5
        agree += said == ocr
        tp += truth and said
        fp += said and not truth
        fn += truth and not said
        tn += not truth and not said
    return {"frames": n, "accuracy": (tp + tn) / n, "recall": tp / max(1, tp + fn),
            "precision": tp / max(1, tp + fp), "agreement_with_ocr": agree / n,
            "ms_per_frame": statistics.median(learned_ms[1:] or learned_ms),
            "ocr_ms_per_frame": statistics.median(ocr_ms), "model": attribute.model}


# -- audio --------------------------------------------------------------------------------------
def ebur128(path: Path) -> float | None:
    r = subprocess.run([FFMPEG, "-hide_banner", "-nostats", "-i", str(path), "-vn", "-af",
                        "ebur128", "-f", "null", "-"], capture_output=True, text=True)
    found = re.findall(r"I:\s+(-?[\d.]+) LUFS", r.stderr)
    return float(found[-1]) if found else None


def analyse(path: Path, attributes: str, db: Path) -> tuple[dict[str, Any], float]:
    out = db.with_suffix(".json")
    t0 = time.perf_counter()
    r = subprocess.run([str(BIN / "vidscene"), "analyze", str(path), "--db", str(db),
                        "--json", str(out), "-q", "--force", "--attributes", attributes],
                       capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"analyze {path.name} failed: {r.stderr[-800:]}")
    return json.loads(out.read_text()), seconds


def bench_loudness(clips: Path, work: Path) -> dict[str, Any]:
    from vidscene.video import read_audio

    rows = []
    for clip in sorted(clips.iterdir()):
        if read_audio(clip) is None:
            continue
        reference = ebur128(clip)
        doc, _ = analyse(clip, "audio", work / "loud.db")
        ours = doc["attributes"].get("loudness_lufs")
        if reference is None or reference <= -69.9:  # silent: no integrated loudness exists
            rows.append({"clip": clip.name, "ffmpeg": reference, "ours": ours,
                         "silent": True, "ok": ours is None})
            continue
        rows.append({"clip": clip.name, "ffmpeg": reference, "ours": ours,
                     "diff": None if ours is None else round(ours - reference, 2),
                     "ok": ours is not None and abs(ours - reference) <= 0.5})
    return {"clips": rows, "within_0.5": sum(r["ok"] for r in rows), "n": len(rows)}


SENTENCES = ["The archive keeps every hour of the evening news",
             "Tomorrow the weather turns cold in the north",
             "Please stand clear of the closing doors",
             "Our reporter spoke to the crowd outside the station",
             "The match ended two goals to one after extra time"]


def _wav(path: Path) -> np.ndarray:
    import wave

    with wave.open(str(path), "rb") as f:
        raw = np.frombuffer(f.readframes(f.getnframes()), "<i2").astype(np.float64) / 32768
        rate = f.getframerate()
        mono = raw.reshape(-1, f.getnchannels()).mean(axis=1)
    return np.interp(np.arange(int(len(mono) * 16000 / rate)) * rate / 16000,
                     np.arange(len(mono)), mono)


def _write_wav(path: Path, x: np.ndarray) -> None:
    import wave

    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(16000)
        f.writeframes((np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def bench_speech(clips: Path, work: Path) -> dict[str, Any]:
    rng = np.random.default_rng(7)
    rate, seconds = 16000, 30.0
    background = clips / "vtest.avi"  # any dev clip for the picture
    results = []
    for k in range(3):
        track = np.zeros(int(seconds * rate))
        t = np.arange(len(track)) / rate
        # Music: a slow chord progression under everything from 12 s, at a lower level.
        for i, root in enumerate((220, 262, 196, 247)):
            a, b = int((12 + 4.5 * i) * rate), int((16.5 + 4.5 * i) * rate)
            for ratio in (1, 1.25, 1.5):
                track[a:b] += 0.05 * np.sin(2 * np.pi * root * ratio * t[a:b])
        track += rng.normal(0, 0.003 * (k + 1), len(track))  # hiss, louder each round
        truth = []
        at = 1.0 + k
        for sentence in SENTENCES:
            wav = work / "s.wav"
            subprocess.run([ESPEAK, "-w", str(wav), "-s", str(140 + 15 * k), sentence],
                           check=True, capture_output=True)
            speech = _wav(wav)
            # The speech's own extent: from its first to its last sound above the hiss.
            loud = np.flatnonzero(np.abs(speech) > 0.02)
            speech = speech[loud[0]:loud[-1] + 1]
            a = int(at * rate)
            if a + len(speech) >= len(track):
                break
            track[a:a + len(speech)] += 0.5 * speech
            truth.append((at, at + len(speech) / rate))
            at += len(speech) / rate + float(rng.uniform(1.0, 3.0))
        _write_wav(work / "mix.wav", track)
        video = work / f"speech-{k}.mp4"
        subprocess.run([FFMPEG, "-v", "error", "-y", "-stream_loop", "-1", "-i", str(background),
                        "-i", str(work / "mix.wav"), "-map", "0:v", "-map", "1:a", "-t",
                        str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                        "-b:a", "128k", str(video)], check=True)
        doc, _ = analyse(video, "audio", work / "speech.db")
        found = [(s["start_time"], s["end_time"]) for s in doc["speech"]]
        p, r, f1 = segment_frame_f1(found, truth, seconds)
        results.append({"round": k, "segments": len(truth), "found": len(found),
                        "precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3)})
    return {"rounds": results, "f1_median": statistics.median(r["f1"] for r in results)}


# -- camera -------------------------------------------------------------------------------------
MOVES: dict[str, tuple[float, float, float]] = {
    "pan_right": (5.0, 0, 1), "pan_left": (-5.0, 0, 1), "tilt_down": (0, 4.0, 1),
    "tilt_up": (0, -4.0, 1), "zoom_in": (0, 0, 1.008), "zoom_out": (0, 0, 1 / 1.008),
    "static": (0, 0, 1), "handheld": (0, 0, 1)}


def _view(picture: Image.Image, dx: float, dy: float, zoom: float) -> np.ndarray:
    w, h = picture.size  # the camera sees a third of the still's width at zoom 1
    cw, ch = w / 3 / zoom, h / 3 / zoom
    cx, cy = w / 2 + dx, h / 2 + dy
    return np.asarray(picture.resize((320, 180), Image.Resampling.BILINEAR,
                                     box=(cx - cw / 2, cy - ch / 2, cx + cw / 2, cy + ch / 2)))


def bench_camera(clips: Path) -> dict[str, Any]:
    rng = np.random.default_rng(3)
    sources = [("testvideo.mp4", 3.0), ("cockatoo.mp4", 2.0), ("issue-195-aspect-ratio.mp4", 9.0),
               ("vtest.avi", 5.0), ("short_hamilton_clip.mp4", 2.0), ("bikes.mp4", 2.0),
               ("goldeneye-vfr-drop3.mp4", 4.0), ("gradio_world.mp4", 3.0)]
    confusion: dict[str, dict[str, int]] = {}
    times = []
    for name, t in sources:
        picture = Image.fromarray(frame_at(clips / name, t)).resize((1440, 810))
        for label, (dx, dy, z) in MOVES.items():
            motions = []
            for k in range(6):  # six sampled frames of a shot, 0.5 s apart at 25 fps
                x, y, s = dx * 12 * k, dy * 12 * k, z ** (12 * k)
                jx, jy = (rng.normal(0, 4, 2) if label == "handheld" else (0.0, 0.0))
                before = _view(picture, x, y, s)
                after = _view(picture, x + dx + jx, y + dy + jy, s * z)
                t0 = time.perf_counter()
                m = frame_motion(before, after, 1 / 25)
                times.append(time.perf_counter() - t0)
                if m is not None:
                    motions.append(m)
            got = classify_motion(motions)[0] if motions else "none"
            confusion.setdefault(label, {}).setdefault(got, 0)
            confusion[label][got] += 1
    total = sum(sum(v.values()) for v in confusion.values())
    right = sum(v.get(k, 0) for k, v in confusion.items())
    return {"shots": total, "accuracy": right / total, "confusion": confusion,
            "ms_per_frame": 1000 * statistics.median(times)}


# -- cues ---------------------------------------------------------------------------------------
def bench_cues(clips: Path, work: Path) -> dict[str, Any]:
    """bars 0-3 s, then the clip, black 8-9.5 s, the clip, a freeze 14-16.5 s, the clip."""
    base = clips / "issue-195-aspect-ratio.mp4"
    video = work / "cues.mp4"
    size = "704x576"
    graph = (
        f"smptebars=size={size}:rate=25:duration=3[bars];"
        f"[0:v]trim=0:5,setpts=PTS-STARTPTS,fps=25,scale={size},setsar=1[a];"
        f"color=black:size={size}:rate=25:duration=1.5[black];"
        f"[0:v]trim=6:9.5,setpts=PTS-STARTPTS,fps=25,scale={size},setsar=1[b];"
        f"[0:v]trim=10:10.04,setpts=PTS-STARTPTS,fps=25,scale={size},setsar=1,"
        f"loop=loop=62:size=1:start=0,setpts=N/25/TB[freeze];"
        f"[0:v]trim=12:16,setpts=PTS-STARTPTS,fps=25,scale={size},setsar=1[c];"
        f"[bars][a][black][b][freeze][c]concat=n=6:v=1:a=0[out]")
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(base), "-filter_complex", graph,
                    "-map", "[out]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt",
                    "yuv420p", str(video)], check=True)
    truth = [("color_bars", 0.0, 3.0), ("black_frames", 8.0, 9.5), ("freeze_frame", 13.0, 15.52)]
    doc, _ = analyse(video, "cues", work / "cues.db")
    rows = []
    for kind, a, b in truth:
        cands = [c for c in doc["cues"] if c["type"] == kind]
        best = min(cands, key=lambda c: abs(c["start_time"] - a) + abs(c["end_time"] - b),
                   default=None)
        err = (None if best is None
               else round(max(abs(best["start_time"] - a), abs(best["end_time"] - b)), 3))
        rows.append({"type": kind, "truth": [a, b],
                     "found": None if best is None else [best["start_time"], best["end_time"]],
                     "error_s": err, "ok": err is not None and err <= 0.5})
    return {"cues": rows, "found": sum(r["ok"] for r in rows), "n": len(rows),
            "all_found": [c["type"] for c in doc["cues"]]}


# -- cost ---------------------------------------------------------------------------------------
def bench_cost(clips: Path, work: Path, repeats: int, baseline: str | None = None
               ) -> dict[str, Any]:
    """``baseline``: a git revision whose default analysis (the pixel statistics, run from a
    worktree of that revision, with the process environment it would get) is timed in the
    same rounds, as "the time before" in the issue's sense."""
    import speed

    long = _dataset.CACHE_DIR / speed.LONG_NAME
    if not long.is_file():
        speed.build_long(clips, long, log)
    video = work / "speed-720p-sound.mp4"
    # The 720p composite with a soundtrack (the clips' own audio would be partly missing):
    # speech-like noise bursts over music, so the audio attribute does all its work.
    subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(long), "-f", "lavfi", "-i",
                    "sine=frequency=220:sample_rate=48000,volume=0.2", "-f", "lavfi", "-i",
                    "anoisesrc=color=pink:amplitude=0.1:sample_rate=48000", "-filter_complex",
                    "[1:a][2:a]amix=inputs=2[a]", "-map", "0:v", "-map", "[a]", "-c:v", "copy",
                    "-c:a", "aac", "-ac", "2", "-shortest", str(video)], check=True)
    sets = {"pixel statistics (before)": PIXEL_STATS, "default": "default", "all": "all"}
    prefix: dict[str, list[str]] = {label: [] for label in sets}
    tree = work / "baseline"
    if baseline:
        subprocess.run(["git", "-C", str(HERE.parent), "worktree", "add", "--detach", str(tree),
                        baseline], check=True, capture_output=True)
        old = f"pixel statistics, code at {baseline}"
        sets[old] = PIXEL_STATS
        prefix[old] = ["env", f"PYTHONPATH={tree / 'src'}"]
    labels = list(sets)
    walls: dict[str, list[float]] = {k: [] for k in labels}
    peaks: dict[str, list[float]] = {k: [] for k in labels}
    ratios: dict[str, list[float]] = {k: [] for k in labels}
    # Interleaved rounds (each round runs every set once, in a rotated order) and the median
    # of each round's ratios: this machine's speed drifts by 20 % within minutes, which a
    # set-after-set median turns into a ratio error of the same size.
    for r in range(repeats):
        order = labels[r % len(labels):] + labels[:r % len(labels)]
        for label in order:
            # Its own child under GNU time: wall time and the command's own peak memory.
            child = speed.run_checked(label, [
                *prefix[label], str(BIN / "vidscene"), "analyze", str(video), "--db",
                str(work / f"cost-{labels.index(label)}.db"), "-q", "--force", "--attributes",
                sets[label]], video)
            walls[label].append(child.seconds)
            peaks[label].append(child.max_rss_mib)
        for label in labels:
            ratios[label].append(walls[label][-1] / walls[labels[0]][-1])
        log(f"cost round {r + 1}: " + ", ".join(
            f"{k} {walls[k][-1]:.2f} s" for k in labels))
    rows = {label: {"median_s": statistics.median(walls[label]), "runs": walls[label],
                    "ratios": [round(x, 3) for x in ratios[label]],
                    "ratio": statistics.median(ratios[label]),
                    "peak_rss_mib": max(peaks[label])} for label in labels}
    if baseline:
        subprocess.run(["git", "-C", str(HERE.parent), "worktree", "remove", "--force",
                        str(tree)], check=False, capture_output=True)
        old_walls = walls[labels[-1]]
        for label in labels:
            rows[label]["ratio_to_baseline"] = statistics.median(
                w / b for w, b in zip(walls[label], old_walls, strict=True))
    with av.open(str(video)) as c:
        frames = c.streams.video[0].frames
        duration = float(c.duration or 0) / 1e6
    return {"video": {"frames": frames, "duration_s": duration, "size": "1280x720"}, "sets": rows}


def render(doc: dict[str, Any]) -> str:
    f, t, lo, sp, cam, cues, cost = (doc[k] for k in ("faces", "text", "loudness", "speech",
                                                       "camera", "cues", "cost"))
    tp = doc["text_present"]
    lines = [_report.provenance_md(doc["provenance"])]
    dates = sorted(set((doc.get("measured_at") or {}).values()))
    if len(dates) > 1:
        lines.append("- Parts measured at: " + ", ".join(
            f"{k} {v}" for k, v in doc["measured_at"].items()))
    lines.append("")
    lines.append(_report.table(
        ["attribute", "reference", "measured", "target", "cost"],
        [["faces", f"{f['faces']} faces on {f['frames']} dev-clip frames, by inspection",
          f"recall {f['recall']:.2f}, precision {f['precision']:.2f}; shot scale "
          f"{f['scale_agreement']:.2f} on {f['scale_frames']} clear-cut frames",
          "recall ≥ 0.9 at precision ≥ 0.9", f"{f['ms_per_frame']:.1f} ms/frame (320 px)"],
         ["text", f"{t['samples']} random strings rendered over dev-clip frames",
          f"recall {t['recall']:.2f}, CER mean {t['cer_mean']:.3f} (median "
          f"{t['cer_median']:.3f}); with the learned gate in front (as the attribute "
          f"runs): {t['gate_pass']:.2f} read, recall {t['recall_gated']:.2f}",
          "recall ≥ 0.9, CER ≤ 0.1",
          f"{t['ms_per_frame']:.0f} ms/read (boxes at 352 px, read at 480)"],
         ["text_present (learned, 2:4)", f"{tp['frames']} frames of held-out clips, half "
          "with rendered text; truth: rendered or read by the OCR",
          f"accuracy {tp['accuracy']:.2f} (recall {tp['recall']:.2f}, precision "
          f"{tp['precision']:.2f}); agrees with the OCR on {tp['agreement_with_ocr']:.2f}",
          "", f"{tp['ms_per_frame']:.1f} ms/frame vs the OCR's {tp['ocr_ms_per_frame']:.0f}"],
         ["loudness", f"FFmpeg ebur128 on {lo['n']} dev-clip soundtracks",
          f"{lo['within_0.5']}/{lo['n']} within 0.5 LU", "within 0.5 LU", ""],
         ["speech", "espeak-ng speech over music, hiss and silence (3 mixes, 30 s)",
          f"frame F1 median {sp['f1_median']:.3f} "
          f"({', '.join(str(r['f1']) for r in sp['rounds'])})", "F1 ≥ 0.9", ""],
         ["camera", f"{cam['shots']} synthetic shots over dev-clip frames (8 classes)",
          f"accuracy {cam['accuracy']:.2f}", "≥ 0.9", f"{cam['ms_per_frame']:.1f} ms/frame"],
         ["cues", "colour bars, black, a freeze inserted into a dev clip",
          f"{cues['found']}/{cues['n']} within 0.5 s (errors "
          f"{', '.join(str(r['error_s']) for r in cues['cues'])} s)", "±0.5 s", ""]]))
    lines += ["", "Loudness per clip (LUFS, ours − FFmpeg): " + ", ".join(
        f"{r['clip']} {r.get('diff', 'silent: none' if r.get('silent') else '?')}"
        for r in lo["clips"]), ""]
    lines.append("Camera confusion (truth → found): " + "; ".join(
        f"{k}: " + ", ".join(f"{g} {n}" for g, n in v.items())
        for k, v in cam["confusion"].items()))
    lines += ["", f"Whole analysis, `vidscene analyze` of the 720p composite with a soundtrack "
              f"({cost['video']['frames']} frames, {cost['video']['duration_s']:.0f} s), "
              f"{len(next(iter(cost['sets'].values()))['runs'])} interleaved rounds (each "
              "runs every set once); the ratio is the median of the rounds' ratios, its "
              "range in brackets:", ""]
    base_label = next((k for k in cost["sets"] if k.startswith("pixel statistics, code at")),
                      None)
    lines.append(_report.table(
        ["attributes", "wall (median)", "× the pixel statistics", "target", "peak memory"]
        + ([f"× the time before ({base_label.split(' at ')[1]}'s default)"]
           if base_label else []),
        [[k, f"{v['median_s']:.2f} s", f"{v['ratio']:.2f}×" + (
            f" ({min(v['ratios']):.2f}–{max(v['ratios']):.2f})"
            if v.get("ratios") and k != "pixel statistics (before)" else ""),
          {"default": "≤ 1.2×", "all": "≤ 1.5×"}.get(k, ""),
          f"{v['peak_rss_mib']:.0f} MiB" if v.get("peak_rss_mib") else "—"]
         + ([f"{v['ratio_to_baseline']:.2f}×"] if base_label else [])
         for k, v in cost["sets"].items()]))
    history = doc.get("cost_history") or []
    if history:
        lines += ["", "Earlier runs, set after set (median of 3 each, default / all): " + "; ".join(
                      f"{h['date']}: {h['default']:.2f}× / {h['all']:.2f}×"
                      + (f" ({h['code']})" if h.get("code") else "") for h in history)
                  + ". This machine's run-to-run spread is larger than the margin to 1.2×."]
    lines += ["", "Notes:", "",
              "- Faces: the annotation rule (eyes and mouth visible, about 4 % of the frame "
              "high) was written before looking at the detector's output. The detector's "
              "confidence threshold (0.8) was chosen on other hand-counted frames "
              "(`bench/faces_tuning.json`), not on these; at 0.6 these frames give recall "
              "1.00 at precision 0.85 (dim background faces and a pair of hands).",
              "- Camera: the handheld and static thresholds were chosen while looking at this "
              "synthetic set and the demo, so its accuracy is not an independent test.",
              "- Text: reading (RapidOCR: boxes found at 352 px, read at 480 px) is the bulk "
              "of `all`'s extra time on this 2-core machine; the learned gate skips frames "
              "it is sure have no text, at the recall shown.",
              "- The first row of the cost table is the attribute set before these attributes "
              "(`--attributes brightness,contrast,colourfulness,sharpness,motion`)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", type=Path, default=None)
    parser.add_argument("--quick", action="store_true", help="fewer samples and one cost run")
    parser.add_argument("--baseline", default=None, metavar="REV",
                        help="also time the default analysis of git revision REV (from a "
                        "worktree) in the same rounds, and give each set's time against it")
    parser.add_argument("--only", default=None, help="comma-separated parts to measure again "
                        "(faces, text, text_present, loudness, speech, camera, cues, cost); "
                        "the others are kept from the last run's bench/out/attributes.json")
    args = parser.parse_args()
    clips = _dataset.locate_clips(args.clips)
    if clips is None:
        raise SystemExit("development clips not found (--clips DIR)")
    info = {"machine": _report.machine(), "date": _report.now(), "command": _report.command(),
            "versions": _report.versions(["yuface", "rapidocr", "onnxruntime", "silero-vad",
                                          "opencv-python-headless"])}
    out = _report.OUT_DIR / "attributes.json"
    doc: dict[str, Any] = (json.loads(out.read_text()) if args.only and out.is_file() else {})
    for name in ("faces", "text", "text_present", "loudness", "speech", "camera", "cues",
                 "cost"):  # parts kept from an earlier run keep that run's date
        if name in doc:
            doc.setdefault("measured_at", {}).setdefault(name, doc["provenance"]["date"])
    wanted = set(args.only.split(",")) if args.only else None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        parts: dict[str, Any] = {
            "faces": lambda: bench_faces(clips),
            "text": lambda: bench_text(clips, 12 if args.quick else 40),
            "text_present": lambda: bench_text_present(clips, 60 if args.quick else 200),
            "loudness": lambda: bench_loudness(clips, work),
            "speech": lambda: bench_speech(clips, work),
            "camera": lambda: bench_camera(clips),
            "cues": lambda: bench_cues(clips, work),
            "cost": lambda: bench_cost(clips, work, 1 if args.quick else 5, args.baseline)}
        for name, measure in parts.items():
            if wanted is None or name in wanted or name not in doc:
                log(name)
                doc[name] = measure()
                doc.setdefault("measured_at", {})[name] = info["date"]
    doc["provenance"] = info
    _report.publish(SECTION, out, doc, render(doc), not args.quick, log)


if __name__ == "__main__":
    main()
