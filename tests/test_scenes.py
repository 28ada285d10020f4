"""Scene segmentation: the registry, OSG on synthetic embeddings, and the tiling contract."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from vidscene.analysis import Analysis, Scene, Shot, VideoInfo
from vidscene.errors import ConfigError
from vidscene.scenes import (
    SEGMENTERS,
    OSGSegmenter,
    SceneSegmenter,
    create_segmenter,
    scenes_from_bounds,
)

FPS = 25


def make_shots(durations: list[float]) -> list[Shot]:
    shots, t, frame = [], 0.0, 0
    for i, d in enumerate(durations):
        frames = round(d * FPS)
        shots.append(Shot(i, frame, frame + frames, t, t + frames / FPS))
        t, frame = t + frames / FPS, frame + frames
    return shots


def grouped_embeddings(sizes: list[int], noise: float, seed: int = 0, dim: int = 64
                       ) -> np.ndarray:
    """Unit rows around one random direction per group; ``noise`` is the noise vector's norm."""
    rng = np.random.default_rng(seed)
    rows = []
    for size in sizes:
        centre = rng.normal(size=dim)
        centre /= np.linalg.norm(centre)
        for _ in range(size):
            row = centre + noise * rng.normal(size=dim) / np.sqrt(dim)
            rows.append(row / np.linalg.norm(row))
    return np.array(rows)


def scene_sizes(scenes: list[Scene]) -> list[int]:
    return [s.last_shot - s.first_shot + 1 for s in scenes]


def assert_tiles(scenes: list[Scene], shots: list[Shot], *, attributes: bool = False) -> None:
    """``scenes`` tile ``shots`` as the segmenter contract says; ``attributes``: the pipeline
    has filled scene attributes already (a segmenter's own output has none)."""
    assert scenes[0].first_shot == 0 and scenes[-1].last_shot == len(shots) - 1
    for i, scene in enumerate(scenes):
        assert scene.index == i
        assert scene.first_shot <= scene.last_shot
        if i:
            assert scene.first_shot == scenes[i - 1].last_shot + 1
        first, last = shots[scene.first_shot], shots[scene.last_shot]
        assert (scene.start_frame, scene.end_frame) == (first.start_frame, last.end_frame)
        assert (scene.start_time, scene.end_time) == (first.start_time, last.end_time)
        assert 0.0 <= scene.confidence <= 1.0
        assert bool(scene.attributes) == attributes
    video = VideoInfo("v.mp4", "0", shots[-1].end_time, FPS, shots[-1].end_frame, 64, 36, False)
    Analysis(video, list(shots), scenes).check()


# -- registry and settings --------------------------------------------------------------------
def test_osg_is_registered_and_unknown_names_are_config_errors() -> None:
    assert "osg" in SEGMENTERS
    segmenter = create_segmenter("osg", penalty=3.0)
    assert isinstance(segmenter, OSGSegmenter) and isinstance(segmenter, SceneSegmenter)
    assert segmenter.name == "osg"
    assert segmenter.describe().startswith("osg(penalty=3,")
    with pytest.raises(ConfigError):
        create_segmenter("no-such-segmenter")


@pytest.mark.parametrize(
    "options",
    [{"penalty": 0}, {"temporal_weight": 1.5}, {"temporal_scale": 0}, {"max_scene_shots": 0},
     {"max_scene_seconds": -1}, {"distance_floor": 0}],
)
def test_bad_osg_settings_are_config_errors(options: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        OSGSegmenter(**options)  # type: ignore[arg-type]


# -- edge cases -------------------------------------------------------------------------------
def test_zero_shots_give_no_scenes_and_one_shot_one_scene() -> None:
    osg = OSGSegmenter()
    assert osg.segment([], np.zeros((0, 8))) == []
    shots = make_shots([4.0])
    (scene,) = osg.segment(shots, np.ones((1, 8)))
    assert (scene.first_shot, scene.last_shot, scene.confidence) == (0, 0, 1.0)
    assert (scene.start_frame, scene.end_frame) == (0, 100)


def test_embedding_rows_must_match_the_shots() -> None:
    with pytest.raises(ValueError):
        OSGSegmenter().segment(make_shots([1.0, 1.0]), np.ones((3, 8)))


# -- grouping ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sizes", "noise"),
    [([4, 6, 1, 3, 8, 2], 0.1), ([5, 8, 3, 12, 1, 6], 0.5), ([2, 2, 2, 2], 0.3),
     ([30, 30, 30], 1.0)],
)
def test_osg_recovers_obvious_groups_exactly(sizes: list[int], noise: float) -> None:
    shots = make_shots([3.0] * sum(sizes))
    scenes = OSGSegmenter().segment(shots, grouped_embeddings(sizes, noise))
    assert scene_sizes(scenes) == sizes
    assert all(s.confidence >= 0.5 for s in scenes)
    assert_tiles(scenes, shots)


def test_one_look_stays_one_scene() -> None:
    shots = make_shots([2.0] * 25)
    scenes = OSGSegmenter().segment(shots, grouped_embeddings([25], 0.8, seed=3))
    assert scene_sizes(scenes) == [25]
    assert scenes[0].confidence == 1.0


def test_alternating_dialogue_angles_stay_one_scene() -> None:
    # Shot / reverse shot (A B A B ...) then another place (C D C D ...): neighbouring shots
    # always differ (cosine distance 0.5 between the two angles of one place), yet each
    # exchange is one scene.
    place_1, place_2, angle_1, angle_2 = np.eye(8)[:4]
    turn = 1 / np.sqrt(3)  # cos(place + turn*angle, place - turn*angle) = 0.5
    a, b = place_1 + turn * angle_1, place_1 - turn * angle_1
    c, d = place_2 + turn * angle_2, place_2 - turn * angle_2
    rows = [a, b] * 4 + [c, d] * 3
    shots = make_shots([2.0] * len(rows))
    scenes = OSGSegmenter().segment(shots, np.array(rows))
    assert scene_sizes(scenes) == [8, 6]


def test_clear_boundaries_get_higher_confidence_than_faint_ones() -> None:
    rng = np.random.default_rng(7)
    base = rng.normal(size=32)
    far = rng.normal(size=32)
    near = base + 0.9 * rng.normal(size=32)  # related to the first look, still distinct
    rows = [far] * 6 + [base] * 6 + [near] * 6
    rows = [r / np.linalg.norm(r) + 0.02 * rng.normal(size=32) for r in rows]
    scenes = OSGSegmenter().segment(make_shots([2.0] * 18), np.array(rows))
    assert scene_sizes(scenes) == [6, 6, 6]
    # Scene 0 only has the clear boundary; scenes 1 and 2 share the fainter one.
    assert scenes[0].confidence > scenes[2].confidence
    assert scenes[1].confidence == scenes[2].confidence


def test_guard_limits_scene_length_in_shots_and_seconds() -> None:
    same = np.ones((12, 8))
    shots = make_shots([5.0] * 12)
    by_count = OSGSegmenter(max_scene_shots=5).segment(shots, same)
    assert max(scene_sizes(by_count)) <= 5 and len(by_count) == 3
    by_time = OSGSegmenter(max_scene_seconds=20.0).segment(shots, same)
    assert all(s.end_time - s.start_time <= 20.0 + 1e-9 for s in by_time)
    assert len(by_time) == 3
    # A single shot longer than the limit is still a scene of its own.
    long_shots = make_shots([30.0, 2.0, 2.0])
    scenes = OSGSegmenter(max_scene_seconds=10.0).segment(long_shots, np.ones((3, 8)))
    assert scene_sizes(scenes) == [1, 2]
    assert_tiles(scenes, long_shots)


def test_temporal_distance_keeps_far_apart_shots_from_joining() -> None:
    # Forty look-alike shots over twenty minutes: with the temporal blend they split, without
    # it they are one scene (the guard is set out of the way).
    shots = make_shots([30.0] * 40)
    same = grouped_embeddings([40], 0.05, seed=2)
    plain = OSGSegmenter(temporal_weight=0.0, max_scene_seconds=1e6).segment(shots, same)
    timed = OSGSegmenter(temporal_weight=0.5, max_scene_seconds=1e6).segment(shots, same)
    assert len(plain) == 1
    assert len(timed) > 1
    assert_tiles(timed, shots)


def test_tiling_holds_on_arbitrary_embeddings() -> None:
    rng = np.random.default_rng(11)
    for _ in range(25):
        count = int(rng.integers(1, 40))
        shots = make_shots(list(rng.uniform(0.2, 20.0, size=count)))
        embeddings = rng.normal(size=(count, 16))
        embeddings[rng.random(count) < 0.1] = 0.0  # shots with no known look
        limit = int(rng.integers(1, 12))
        osg = OSGSegmenter(max_scene_shots=limit, penalty=float(rng.uniform(0.5, 4)))
        scenes = osg.segment(shots, embeddings)
        assert_tiles(scenes, shots)
        assert max(scene_sizes(scenes)) <= limit


def test_dynamic_programme_finds_the_optimal_partition() -> None:
    """Against brute force over every partition, with the cost written out independently."""
    rng = np.random.default_rng(4)
    penalty = 1.5
    osg = OSGSegmenter(penalty=penalty, temporal_weight=0.0)
    for _ in range(20):
        count = int(rng.integers(2, 9))
        units = rng.normal(size=(count, 6))
        units /= np.linalg.norm(units, axis=1, keepdims=True)
        distance = 1.0 - units @ units.T
        price = penalty * max(float(np.median(np.diag(distance, 1))), 0.05)

        def cost(starts: tuple[int, ...], d: np.ndarray = distance, p: float = price) -> float:
            bounds = [*starts, len(d)]
            total = 0.0
            for lo, hi in itertools.pairwise(bounds):
                total += np.triu(d[lo:hi, lo:hi], 1).sum() / max(hi - lo - 1, 1) + p
            return total

        partitions = [
            (0, *cuts)
            for r in range(count)
            for cuts in itertools.combinations(range(1, count), r)
        ]
        best = min(cost(p) for p in partitions)
        scenes = osg.segment(make_shots([1.0] * count), units)
        assert cost(tuple(s.first_shot for s in scenes)) == pytest.approx(best, abs=1e-9)


# -- helper -----------------------------------------------------------------------------------
def test_scenes_from_bounds_validates_its_input() -> None:
    shots = make_shots([1.0, 1.0, 1.0])
    scenes = scenes_from_bounds(shots, [0, 2], [0.7, 1.3])
    assert scene_sizes(scenes) == [2, 1]
    assert [s.confidence for s in scenes] == [0.7, 1.0]  # clipped into [0, 1]
    for starts in ([1], [0, 0], [0, 3], []):
        with pytest.raises(ValueError):
            scenes_from_bounds(shots, starts, [1.0] * len(starts))
    assert scenes_from_bounds([], [], []) == []


# -- scene transition graph -------------------------------------------------------------------


def test_stg_is_registered_and_checks_its_settings() -> None:
    from vidscene.scenes import STGSegmenter

    stg = create_segmenter("stg", window=30.0)
    assert isinstance(stg, STGSegmenter) and stg.describe() == "stg(window=30s, link=2)"
    for bad in ({"window": 0.0}, {"link": -1.0}, {"distance_floor": 0.0}):
        with pytest.raises(ConfigError):
            STGSegmenter(**bad)


def test_stg_cut_edges_are_where_no_cluster_spans() -> None:
    import numpy as np

    from vidscene.scenes._stg import cut_edges

    # A B A B | C | D E D: cluster A and B recur until shot 3; C is alone; D recurs.
    assert cut_edges(np.array([0, 1, 0, 1, 4, 5, 6, 5])) == [0, 4, 5]
    assert cut_edges(np.array([0, 0, 0])) == [0]
    assert cut_edges(np.array([0, 1, 2])) == [0, 1, 2]
    assert cut_edges(np.array([], np.int64)) == []


@pytest.mark.parametrize("sizes", [[4, 6, 3, 8], [5, 5], [10]])
def test_stg_recovers_obvious_groups(sizes: list[int]) -> None:
    from vidscene.scenes import STGSegmenter

    shots = make_shots([3.0] * sum(sizes))
    scenes = STGSegmenter().segment(shots, grouped_embeddings(sizes, 0.3, seed=2))
    assert scene_sizes(scenes) == sizes
    assert all(s.confidence >= 0.5 for s in scenes)
    assert_tiles(scenes, shots)


def test_stg_keeps_alternating_angles_together_and_respects_the_window() -> None:
    from vidscene.scenes import STGSegmenter

    place_1, place_2, angle_1, angle_2 = np.eye(8)[:4]
    turn = 1 / np.sqrt(3)
    a, b = place_1 + turn * angle_1, place_1 - turn * angle_1
    c, d = place_2 + turn * angle_2, place_2 - turn * angle_2
    rows = np.array([a, b] * 4 + [c, d] * 3)
    shots = make_shots([2.0] * len(rows))
    assert scene_sizes(STGSegmenter(link=1.2).segment(shots, rows)) == [8, 6]
    # The same place seen again after a long other scene is a new scene: the window keeps
    # the two visits from joining (and with them everything between).
    # Every pair inside the middle scene is at most 16 s apart; the two visits, 20 s.
    rows = np.array([a, b, a] + [c, d] * 5 + [a, b])
    shots = make_shots([2.0] * len(rows))
    assert scene_sizes(STGSegmenter(link=1.2, window=18.0).segment(shots, rows)) == [3, 10, 2]
    assert scene_sizes(STGSegmenter(link=1.2, window=600.0).segment(shots, rows)) == [15]


def test_stg_clustering_is_complete_link() -> None:
    from vidscene.scenes._stg import time_constrained_clusters

    # A chain of look-alikes 0 → 1 → 2 → 3, each a small step from the last: single link
    # would join them all, complete link stops once the chain's ends are too far apart.
    angles = np.radians([0.0, 25.0, 50.0, 75.0])
    rows = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    times = np.arange(4, dtype=np.float64)
    labels = time_constrained_clusters(rows, times, times + 1, window=100.0,
                                       threshold=1 - np.cos(np.radians(30.0)))
    assert len(set(labels.tolist())) == 2
    assert labels[0] == labels[1] and labels[2] == labels[3] and labels[1] != labels[2]
