"""Decoding scene-end probabilities with a scene prior (``vidscene.scenes._decode``)."""

from __future__ import annotations

import numpy as np
import pytest

from vidscene.scenes._decode import ScenePrior, decode_scenes

PRIOR = ScenePrior(log_seconds_median=float(np.log(30.0)), log_seconds_scale=0.5,
                   one_shot_share=0.02, weight=1.0)


def tiles(starts: list[int], n: int) -> bool:
    return starts[0] == 0 and all(b > a for a, b in zip(starts, starts[1:], strict=False)) \
        and starts[-1] < n


def test_without_a_prior_it_is_thresholding() -> None:
    p = np.array([0.1, 0.7, 0.2, 0.5, 0.49])
    seconds = np.full(6, 3.0)
    assert decode_scenes(p, seconds, 0.5, None) == [0, 2, 4]
    off = ScenePrior(3.0, 0.5, 0.1, weight=0.0)
    assert decode_scenes(p, seconds, 0.5, off) == [0, 2, 4]
    assert decode_scenes(np.zeros(0), np.array([4.0]), 0.5, PRIOR) == [0]
    assert decode_scenes(np.zeros(0), np.zeros(0), 0.5, PRIOR) == []
    with pytest.raises(ValueError, match="gap probabilities"):
        decode_scenes(np.zeros(3), seconds, 0.5, PRIOR)


def test_a_short_shot_between_two_boundaries_joins_a_neighbour() -> None:
    # 10 shots of 4 s, a 0.8 s shot (a fade's middle, a cutaway), 10 more: the gaps on both
    # sides of the short shot are fairly likely ends; thresholding makes it a scene.
    seconds = np.array([4.0] * 10 + [0.8] + [4.0] * 10)
    p = np.full(20, 0.05)
    p[9], p[10] = 0.8, 0.75
    assert decode_scenes(p, seconds, 0.5, None) == [0, 10, 11]
    starts = decode_scenes(p, seconds, 0.5, PRIOR)
    assert starts == [0, 10]  # one boundary, at the stronger side
    # Evidence strong on both sides keeps a one-shot scene of a plausible length; a
    # sub-second one is never a scene.
    p[9] = p[10] = 0.9999
    assert decode_scenes(p, seconds, 0.5, PRIOR) == [0, 10]
    seconds[10] = 8.0
    assert decode_scenes(p, seconds, 0.5, PRIOR) == [0, 10, 11]


def test_the_prior_merges_a_run_of_tiny_scenes_but_keeps_usual_ones() -> None:
    rng = np.random.default_rng(0)
    seconds = rng.uniform(2.0, 5.0, 60)
    p = np.full(59, 0.1)
    true_ends = [9, 19, 29, 39, 49]  # scenes of ~35 s
    p[true_ends] = 0.95
    p[[21, 23, 25]] = 0.55  # weak flickers inside a scene
    plain = decode_scenes(p, seconds, 0.5, None)
    assert len(plain) == 9
    starts = decode_scenes(p, seconds, 0.5, PRIOR)
    assert starts == [0] + [e + 1 for e in true_ends]
    heavier = decode_scenes(p, seconds, 0.5, ScenePrior(PRIOR.log_seconds_median, 0.5, 0.02,
                                                        weight=3.0))
    assert tiles(heavier, 60) and len(heavier) <= len(starts)


def test_long_videos_are_bounded_by_max_shots() -> None:
    n = 700
    seconds = np.full(n, 3.0)
    p = np.full(n - 1, 0.01)
    prior = ScenePrior(float(np.log(30.0)), 0.5, 0.02, weight=1.0, max_shots=50)
    starts = decode_scenes(p, seconds, 0.5, prior)
    assert tiles(starts, n)
    bounds = [*starts, n]
    assert max(b - a for a, b in zip(bounds, bounds[1:], strict=False)) <= 50


def test_prior_round_trips_through_a_card() -> None:
    card = {**PRIOR.to_dict(), "scenes": 123}  # extra keys (statistics) are ignored
    assert ScenePrior.from_card(card) == PRIOR
