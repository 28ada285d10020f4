"""The Ray executor in-process, on a real local Ray instance: actor pools that follow the
backlog, stream counts, cancellation, re-planning a video whose index does not match its
decoding, and the Python API (``analyze_videos``)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ray_cluster import RAY_ENV, loopback_only, ray_available
from vidscene.pipeline import AnalyzeSettings, Listener, LocalExecutor, VideoTask, analyze_videos
from vidscene.video import probe

pytestmark = [
    pytest.mark.skipif(not ray_available(), reason="Ray not installed (make test installs it)"),
    pytest.mark.skipif(not loopback_only(), reason="Ray binds every interface: run the suite "
                       "in a loopback-only network namespace (make test does)"),
]

LIGHT = AnalyzeSettings(detector="fast", scenes="osg")
"""Stages without PyTorch: actors start in a second."""


@pytest.fixture(scope="module")
def ray_session() -> Iterator[Any]:
    import os

    import ray

    saved = {k: os.environ.get(k) for k in RAY_ENV}
    os.environ.update(RAY_ENV)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             _temp_dir=tempfile.mkdtemp(prefix="vsray", dir="/tmp"))
    try:
        yield ray
    finally:
        ray.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _tasks(paths: list[Path], settings: AnalyzeSettings) -> list[VideoTask]:
    return [VideoTask(f"job{i}", str(p), probe(p), settings) for i, p in enumerate(paths)]


def _docs(outcomes: Any) -> dict[str, dict[str, Any]]:
    found = {}
    for o in outcomes:
        assert o.error is None, o.error
        doc = o.result.analysis.to_dict()
        doc.pop("timing")
        found[o.task.path] = doc
    return found


def test_pools_grow_with_the_backlog_and_shrink_when_idle(ray_session: Any) -> None:
    from vidscene.pipeline._ray import _Pool
    from vidscene.pipeline._shot_stage import ShotStage
    from vidscene.pipeline._stage import Resources

    resources = Resources(num_cpus=1.0, threads=1)
    pool = _Pool(ray_session, "shots", ShotStage(LIGHT, resources), resources, min_size=1,
                 max_size=None, depth=2, idle_s=0.5)
    deadline = time.monotonic() + 30
    while ray_session.cluster_resources().get("CPU") != 2 and time.monotonic() < deadline:
        time.sleep(0.2)  # the node's resources may register a moment after start
    assert pool._limit() == 2  # what the cluster's CPUs hold
    try:
        pool.scale(10)  # ten chunks waiting: as many actors as the two CPUs hold
        assert len(pool.members) == 2
        deadline = time.monotonic() + 60
        while pool.waiting_refs() and time.monotonic() < deadline:
            [ref] = pool.waiting_refs()[:1]
            ray_session.wait([ref], timeout=5)
            pool.mark(ref)
        assert pool.active() == 2
        pool.scale(10)
        assert len(pool.members) == 2  # never more than the cluster holds
        time.sleep(0.8)
        assert pool.scale(0)  # idle beyond the minimum: stopped
        assert len(pool.members) == 1 and pool.active() == 1
    finally:
        pool.close()


def test_a_batch_uses_both_cpus_and_equals_the_local_analysis(ray_session: Any,
                                                              synthetic_video) -> None:
    from vidscene.pipeline._ray import RayExecutor

    paths = [synthetic_video("ray-exec", seed=60 + i, n_shots=8, shot_frames=(30, 50))[0]
             for i in range(4)]
    counts: list[dict[str, int]] = []
    with RayExecutor(chunk_seconds=3.0) as ray_executor:
        outcomes = list(ray_executor.run(_tasks(paths, LIGHT),
                                         Listener(streams=counts.append)))
    assert len(outcomes) == 4 and all(o.chunks >= 3 for o in outcomes)
    assert max(c["shots"] for c in counts) == 2 and max(c["scenes"] for c in counts) >= 1
    assert _docs(outcomes) == _docs(LocalExecutor().run(_tasks(paths, LIGHT)))


def test_a_cancelled_job_ends_cancelled_and_the_others_go_on(ray_session: Any,
                                                             synthetic_video) -> None:
    from vidscene.pipeline._ray import RayExecutor

    paths = [synthetic_video("ray-exec", seed=60 + i, n_shots=8, shot_frames=(30, 50))[0]
             for i in range(2)]
    tasks = _tasks(paths, LIGHT)
    with RayExecutor(chunk_seconds=3.0) as ray_executor:
        ray_executor.cancel(tasks[0].job_id)
        outcomes = {o.task.job_id: o for o in ray_executor.run(tasks)}
    assert outcomes[tasks[0].job_id].cancelled and outcomes[tasks[0].job_id].result is None
    assert outcomes[tasks[1].job_id].result is not None


def test_a_video_whose_index_disagrees_with_decoding_is_analysed_whole(
        ray_session: Any, clips_dir: Path) -> None:
    from vidscene.pipeline._ray import RayExecutor

    # Its packets' timestamps do not match its decoded frames: chunks cannot number frames.
    clip = clips_dir / "box.mp4"
    with RayExecutor(chunk_seconds=2.0) as ray_executor:
        [outcome] = list(ray_executor.run(_tasks([clip], LIGHT)))
    assert outcome.chunks == 1
    assert _docs([outcome]) == _docs(LocalExecutor().run(_tasks([clip], LIGHT)))


def test_the_python_api_takes_the_executor_by_name(ray_session: Any, synthetic_video,
                                                   tmp_path: Path) -> None:
    path, _ = synthetic_video("ray-exec", seed=60, n_shots=8, shot_frames=(30, 50))
    [ray_outcome] = analyze_videos([path], LIGHT, store=str(tmp_path / "a.db"),
                                   executor="ray", chunk_seconds=3.0)
    [local_outcome] = analyze_videos([path], LIGHT, store=str(tmp_path / "b.db"))
    assert ray_outcome.job.state == local_outcome.job.state == "done"
    assert ray_outcome.job.chunks >= 3 and local_outcome.job.chunks == 1
    docs = [o.result.analysis.to_dict() for o in (ray_outcome, local_outcome)]
    for d in docs:
        d.pop("timing")
    assert docs[0] == docs[1]
