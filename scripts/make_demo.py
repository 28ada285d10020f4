#!/usr/bin/env python
"""Build the bundled demo: ``examples/demo.mp4``, ``examples/demo.truth.json`` and
``examples/NOTICE``.

The demo is the first video a user runs vidscene on, so it is composed to be watched: segments
of permissively licensed development clips (BSD, MIT, Apache-2.0, CC0 only) at natural speed,
gentle crops and camera moves, no colour tricks. It is also a small labelled test: several
shots per clip make scenes, consecutive shots of one clip are real same-set cuts, and the
scenes are joined by cuts, dissolves, fades and a wipe, all known to the frame.

Usage::

    python scripts/make_demo.py [--clips ../shared/data/clips] [--out examples]

It takes about a minute of CPU; the same clips give the same frames.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidscene.train.synth import (
    ClipSource,
    GroundTruth,
    ShotPlan,
    find_clips_dir,
    is_permissive,
    read_manifest,
    render_video,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED = 20261128
FPS = 25.0
SIZE = (640, 360)
CRF = 23
PRESET = "slow"

CUT_FREE: dict[str, list[tuple[float, float]]] = {
    # Seconds of each clip free of the clip's own edits, found by inspection (with a margin),
    # so that every cut in the demo is one the truth knows about.
    "vtest.avi": [(0.0, 79.4)],
    "Megamind.avi": [(1.0, 4.0), (4.25, 6.35), (6.6, 8.25), (8.45, 11.2)],
    "cup.mp4": [(0.0, 8.05)],
    "box.mp4": [(0.0, 15.1)],
    "short_hamilton_clip.mp4": [(2.9, 6.9), (7.2, 9.1)],
    "cityCC0.mpg": [(0.0, 4.5), (4.8, 7.5)],
    "gradio_world.mp4": [(0.0, 29.9)],
    "bikes.mp4": [(1.35, 2.9), (3.2, 5.35), (5.6, 7.35), (7.6, 9.55)],
}


@dataclass(frozen=True)
class DemoShot:
    """One shot: ``frames`` of ``clip`` from ``start`` seconds, entered by ``transition``."""

    clip: str
    start: float
    frames: int
    transition: str = "cut"
    transition_frames: int = 0
    options: dict[str, Any] = field(default_factory=dict)
    zoom: tuple[float, float] = (1.0, 1.2)
    centre: tuple[float, float] | None = None


SCENES: list[list[DemoShot]] = [
    [  # a plaza seen from above: wide, then closer, then later
        DemoShot("vtest.avi", 3.0, 80, zoom=(1.0, 1.05)),
        DemoShot("vtest.avi", 28.0, 55, zoom=(1.6, 1.8), centre=(0.45, 0.25)),
        DemoShot("vtest.avi", 60.0, 60, zoom=(1.2, 1.4)),
    ],
    [  # an animated dinner conversation: the film's own shots, shortened
        DemoShot("Megamind.avi", 1.2, 65, "dissolve", 20, {"curve": "linear"}),
        DemoShot("Megamind.avi", 4.3, 50),
        DemoShot("Megamind.avi", 8.45, 48),
    ],
    [
        DemoShot("cup.mp4", 0.3, 70, "fade", 20, {"colour": "black", "middle": 0.5, "hold": 0.1}),
        DemoShot("cup.mp4", 4.3, 75, zoom=(1.1, 1.2), centre=(0.6, 0.5)),
    ],
    [
        DemoShot("box.mp4", 1.0, 70, "wipe", 16, {"style": "edge", "direction": "right",
                                                   "softness": 0.05}, centre=(0.6, 0.0)),
        DemoShot("box.mp4", 7.5, 65, zoom=(1.25, 1.35), centre=(0.7, 0.05)),
        DemoShot("box.mp4", 12.0, 55, centre=(0.6, 0.0)),
    ],
    [  # a singer on stage, then his audience
        DemoShot("short_hamilton_clip.mp4", 3.0, 85, "dissolve", 20, {"curve": "smooth"}),
        DemoShot("short_hamilton_clip.mp4", 7.25, 40),
    ],
    [  # towers, entered with a plain cut: a scene change needs no gradual transition
        DemoShot("cityCC0.mpg", 0.3, 70),
        DemoShot("cityCC0.mpg", 4.8, 45),
    ],
    [  # the night side of the Earth, turning: two views a quarter-minute apart
        DemoShot("gradio_world.mp4", 2.0, 75, "fade", 20, {"colour": "white", "middle": 0.5,
                                                            "hold": 0.1}),
        DemoShot("gradio_world.mp4", 16.0, 60, zoom=(1.4, 1.6)),
    ],
    [  # a city ride: the clip's own shots, shortened
        DemoShot("bikes.mp4", 3.25, 45, "dissolve", 16, {"curve": "linear"}),
        DemoShot("bikes.mp4", 5.65, 40),
        DemoShot("bikes.mp4", 7.65, 45),
    ],
]


def check_segments(shots: list[DemoShot]) -> None:
    """Refuse a plan whose segment (its frames plus the next transition's) crosses an edit."""
    for i, shot in enumerate(shots):
        outgoing = shots[i + 1].transition_frames if i + 1 < len(shots) else 0
        end = shot.start + (shot.frames + outgoing) / FPS
        if not any(lo <= shot.start and end <= hi for lo, hi in CUT_FREE[shot.clip]):
            raise SystemExit(f"shot {i} ({shot.clip} {shot.start:.2f}-{end:.2f} s) is not "
                             "within one cut-free span of its clip")


def build_plan(clips: Path, shots_by_scene: list[list[DemoShot]]) -> list[ShotPlan]:
    plan = []
    for scene, shots in enumerate(shots_by_scene):
        for shot in shots:
            source = ClipSource(clips / shot.clip, shot.start, zoom=shot.zoom, centre=shot.centre,
                                pan=0.6, hflip=0.0, jitter=0.0, fps=FPS)
            plan.append(ShotPlan(source, shot.frames, shot.transition, shot.transition_frames,
                                 dict(shot.options), scene=scene))
    return plan


def write_notice(path: Path, clips: list[str], manifest: dict[str, dict[str, str]]) -> None:
    lines = [
        "examples/demo.mp4: third-party material",
        "",
        "demo.mp4 is composed by scripts/make_demo.py from segments of the video clips below,",
        "cropped, scaled, retimed to 25 frames per second and joined with synthetic cuts,",
        "dissolves, fades and a wipe. No audio is included. Each clip remains under its own",
        "licence, as given by the source it was taken from:",
        "",
    ]
    for clip in clips:
        row = manifest[clip]
        lines += [clip, f"  source:  {row['source']}", f"  licence: {row['license']}", ""]
    lines += [
        "The composition itself and demo.truth.json are part of vidscene (Apache-2.0).",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=Path, default=None,
                        help="development clips folder (default: $VIDSCENE_CLIPS or "
                             "../shared/data/clips)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "examples")
    args = parser.parse_args(argv)
    clips = args.clips or find_clips_dir()
    if clips is None or not clips.is_dir():
        print("error: development clips not found (use --clips or VIDSCENE_CLIPS)", file=sys.stderr)
        return 2
    manifest = read_manifest(clips)
    used = sorted({shot.clip for scene in SCENES for shot in scene})
    refused = [c for c in used if not is_permissive(manifest[c]["license"])]
    if refused:
        print(f"error: not permissively licensed: {', '.join(refused)}", file=sys.stderr)
        return 2
    flat = [shot for scene in SCENES for shot in scene]
    check_segments(flat)

    args.out.mkdir(parents=True, exist_ok=True)
    video = args.out / "demo.mp4"
    truth: GroundTruth = render_video(video, build_plan(clips, SCENES), seed=SEED, size=SIZE,
                                      fps=FPS, crf=CRF, preset=PRESET)
    write_notice(args.out / "NOTICE", used, manifest)
    kinds = sorted({t.type for t in truth.transitions})
    print(f"{video}: {truth.frame_count} frames ({truth.frame_count / FPS:.1f} s), "
          f"{len(truth.shots)} shots, {len(truth.scenes)} scenes, transitions {kinds}, "
          f"{video.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
