"""Soundtracks for the scene model's training material and for the long benchmark films.

Every place of a scene composition gets a *bed*, the sound of that place: a development clip
with audio keeps its own soundtrack (real sound), every other place one of a set of procedural
beds (room tone, traffic-like noise, two voices talking, music, quiet), rendered at 16 kHz
and measured with the pipeline's own :func:`vidscene.scenes._sound.sound_blocks`.

A composition's sound is planned scene by scene (:func:`plan_sound`), as films are mixed:

- inside a scene the scene's bed runs on across the picture cuts (dialogue and room tone
  continue over a shot / reverse shot and over cutaways);
- at a scene change the new scene's bed starts, often a second early or late (J and L cuts);
  sometimes the sound carries on across the change (a music bridge: no change to hear);
- inside a scene the sound is now and then cut to another moment of the bed, or music comes
  in over it.

So a sound change is evidence of a scene change, not proof, and a video can have no sound at
all. Training composes the plan from the beds' 100 ms blocks (:func:`window_sound_blocks`);
a benchmark film renders it as audio samples (:func:`film_soundtrack`): the same plan either
way. Speech comes from ``espeak-ng`` (a Debian package); without it the dialogue beds are
left out.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vidscene.scenes._sound import BLOCK_S, sound_blocks

__all__ = ["BED_KINDS", "RATE", "SoundBank", "SoundSegment", "build_sound_bank",
           "film_soundtrack", "place_beds", "plan_sound", "render_bed", "window_sound",
           "window_sound_blocks"]

RATE = 16_000
BED_SECONDS = 90.0
BED_KINDS = ("room", "street", "dialogue", "music", "quiet")
_KIND_P = (0.22, 0.18, 0.32, 0.2, 0.08)
BRIDGE_P = 0.15
"""Chance that the sound carries on across a scene change."""
OFFSET_P, OFFSET_S = 0.35, 1.5
"""Chance that the sound change leads or lags the picture cut, and by at most how much."""
EDIT_P = 0.04
"""Chance that a cut inside a scene also cuts the sound to another moment of the bed."""
MUSIC_IN_P = 0.03
"""Chance that music comes in over the scene at a cut inside it (to the scene's end)."""
SILENT_P = 0.2
"""Share of training windows without sound (the model must work on silent videos)."""

_SENTENCES = (
    "where were you last night", "I told you not to come back here", "the train leaves at six",
    "nobody knows what happened", "we should go before it gets dark", "can you hear me",
    "that is not what I said", "look at the map again", "she will be here any minute",
    "I need more time", "the door was open when I arrived", "do you remember this place",
    "we have to finish it tonight", "it was raining all day", "tell me the truth",
    "this is the last time", "they found the car by the river", "I thought you knew",
    "give me the keys", "what are you doing here", "the meeting starts in an hour",
    "we lost everything", "keep your voice down", "I have never seen it before")
_TRAIN_VOICES = ("en-us", "en+m3", "en+f2", "en+f4", "en-gb-scotland", "de", "en+m7")
_HELD_OUT_VOICES = ("en-gb", "en+f3", "fr", "en-029", "es")


@dataclass
class SoundBank:
    """Beds as 100 ms band-power blocks: ``blocks[i]`` ``(n_i, bands)``, ``kinds[i]`` one of
    :data:`BED_KINDS` (``"clip"`` for a clip's own soundtrack), ``names[i]``."""

    blocks: list[np.ndarray]
    kinds: list[str]
    names: list[str]

    def of_kind(self, kind: str) -> list[int]:
        return [i for i, k in enumerate(self.kinds) if k == kind]

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, blocks=np.concatenate(self.blocks),
                 lengths=np.array([len(b) for b in self.blocks]),
                 meta=np.array(json.dumps({"kinds": self.kinds, "names": self.names})))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> SoundBank:
        with np.load(path) as data:
            edges = np.concatenate([[0], np.cumsum(data["lengths"])])
            flat = data["blocks"]
            meta = json.loads(str(data["meta"]))
        return cls([flat[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)],
                   meta["kinds"], meta["names"])


# -- procedural beds ------------------------------------------------------------------------------


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)


def _at_level(x: np.ndarray, dbfs: float) -> np.ndarray:
    return (x * (10 ** (dbfs / 20) / _rms(x))).astype(np.float32)


def _coloured_noise(rng: np.random.Generator, n: int, slope: float) -> np.ndarray:
    """Noise whose power falls by ``slope`` (0 white, 1 pink, 2 brown) per frequency decade."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / RATE), 20.0)
    return np.fft.irfft(spectrum * f ** (-slope / 2), n).astype(np.float32)


def _speech(voice: str, text: str, pitch: int, speed: int) -> np.ndarray | None:
    """One utterance by ``espeak-ng`` at 16 kHz, or ``None`` when it is not installed."""
    if shutil.which("espeak-ng") is None:
        return None
    out = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-p", str(pitch), "-s",
                          str(speed), text], capture_output=True, timeout=30, check=False)
    if out.returncode != 0 or not out.stdout:
        return None
    with wave.open(io.BytesIO(out.stdout)) as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    x = np.frombuffer(frames, np.int16).astype(np.float32) / 32768.0
    t = np.arange(int(len(x) * RATE / rate)) * (rate / RATE)
    return np.interp(t, np.arange(len(x)), x).astype(np.float32)


def _music(rng: np.random.Generator, n: int) -> np.ndarray:
    """A chord progression with a bass line and, sometimes, a hi-hat: tempo, key, timbre and
    rhythm drawn per bed."""
    out = np.zeros(n, np.float32)
    beat = 60.0 / rng.uniform(60, 150)
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    scale = (0, 2, 4, 5, 7, 9, 11) if rng.random() < 0.6 else (0, 2, 3, 5, 7, 8, 10)
    progression = [int(d) for d in rng.choice(7, size=4)]
    harmonics = rng.uniform(0.2, 0.8) ** np.arange(1, 6)
    decay = rng.uniform(1.5, 6.0)
    hat = rng.random() < 0.5
    step = int(beat * RATE)
    t = np.arange(step) / RATE
    envelope = np.exp(-decay * t)
    for k, start in enumerate(range(0, n - step, step)):
        degree = progression[(k // 4) % 4]
        notes = [scale[(degree + j) % 7] + 12 * ((degree + j) // 7) for j in (0, 2, 4)]
        tone = np.zeros(step, np.float32)
        for semis in notes:
            f = root * 2 * 2 ** (semis / 12)
            tone += sum(a * np.sin(2 * np.pi * f * (h + 1) * t) for h, a in enumerate(harmonics))
        bass = np.sin(2 * np.pi * root / 2 * 2 ** (scale[degree] / 12) * t) * 1.5
        out[start:start + step] += (tone + bass) * envelope
        if hat:
            burst = rng.standard_normal(step) * np.exp(-60 * t) * 0.5
            out[start:start + step] += np.diff(burst, prepend=0.0).astype(np.float32)
    return out


def render_bed(kind: str, seed: int, voices: Sequence[str], seconds: float = BED_SECONDS
               ) -> np.ndarray:
    """One procedural bed of ``kind`` (:data:`BED_KINDS`), ``seconds`` long at 16 kHz."""
    rng = np.random.default_rng([seed, 0x534E44])  # "SND"
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    tone = _coloured_noise(rng, n, float(rng.uniform(0.5, 2.0)))
    tone *= (1 + rng.uniform(0, 0.5) * np.sin(2 * np.pi * rng.uniform(0.03, 0.4) * t
                                              + rng.uniform(0, 6.3))).astype(np.float32)
    if rng.random() < 0.2:  # mains hum
        tone += sum(0.5 ** k * np.sin(2 * np.pi * 50 * (k + 1) * t) for k in range(4)) * 0.05
    room_level = {"room": (-50, -35), "street": (-34, -22), "dialogue": (-55, -38),
                  "music": (-60, -45), "quiet": (-72, -58)}[kind]
    mix = _at_level(tone, float(rng.uniform(*room_level)))
    if kind == "street":  # passing traffic: slow swells of brown noise
        swell = _coloured_noise(rng, n, 2.0) * np.clip(
            np.sin(2 * np.pi * rng.uniform(0.02, 0.1) * t + rng.uniform(0, 6.3)), 0, None)
        mix += _at_level(swell, float(rng.uniform(-30, -20)))
    if kind in ("room", "street") and rng.random() < 0.6:  # knocks, steps, doors
        events = np.zeros(n, np.float32)
        for at in rng.uniform(0, seconds - 0.5, size=int(seconds * rng.uniform(0.1, 0.6))):
            i = int(at * RATE)
            m = int(RATE * rng.uniform(0.05, 0.3))
            events[i:i + m] += rng.standard_normal(m) * np.exp(-np.arange(m) / (m / 4))
        mix += _at_level(events, float(rng.uniform(-38, -26)))
    if kind == "dialogue":
        speech = np.zeros(n, np.float32)
        cast = [(str(rng.choice(list(voices))), int(rng.integers(25, 75)),
                 int(rng.integers(140, 190))) for _ in range(2)]
        at, speaker = float(rng.uniform(0, 1)), 0
        while at < seconds:
            voice, pitch, speed = cast[speaker]
            line = _speech(voice, str(rng.choice(_SENTENCES)), pitch, speed)
            if line is None:
                break
            i = int(at * RATE)
            piece = line[:max(0, n - i)]
            speech[i:i + len(piece)] += piece
            at += len(line) / RATE + float(rng.uniform(0.15, 1.5))
            speaker = 1 - speaker if rng.random() < 0.8 else speaker
        if _rms(speech) > 1e-6:
            mix += _at_level(speech, float(rng.uniform(-28, -18)))
    if kind == "music" or (kind == "room" and rng.random() < 0.15):
        mix += _at_level(_music(rng, n), float(rng.uniform(-30, -16)))
    return np.clip(mix, -1.0, 1.0)


def _clip_audio(path: Path) -> np.ndarray | None:
    """A clip's own soundtrack (mono, 16 kHz), or ``None`` when it has none."""
    from vidscene.video import read_audio

    try:
        track = read_audio(path)
    except Exception:
        return None
    if track is None or track.duration < 2.0 or _rms(track.mono) < 1e-4:
        return None
    return np.asarray(track.mono, np.float32)


def sound_key(parts: dict[str, Any]) -> str:
    """A short hash naming a cached sound bank: its recipe and this module's source."""
    from vidscene.scenes import _sound

    blob = (json.dumps(parts, sort_keys=True).encode() + Path(__file__).read_bytes()
            + Path(_sound.__file__).read_bytes())
    return hashlib.sha256(blob).hexdigest()[:12]


def build_sound_bank(clips: Sequence[Path], beds: int, seed: int, *, held_out: bool,
                     progress: Callable[[int, int], None] | None = None) -> SoundBank:
    """The clips' own soundtracks (those that have one) and ``beds`` procedural beds (kinds
    drawn by :data:`_KIND_P`; held-out beds speak with other voices and other seeds)."""
    voices = _HELD_OUT_VOICES if held_out else _TRAIN_VOICES
    rng = np.random.default_rng([seed, 0x42454453, int(held_out)])  # "BEDS"
    blocks: list[np.ndarray] = []
    kinds: list[str] = []
    names: list[str] = []
    for clip in clips:
        audio = _clip_audio(clip)
        if audio is not None:
            blocks.append(sound_blocks(audio, RATE))
            kinds.append("clip")
            names.append(clip.name)
    for i in range(beds):
        kind = BED_KINDS[int(rng.choice(len(BED_KINDS), p=np.array(_KIND_P)))]
        bed_seed = int(rng.integers(2 ** 31))
        blocks.append(sound_blocks(render_bed(kind, bed_seed, voices), RATE))
        kinds.append(kind)
        names.append(f"{kind}:{bed_seed}")
        if progress:
            progress(i + 1, beds)
    return SoundBank(blocks, kinds, names)


# -- sound plans ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoundSegment:
    """From ``start`` to ``end`` (seconds of the composition), bed ``bed`` from its second
    ``offset`` on (wrapping round), ``gain_db`` louder; ``overlay`` segments add to what
    plays instead of replacing it."""

    start: float
    end: float
    bed: int
    offset: float
    gain_db: float = 0.0
    overlay: bool = False


def plan_sound(shot_seconds: Sequence[float], scene_ends: Sequence[int],
               scene_beds: Sequence[int], bed_seconds: Sequence[float],
               music_beds: Sequence[int], rng: np.random.Generator) -> list[SoundSegment]:
    """The sound of a composition (module doc): shots of ``shot_seconds``, ``scene_ends[i]``
    = 1 where a scene ends after shot ``i``, ``scene_beds[j]`` the bed of scene ``j``;
    ``music_beds`` what can come in over a scene."""
    cuts = np.concatenate([[0.0], np.cumsum(shot_seconds)])
    total = float(cuts[-1])
    starts = [0] + [i + 1 for i, e in enumerate(scene_ends[:-1]) if e]
    bounds = [*starts, len(shot_seconds)]
    # Where each scene's sound starts: at its first cut, or up to OFFSET_S before or after it.
    switch = [0.0]
    for j in range(1, len(starts)):
        at = float(cuts[bounds[j]])
        if rng.random() < OFFSET_P:
            room = 0.45 * min(at - float(cuts[bounds[j - 1]]), float(cuts[bounds[j + 1]]) - at)
            at += float(rng.uniform(-1, 1)) * min(OFFSET_S, room)
        switch.append(at)
    switch.append(total)
    segments: list[SoundSegment] = []
    main = -1  # index of the segment now playing (overlays aside)
    for j in range(len(starts)):
        a, b = switch[j], switch[j + 1]
        if main >= 0 and rng.random() < BRIDGE_P:  # the sound carries on across the change
            last = segments[main]
            segments[main] = SoundSegment(last.start, b, last.bed, last.offset, last.gain_db)
        else:
            bed = int(scene_beds[j])
            segments.append(SoundSegment(a, b, bed, float(rng.uniform(0, bed_seconds[bed])),
                                         float(rng.uniform(-4, 4))))
            main = len(segments) - 1
        for cut in cuts[bounds[j] + 1:bounds[j + 1]]:  # the scene's inner cuts
            cut = float(cut)
            if not a < cut < b:
                continue
            last = segments[main]
            if rng.random() < EDIT_P:  # the sound cut to another moment of the bed
                segments[main] = SoundSegment(last.start, cut, last.bed, last.offset,
                                              last.gain_db)
                segments.append(SoundSegment(cut, b, last.bed,
                                             float(rng.uniform(0, bed_seconds[last.bed])),
                                             last.gain_db))
                main = len(segments) - 1
            elif music_beds and rng.random() < MUSIC_IN_P:
                bed = int(music_beds[int(rng.integers(len(music_beds)))])
                segments.append(SoundSegment(cut, b, bed, float(rng.uniform(0, bed_seconds[bed])),
                                             float(rng.uniform(-8, 0)), overlay=True))
    return segments


def _render(segments: Sequence[SoundSegment], total: int, rate: float,
            source: Callable[[int], np.ndarray], power: bool) -> np.ndarray:
    """Lay ``segments`` on a timeline of ``total`` rows at ``rate`` rows a second; ``source``
    gives a bed's rows (samples, or band-power blocks when ``power``)."""
    out: np.ndarray | None = None
    for seg in segments:
        rows = source(seg.bed)
        if out is None:
            out = np.zeros((total, *rows.shape[1:]), np.float32)
        lo, hi = int(round(seg.start * rate)), min(int(round(seg.end * rate)), total)
        if hi <= lo or len(rows) == 0:
            continue
        index = (int(seg.offset * rate) + np.arange(hi - lo)) % len(rows)
        gain = 10 ** (seg.gain_db / (10 if power else 20))
        piece = rows[index] * gain
        if seg.overlay:
            out[lo:hi] += piece
        else:
            out[lo:hi] = piece
    return out if out is not None else np.zeros((total,), np.float32)


def window_sound_blocks(segments: Sequence[SoundSegment], seconds: float,
                        bank: SoundBank) -> np.ndarray:
    """The planned sound of a training window as band-power blocks (powers of overlaid beds
    add, as uncorrelated sounds do)."""
    return _render(segments, int(np.ceil(seconds / BLOCK_S)), 1 / BLOCK_S,
                   lambda bed: bank.blocks[bed], power=True)


def film_soundtrack(shot_seconds: Sequence[float], scene_ends: Sequence[int],
                    scene_places: Sequence[str], clips: dict[str, Path], seed: int,
                    beds: int = 24) -> np.ndarray:
    """A benchmark film's soundtrack (mono, 16 kHz): scenes of a clip with audio keep the
    clip's own sound, every other place gets one of ``beds`` held-out procedural beds (one
    per place, so a return to a place sounds like it), and the sound is planned as for
    training (:func:`plan_sound`). A place named ``"credits"`` (titles, end credits) is
    heard over music."""
    rng = np.random.default_rng([seed, 0x46534E44])  # "FSND"
    audio: list[np.ndarray] = []
    kinds: list[str] = []
    for i in range(beds):
        kind = BED_KINDS[i % len(BED_KINDS)]
        audio.append(render_bed(kind, seed * 1000 + i, _HELD_OUT_VOICES))
        kinds.append(kind)
    bed_of: dict[str, int] = {}
    music = [i for i, k in enumerate(kinds) if k == "music"]
    for place in dict.fromkeys(scene_places):
        clip = clips.get(place)
        own = _clip_audio(clip) if clip is not None else None
        if place == "credits" and music:  # titles and credits: over music
            bed_of[place] = music[int(rng.integers(len(music)))]
        elif own is not None:
            bed_of[place] = len(audio)
            audio.append(own)
            kinds.append("clip")
        else:
            bed_of[place] = int(rng.integers(beds))
    segments = plan_sound(shot_seconds, scene_ends, [bed_of[p] for p in scene_places],
                          [len(a) / RATE for a in audio], music, rng)
    total = int(np.ceil(float(np.sum(shot_seconds)) * RATE))
    return np.clip(_render(segments, total, RATE, lambda bed: audio[bed], power=False), -1, 1)


# -- training windows ----------------------------------------------------------------------------


def place_beds(place_names: Sequence[str], bank: SoundBank) -> np.ndarray:
    """The bed of each place: a clip's own soundtrack when the bank has it, music for credits,
    else a procedural bed picked by a stable hash of the place's name (so every scene of a
    place, and every return to it, sounds like that place)."""
    own = {name: i for i, (name, kind) in enumerate(zip(bank.names, bank.kinds, strict=True))
           if kind == "clip"}
    procedural = [i for i, k in enumerate(bank.kinds) if k != "clip"]
    music = bank.of_kind("music") or procedural
    out = np.zeros(len(place_names), np.int64)
    for p, name in enumerate(place_names):
        pool = music if name.startswith("procedural:credits:") else procedural
        digest = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)
        out[p] = own.get(name, pool[digest % len(pool)] if pool else 0)
    return out


def window_sound(shot_seconds: np.ndarray, ends: np.ndarray, shot_places: np.ndarray,
                 beds: np.ndarray, bank: SoundBank, rng: np.random.Generator) -> np.ndarray:
    """Per-shot sound features (:func:`vidscene.scenes.shot_sound_features`) of a training
    window: shots of ``shot_seconds``, scene ends ``ends``, each scene heard as the bed of the
    place of its first shot (``beds[place]``)."""
    from vidscene.scenes._sound import shot_sound_features

    starts = [0] + [i + 1 for i, e in enumerate(ends[:-1]) if e]
    scene_beds = [int(beds[shot_places[s]]) for s in starts]
    segments = plan_sound(shot_seconds.tolist(), ends.tolist(), scene_beds,
                          [len(b) * BLOCK_S for b in bank.blocks], bank.of_kind("music"), rng)
    cuts = np.concatenate([[0.0], np.cumsum(shot_seconds, dtype=np.float64)])
    blocks = window_sound_blocks(segments, float(cuts[-1]), bank)
    return shot_sound_features(blocks, cuts[:-1].tolist(), cuts[1:].tolist())
