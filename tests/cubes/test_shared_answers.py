"""Answers shared between processes, precomputed before a snapshot is served, and one page's answers
logged in one write: what makes the public dashboards cheap under load (bench/load_test.py) without
serving a stale answer or one that was not logged."""

from __future__ import annotations

import copy

import diskcache
import pytest

from cubes.builder import build_cubes
from cubes.events import MemorySink, QueryAudited
from cubes.gateway import Gateway
from cubes.model import load_model
from data.snapshots import SnapshotStore
from data.warehouse import build_synthetic
from tests.conftest import make_actor, make_query

PAGE = {
    "bands": make_query("households", dimensions=["pmt_band"], level="district", codes=["PK601"]),
    "gender": make_query("persons", dimensions=["gender"], level="province"),
    "bad": {"cube": "households", "measures": ["no_such_measure"], "geography": {"level": "province"}},
}


def audited(sink: MemorySink) -> list[QueryAudited]:
    return [e for e in sink.events if isinstance(e, QueryAudited)]


@pytest.fixture()
def shared(tmp_path):
    cache = diskcache.Cache(str(tmp_path / "answer-cache"))
    yield cache
    cache.close()


def test_a_second_process_answers_from_the_shared_cache_and_logs_it(cubes_store, shared):
    first_sink, second_sink = MemorySink(), MemorySink()
    first = Gateway(cubes_store, events=first_sink, shared_cache=shared)
    second = Gateway(cubes_store, events=second_sink, shared_cache=shared)  # another gunicorn worker
    public = make_actor("public")
    a = first.run_query(public, PAGE["bands"])
    b = second.run_query(public, PAGE["bands"])
    assert a.ok and b.ok and a.rows == b.rows
    assert [e.source for e in audited(first_sink)] != ["cache"]
    assert [e.source for e in audited(second_sink)] == ["cache"]  # each use is still logged


def test_shared_answers_are_kept_apart_by_tier_and_policy(cubes_store, shared):
    public, business = make_actor("public"), make_actor("business")
    Gateway(cubes_store, events=MemorySink(), shared_cache=shared).run_query(public, PAGE["bands"])
    other_tier = MemorySink()
    Gateway(cubes_store, events=other_tier, shared_cache=shared).run_query(business, PAGE["bands"])
    assert audited(other_tier)[0].source != "cache"

    stricter = copy.deepcopy(load_model())  # load_model() is cached: never change the shared one
    stricter.policy["tiers"]["public"]["threshold"] = stricter.policy["tiers"]["public"]["threshold"] + 5
    changed = MemorySink()
    Gateway(cubes_store, model=stricter, events=changed, shared_cache=shared).run_query(public, PAGE["bands"])
    assert audited(changed)[0].source != "cache"  # a changed rule never meets the old answers


def test_a_page_is_logged_in_one_write_with_a_row_per_answer(cubes_store):
    class CountingSink(MemorySink):
        writes = 0

        def emit_many(self, events):
            self.writes += 1
            super().emit_many(events)

    sink = CountingSink()
    gateway = Gateway(cubes_store, events=sink)
    with gateway.pinned():
        results = gateway.run_queries(make_actor("public"), PAGE)
        assert gateway.pinned_answers()[1] == 3
    assert results["bands"].ok and results["gender"].ok and not results["bad"].ok
    assert sink.writes == 1
    assert [e.outcome for e in audited(sink)] == ["answered", "answered", "invalid"]


def test_when_the_page_cannot_be_logged_no_answer_of_it_leaves(cubes_store):
    class BrokenSink(MemorySink):
        def emit_many(self, events):
            raise OSError("disk full")

    gateway = Gateway(cubes_store, events=BrokenSink())
    with gateway.pinned():
        results = gateway.run_queries(make_actor("public"), PAGE)
        assert gateway.pinned_answers()[1] == 0  # the response's header counts only rows written
    assert all(not r.ok and r.rows == [] for r in results.values())
    assert all("could not be recorded in the access log" in r.reason for r in results.values())


def test_a_quota_counted_actor_is_logged_answer_by_answer(cubes_store):
    class Quota:
        refusal = RuntimeError
        seen: list[int] = []

        def applies(self, actor):
            return True

        def check(self, actor, cells=0):
            self.seen.append(len(sink.events))  # what was logged before this check

    sink = MemorySink()
    Gateway(cubes_store, events=sink, quota=Quota()).run_queries(make_actor("business"), PAGE)
    # the checks for the second answer already see the first answer's events
    assert Quota.seen[2] > 0


def test_precompute_returns_counts_not_numbers_and_fills_the_shared_cache(tmp_path, shared):
    store = SnapshotStore(tmp_path / "d")
    build_synthetic(3000, 1, store=store)
    build_cubes(store)
    first = store.serving_id()
    build_synthetic(3000, 2, store=store)  # current, cubes not built: not serving yet
    seen: dict = {}
    bands = make_query("households", dimensions=["pmt_band"], level="province")  # a small registry

    def before_serve(snapshot_id: str) -> None:
        sink = MemorySink()
        gateway = Gateway(store, events=sink, shared_cache=shared)
        assert store.serving_id() == first  # still the old one while answers are precomputed
        with gateway.pinned(snapshot_id):
            seen["counts"] = gateway.precompute(make_actor("public"), [bands, PAGE["gender"], PAGE["bad"]])
            seen["again"] = gateway.precompute(make_actor("public"), [bands])
            seen["pinned"] = gateway.snapshot_id
        seen["events"] = list(sink.events)

    build_cubes(store, before_serve=before_serve)
    second = store.serving_id()
    assert second != first and seen["pinned"] == second
    assert seen["counts"] == {"answered": 2, "refused": 1, "cached": 0}
    assert seen["again"] == {"answered": 0, "refused": 0, "cached": 1}
    assert seen["events"] == []  # nothing left the server

    sink = MemorySink()
    served = Gateway(store, events=sink, shared_cache=shared).run_query(make_actor("public"), bands)
    assert served.ok and served.snapshot_id == second
    assert [e.source for e in audited(sink)] == ["cache"]


def test_a_failed_precompute_leaves_the_old_snapshot_serving(tmp_path):
    store = SnapshotStore(tmp_path / "d")
    build_synthetic(3000, 1, store=store)
    build_cubes(store)
    first = store.serving_id()
    build_synthetic(3000, 2, store=store)

    def fail(snapshot_id: str) -> None:
        raise RuntimeError("the shared cache is unreachable")

    with pytest.raises(RuntimeError, match="unreachable"):
        build_cubes(store, before_serve=fail)
    assert store.serving_id() == first


def test_pinning_another_snapshot_inside_a_pin_is_refused(cubes_store):
    gateway = Gateway(cubes_store, events=MemorySink())
    with gateway.pinned():
        gateway.run_query(make_actor("public"), PAGE["gender"])
        with pytest.raises(ValueError, match="already pinned"), gateway.pinned("some-other-snapshot"):
            pass
