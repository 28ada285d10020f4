"""Shot-boundary scoring: match predicted transitions to ground truth and count hits and misses.

The benchmarks (``bench/``), the training code and anyone evaluating a detector on their own
annotations use these functions, so that every accuracy number in the project is computed the
same way.

Rules (the usual ones in shot-boundary evaluation, made explicit):

* Every boundary is an inclusive frame span ``first_frame..last_frame``; a cut is the one-frame
  span of the first frame of the new shot, a gradual transition spans its mixed frames.
* A prediction and a truth **can match** when their spans come within ``cut_tolerance`` frames
  of each other: a predicted cut within ±tolerance of a truth cut; a predicted gradual whose span
  reaches within ±tolerance of the cut; a prediction of any kind whose position or span
  overlaps a truth gradual span widened by the tolerance on both sides. A cut detector that
  marks a dissolve anywhere inside it has found that boundary.
* Matching is **one-to-one and maximum**: the largest number of true positives any one-to-one
  assignment allows. It is seeded greedily by distance (nearest pairs first) and then completed
  with augmenting paths, so among the maximum assignments it keeps nearest pairs wherever that
  does not cost a hit. It is not a minimum-total-distance assignment: for counting TP/FP/FN
  only the size of the matching matters, and the size is optimal.
* Two predictions inside one dissolve therefore count one TP and one FP.
* True positives and false negatives are counted per **truth** type; false positives per
  **predicted** type (``"none"`` when a prediction carries no type). A detector that reports
  only cuts thus books all its false positives under ``"cut"``: per-type precision is
  meaningful for typed detectors only, per-type recall for every detector.
* Scores over many videos are **micro-averaged**: counts are summed, then the ratios taken.

Zero denominators follow one convention: precision is 1.0 when nothing was predicted (nothing
predicted wrongly), recall is 1.0 when there was nothing to find, F1 is 0.0 when both are 0.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "GRADUAL_TYPES",
    "Boundary",
    "Counts",
    "Match",
    "MatchResult",
    "Tally",
    "TruthLike",
    "aggregate",
    "boundaries_from_analysis",
    "f1_score",
    "match_transitions",
    "precision",
    "recall",
]

GRADUAL_TYPES: tuple[str, ...] = ("dissolve", "fade", "wipe", "other")
"""Transition types pooled as "gradual" (everything that is not a cut)."""

NO_TYPE = "none"
"""The type a prediction without a ``type`` is counted under."""


class TruthLike(Protocol):
    """Anything with a transition type and an inclusive frame span (duck-typed: the
    analysis ``Transition``, the synthetic ``TruthTransition``, :class:`Boundary`)."""

    @property
    def type(self) -> str | None: ...

    @property
    def first_frame(self) -> int: ...

    @property
    def last_frame(self) -> int: ...


@dataclass(frozen=True)
class Boundary:
    """A plain transition value, for hand-made truth and for tools that report bare frames."""

    type: str | None
    first_frame: int
    last_frame: int

    @classmethod
    def cut(cls, frame: int) -> Boundary:
        return cls("cut", frame, frame)


# -- counting ----------------------------------------------------------------------------------


def precision(tp: int, fp: int) -> float:
    """TP / (TP + FP); 1.0 when nothing was predicted."""
    return tp / (tp + fp) if tp + fp else 1.0


def recall(tp: int, fn: int) -> float:
    """TP / (TP + FN); 1.0 when there was nothing to find."""
    return tp / (tp + fn) if tp + fn else 1.0


def f1_score(tp: int, fp: int, fn: int) -> float:
    """Harmonic mean of :func:`precision` and :func:`recall`; 0.0 when both are 0."""
    p, r = precision(tp, fp), recall(tp, fn)
    return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Counts:
    """True positives, false positives and false negatives of one category."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        return precision(self.tp, self.fp)

    @property
    def recall(self) -> float:
        return recall(self.tp, self.fn)

    @property
    def f1(self) -> float:
        return f1_score(self.tp, self.fp, self.fn)

    @property
    def truth(self) -> int:
        """How many truth boundaries this category had (TP + FN)."""
        return self.tp + self.fn

    def to_dict(self) -> dict[str, float]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn,
                "precision": round(self.precision, 4), "recall": round(self.recall, 4),
                "f1": round(self.f1, 4)}


@dataclass
class Tally:
    """Counts of one or many videos: overall, per type, and false positives on hard negatives.

    ``negatives`` counts unmatched predictions that fall on a known hard negative (a flash, a
    fast pan, a zoom...) by the negative's type: where a detector's false positives come from.
    """

    overall: Counts = field(default_factory=Counts)
    by_type: dict[str, Counts] = field(default_factory=dict)
    negatives: dict[str, int] = field(default_factory=dict)
    videos: int = 0

    def __add__(self, other: Tally) -> Tally:
        by_type = dict(self.by_type)
        for name, counts in other.by_type.items():
            by_type[name] = by_type.get(name, Counts()) + counts
        negatives = dict(self.negatives)
        for name, n in other.negatives.items():
            negatives[name] = negatives.get(name, 0) + n
        return Tally(self.overall + other.overall, by_type, negatives, self.videos + other.videos)

    def of(self, *types: str) -> Counts:
        """The pooled counts of ``types`` (zero counts for types never seen)."""
        total = Counts()
        for name in types:
            total = total + self.by_type.get(name, Counts())
        return total

    @property
    def gradual(self) -> Counts:
        """Dissolves, fades, wipes and other gradual transitions pooled."""
        return self.of(*GRADUAL_TYPES)

    def to_dict(self) -> dict[str, Any]:
        return {
            "videos": self.videos,
            "overall": self.overall.to_dict(),
            "gradual": self.gradual.to_dict(),
            "by_type": {k: v.to_dict() for k, v in sorted(self.by_type.items())},
            "fp_on_negatives": dict(sorted(self.negatives.items())),
        }


@dataclass(frozen=True)
class Match:
    """One truth/prediction pair; ``gap`` is the frame distance between their spans (0 when
    they overlap)."""

    truth_index: int
    predicted_index: int
    gap: int


@dataclass
class MatchResult:
    """The outcome of matching one video's predictions to its truth."""

    matches: list[Match]
    unmatched_truth: list[int]
    unmatched_predicted: list[int]
    tally: Tally
    ignored_predicted: list[int] = field(default_factory=list)

    @property
    def counts(self) -> Counts:
        return self.tally.overall

    @property
    def precision(self) -> float:
        return self.tally.overall.precision

    @property
    def recall(self) -> float:
        return self.tally.overall.recall

    @property
    def f1(self) -> float:
        return self.tally.overall.f1


# -- matching ----------------------------------------------------------------------------------


def _span(b: TruthLike) -> tuple[int, int]:
    first, last = int(b.first_frame), int(b.last_frame)
    return (first, last) if first <= last else (last, first)


def _gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Frames between two inclusive spans; 0 when they touch or overlap."""
    return max(a[0] - b[1], b[0] - a[1], 0)


def _type_of(b: TruthLike) -> str:
    return getattr(b, "type", None) or NO_TYPE


def _candidates(
    truth_spans: list[tuple[int, int]], pred_spans: list[tuple[int, int]], tolerance: int
) -> list[list[tuple[tuple[int, float], int]]]:
    """For each truth, the predictions it may match, nearest first.

    The sort key is (gap, distance between centres): inside a long dissolve a prediction near
    its middle is preferred to one at its edge.
    """
    order = sorted(range(len(pred_spans)), key=lambda j: pred_spans[j][0])
    starts = [pred_spans[j][0] for j in order]
    longest = max((e - s for s, e in pred_spans), default=0)
    result: list[list[tuple[tuple[int, float], int]]] = []
    for ts in truth_spans:
        lo = ts[0] - tolerance - longest
        hi = bisect_right(starts, ts[1] + tolerance)
        near: list[tuple[tuple[int, float], int]] = []
        for k in range(bisect_right(starts, lo - 1), hi):
            j = order[k]
            gap = _gap(ts, pred_spans[j])
            if gap <= tolerance:
                centre = abs((ts[0] + ts[1]) / 2 - (pred_spans[j][0] + pred_spans[j][1]) / 2)
                near.append(((gap, centre), j))
        near.sort()
        result.append(near)
    return result


def _maximum_matching(candidates: list[list[tuple[tuple[int, float], int]]]) -> dict[int, int]:
    """Predicted index → truth index, maximum cardinality, seeded greedily by distance."""
    pred_to_truth: dict[int, int] = {}
    truth_to_pred: dict[int, int] = {}
    # Greedy seed: nearest pairs first, so that ties in count resolve to close pairs.
    edges = sorted((key, i, j) for i, near in enumerate(candidates) for key, j in near)
    for _, i, j in edges:
        if i not in truth_to_pred and j not in pred_to_truth:
            truth_to_pred[i], pred_to_truth[j] = j, i

    # Complete to a maximum matching with augmenting paths (Kuhn). A truth that cannot be
    # augmented now never can be later, so one attempt per free truth suffices.
    def augment(i: int, seen: set[int]) -> bool:
        for _, j in candidates[i]:
            if j in seen:
                continue
            seen.add(j)
            if j not in pred_to_truth or augment(pred_to_truth[j], seen):
                pred_to_truth[j], truth_to_pred[i] = i, j
                return True
        return False

    for i in range(len(candidates)):
        if i not in truth_to_pred and candidates[i]:
            augment(i, set())
    return pred_to_truth


def match_transitions(
    truth: Sequence[TruthLike],
    predicted: Sequence[TruthLike],
    *,
    cut_tolerance: int = 2,
    negatives: Sequence[TruthLike] = (),
    ignore: Sequence[TruthLike] = (),
) -> MatchResult:
    """Match ``predicted`` boundaries to ``truth`` one-to-one and count TP/FP/FN.

    See the module docstring for the rules. ``negatives`` are known hard negatives (events that
    are not transitions); unmatched predictions within ``cut_tolerance`` of one are tallied by
    the negative's type in ``tally.negatives`` (they still count as false positives).
    ``ignore`` are don't-care regions of real footage (damaged frames, a jump nobody can call a
    cut or not with confidence): an unmatched prediction within ``cut_tolerance`` of one is
    dropped, neither a hit nor a false alarm, and listed in ``ignored_predicted``.
    """
    if cut_tolerance < 0:
        raise ValueError(f"cut_tolerance must be >= 0, got {cut_tolerance}")
    truth_spans = [_span(t) for t in truth]
    pred_spans = [_span(p) for p in predicted]
    pred_to_truth = _maximum_matching(_candidates(truth_spans, pred_spans, cut_tolerance))

    matches = sorted(
        (Match(i, j, _gap(truth_spans[i], pred_spans[j])) for j, i in pred_to_truth.items()),
        key=lambda m: m.truth_index,
    )
    matched_truth = set(pred_to_truth.values())
    unmatched_truth = [i for i in range(len(truth)) if i not in matched_truth]
    unmatched_pred = [j for j in range(len(predicted)) if j not in pred_to_truth]
    ignore_spans = [_span(g) for g in ignore]
    ignored = [j for j in unmatched_pred
               if any(_gap(span, pred_spans[j]) <= cut_tolerance for span in ignore_spans)]
    if ignored:
        dropped = set(ignored)
        unmatched_pred = [j for j in unmatched_pred if j not in dropped]

    by_type: dict[str, Counts] = {}

    def add(name: str, counts: Counts) -> None:
        by_type[name] = by_type.get(name, Counts()) + counts

    for i in matched_truth:
        add(_type_of(truth[i]), Counts(tp=1))
    for i in unmatched_truth:
        add(_type_of(truth[i]), Counts(fn=1))
    for j in unmatched_pred:
        add(_type_of(predicted[j]), Counts(fp=1))

    negative_spans = [(_span(n), _type_of(n)) for n in negatives]
    on_negatives: dict[str, int] = {}
    for j in unmatched_pred:
        # The nearest event wins; among events that all contain the prediction, the shortest
        # (a flash inside a dim shot is the flash's fault, not the shot's).
        near = [(_gap(span, pred_spans[j]), span[1] - span[0], name)
                for span, name in negative_spans]
        near = [x for x in near if x[0] <= cut_tolerance]
        if near:
            name = min(near)[2]
            on_negatives[name] = on_negatives.get(name, 0) + 1

    overall = Counts(tp=len(matches), fp=len(unmatched_pred), fn=len(unmatched_truth))
    return MatchResult(matches, unmatched_truth, unmatched_pred,
                       Tally(overall, by_type, on_negatives, videos=1), ignored)


def aggregate(results: Iterable[MatchResult | Tally]) -> Tally:
    """Micro-average: sum the counts of many videos (ratios are taken on the sums)."""
    total = Tally()
    for r in results:
        total = total + (r.tally if isinstance(r, MatchResult) else r)
    return total


def boundaries_from_analysis(analysis: Any) -> list[Boundary]:
    """The transitions of an Analysis (object or its JSON dict), ready for scoring.

    The first shot's ``transition_in`` is the start of the video, not a boundary, unless it is
    a gradual one (a fade in from black), which is kept.
    """
    shots = analysis["shots"] if isinstance(analysis, Mapping) else analysis.shots
    found: list[Boundary] = []
    for shot in shots:
        t = shot.get("transition_in") if isinstance(shot, Mapping) else shot.transition_in
        if t is None:
            continue
        if isinstance(t, Mapping):
            b = Boundary(t.get("type"), int(t["first_frame"]), int(t["last_frame"]))
        else:
            b = Boundary(t.type, int(t.first_frame), int(t.last_frame))
        if b.first_frame == 0 and b.last_frame == 0 and b.type == "cut":
            continue
        found.append(b)
    return found
