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
