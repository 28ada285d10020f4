"""Synthetic scene films: scenes are runs of shots of one clip, labelled by the composition."""

from __future__ import annotations

from pathlib import Path

import pytest

from vidscene.errors import ConfigError
from vidscene.train.scene_synth import (
    SceneFilmRecipe,
    make_scene_film,
    plan_scene_film,
    scene_frame_ranges,
)

CLIPS = ("bikes.mp4", "cup.mp4", "tree.avi", "vtest.avi")


def test_plan_groups_shots_of_one_place_and_returns_are_new_scenes(clips_dir: Path) -> None:
    clips = [clips_dir / c for c in CLIPS]
    recipe = SceneFilmRecipe(n_scenes=(8, 8), shots_per_scene=(1, 5), return_p=0.5)
    for seed in range(5):
        plan = plan_scene_film(seed=seed, clips=clips, recipe=recipe)
        scenes = [s.scene for s in plan]
        assert scenes == sorted(scenes) and set(scenes) == set(range(8))
        for a, b in zip(plan, plan[1:], strict=False):
            if a.scene == b.scene:
                assert a.source is b.source  # one place per scene
            else:
                assert a.source is not b.source
                assert a.source.path != b.source.path  # a scene change changes place
    again = plan_scene_film(seed=3, clips=clips, recipe=recipe)
    first = plan_scene_film(seed=3, clips=clips, recipe=recipe)
    assert [(s.length, s.transition, s.scene, s.source.path) for s in again] == [
        (s.length, s.transition, s.scene, s.source.path) for s in first]


def test_film_truth_has_scene_ranges_that_tile(clips_dir: Path, tmp_path: Path) -> None:
    recipe = SceneFilmRecipe(n_scenes=(3, 3), shots_per_scene=(2, 3), shot_frames=(10, 14))
    truth = make_scene_film(tmp_path / "film.mp4", seed=1, clips=[clips_dir / c for c in CLIPS],
                            recipe=recipe, size=(96, 54))
    assert len(truth.scenes) == 3
    ranges = scene_frame_ranges(truth)
    assert ranges[0][0] == 0 and ranges[-1][1] == truth.frame_count
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    for first, last in truth.scenes:
        names = {truth.sources[i].split("@")[0] for i in range(first, last + 1)}
        assert len(names) == 1


def test_bad_recipes_are_config_errors(clips_dir: Path) -> None:
    with pytest.raises(ConfigError):
        SceneFilmRecipe(shots_per_scene=(0, 3))
    with pytest.raises(ConfigError):
        SceneFilmRecipe(return_p=1.5)
    with pytest.raises(ConfigError, match="two clips"):
        plan_scene_film(seed=0, clips=[clips_dir / "cup.mp4"])


# -- long films ----------------------------------------------------------------------------------


FILM_CLIPS = ("box.mp4", "cup.mp4", "tree.avi", "vtest.avi", "cockatoo.mp4")


def test_long_films_have_a_films_scene_structure(clips_dir: Path) -> None:
    from vidscene.train.scene_synth import FilmRecipe, plan_film

    clips = [clips_dir / c for c in FILM_CLIPS]
    for seed in range(3):
        plan = plan_film(seed=seed, clips=clips)
        scenes: dict[int, list[int]] = {}
        for shot in plan:
            scenes.setdefault(shot.scene, []).append(shot.length)
        assert [s.scene for s in plan] == sorted(s.scene for s in plan)
        assert sum(s.length for s in plan) >= 600 * 25  # at least ten minutes
        assert len(scenes) >= 12
        story = [sid for sid in scenes if not any(n.type in ("title", "credits")
                                                  for s in plan if s.scene == sid
                                                  for n in s.negatives)]
        assert all(3 <= len(scenes[sid]) <= 40 for sid in story)
        # Titles and credits, when there, are one scene of several shots each.
        for kind in ("title", "credits"):
            ids = {s.scene for s in plan for n in s.negatives if n.type == kind}
            assert len(ids) <= 1
            if ids:
                assert 2 <= len(scenes[ids.pop()]) <= 5
        # Cutaways: some scene holds a shot of another clip between shots of its own.
        mixed = [sid for sid in story
                 if len({s.source.path for s in plan if s.scene == sid}) > 1]
        assert mixed or seed  # at least the first film has one
    kinds = {s.transition for seed in range(3) for s in plan_film(seed=seed, clips=clips)}
    assert {"cut", "dissolve", "fade"} <= kinds
    a = plan_film(seed=5, clips=clips)
    b = plan_film(seed=5, clips=clips)
    assert [(s.length, s.transition, s.scene, s.source.path) for s in a] == [
        (s.length, s.transition, s.scene, s.source.path) for s in b]
    short = plan_film(seed=1, clips=clips, recipe=FilmRecipe(min_seconds=60, min_scenes=3,
                                                             titles_p=0, credits_p=0))
    assert 3 <= len({s.scene for s in short}) < 12


def test_bad_film_recipes_are_config_errors(clips_dir: Path) -> None:
    from vidscene.train.scene_synth import FilmRecipe, plan_film

    with pytest.raises(ConfigError):
        FilmRecipe(insert_p=2.0)
    with pytest.raises(ConfigError):
        FilmRecipe(scene_seconds=(10.0, 0.5, 20.0, 30.0))
    with pytest.raises(ConfigError, match="three clips"):
        plan_film(seed=0, clips=[clips_dir / "cup.mp4", clips_dir / "box.mp4"])
