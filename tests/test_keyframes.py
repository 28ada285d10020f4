"""Keyframe selection: descriptors, the medoid, diverse coverage, shot embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vidscene.keyframes import (
    DESCRIPTOR_SIZE,
    frame_descriptor,
    select_keyframes,
    shot_embedding,
)

CLIPS = Path("/work/shared/data/clips")
H, W = 126, 224


def solid(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (H, W, 3)).copy()


def halves(left: tuple[int, int, int], right: tuple[int, int, int]) -> np.ndarray:
    frame = solid(left)
    frame[:, W // 2 :] = right
    return frame


def distance(a: np.ndarray, b: np.ndarray) -> float:
    return 1.0 - float(frame_descriptor(a) @ frame_descriptor(b))


# -- frame_descriptor -------------------------------------------------------------------------
def test_descriptor_is_unit_float32_of_documented_size() -> None:
    frame = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)
    d = frame_descriptor(frame)
    assert d.dtype == np.float32
    assert d.shape == (DESCRIPTOR_SIZE,)
    assert np.linalg.norm(d) == pytest.approx(1.0, abs=1e-5)


def test_descriptor_separates_colour_and_brightness() -> None:
    red, blue = solid((200, 30, 30)), solid((30, 30, 200))
    assert distance(red, red) == pytest.approx(0.0, abs=1e-6)
    assert distance(red, blue) > 0.5
    assert distance(solid((0, 0, 0)), solid((255, 255, 255))) > 1.0  # opposite directions
    # A slightly different shade of one colour stays close.
    assert distance(red, solid((190, 35, 35))) < 0.05


def test_descriptor_sees_layout_when_palette_is_the_same() -> None:
    # Same colours in the same amounts, mirrored arrangement: only the layout part differs.
    a = halves((200, 30, 30), (30, 30, 200))
    b = halves((30, 30, 200), (200, 30, 30))
    assert distance(a, b) > 0.2
    assert distance(a, b) < distance(a, solid((30, 200, 30)))


def test_descriptor_handles_tiny_frames_and_rejects_other_shapes() -> None:
    assert frame_descriptor(solid((10, 20, 30))[:2, :3]).shape == (DESCRIPTOR_SIZE,)
    with pytest.raises(ValueError):
        frame_descriptor(np.zeros((H, W), np.uint8))


# -- select_keyframes -------------------------------------------------------------------------
def test_medoid_is_the_typical_frame_not_an_outlier() -> None:
    # Five frames of one look at rising brightness (the middle one is most typical), with a
    # white flash and a red frame mixed in.
    # The outlier sits at the middle index, so a "middle frame" rule would pick it.
    looks = {10: 100, 11: 110, 12: 120, 14: 130, 16: 140}
    frames = [(i, solid((v, v - 20, v - 40))) for i, v in looks.items()]
    frames += [(13, solid((255, 255, 255))), (15, solid((230, 0, 0)))]
    frames.sort(key=lambda item: item[0])
    assert select_keyframes(frames) == [12]


def test_several_keyframes_cover_distinct_looks() -> None:
    colours = {"red": (210, 20, 20), "green": (20, 190, 40), "blue": (20, 40, 210)}
    order = ["red", "red", "green", "red", "green", "blue", "blue", "red", "blue", "blue"]
    frames = [(100 + i, solid(colours[name])) for i, name in enumerate(order)]
    chosen = select_keyframes(frames, k=3)
    assert chosen == sorted(set(chosen)) and len(chosen) == 3
    assert {order[i - 100] for i in chosen} == {"red", "green", "blue"}


def test_extra_keyframes_are_typical_members_of_their_look() -> None:
    # Look B varies in brightness; its keyframe should be its middle member, not the extreme
    # frame farthest from look A that plain farthest-point sampling would pick.
    look_a = [(i, solid((200, 40, 40))) for i in range(6)]
    look_b = [(6 + j, solid((20, 40 + 20 * j, 200))) for j in range(5)]
    chosen = select_keyframes(look_a + look_b, k=2)
    assert chosen[1] == 8


def test_keyframes_edge_cases() -> None:
    frame = solid((50, 60, 70))
    assert select_keyframes([]) == []
    assert select_keyframes([(3, frame)], k=0) == []
    assert select_keyframes([(7, frame)], k=4) == [7]
    # Identical frames: ties go to the middle; k never exceeds the frame count, no duplicates.
    same = [(i, frame) for i in range(10, 15)]
    assert select_keyframes(same) == [12]
    assert select_keyframes(same, k=3) == sorted(set(select_keyframes(same, k=3)))
    assert len(select_keyframes(same, k=3)) == 3
    assert select_keyframes(same, k=9) == [10, 11, 12, 13, 14]
    # ... unless the caller asks for keyframes that actually differ.
    assert select_keyframes(same, k=3, min_distance=0.05) == [12]


def test_precomputed_descriptors_are_used() -> None:
    # The frames are all black; the descriptors say frame 2 is the odd one out.
    frames = [(i, solid((0, 0, 0))) for i in range(4)]
    looks = [solid((200, 0, 0))] * 2 + [solid((0, 0, 200))] + [solid((200, 0, 0))]
    descriptors = np.stack([frame_descriptor(f) for f in looks])
    assert 2 in select_keyframes(frames, k=2, descriptors=descriptors)
    assert select_keyframes(frames, k=2) != select_keyframes(frames, k=2, descriptors=descriptors)
    with pytest.raises(ValueError):
        select_keyframes(frames, descriptors=descriptors[:2])


# -- shot_embedding ---------------------------------------------------------------------------
def test_shot_embedding_is_the_normalised_mean() -> None:
    a, b = np.zeros(4), np.zeros(4)
    a[0], b[1] = 1.0, 1.0
    emb = shot_embedding(np.stack([a, a, b]))
    assert emb.dtype == np.float32
    assert np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-6)
    assert emb[0] == pytest.approx(2 / np.sqrt(5), abs=1e-6)
    assert emb[1] == pytest.approx(1 / np.sqrt(5), abs=1e-6)
    assert np.allclose(shot_embedding(a), a)
    assert np.array_equal(shot_embedding(np.zeros((0, 6))), np.zeros(6))


@pytest.mark.skipif(not CLIPS.is_dir(), reason="development clips not present")
def test_keyframes_on_real_footage_take_one_frame_from_each_clip() -> None:
    from vidscene.video import FrameStream

    frames: list[tuple[int, np.ndarray]] = []
    offset = 0
    for name in ("carphone_pristine.mp4", "deer_sample.mp4"):
        path = CLIPS / name
        if not path.is_file():
            pytest.skip(f"{name} missing")
        stream = FrameStream(path, sample_fps=4.0, analysis_width=224, threads=False)
        for batch in stream:
            frames += [(offset + i, rgb[:H, :W]) for i, rgb in batch.analysis]
        offset += stream.frame_count
    first_clip_frames = offset - stream.frame_count
    chosen = select_keyframes(frames, k=2)
    assert len(chosen) == 2
    assert chosen[0] < first_clip_frames <= chosen[1]
