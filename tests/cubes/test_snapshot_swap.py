"""A new snapshot under load: the gateway keeps answering from the serving snapshot while the new
warehouse's cubes are built, then moves to the new one — no refusal, no error, and no thread ever goes
back to the old snapshot once it has seen the new one."""

from __future__ import annotations

import threading
import time

from cubes.builder import build_cubes, cubes_path
from cubes.events import MemorySink
from cubes.gateway import Gateway
from data.snapshots import SnapshotStore
from data.warehouse import build_synthetic
from tests.conftest import make_actor, make_query

QUERIES = [
    make_query("households", dimensions=["pmt_band"], level="province"),
    make_query("persons", dimensions=["gender"], level="province"),
]


def test_a_swap_under_load_serves_the_old_snapshot_until_the_new_cubes_are_in_place(tmp_path):
    store = SnapshotStore(tmp_path / "d")
    build_synthetic(3000, 1, store=store)
    build_cubes(store)
    first = store.current_id()
    gateway = Gateway(store, events=MemorySink(), cache=False)
    seen: dict[int, list[tuple[str, bool, str | None]]] = {}
    errors: list[BaseException] = []
    stop = threading.Event()

    def ask(worker: int) -> None:
        out = seen.setdefault(worker, [])
        tier = ("business", "mis", "business")[worker % 3]
        while not stop.is_set():
            try:
                for q in QUERIES:
                    r = gateway.run_query(make_actor(tier), q)
                    out.append((r.snapshot_id, r.ok, r.reason))
            except BaseException as exc:  # noqa: BLE001 — any failure under the swap is the finding
                errors.append(exc)
                return

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    try:
        build_synthetic(3000, 2, store=store)  # current now, its cubes not built yet
        second = store.current_id()
        assert second != first and store.serving_id() == first
        during = gateway.run_query(make_actor("business"), QUERIES[0])
        assert during.ok and during.snapshot_id == first  # not "the statistics are not built yet"
        build_cubes(store)
        assert store.serving_id() == second and cubes_path(store.require_current()).exists()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
            any(sid == second for sid, _, _ in out) for out in seen.values()
        ):
            time.sleep(0.05)
    finally:
        stop.set()
        for t in threads:
            t.join(60)
    import traceback

    assert not errors, "".join(traceback.format_exception(errors[0]))
    for worker, out in seen.items():
        assert all(ok for _, ok, _ in out), [r for r in out if not r[1]][:3]
        ids = [sid for sid, _, _ in out]
        assert ids[0] == first and ids[-1] == second, worker
        assert ids == sorted(ids, key=lambda s: s == second), f"worker {worker} went back to the old snapshot"


def test_cubes_rebuilt_for_the_same_snapshot_are_followed(tmp_path):
    store = SnapshotStore(tmp_path / "d")
    build_synthetic(2000, 3, store=store)
    build_cubes(store)
    gateway = Gateway(store, events=MemorySink(), cache=False)
    assert gateway.run_query(make_actor("mis"), QUERIES[0]).ok
    before = store.serving_stamp()
    with gateway.pinned():  # a request in flight while the cubes are rebuilt
        assert gateway.run_query(make_actor("mis"), QUERIES[0]).ok
        build_cubes(store)  # e.g. after a cube was added to cubes/
        assert store.serving_stamp()[0] == before[0] and store.serving_stamp() != before
        assert gateway.run_query(make_actor("mis"), QUERIES[1]).ok
        assert gateway._stamp == before  # the whole request answers from what it started with
    assert gateway.run_query(make_actor("mis"), QUERIES[0]).ok
    assert gateway._stamp == store.serving_stamp()  # the next one from the new cubes file
    assert gateway._retired == []  # and the old connection is closed once nobody is pinned to it


def test_the_serving_snapshot_is_never_pruned(tmp_path):
    store = SnapshotStore(tmp_path / "d")
    build_synthetic(1000, 1, store=store)
    store.serve(store.current_id())  # as build_cubes does once the cubes are in place
    served = store.serving_id()
    for seed in (2, 3, 4, 5):  # new warehouses whose cubes are never built
        build_synthetic(1000, seed, store=store)
    assert store.serving_id() == served and (store.root / f"{served}.duckdb").exists()
    assert store.current_id() != served


def test_pruning_removes_old_cubes_files_but_never_the_serving_ones(tmp_path):
    store = SnapshotStore(tmp_path / "d")
    built = []
    for seed in (1, 2, 3, 4):
        build_synthetic(1000, seed, store=store)
        build_cubes(store)
        built.append(store.serving_id())
    assert store.list_ids() == built[-3:]  # a cubes file is not taken for a snapshot
    oldest = built[0]
    assert not (store.root / f"{oldest}.cubes.duckdb").exists()
    for sid in built[-3:]:
        assert (store.root / f"{sid}.cubes.duckdb").exists()
