"""Shot-boundary scoring: hand-made cases with known TP/FP/FN."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from vidscene.analysis import Analysis, Shot, Transition, VideoInfo
from vidscene.metrics import (
    Boundary,
    Counts,
    aggregate,
    boundaries_from_analysis,
    f1_score,
    match_transitions,
    precision,
    recall,
)

cut = Boundary.cut


def dissolve(first: int, last: int) -> Boundary:
    return Boundary("dissolve", first, last)


def counts(result) -> tuple[int, int, int]:
    c = result.counts
    return (c.tp, c.fp, c.fn)


def test_exact_cut_is_a_hit() -> None:
    r = match_transitions([cut(50)], [cut(50)])
    assert counts(r) == (1, 0, 0)
    assert r.matches[0].gap == 0
    assert (r.precision, r.recall, r.f1) == (1.0, 1.0, 1.0)


@pytest.mark.parametrize("offset", [-2, -1, 1, 2])
def test_cut_within_tolerance_is_a_hit(offset: int) -> None:
    r = match_transitions([cut(50)], [cut(50 + offset)])
    assert counts(r) == (1, 0, 0)
    assert r.matches[0].gap == abs(offset)


@pytest.mark.parametrize("offset", [-3, 3])
def test_cut_off_by_three_is_a_miss_and_a_false_alarm(offset: int) -> None:
    r = match_transitions([cut(50)], [cut(50 + offset)])
    assert counts(r) == (0, 1, 1)
    assert r.f1 == 0.0


def test_tolerance_is_configurable() -> None:
    assert counts(match_transitions([cut(50)], [cut(53)], cut_tolerance=3)) == (1, 0, 0)
    assert counts(match_transitions([cut(50)], [cut(51)], cut_tolerance=0)) == (0, 1, 1)
    with pytest.raises(ValueError):
        match_transitions([cut(50)], [cut(50)], cut_tolerance=-1)


@pytest.mark.parametrize("frame", [98, 100, 110, 124, 126])
def test_cut_anywhere_in_a_dissolve_span_finds_it(frame: int) -> None:
    r = match_transitions([dissolve(100, 124)], [cut(frame)])
    assert counts(r) == (1, 0, 0)
    assert r.tally.by_type["dissolve"] == Counts(tp=1)


@pytest.mark.parametrize("frame", [97, 127])
def test_cut_beyond_the_widened_dissolve_misses(frame: int) -> None:
    assert counts(match_transitions([dissolve(100, 124)], [cut(frame)])) == (0, 1, 1)


def test_predicted_span_overlapping_a_dissolve_is_a_hit() -> None:
    # Overlaps only the end of the truth span.
    assert counts(match_transitions([dissolve(100, 124)], [dissolve(120, 140)])) == (1, 0, 0)
    # Starts two frames after it (within the widening).
    assert counts(match_transitions([dissolve(100, 124)], [dissolve(126, 140)])) == (1, 0, 0)
    assert counts(match_transitions([dissolve(100, 124)], [dissolve(127, 140)])) == (0, 1, 1)


def test_predicted_gradual_span_matches_a_cut_it_covers_or_nears() -> None:
    assert counts(match_transitions([cut(50)], [dissolve(45, 55)])) == (1, 0, 0)
    assert counts(match_transitions([cut(50)], [dissolve(52, 60)])) == (1, 0, 0)
    assert counts(match_transitions([cut(50)], [dissolve(53, 60)])) == (0, 1, 1)


def test_two_detections_in_one_dissolve_count_one_hit_and_one_false_alarm() -> None:
    r = match_transitions([dissolve(100, 124)], [cut(104), cut(118)])
    assert counts(r) == (1, 1, 0)
    # The prediction nearer the middle (112) is the one kept.
    assert r.matches[0].predicted_index == 1
    assert r.unmatched_predicted == [0]
    assert r.tally.by_type["cut"] == Counts(fp=1)
    assert r.tally.by_type["dissolve"] == Counts(tp=1)


def test_one_prediction_cannot_serve_two_truths() -> None:
    r = match_transitions([cut(50), cut(52)], [cut(51)])
    assert counts(r) == (1, 0, 1)


def test_matching_is_maximum_not_just_greedy() -> None:
    # Greedy by distance would pair truth 52 with prediction 51 (gap 1) and leave truth 49
    # without a partner; the maximum matching pairs 49-51 and 52-54 (both within ±2).
    r = match_transitions([cut(49), cut(52)], [cut(51), cut(54)])
    assert counts(r) == (2, 0, 0)
    assert {(m.truth_index, m.predicted_index) for m in r.matches} == {(0, 0), (1, 1)}


def test_counts_per_type_attribute_false_positives_to_the_predicted_type() -> None:
    truth = [cut(10), Boundary("fade", 40, 60), Boundary("wipe", 100, 110), cut(200)]
    predicted = [cut(11), cut(50), Boundary("wipe", 150, 160), Boundary(None, 300, 300)]
    r = match_transitions(truth, predicted)
    assert counts(r) == (2, 2, 2)
    t = r.tally
    assert t.by_type["cut"] == Counts(tp=1, fn=1)
    assert t.by_type["fade"] == Counts(tp=1)
    assert t.by_type["wipe"] == Counts(fp=1, fn=1)
    assert t.by_type["none"] == Counts(fp=1)
    assert t.gradual == Counts(tp=1, fp=1, fn=1)
    assert t.of("cut", "fade") == Counts(tp=2, fn=1)


def test_false_positives_on_hard_negatives_are_tallied_by_kind() -> None:
    negatives = [Boundary("flash", 30, 31), Boundary("fast-pan", 80, 95)]
    r = match_transitions([cut(10)], [cut(10), cut(31), cut(90), cut(150)], negatives=negatives)
    assert counts(r) == (1, 3, 0)
    assert r.tally.negatives == {"flash": 1, "fast-pan": 1}
    # Inside a whole-shot event ("dim"), a shorter event that holds the prediction is blamed.
    negatives.append(Boundary("dim", 0, 199))
    r = match_transitions([cut(10)], [cut(10), cut(31), cut(150)], negatives=negatives)
    assert r.tally.negatives == {"flash": 1, "dim": 1}


def test_empty_cases_follow_the_documented_convention() -> None:
    r = match_transitions([], [])
    assert counts(r) == (0, 0, 0)
    assert (r.precision, r.recall, r.f1) == (1.0, 1.0, 1.0)
    r = match_transitions([cut(5)], [])
    assert (r.precision, r.recall, r.f1) == (1.0, 0.0, 0.0)
    r = match_transitions([], [cut(5)])
    assert (r.precision, r.recall, r.f1) == (0.0, 1.0, 0.0)


def test_ratio_helpers() -> None:
    assert precision(3, 1) == 0.75
    assert recall(3, 3) == 0.5
    assert f1_score(3, 1, 3) == pytest.approx(2 * 0.75 * 0.5 / 1.25)


def test_aggregate_is_micro_averaged() -> None:
    a = match_transitions([cut(10)], [cut(10)])  # P=R=1
    b = match_transitions([cut(10), cut(50), cut(90)], [cut(90), cut(200)])  # 1 TP 1 FP 2 FN
    total = aggregate([a, b])
    assert total.overall == Counts(tp=2, fp=1, fn=2)
    assert total.videos == 2
    assert total.overall.precision == pytest.approx(2 / 3)  # a macro mean would give 0.75
    assert total.by_type["cut"] == Counts(tp=2, fp=1, fn=2)
    assert total.to_dict()["overall"]["recall"] == 0.5


def test_duck_typed_inputs_and_unsorted_order() -> None:
    @dataclass
    class Truth:
        type: str
        first_frame: int
        last_frame: int

    truth = [Truth("cut", 90, 90), Truth("dissolve", 20, 40)]
    predicted = [Transition("dissolve", 25, 35, 0.9), Transition("cut", 91, 91, 0.8)]
    r = match_transitions(truth, predicted)
    assert counts(r) == (2, 0, 0)
    assert {(m.truth_index, m.predicted_index) for m in r.matches} == {(0, 1), (1, 0)}


def test_boundaries_from_analysis_skips_the_opening_cut_only() -> None:
    info = VideoInfo("v.mp4", "", 4.0, 25.0, 100, 64, 36, False)
    shots = [
        Shot(0, 0, 40, 0.0, 1.6, Transition("cut", 0, 0, 1.0)),
        Shot(1, 40, 70, 1.6, 2.8, Transition("cut", 40, 40, 0.9)),
        Shot(2, 70, 100, 2.8, 4.0, Transition("dissolve", 70, 80, 0.7)),
    ]
    analysis = Analysis(info, shots)
    expected = [Boundary("cut", 40, 40), Boundary("dissolve", 70, 80)]
    assert boundaries_from_analysis(analysis) == expected
    assert boundaries_from_analysis(analysis.to_dict()) == expected
    fade_in = Analysis(info, [Shot(0, 0, 100, 0.0, 4.0, Transition("fade", 0, 12, 0.8))])
    assert boundaries_from_analysis(fade_in) == [Boundary("fade", 0, 12)]


def test_predictions_in_dont_care_regions_are_neither_hits_nor_false_alarms() -> None:
    ignore = [Boundary(None, 229, 230), Boundary(None, 268, 268)]
    r = match_transitions([cut(100)], [cut(100), cut(231), cut(268), cut(300)], ignore=ignore)
    assert counts(r) == (1, 1, 0)
    assert r.ignored_predicted == [1, 2]
    assert r.unmatched_predicted == [3]
    # A don't-care region never hides a miss, and a matched prediction stays a hit.
    r = match_transitions([cut(229)], [cut(229)], ignore=ignore)
    assert counts(r) == (1, 0, 0)
    assert match_transitions([cut(229)], [], ignore=ignore).counts == Counts(fn=1)


REAL_CUTS = Path(__file__).resolve().parents[1] / "bench" / "real_cuts.json"


@pytest.mark.skipif(not REAL_CUTS.is_file(), reason="bench/real_cuts.json not in this checkout")
def test_real_cut_labels_are_well_formed() -> None:
    clips = json.loads(REAL_CUTS.read_text(encoding="utf-8"))["clips"]
    assert len(clips) >= 9
    total_cuts = 0
    for name, clip in clips.items():
        spans = [(t["first_frame"], t["last_frame"], t["type"]) for t in clip["transitions"]]
        assert spans == sorted(spans), name
        for k, (first, last, kind) in enumerate(spans):
            assert kind in ("cut", "dissolve", "fade", "wipe"), name
            assert 0 <= first <= last < clip["frame_count"], name
            assert kind != "cut" or first == last, name
            assert k + 1 == len(spans) or last < spans[k + 1][0], f"{name}: overlapping labels"
        for region in clip["ignore"]:
            assert all(_gap_free(region, t) for t in clip["transitions"]), name
        total_cuts += sum(1 for s in spans if s[2] == "cut")
    assert total_cuts >= 20


def _gap_free(region: dict, label: dict) -> bool:
    """A don't-care region must not overlap a labelled transition."""
    before = region["last_frame"] < label["first_frame"]
    return before or label["last_frame"] < region["first_frame"]
