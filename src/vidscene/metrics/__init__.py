"""Scoring shared by the benchmarks, the training code and users with their own annotations,
so that every accuracy number in the project is computed one way.

* :mod:`vidscene.metrics._shots` — shot boundaries: one-to-one matching of transitions,
  precision / recall / F1 by transition type.
* :mod:`vidscene.metrics._scenes` — scenes: boundary precision / recall / F1 within a tolerance
  in seconds, and Vendrig–Worring coverage / overflow and their F-score.
* :mod:`vidscene.metrics._attributes` — attributes: character error rate of read text,
  frame-level F1 of time segments such as speech.
"""

from vidscene.metrics._attributes import character_error_rate, segment_frame_f1
from vidscene.metrics._scenes import (
    SceneScores,
    coverage_overflow,
    match_scene_boundaries,
    score_scenes,
)
from vidscene.metrics._shots import (
    GRADUAL_TYPES,
    Boundary,
    Counts,
    Match,
    MatchResult,
    Tally,
    TruthLike,
    aggregate,
    boundaries_from_analysis,
    f1_score,
    match_transitions,
    precision,
    recall,
)

__all__ = [
    "character_error_rate",
    "segment_frame_f1",
    "GRADUAL_TYPES",
    "Boundary",
    "Counts",
    "Match",
    "MatchResult",
    "SceneScores",
    "Tally",
    "TruthLike",
    "aggregate",
    "boundaries_from_analysis",
    "coverage_overflow",
    "f1_score",
    "match_scene_boundaries",
    "match_transitions",
    "precision",
    "recall",
    "score_scenes",
]
