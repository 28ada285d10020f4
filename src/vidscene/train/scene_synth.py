"""Synthetic scene films: runs of shots of one place, for the scene benchmark and scene training.

A scene is several shots of the same place and moment; here, of the same development clip:
each shot is another segment of the clip, framed differently (another crop, zoom and slow
camera move, a slightly different colour treatment), as a second camera angle or a later moment
of the same action would be. A scene change switches to another clip. Hard cases come by
construction: scenes of a single shot, long scenes of up to ``shots_per_scene[1]`` shots,
clips that look alike (several dev clips share a look), and a place that returns after another
scene (a new scene, as a cut back to an earlier location is in an edited film).

Transitions: mostly cuts inside a scene; at scene changes also dissolves and fades, which
editors use there. Labels come from the composition (:class:`~vidscene.train.synth.
GroundTruth` ``scenes``), never from a detector. The same arguments and seed always give the
same film.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from vidscene.errors import ConfigError
from vidscene.train.synth import ClipSource, GroundTruth, ShotPlan, render_video

__all__ = ["SceneFilmRecipe", "make_scene_film", "plan_scene_film", "scene_frame_ranges"]

WITHIN_MIX: Mapping[str, float] = {"cut": 0.94, "dissolve": 0.06}
"""Transitions between two shots of one scene."""
BETWEEN_MIX: Mapping[str, float] = {"cut": 0.6, "dissolve": 0.2, "fade": 0.2}
"""Transitions at a scene change."""


class SceneFilmRecipe:
    """The random choices of a scene film, with their defaults.

    ``shots_per_scene``: inclusive range, drawn with a preference for short scenes (most
    scenes of edited films hold a handful of shots, a few hold many); ``shot_frames``: the
    length of each shot; ``return_p``: chance that a scene revisits the place of the scene
    two before it; ``gradual_frames``: length of dissolves and fades.
    """

    def __init__(self, *, n_scenes: tuple[int, int] = (4, 9),
                 shots_per_scene: tuple[int, int] = (1, 12),
                 shot_frames: tuple[int, int] = (25, 90), return_p: float = 0.1,
                 gradual_frames: tuple[int, int] = (8, 30), zoom: tuple[float, float] = (1.0, 2.0),
                 jitter: float = 0.12) -> None:
        for name, (lo, hi), low in (("n_scenes", n_scenes, 1),
                                    ("shots_per_scene", shots_per_scene, 1),
                                    ("shot_frames", shot_frames, 4),
                                    ("gradual_frames", gradual_frames, 1)):
            if lo < low or hi < lo:
                raise ConfigError(f"{name} must be (low, high) with {low} <= low <= high, "
                                  f"got {(lo, hi)}")
        if not 0.0 <= return_p <= 1.0:
            raise ConfigError(f"return_p must be in [0, 1], got {return_p}")
        self.n_scenes = n_scenes
        self.shots_per_scene = shots_per_scene
        self.shot_frames = shot_frames
        self.return_p = return_p
        self.gradual_frames = gradual_frames
        self.zoom = zoom
        self.jitter = jitter


def _draw_scene_length(rng: np.random.Generator, lo: int, hi: int) -> int:
    # Geometric-like preference for short scenes, capped to the range.
    weights = 0.8 ** np.arange(hi - lo + 1)
    return int(lo + rng.choice(len(weights), p=weights / weights.sum()))


def _draw(rng: np.random.Generator, mix: Mapping[str, float]) -> str:
    kinds = list(mix)
    p = np.array([mix[k] for k in kinds], np.float64)
    return kinds[int(rng.choice(len(kinds), p=p / p.sum()))]


def plan_scene_film(*, seed: int, clips: Sequence[Path],
                    recipe: SceneFilmRecipe | None = None) -> list[ShotPlan]:
    """The shots of a scene film (scene ids in ``ShotPlan.scene``)."""
    recipe = recipe or SceneFilmRecipe()
    if len(clips) < 2:
        raise ConfigError("a scene film needs at least two clips (one place per scene)")
    rng = np.random.default_rng([seed, 0x5343454E])  # "SCEN"
    n_scenes = int(rng.integers(recipe.n_scenes[0], recipe.n_scenes[1] + 1))
    places: list[int] = []
    for k in range(n_scenes):
        if k >= 2 and rng.random() < recipe.return_p and places[k - 2] != places[k - 1]:
            places.append(places[k - 2])
            continue
        choices = [j for j in range(len(clips)) if not places or j != places[-1]]
        places.append(choices[int(rng.integers(len(choices)))])
    # One source per place and visit: a return visit frames the place anew.
    plan: list[ShotPlan] = []
    for scene, place in enumerate(places):
        source = ClipSource(clips[place], zoom=recipe.zoom, jitter=recipe.jitter)
        count = _draw_scene_length(rng, *recipe.shots_per_scene)
        for i in range(count):
            length = int(rng.integers(recipe.shot_frames[0], recipe.shot_frames[1] + 1))
            kind, frames = "cut", 0
            if plan:
                kind = _draw(rng, BETWEEN_MIX if i == 0 else WITHIN_MIX)
                if kind != "cut":
                    frames = max(1, min(int(rng.integers(recipe.gradual_frames[0],
                                                         recipe.gradual_frames[1] + 1)),
                                        length // 2))
            plan.append(ShotPlan(source=source, length=length, transition=kind,
                                 transition_frames=frames, scene=scene))
    return plan


def make_scene_film(path: str | Path, *, seed: int, clips: Sequence[Path],
                    recipe: SceneFilmRecipe | None = None, size: tuple[int, int] = (320, 180),
                    fps: float = 25.0, crf: int = 20) -> GroundTruth:
    """Compose, encode and describe a scene film: writes ``path`` and its ``.truth.json``."""
    plan = plan_scene_film(seed=seed, clips=clips, recipe=recipe)
    return render_video(path, plan, seed=seed, size=size, fps=fps, crf=crf)


def scene_frame_ranges(truth: GroundTruth) -> list[tuple[int, int]]:
    """The truth's scenes as half-open frame ranges ``[start, end)`` tiling the film."""
    return [(truth.shots[first][0], truth.shots[last][1]) for first, last in truth.scenes]
