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


@pytest.fixture(scope="session")
def cubes_store(small_store: SnapshotStore) -> SnapshotStore:
    """The shared small warehouse with its cubes built."""
    from cubes.builder import build_cubes

    build_cubes(small_store)
    return small_store


@pytest.fixture()
def gateway(cubes_store: SnapshotStore):
    from cubes.events import MemorySink
    from cubes.gateway import Gateway

    return Gateway(cubes_store, events=MemorySink())


def make_actor(
    tier: str = "business", scope: str | None = None, user: str = "tester", organisation: str = "Test Org"
):
    """Factory for gateway actors."""
    from cubes.query import Actor

    return Actor(tier=tier, user=user, organisation=organisation, scope=scope)


def make_query(
    cube: str = "households",
    measures=None,
    dimensions=(),
    level: str = "province",
    codes=None,
    filters=None,
    totals: bool = False,
) -> dict:
    """Factory for gateway queries in their JSON form."""
    q = {
        "cube": cube,
        "measures": list(measures or [_base_measure(cube)]),
        "dimensions": list(dimensions),
        "geography": {"level": level},
    }
    if codes is not None:
        q["geography"]["codes"] = list(codes)
    if filters:
        q["filters"] = filters
    if totals:
        q["totals"] = True
    return q


def _base_measure(cube: str) -> str:
    from cubes.model import load_model

    return load_model().cubes[cube].count_measures()[0].name


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory):
    """A Redis for the shared-cache tests: the run's own (NSER_CACHE_URL, the Redis pass of scripts/test.sh)
    or a redis-server started here on a free loopback port (Debian's redis-server; scripts/test.sh
    installs it)."""
    import shutil
    import socket
    import subprocess
    import time

    if os.environ.get("NSER_CACHE_URL"):
        yield os.environ["NSER_CACHE_URL"]
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is missing: run the suite with scripts/test.sh, which installs it")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)
