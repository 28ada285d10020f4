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
from vidscene.train.synth import ClipSource, GroundTruth, NegativePlan, ShotPlan, render_video

__all__ = ["FilmRecipe", "SceneFilmRecipe", "make_film", "make_scene_film", "plan_film",
           "plan_scene_film", "scene_frame_ranges"]

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


# -- long films with a film's scene structure ---------------------------------------------------

FILM_BETWEEN_MIX: Mapping[str, float] = {"cut": 0.55, "dissolve": 0.2, "fade": 0.2, "wipe": 0.05}
"""Transitions at a scene change of a long film."""
FILM_WITHIN_MIX: Mapping[str, float] = {"cut": 0.95, "dissolve": 0.04, "fade": 0.01}
"""Transitions inside a scene of a long film: a dissolve or a fade is evidence, not proof."""


class FilmRecipe:
    """The random choices of a long film, with defaults drawn from published film statistics.

    Scenes last ``scene_seconds`` (log-normal: median and spread, clipped to the range) and
    are filled with shots of ``shot_seconds`` (log-normal, median 3.5 s: the average shot of
    recent feature films is 3–5 s); a scene holds ``shots_per_scene`` shots (3–40). The film
    grows scene by scene until it lasts ``min_seconds`` and holds ``min_scenes`` scenes.

    Inside a scene: an establishing (wide) first shot with chance ``establishing_p``; with
    chance ``dialogue_p`` the scene is shot / reverse shot (two framings of one place, or two
    places, alternating); each later shot is, with chance ``insert_p``, a short insert (a close
    detail of the place) or cutaway (another place) that stays inside the scene. Between
    scenes: a return to the place of the scene two before with chance ``return_p``; opening
    titles (``titles_p``) and end credits (``credits_p``) each make one scene of several
    shots.
    """

    def __init__(self, *, min_seconds: float = 600.0, min_scenes: int = 12,
                 scene_seconds: tuple[float, float, float, float] = (35.0, 0.55, 12.0, 150.0),
                 shot_seconds: tuple[float, float, float, float] = (3.5, 0.6, 0.6, 12.0),
                 shots_per_scene: tuple[int, int] = (3, 40), establishing_p: float = 0.5,
                 dialogue_p: float = 0.3, insert_p: float = 0.08, return_p: float = 0.15,
                 titles_p: float = 0.4, credits_p: float = 0.7,
                 gradual_frames: tuple[int, int] = (8, 30)) -> None:
        for name, value in (("establishing_p", establishing_p), ("dialogue_p", dialogue_p),
                            ("insert_p", insert_p), ("return_p", return_p),
                            ("titles_p", titles_p), ("credits_p", credits_p)):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value}")
        for name, (median, spread, lo, hi) in (("scene_seconds", scene_seconds),
                                               ("shot_seconds", shot_seconds)):
            if not (0 < lo <= median <= hi and spread >= 0):
                raise ConfigError(f"{name} must be (median, spread, low, high) with "
                                  f"0 < low <= median <= high, got {(median, spread, lo, hi)}")
        if not 1 <= shots_per_scene[0] <= shots_per_scene[1]:
            raise ConfigError(f"shots_per_scene must be (low, high), got {shots_per_scene}")
        self.min_seconds = min_seconds
        self.min_scenes = min_scenes
        self.scene_seconds = scene_seconds
        self.shot_seconds = shot_seconds
        self.shots_per_scene = shots_per_scene
        self.establishing_p = establishing_p
        self.dialogue_p = dialogue_p
        self.insert_p = insert_p
        self.return_p = return_p
        self.titles_p = titles_p
        self.credits_p = credits_p
        self.gradual_frames = gradual_frames


def _lognormal(rng: np.random.Generator, spec: tuple[float, float, float, float]) -> float:
    median, spread, lo, hi = spec
    return float(np.clip(median * np.exp(spread * rng.standard_normal()), lo, hi))


def plan_film(*, seed: int, clips: Sequence[Path], recipe: FilmRecipe | None = None,
              fps: float = 25.0) -> list[ShotPlan]:
    """The shots of a long film (scene ids in ``ShotPlan.scene``; see :class:`FilmRecipe`)."""
    recipe = recipe or FilmRecipe()
    if len(clips) < 3:
        raise ConfigError("a film needs at least three clips (places, cutaways)")
    rng = np.random.default_rng([seed, 0x46494C4D])  # "FILM"
    plan: list[ShotPlan] = []

    def frames(seconds: float) -> int:
        return max(8, int(round(seconds * fps)))

    def enter(kind_mix: Mapping[str, float], length: int) -> tuple[str, int]:
        if not plan:
            return "cut", 0
        kind = _draw(rng, kind_mix)
        if kind == "cut":
            return kind, 0
        n = int(rng.integers(recipe.gradual_frames[0], recipe.gradual_frames[1] + 1))
        return kind, max(1, min(n, length // 2))

    def add(source: ClipSource, seconds: float, scene: int, first: bool,
            negatives: Sequence[str] = ()) -> None:
        length = frames(seconds)
        kind, n = enter(FILM_BETWEEN_MIX if first else FILM_WITHIN_MIX, length)
        plan.append(ShotPlan(source=source, length=length, transition=kind, transition_frames=n,
                             scene=scene,
                             negatives=[NegativePlan(t, 0, length - 1) for t in negatives]))

    def pick(exclude: set[int]) -> int:
        choices = [j for j in range(len(clips)) if j not in exclude]
        return choices[int(rng.integers(len(choices)))]

    def credits_scene(scene: int, negative: str) -> None:
        source = ClipSource(clips[pick(set())], zoom=(1.0, 1.3), jitter=0.05)
        for i in range(int(rng.integers(2, 6))):
            add(source, float(rng.uniform(3.0, 9.0)), scene, i == 0, (negative,))

    scene = 0
    if rng.random() < recipe.titles_p:
        credits_scene(scene, "title")
        scene += 1
    places: list[int] = []
    seconds = 0.0
    while seconds < recipe.min_seconds or len(places) < recipe.min_scenes:
        if (len(places) >= 2 and places[-2] != places[-1]
                and rng.random() < recipe.return_p):
            place = places[-2]
        else:
            place = pick({places[-1]} if places else set())
        places.append(place)
        main = ClipSource(clips[place], zoom=(1.0, 2.0), jitter=0.1)
        sides = [main]
        if rng.random() < recipe.dialogue_p:
            # Shot / reverse shot: two fixed framings of one place, or two places.
            other = place if rng.random() < 0.5 else pick({place})
            sides = [ClipSource(clips[place], zoom=(1.3, 1.8), centre=(0.15, 0.5), jitter=0.06),
                     ClipSource(clips[other], zoom=(1.3, 1.8), centre=(0.85, 0.5), jitter=0.06)]
        length = _lognormal(rng, recipe.scene_seconds)
        count = 0
        spent = 0.0
        lo, hi = recipe.shots_per_scene
        while count < hi and (spent < length or count < lo):
            shot = _lognormal(rng, recipe.shot_seconds)
            if count == 0 and rng.random() < recipe.establishing_p:
                source = ClipSource(clips[place], zoom=(1.0, 1.05), pan=0.8, jitter=0.1)
                shot = max(shot, 3.0)
            elif count > 0 and rng.random() < recipe.insert_p:
                if rng.random() < 0.5:  # insert: a close detail of the place
                    source = ClipSource(clips[place], zoom=(2.5, 3.0), pan=0.0, jitter=0.1)
                else:  # cutaway: a glimpse of somewhere else, then back
                    source = ClipSource(clips[pick({place})], zoom=(1.0, 2.0), jitter=0.1)
                shot = float(rng.uniform(0.6, 2.0))
            else:
                source = sides[count % len(sides)] if len(sides) > 1 and rng.random() < 0.85 \
                    else sides[int(rng.integers(len(sides)))]
            add(source, shot, scene, count == 0)
            spent += shot
            count += 1
        seconds += spent
        scene += 1
    if rng.random() < recipe.credits_p:
        credits_scene(scene, "credits")
    return plan


def make_film(path: str | Path, *, seed: int, clips: Sequence[Path],
              recipe: FilmRecipe | None = None, size: tuple[int, int] = (320, 180),
              fps: float = 25.0, crf: int = 22) -> GroundTruth:
    """Compose, encode and describe a long film: writes ``path`` and its ``.truth.json``."""
    plan = plan_film(seed=seed, clips=clips, recipe=recipe, fps=fps)
    return render_video(path, plan, seed=seed, size=size, fps=fps, crf=crf)


def scene_frame_ranges(truth: GroundTruth) -> list[tuple[int, int]]:
    """The truth's scenes as half-open frame ranges ``[start, end)`` tiling the film."""
    return [(truth.shots[first][0], truth.shots[last][1]) for first, last in truth.scenes]
