"""Scene metrics: boundary matching in seconds and Vendrig–Worring coverage / overflow."""

from __future__ import annotations

import pytest

from vidscene.analysis import Scene
from vidscene.metrics import (
    Counts,
    SceneScores,
    coverage_overflow,
    match_scene_boundaries,
    score_scenes,
)


def test_perfect_segmentation() -> None:
    truth = [(0, 100), (100, 250), (250, 300)]
    s = score_scenes(truth, truth, fps=25)
    assert (s.boundaries.tp, s.boundaries.fp, s.boundaries.fn) == (2, 0, 0)
    assert s.coverage == 1.0 and s.overflow == 0.0 and s.f_coverage_overflow == 1.0


def test_worked_example_by_hand() -> None:
    # Truth: two 100-frame scenes. Prediction: the boundary 20 frames early.
    truth, pred = [(0, 100), (100, 200)], [(0, 80), (80, 200)]
    c, o = coverage_overflow(truth, pred)
    # t1: best overlap 80; the second predicted scene touches t1 and spills 100 frames into
    # t2 (its only neighbour, 100 frames): overflow 1. t2: covered whole; the same predicted
    # scene spills 20 frames into t1 (100 frames): overflow 0.2.
    assert c == pytest.approx((80 + 100) / 200)
    assert o == pytest.approx((100 * 1.0 + 100 * 0.2) / 200)
    # 20 frames at 25 fps is 0.8 s: inside a 1 s tolerance, outside a 0.5 s one.
    assert match_scene_boundaries(truth, pred, fps=25, tolerance=1.0) == Counts(tp=1)
    assert match_scene_boundaries(truth, pred, fps=25, tolerance=0.5) == Counts(fp=1, fn=1)


def test_under_and_over_segmentation_cost_different_terms() -> None:
    truth = [(0, 100), (100, 150)]
    c, o = coverage_overflow(truth, [(0, 150)])  # one scene for everything
    assert c == 1.0 and o == 1.0
    assert SceneScores(Counts(fn=1), c, o, 150).f_coverage_overflow == 0.0
    c, o = coverage_overflow([(0, 100)], [(0, 25), (25, 50), (50, 75), (75, 100)])
    assert c == 0.25 and o == 0.0  # a lone true scene has no neighbour to overflow into


def test_accepts_scene_objects_and_pools_by_frames() -> None:
    scenes = [Scene(0, 0, 2, 0, 60, 0.0, 2.4, 1.0), Scene(1, 3, 5, 60, 100, 2.4, 4.0, 0.9)]
    a = score_scenes(scenes, [(0, 100)], fps=25)
    b = score_scenes([(0, 300)], [(0, 300)], fps=25)
    pooled = SceneScores.pool([a, b])
    assert pooled.frames == 400 and pooled.videos == 2
    assert pooled.coverage == pytest.approx((a.coverage * 100 + 300) / 400)
    assert pooled.boundaries == Counts(fn=1)
    assert pooled.to_dict()["boundaries"]["fn"] == 1


def test_bad_segmentations_are_refused() -> None:
    with pytest.raises(ValueError, match="tile"):
        coverage_overflow([(0, 10), (12, 20)], [(0, 20)])
    with pytest.raises(ValueError, match="cover"):
        coverage_overflow([(0, 20)], [(0, 15)])
    with pytest.raises(ValueError, match="empty"):
        coverage_overflow([(5, 5)], [(0, 5)])
    with pytest.raises(ValueError, match="fps"):
        match_scene_boundaries([(0, 5)], [(0, 5)], fps=0)
