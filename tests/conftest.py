"""Shared fixtures: one small synthetic warehouse per test session, in its own data directory.

Building takes ~8 s, so tests that only read share it; tests that write (builds, ingest, swaps) make
their own store under tmp_path.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from data.snapshots import Snapshot, SnapshotStore

SMALL_HOUSEHOLDS = 20_000
SMALL_SEED = 7


@pytest.fixture(scope="session")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> SnapshotStore:
    from data.warehouse import build_synthetic

    store = SnapshotStore(tmp_path_factory.mktemp("nser-data"))
    build_synthetic(SMALL_HOUSEHOLDS, SMALL_SEED, store=store)
    return store


@pytest.fixture(scope="session")
def small_snapshot(small_store: SnapshotStore) -> Snapshot:
    return small_store.require_current()


@pytest.fixture()
def wh(small_snapshot: Snapshot):
    """A read-only connection to the shared small warehouse."""
    con = duckdb.connect(str(small_snapshot.path), read_only=True)
    yield con
    con.close()


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty NSER_DATA_DIR for tests that build or ingest through the CLI."""
    d = tmp_path / "nser-data"
    monkeypatch.setenv("NSER_DATA_DIR", str(d))
    return d


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("NSER_BUILD_MEMORY", "4GB")
