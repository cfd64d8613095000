"""Building snapshots: the synthetic registry or an ingested extract, written to a new DuckDB file.

This module and the cube builder are the only writers of DuckDB files; readers open snapshots read-only.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from data import derived
from data.catalogue import load_catalogue
from data.rules import load_rules
from data.snapshots import Snapshot, SnapshotStore
from data.synthetic import SyntheticBuilder, load_config

Progress = Callable[[str], None]
BUILDER_VERSION = "1"


def memory_limit() -> str:
    """DuckDB memory limit for builds: ``NSER_BUILD_MEMORY`` or 60 % of this machine's RAM."""
    if os.environ.get("NSER_BUILD_MEMORY"):
        return os.environ["NSER_BUILD_MEMORY"]
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{max(1, int(total * 0.6 / 2**30))}GB"


def open_for_build(path: Path) -> duckdb.DuckDBPyConnection:
    """A writable connection to a staging file, with memory bounded and spill files beside it."""
    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = '{memory_limit()}'")
    spill = path.with_suffix(".spill")
    spill.mkdir(exist_ok=True)
    con.execute(f"SET temp_directory = '{spill}'")
    return con


def peak_rss_mb() -> float:
    """Peak resident memory of this process and finished children, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(own / 1024, 1)


def write_snapshot_info(con: duckdb.DuckDBPyConnection, manifest: dict) -> None:
    """Keep the manifest inside the DuckDB file too, so a copied file still says what it is."""
    con.execute("CREATE OR REPLACE TABLE snapshot_info (key VARCHAR, value VARCHAR)")
    con.executemany(
        "INSERT INTO snapshot_info VALUES (?, ?)",
        [(k, str(v)) for k, v in sorted(manifest.items()) if not isinstance(v, (dict, list))],
    )


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in load_catalogue().tables}


def snapshot_manifest(
    con: duckdb.DuckDBPyConnection, kind: str, as_of: dt.date, started: float, stages: list[dict], **extra
) -> dict:
    """What every snapshot's manifest says, whether built or ingested (`nser warehouse info` prints it)."""
    counts = table_counts(con)
    return {
        "kind": kind,
        "as_of": as_of.isoformat(),
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "households": counts["households"],
        "members": counts["members"],
        "tables": counts,
        "stages": stages,
        "duration_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb": peak_rss_mb(),
        "builder_version": BUILDER_VERSION,
        "duckdb_version": duckdb.__version__,
        "machine": f"{platform.node()} ({os.cpu_count()} cores)",
        "cutoffs": load_rules()["pmt"]["cutoffs"],
        **extra,
    }


def build_synthetic(
    households: int,
    seed: int,
    as_of: dt.date | None = None,
    store: SnapshotStore | None = None,
    progress: Progress | None = None,
    chunk_households: int = 2_000_000,
    integration: list[dict] | None = None,
) -> Snapshot:
    """Generate a synthetic registry into a new snapshot and make it current. ``integration`` is the
    list of confirmed integration events to apply (``dashboard.integration.effects_for_build``)."""
    store = store or SnapshotStore()
    progress = progress or (lambda msg: None)
    as_of = as_of or dt.date.fromisoformat(load_config()["as_of"])
    started = time.perf_counter()
    with store.writer("synthetic") as staging:
        progress(
            f"building snapshot {staging.snapshot_id}: {households:,} households, seed {seed}, as of {as_of}"
        )
        con = open_for_build(staging.path)
        try:
            report = SyntheticBuilder(con, households, seed, as_of, progress, chunk_households).build()
            stages = [{"stage": name, "seconds": round(sec, 2)} for name, sec in report.stages]
            applied = integrate(con, integration or [], stages, progress)
            manifest = snapshot_manifest(
                con,
                "synthetic",
                as_of,
                started,
                stages,
                params={"households": households, "seed": seed, "chunk_households": chunk_households},
                integration=applied,
            )
            write_snapshot_info(con, manifest)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        snapshot = staging.publish(manifest)
    progress(
        f"snapshot {snapshot.snapshot_id} is current: {manifest['households']:,} households, "
        f"{manifest['members']:,} members in {manifest['duration_s']} s (peak memory {manifest['peak_rss_mb']} MB)"
    )
    return snapshot


def integrate(
    con: duckdb.DuckDBPyConnection, effects: list[dict], stages: list[dict], progress: Progress
) -> dict:
    """The integration stage of a build (synthetic or ingest): apply the confirmed events, time it."""
    from data.integration_overlay import apply_integration

    t0 = time.perf_counter()
    report = apply_integration(con, effects)
    stages.append({"stage": "integration", "seconds": round(time.perf_counter() - t0, 2)})
    if effects:
        progress(
            f"integration: {report['applied']} event(s) applied, {report['skipped_count']} skipped; "
            f"{report['deceased']} deceased, {report['held_households']} household(s) held"
        )
    return report


def info(store: SnapshotStore | None = None) -> dict:
    """What `nser warehouse info` prints: the current snapshot's manifest with its path."""
    store = store or SnapshotStore()
    snap = store.require_current()
    return {
        **snap.manifest,
        "path": str(snap.path),
        "snapshot_id": snap.snapshot_id,
        "data_dir": str(store.root),
        "size_mb": round(snap.path.stat().st_size / 2**20, 1),
        # the app answers from this one; it differs from snapshot_id while new cubes are being built
        "serving_snapshot_id": store.serving_id(),
    }


__all__ = ["build_synthetic", "info", "open_for_build", "derived"]
