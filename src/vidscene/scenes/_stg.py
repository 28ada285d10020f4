"""Scene transition graph (STG): scenes at the cut edges of a graph of shot clusters.

After Yeung, Yeo and Liu's scene transition graph. Shots that look alike and lie close in
time are clustered (a camera angle of a dialogue, a recurring view of one place); each cluster
is a node, and the story's passage from one shot to the next is an edge between the two shots'
clusters. A scene change is an edge whose removal splits the graph in two: nothing before it
ever comes back after it. Because the shot sequence walks the graph, such a *cut edge* after
shot ``k`` is exactly a point where no cluster has shots on both sides of ``k``, so the scenes
follow in one pass once the clusters are known.

Choices made here:

* **Clustering.** Complete-link agglomerative clustering under a time constraint, as in the
  original: two shots can only share a cluster if no more than ``window`` seconds separate
  them, and a cluster's distance to another is the largest distance between their members, so
  a cluster never drifts into a chain of look-alikes. Merging stops when the closest pair of
  clusters is farther apart than the link threshold. Only clusters within the window are
  ever compared, so the work grows with shots × shots-per-window, not shots².
* **Link threshold.** ``link`` times the median cosine distance between neighbouring shots —
  the video's own typical shot change — so one setting fits a calm documentary and a fast
  music video alike (the same normalisation as ``osg``). Complete link compares a cluster's
  farthest members, which lie about twice as far apart as typical neighbours, hence the
  default 2.
* **Confidence.** For each boundary, the smallest distance between a shot before and a shot
  after it within the window, in units of the link threshold (``strength``; at least 1 unless
  only the time constraint kept the two sides apart), mapped to ``1 - 2**-strength`` as in
  ``osg``; a scene's confidence is that of its weaker boundary.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np

from vidscene.analysis import Scene, Shot
from vidscene.errors import ConfigError
from vidscene.scenes._base import (
    SEGMENTERS,
    SceneSegmenter,
    check_embeddings,
    scenes_from_bounds,
    unit_rows,
)

__all__ = ["STGSegmenter", "cut_edges", "time_constrained_clusters"]


def time_constrained_clusters(embeddings: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                              window: float, threshold: float) -> np.ndarray:
    """Cluster label of every shot: complete-link clustering of cosine distances where shots
    more than ``window`` seconds apart never share a cluster; merging stops above
    ``threshold``. Labels are the index of each cluster's first shot."""
    n = len(embeddings)
    unit = unit_rows(embeddings)
    # neighbours[a][b]: complete-link distance of clusters a and b, present only when every
    # pair of their shots is within the window (otherwise the distance is infinite).
    neighbours: list[dict[int, float]] = [{} for _ in range(n)]
    heap: list[tuple[float, int, int]] = []
    for i in range(n):
        j_stop = int(np.searchsorted(starts, ends[i] + window, side="right"))
        j_stop = max(j_stop, i + 1)
        if j_stop <= i + 1:
            continue
        d = np.clip(1.0 - unit[i + 1: j_stop] @ unit[i], 0.0, 2.0)
        for j, dist in zip(range(i + 1, j_stop), d.tolist(), strict=True):
            neighbours[i][j] = dist
            neighbours[j][i] = dist
            if dist <= threshold:
                heapq.heappush(heap, (dist, i, j))
    parent = list(range(n))
    alive = [True] * n
    while heap:
        dist, a, b = heapq.heappop(heap)
        if not (alive[a] and alive[b]) or neighbours[a].get(b) != dist:
            continue  # a stale entry: one side was merged since
        # Merge b into a; the new distances are the larger of the two (complete link), and
        # a cluster out of reach of either side stays out of reach.
        alive[b] = False
        parent[b] = a
        merged = {}
        for c, d_ac in neighbours[a].items():
            if c == b or not alive[c]:
                continue
            d_bc = neighbours[b].get(c)
            if d_bc is not None:
                merged[c] = max(d_ac, d_bc)
        for c in list(neighbours[a]):
            neighbours[c].pop(a, None)
        for c in list(neighbours[b]):
            neighbours[c].pop(b, None)
        neighbours[a] = merged
        neighbours[b] = {}
        for c, d in merged.items():
            neighbours[c][a] = d
            if d <= threshold:
                heapq.heappush(heap, (d, min(a, c), max(a, c)))
    labels = np.empty(n, np.int64)
    for i in range(n):
        root = i
        while parent[root] != root:
            root = parent[root]
        labels[i] = root
    # Relabel by first shot, so labels do not depend on merge order.
    first: dict[int, int] = {}
    return np.array([first.setdefault(int(x), i) for i, x in enumerate(labels)], np.int64)


def cut_edges(labels: np.ndarray) -> list[int]:
    """Shots that start a scene: 0 and every ``k + 1`` where no cluster has shots both at or
    before ``k`` and after ``k`` (the cut edges of the scene transition graph)."""
    n = len(labels)
    if n == 0:
        return []
    last: dict[int, int] = {}
    for i, label in enumerate(labels.tolist()):
        last[label] = i
    starts = [0]
    reach = -1
    for k, label in enumerate(labels.tolist()):
        reach = max(reach, last[label])
        if reach == k and k + 1 < n:
            starts.append(k + 1)
    return starts


@SEGMENTERS.register("stg")
class STGSegmenter(SceneSegmenter):
    """Scene transition graph (see module notes).

    ``window``: seconds within which two shots may share a cluster; ``link``: the clustering's
    stopping distance in units of the video's median neighbouring-shot distance (higher:
    bigger clusters, fewer scenes); ``distance_floor`` keeps that unit from vanishing on a
    video whose shots all look alike.
    """

    name = "stg"

    def __init__(self, *, window: float = 45.0, link: float = 2.0,
                 distance_floor: float = 0.05) -> None:
        if not window > 0:
            raise ConfigError(f"stg window must be > 0 s, got {window}")
        if not link > 0:
            raise ConfigError(f"stg link must be > 0, got {link}")
        if not distance_floor > 0:
            raise ConfigError(f"stg distance_floor must be > 0, got {distance_floor}")
        self.window = float(window)
        self.link = float(link)
        self.distance_floor = float(distance_floor)

    def describe(self) -> str:
        return f"stg(window={self.window:g}s, link={self.link:g})"

    def segment(self, shots: Sequence[Shot], embeddings: np.ndarray,
                keyframes: Sequence[np.ndarray] | None = None,
                sound: np.ndarray | None = None) -> list[Scene]:
        if not shots:
            return []
        rows = check_embeddings(shots, embeddings)
        if len(shots) == 1:
            return scenes_from_bounds(shots, [0], [1.0])
        unit = unit_rows(rows)
        starts_t = np.array([s.start_time for s in shots], np.float64)
        ends_t = np.array([s.end_time for s in shots], np.float64)
        neighbour = np.clip(1.0 - np.einsum("ij,ij->i", unit[:-1], unit[1:]), 0.0, 2.0)
        threshold = self.link * max(float(np.median(neighbour)), self.distance_floor)
        labels = time_constrained_clusters(rows, starts_t, ends_t, self.window, threshold)
        starts = cut_edges(labels)
        strengths = [self._gap(unit, starts_t, ends_t, k) / threshold for k in starts[1:]]
        edges = [1.0] + [1.0 - 2.0 ** -max(0.0, s) for s in strengths] + [1.0]
        confidences = [min(edges[i], edges[i + 1]) for i in range(len(starts))]
        return scenes_from_bounds(shots, starts, confidences)

    def _gap(self, unit: np.ndarray, starts: np.ndarray, ends: np.ndarray, k: int) -> float:
        """Smallest distance between a shot before ``k`` and one from ``k`` on, both within
        the window of the boundary."""
        lo = int(np.searchsorted(ends, starts[k] - self.window, side="left"))
        hi = int(np.searchsorted(starts, ends[k - 1] + self.window, side="right"))
        before, after = unit[max(lo, 0):k], unit[k:max(hi, k + 1)]
        return float(np.clip(1.0 - before @ after.T, 0.0, 2.0).min())
