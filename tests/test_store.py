"""Tests of the results store: both backends must keep the same contract."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import platformdirs
import pytest

from vidscene.analysis import Analysis, AnalysisResult, Scene, Shot, Transition, VideoInfo
from vidscene.errors import ConfigError, NotFoundInStore, StoreError
from vidscene.store import (
    BACKENDS,
    SCHEMA_VERSION,
    AmbiguousId,
    MemoryStore,
    ResultStore,
    SQLiteStore,
    StoredAnalysis,
    _memory,
    _mongo,
    _sqlite,
    default_store_path,
    open_store,
    settings_key,
)

KEY = settings_key({"detector": "fast", "threshold": 0.3})
OTHER_KEY = settings_key({"detector": "fast", "threshold": 0.5})


def make_result(sha256: str = "a" * 64, shots: int = 3, path: str = "/videos/clip.mp4",
                thumbnails: dict[int, bytes] | None = None) -> AnalysisResult:
    """A small, valid analysis: ``shots`` shots of 25 frames at 25 fps, two scenes."""
    fps, length = 25.0, 25
    shot_list = []
    for i in range(shots):
        start, end = i * length, (i + 1) * length
        transition = (Transition("cut", start, start, 1.0) if i % 2 == 0
                      else Transition("dissolve", start, start + 5, 0.75))
        shot_list.append(Shot(i, start, end, start / fps, end / fps, transition,
                              keyframes=[start + 12], attributes={"brightness": 0.25 * (i + 1)}))
    frame_count = shots * length
    half = max(shots // 2, 1)
    scenes = [Scene(0, 0, half - 1, 0, half * length, 0.0, half, 0.9, {"mood": 0.5})]
    if shots > half:
        scenes.append(Scene(1, half, shots - 1, half * length, frame_count, half,
                            frame_count / fps, 0.8))
    video = VideoInfo(path, sha256, frame_count / fps, fps, frame_count, 640, 360, True,
                      rotation=90, codec="h264")
    analysis = Analysis(
        video, shot_list, scenes,
        attributes={"shot_count": shots, "tags": ["indoor", "night"], "nested": {"a": 1}},
        models={"shots": "fast"}, timing={"decode_s": 0.125, "total_s": 0.5},
        settings={"detector": "fast", "threshold": 0.3},
    )
    analysis.check()
    if thumbnails is None:
        thumbnails = {s.keyframes[0]: b"\xff\xd8jpeg-" + bytes([i])
                      for i, s in enumerate(shot_list)}
    return AnalysisResult(analysis, thumbnails)


@pytest.fixture(params=["memory", "sqlite", "mongodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ResultStore]:
    """Every backend, against the same contract (MongoDB: a real SecantusDB server)."""
    opened: ResultStore
    if request.param == "memory":
        opened = MemoryStore()
    elif request.param == "sqlite":
        opened = SQLiteStore(tmp_path / "deep" / "dir" / "vidscene.db")
    else:
        opened = open_store(request.getfixturevalue("mongo_url"))
    with opened:
        yield opened


def fix_ids(monkeypatch: pytest.MonkeyPatch, ids: list[str]) -> None:
    """Make both backends hand out these ids, in order (for prefix tests)."""
    queue = iter(ids)
    for module in (_memory, _sqlite, _mongo):
        monkeypatch.setattr(module, "new_id", lambda: next(queue))


# -- keyed records (the HTTP service's tokens, sessions, idempotency keys) --------------------


def test_records_create_once_put_get_delete_list(store: ResultStore) -> None:
    records = store.records
    assert records.get("tokens", "abc") is None
    assert records.create("tokens", "abc", {"name": "ci", "n": 1}) is True
    assert records.create("tokens", "abc", {"name": "other"}) is False  # first one kept
    assert records.get("tokens", "abc") == {"name": "ci", "n": 1}
    records.put("tokens", "abc", {"name": "ci", "n": 2})
    records.put("tokens", "0ab", {"name": "early"})
    records.put("sessions", "abc", {"kind": "not a token"})
    assert records.list("tokens") == [("0ab", {"name": "early"}), ("abc", {"name": "ci", "n": 2})]
    got = records.get("tokens", "abc")
    assert got is not None
    got["n"] = 99  # a copy: changing it changes nothing stored
    assert records.get("tokens", "abc") == {"name": "ci", "n": 2}
    assert records.delete("tokens", "abc") is True
    assert records.delete("tokens", "abc") is False
    assert [k for k, _ in records.list("tokens")] == ["0ab"]
    assert records.list("sessions") == [("abc", {"kind": "not a token"})]


# -- round trip, find, replace ---------------------------------------------------------------


def test_round_trip_keeps_analysis_and_thumbnails(store: ResultStore) -> None:
    result = make_result()
    analysis_id = store.save(result, KEY)

    assert result.id == analysis_id
    assert len(analysis_id) == 32 and int(analysis_id, 16) >= 0
    loaded = store.get(analysis_id)
    assert loaded.id == analysis_id
    assert loaded.analysis == result.analysis
    assert loaded.analysis.to_dict() == result.analysis.to_dict()
    assert loaded.analysis.shots[1].transition_in == Transition("dissolve", 25, 30, 0.75)
    assert loaded.thumbnails == result.thumbnails
    assert all(type(v) is bytes for v in loaded.thumbnails.values())


def test_results_are_copies_not_shared_state(store: ResultStore) -> None:
    analysis_id = store.save(make_result(), KEY)
    first = store.get(analysis_id)
    first.analysis.shots.clear()
    first.thumbnails.clear()
    again = store.get(analysis_id)
    assert len(again.analysis.shots) == 3 and len(again.thumbnails) == 3


def test_find_hits_same_content_and_settings_only(store: ResultStore) -> None:
    analysis_id = store.save(make_result(sha256="b" * 64), KEY)

    found = store.find("b" * 64, KEY)
    assert found is not None and found.id == analysis_id
    assert found.analysis.video.sha256 == "b" * 64
    assert len(found.thumbnails) == 3
    assert store.find("b" * 64, OTHER_KEY) is None
    assert store.find("c" * 64, KEY) is None


def test_save_again_replaces_and_keeps_id(store: ResultStore) -> None:
    first = store.save(make_result(shots=3), KEY)
    newer = make_result(shots=4, thumbnails={99: b"new"})
    second = store.save(newer, KEY)

    assert second == first == newer.id
    [summary] = store.list()
    assert summary.shot_count == 4
    loaded = store.get(first)
    assert len(loaded.analysis.shots) == 4
    assert loaded.thumbnails == {99: b"new"}  # the old thumbnails went with the old analysis


def test_other_settings_make_a_second_entry(store: ResultStore) -> None:
    first = store.save(make_result(), KEY)
    second = store.save(make_result(), OTHER_KEY)
    assert first != second
    assert {s.settings_key for s in store.list()} == {KEY, OTHER_KEY}


def test_input_id_is_ignored(store: ResultStore) -> None:
    result = make_result()
    result.id = "f" * 32
    analysis_id = store.save(result, KEY)
    assert analysis_id != "f" * 32 and result.id == analysis_id
    with pytest.raises(NotFoundInStore):
        store.get("f" * 32)


# -- ids -------------------------------------------------------------------------------------


def test_unique_prefix_resolves_and_ambiguous_prefix_is_refused(
    store: ResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fix_ids(monkeypatch, ["abc1" + "0" * 28, "abc2" + "0" * 28])
    one = store.save(make_result(sha256="1" * 64), KEY)
    two = store.save(make_result(sha256="2" * 64), KEY)

    assert store.get("abc1").id == one
    assert store.get("ABC2").id == two  # ids are case-insensitive hex
    assert store.get(one).id == one
    with pytest.raises(AmbiguousId) as ambiguous:
        store.get("abc")
    assert isinstance(ambiguous.value, NotFoundInStore)
    assert "ambiguous" in str(ambiguous.value) and one in str(ambiguous.value)
    assert ambiguous.value.matches == [one, two]
    with pytest.raises(AmbiguousId):
        store.delete("ab")
    assert len(store.list()) == 2  # an ambiguous delete removed nothing


@pytest.mark.parametrize("bad_id", ["", "   ", "abd", "abc%", "abc_", "zz"])
def test_unknown_or_malformed_ids_are_not_found(
    store: ResultStore, monkeypatch: pytest.MonkeyPatch, bad_id: str
) -> None:
    fix_ids(monkeypatch, ["abc1" + "0" * 28])
    store.save(make_result(), KEY)
    with pytest.raises(NotFoundInStore) as missing:
        store.get(bad_id)
    assert not isinstance(missing.value, AmbiguousId)
    with pytest.raises(NotFoundInStore):
        store.delete(bad_id)
    assert len(store.list()) == 1


# -- list, delete ----------------------------------------------------------------------------


def test_list_is_newest_first_with_summaries(store: ResultStore) -> None:
    before = datetime.now().astimezone()
    ids = [store.save(make_result(sha256=c * 64, shots=n, path=f"/v/{c}.mp4"), KEY)
           for c, n in (("1", 2), ("2", 3), ("3", 4))]

    listed = store.list()
    assert [s.id for s in listed] == ids[::-1]
    newest = listed[0]
    assert newest == StoredAnalysis(ids[2], "/v/3.mp4", "3" * 64, KEY, newest.created,
                                    4.0, 4, 2)
    created = datetime.fromisoformat(newest.created)
    assert created.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= created <= datetime.now().astimezone()

    store.save(make_result(sha256="1" * 64, shots=5, path="/v/1.mp4"), KEY)  # replace oldest
    assert [s.id for s in store.list()] == [ids[0], ids[2], ids[1]]


def test_delete_removes_analysis_and_thumbnails(store: ResultStore) -> None:
    keep = store.save(make_result(sha256="1" * 64), KEY)
    gone = store.save(make_result(sha256="2" * 64), KEY)

    store.delete(gone[:8])
    assert [s.id for s in store.list()] == [keep]
    assert store.find("2" * 64, KEY) is None
    with pytest.raises(NotFoundInStore):
        store.get(gone)
    with pytest.raises(NotFoundInStore):
        store.delete(gone)
    assert store.get(keep).thumbnails  # the other analysis kept its thumbnails
    if isinstance(store, SQLiteStore):
        with sqlite3.connect(store.path) as raw:
            owners = {r[0] for r in raw.execute("SELECT analysis_id FROM thumbnails")}
        assert owners == {keep}


def test_empty_store(store: ResultStore) -> None:
    assert store.list() == []
    assert store.find("a" * 64, KEY) is None
    with pytest.raises(NotFoundInStore):
        store.get("abc")


def test_closed_store_refuses_use(store: ResultStore) -> None:
    store.close()
    store.close()  # twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.list()
    with pytest.raises(StoreError, match="closed"):
        store.save(make_result(), KEY)


# -- atomicity -------------------------------------------------------------------------------


def test_failure_mid_save_leaves_the_previous_state(
    store: ResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_id = store.save(make_result(shots=3), KEY)
    real_write = type(store)._write_thumbnails  # type: ignore[attr-defined]

    def write_some_then_fail(self: ResultStore, *args: object) -> object:
        *head, thumbnails = args
        assert isinstance(thumbnails, dict)
        real_write(self, *head, dict(list(thumbnails.items())[:1]))  # type: ignore[arg-type]
        raise RuntimeError("crash while writing thumbnails")

    monkeypatch.setattr(type(store), "_write_thumbnails", write_some_then_fail)
    with pytest.raises(RuntimeError, match="crash"):
        store.save(make_result(shots=4, thumbnails={1: b"x", 2: b"y"}), KEY)  # a replace
    with pytest.raises(RuntimeError, match="crash"):
        store.save(make_result(sha256="9" * 64), KEY)  # a new entry
    monkeypatch.undo()

    assert [s.id for s in store.list()] == [old_id]
    assert store.find("9" * 64, KEY) is None
    old = store.get(old_id)
    assert len(old.analysis.shots) == 3
    assert old.thumbnails == make_result().thumbnails


def test_unstorable_analysis_is_refused_before_writing(store: ResultStore) -> None:
    result = make_result()
    result.analysis.attributes["bad"] = object()
    with pytest.raises(StoreError, match="JSON"):
        store.save(result, KEY)
    bad_thumbnail = make_result(thumbnails={3: "not bytes"})  # type: ignore[dict-item]
    with pytest.raises(StoreError, match="bytes"):
        store.save(bad_thumbnail, KEY)
    assert store.list() == [] and result.id is None


def test_killed_process_mid_save_leaves_nothing_half_written(tmp_path: Path) -> None:
    """A real crash (os._exit inside the transaction), not just an exception."""
    db = tmp_path / "vidscene.db"
    script = textwrap.dedent(f"""
        import os, sys
        sys.path[:0] = {sys.path!r}
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_store import make_result, KEY
        from vidscene.store import SQLiteStore

        store = SQLiteStore({str(db)!r})
        store.save(make_result(shots=3), KEY)
        real_write = SQLiteStore._write_thumbnails

        def write_then_die(self, conn, analysis_id, thumbnails):
            real_write(self, conn, analysis_id, thumbnails)
            os._exit(7)

        SQLiteStore._write_thumbnails = write_then_die
        store.save(make_result(shots=4, thumbnails={{1: b"new"}}), KEY)
        store.save(make_result(sha256="9" * 64), KEY)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 7, done.stderr.decode()

    with SQLiteStore(db) as store:
        [summary] = store.list()
        assert summary.shot_count == 3
        loaded = store.get(summary.id)
        assert len(loaded.analysis.shots) == 3
        assert loaded.thumbnails == make_result().thumbnails


# -- SQLite specifics ------------------------------------------------------------------------


def test_sqlite_persists_and_uses_wal_and_schema_version(tmp_path: Path) -> None:
    db = tmp_path / "a" / "b" / "vidscene.db"
    with SQLiteStore(db) as store:
        analysis_id = store.save(make_result(), KEY)
    assert db.is_file()
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = raw.execute("PRAGMA index_list(analyses)").fetchall()
        unique = [i[1] for i in indexes if i[2] == 1 and i[3] == "c"]
        assert [c[2] for c in raw.execute(f"PRAGMA index_info({unique[0]})")] == \
            ["sha256", "settings_key"]
    with SQLiteStore(db) as reopened:
        assert reopened.get(analysis_id).analysis == make_result().analysis


def test_non_database_file_gives_one_line_store_error(tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"these are my notes, not a database\n" * 100)
    with pytest.raises(StoreError) as error:
        SQLiteStore(junk)
    message = str(error.value)
    assert "not a SQLite database" in message and str(junk) in message
    assert "\n" not in message
    assert junk.read_bytes() == b"these are my notes, not a database\n" * 100


def test_foreign_or_newer_database_is_refused_untouched(tmp_path: Path) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as raw:
        raw.execute("CREATE TABLE customers (name TEXT)")
    with pytest.raises(StoreError, match="not a vidscene store"):
        SQLiteStore(foreign)

    newer = tmp_path / "newer.db"
    SQLiteStore(newer).close()
    with sqlite3.connect(newer) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer vidscene"):
        SQLiteStore(newer)


def test_uncreatable_folder_gives_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create its folder"):
        SQLiteStore(blocker / "sub" / "vidscene.db")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs a POSIX user that file permissions apply to")
def test_read_only_database_can_be_read_but_not_written(tmp_path: Path) -> None:
    db = tmp_path / "vidscene.db"
    with SQLiteStore(db) as store:
        analysis_id = store.save(make_result(), KEY)
    db.chmod(0o444)
    with SQLiteStore(db) as store:
        assert store.get(analysis_id).id == analysis_id
        with pytest.raises(StoreError, match="read-only"):
            store.save(make_result(sha256="9" * 64), KEY)


# -- opening, settings keys ------------------------------------------------------------------


def test_open_store_picks_backend_by_scheme(tmp_path: Path) -> None:
    with open_store("memory:") as memory:
        assert isinstance(memory, MemoryStore)
        memory.save(make_result(), KEY)
    with open_store("memory:") as fresh:
        assert fresh.list() == []  # each memory: store is new
    cases: list[tuple[str | Path, Path]] = [
        (tmp_path / "p.db", tmp_path / "p.db"),
        (str(tmp_path / "s.db"), tmp_path / "s.db"),
        (f"sqlite://{tmp_path}/u.db", tmp_path / "u.db"),
        (f"sqlite://localhost{tmp_path}/my%20db.db", tmp_path / "my db.db"),
    ]
    for location, expected in cases:
        with open_store(location) as opened:
            assert isinstance(opened, SQLiteStore) and opened.path == expected
        assert expected.is_file()
    assert {"memory", "sqlite"} <= set(BACKENDS.names())


@pytest.mark.parametrize("location", ["postgres://localhost/vidscene", "sqlite://server/x.db",
                                      "sqlite:", "memory:shared"])
def test_open_store_rejects_unknown_or_malformed_locations(location: str) -> None:
    with pytest.raises(ConfigError):
        open_store(location)


def test_vidscene_db_env_var_is_respected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VIDSCENE_DB", raising=False)
    assert default_store_path() == \
        Path(platformdirs.user_data_dir("vidscene")) / "vidscene.db"

    target = tmp_path / "env" / "results.db"
    monkeypatch.setenv("VIDSCENE_DB", str(target))
    assert default_store_path() == target
    with open_store() as store:
        assert isinstance(store, SQLiteStore) and store.path == target
        store.save(make_result(), KEY)
    with open_store(None) as store:
        assert len(store.list()) == 1

    monkeypatch.setenv("VIDSCENE_DB", "memory:")
    with open_store() as store:
        assert isinstance(store, MemoryStore)


def test_settings_key_is_stable_and_order_free() -> None:
    key = settings_key({"detector": "fast", "threshold": 0.3, "scenes": {"b": 1, "a": [1, 2]}})
    assert key == settings_key({"scenes": {"a": [1, 2], "b": 1}, "threshold": 0.3,
                                "detector": "fast"})
    assert len(key) == 16 and int(key, 16) >= 0
    # Pinned (sha256 of {"detector":"fast","threshold":0.3}): a change here would silently
    # invalidate every user's stored results.
    assert settings_key({"detector": "fast", "threshold": 0.3}) == "738c1820b6a2f3c4"
    assert settings_key({"detector": "fast", "threshold": 0.31}) != KEY
    assert settings_key({}) != settings_key({"detector": None})
    with pytest.raises(ConfigError):
        settings_key({"bad": object()})
    with pytest.raises(ConfigError):
        settings_key({"nan": float("nan")})


def test_two_handles_on_one_file_see_each_other(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    with SQLiteStore(db) as writer, SQLiteStore(db) as reader:
        assert reader.list() == []
        analysis_id = writer.save(make_result(), KEY)
        found = reader.find("a" * 64, KEY)
        assert found is not None and found.id == analysis_id
        reader.delete(analysis_id)
        assert writer.list() == []


# -- MongoDB specifics -----------------------------------------------------------------------


def test_mongodb_keeps_keyframes_as_gridfs_files_any_reader_opens(mongo_url: str) -> None:
    import gridfs
    import pymongo

    with open_store(mongo_url) as store:
        analysis_id = store.save(make_result(), KEY)
        replaced = store.save(make_result(thumbnails={7: b"\xff\xd8seven"}), KEY)
    assert replaced == analysis_id
    with pymongo.MongoClient(mongo_url) as client:
        db = client.get_default_database()
        files = list(gridfs.GridFS(db, collection="keyframes").find(
            {"metadata.analysis_id": analysis_id}))
        assert [(f.metadata["frame"], f.read()) for f in files] == [(7, b"\xff\xd8seven")]
        [doc] = list(db.analyses.find({}, {"analysis": 0}))
        assert doc["_id"] == analysis_id and doc["shot_count"] == 3
        indexes = db.analyses.index_information()
        assert any(ix.get("unique") and [k for k, _ in ix["key"]] == ["sha256", "settings_key"]
                   for ix in indexes.values())


def test_processes_opening_a_new_store_at_the_same_moment_all_succeed(tmp_path: Path) -> None:
    # Switching a new file to WAL is refused at once ("locked") while another process holds
    # the lock, and a half-created store must not read as someone else's database.
    opener = textwrap.dedent("""
        import sys, time
        from vidscene.store import SQLiteStore
        start = float(sys.argv[2])
        while time.time() < start:
            pass
        SQLiteStore(sys.argv[1]).close()
        """)
    import time

    failures = []
    for attempt in range(4):
        db = tmp_path / f"new-{attempt}.db"
        start = time.time() + 1.5  # every process is started and waiting by then
        procs = [subprocess.Popen([sys.executable, "-c", opener, str(db), str(start)],
                                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
        for p in procs:
            _, err = p.communicate(timeout=60)
            if p.returncode != 0:
                failures.append(err.strip().splitlines()[-1])
        assert SQLiteStore(db).list() == []
    assert failures == []
