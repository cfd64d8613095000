"""The warehouse and its rollups as Parquet files, for app nodes that read them from shared storage.

One machine serves from the snapshot's two DuckDB files. Several machines can too (the files are
immutable and opened read-only), but object stores and most shared filesystems serve Parquet better
than a DuckDB file: a node reads only the row groups and columns a query touches, and any tool can
read them. With ``NSER_SERVE_FORMAT=parquet`` a cube build also writes
``<snapshot>.parquet/<build id>/`` — one file per table of the warehouse (``wh/``) and of its cubes
(``cubes/``) — before the cubes file is in place and SERVING names the build; the gateway answers from
an in-memory DuckDB whose views read those files.

A build's folder is written under a staging name, renamed into place and never changed afterwards: a
node reading it is never surprised, and a rebuild writes a new folder beside it (the two newest are
kept, so requests still pinned to the previous build finish). Households and members carry their
DuckDB ``rowid`` as a column, so record search reads exactly the rows its CNIC lookup names, gaps
from deaths included, and row-group statistics skip the rest.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import duckdb

from data.snapshots import Snapshot

FORMATS = ("duckdb", "parquet")
# warehouse tables whose rows record search reads by DuckDB rowid (kept as a column)
ROW_ADDRESSED = ("households", "members")
KEEP_BUILDS = 2  # a snapshot's newest builds: requests pinned to the previous one finish on it
# DuckDB's own row group size. Row groups of 8,192 rows for the tables record search reads a few rows
# of were tried at national scale: a CNIC search went from ~0.2 s to ~5 s (BENCHMARKS.md).
ROW_GROUP = 122_880


class ParquetError(RuntimeError):
    """The Parquet copy of a snapshot is missing or incomplete."""


def serve_format() -> str:
    """``NSER_SERVE_FORMAT``: what the gateway answers from, ``duckdb`` (default) or ``parquet``."""
    value = (os.environ.get("NSER_SERVE_FORMAT") or "duckdb").strip().lower()
    if value not in FORMATS:
        raise ValueError(f"NSER_SERVE_FORMAT must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def parquet_path(snapshot: Snapshot) -> Path:
    return snapshot.path.with_name(f"{snapshot.snapshot_id}.parquet")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _build_id(con: duckdb.DuckDBPyConnection, db: str) -> str:
    row = con.execute(f"SELECT summary FROM {db}.build_info").fetchone()
    build_id = json.loads(row[0]).get("build_id") if row else None
    if not build_id:
        raise ParquetError("these cubes were built before build ids; rebuild them with `nser cubes build`")
    return build_id


def export_parquet(snapshot: Snapshot, cubes_file: Path, progress=None) -> dict:
    """Write every table of the snapshot's warehouse and of ``cubes_file`` as Parquet under the cubes
    build's id; returns the manifest (build id, tables, rows, bytes, seconds). A build already exported
    is left as it is (its folder never changes)."""
    progress = progress or (lambda m: None)
    root = parquet_path(snapshot)
    started = time.perf_counter()
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute(f"ATTACH {_literal(snapshot.path)} AS wh (READ_ONLY)")
        con.execute(f"ATTACH {_literal(cubes_file)} AS cubes (READ_ONLY)")
        build_id = _build_id(con, "cubes")
        final = root / build_id
        if (final / "manifest.json").exists():
            con.close()
            progress(f"parquet copy of {snapshot.snapshot_id} build {build_id}: already in place")
            return json.loads((final / "manifest.json").read_text(encoding="utf-8"))
        staging = root / f".{build_id}.staging"
        shutil.rmtree(staging, ignore_errors=True)
        manifest: dict = {"snapshot_id": snapshot.snapshot_id, "build_id": build_id, "tables": {}}
        try:
            for db in ("wh", "cubes"):
                (staging / db).mkdir(parents=True)
                tables = [
                    r[0]
                    for r in con.execute(
                        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY table_name",
                        [db],
                    ).fetchall()
                ]
                for table in tables:
                    t0 = time.perf_counter()
                    target = staging / db / f"{table}.parquet"
                    rowid = "rowid, " if db == "wh" and table in ROW_ADDRESSED else ""
                    con.execute(
                        f"COPY (SELECT {rowid}* FROM {db}.{_quote(table)}) TO {_literal(target)} "
                        f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP})"
                    )
                    rows = con.execute(f"SELECT count(*) FROM {db}.{_quote(table)}").fetchone()[0]
                    manifest["tables"][f"{db}/{table}"] = {"rows": rows, "bytes": target.stat().st_size}
                    if db == "wh":
                        progress(f"parquet {db}/{table}: {rows:,} rows in {time.perf_counter() - t0:.1f} s")
            manifest["seconds"] = round(time.perf_counter() - started, 1)
            manifest["bytes"] = sum(t["bytes"] for t in manifest["tables"].values())
            manifest["exported_at"] = time.time()
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            os.replace(staging, final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    finally:
        con.close()
    _prune_builds(root)
    progress(
        f"parquet copy of {snapshot.snapshot_id}: {len(manifest['tables'])} tables, "
        f"{manifest['bytes'] / 2**20:,.0f} MB in {manifest['seconds']} s → {final}"
    )
    return manifest


def builds(root: Path) -> list[Path]:
    """A snapshot's exported builds, newest first."""
    done = [d for d in root.iterdir() if (d / "manifest.json").exists()] if root.is_dir() else []
    return sorted(done, key=lambda d: (d / "manifest.json").stat().st_mtime, reverse=True)


def _prune_builds(root: Path, keep: int = KEEP_BUILDS) -> None:
    for old in builds(root)[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def open_parquet(snapshot: Snapshot, build_id: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB whose views read one build's Parquet copy under the names the gateway uses
    (cube tables in the main database, warehouse tables in ``wh``): the build SERVING names, or the
    newest one when ``build_id`` is None (a snapshot pinned by id, e.g. precomputed before serving)."""
    root = parquet_path(snapshot)
    found = builds(root)
    folder = (root / build_id) if build_id else (found[0] if found else None)
    if folder is None or not (folder / "manifest.json").exists():
        which = f"build {build_id} of snapshot {snapshot.snapshot_id}" if build_id else snapshot.snapshot_id
        raise ParquetError(
            f"{which} has no Parquet copy in {root}; run `nser cubes export-parquet` "
            "(or build its cubes with NSER_SERVE_FORMAT=parquet)"
        )
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET parquet_metadata_cache = true")  # footers read once, not at every query
        con.execute("ATTACH ':memory:' AS wh")
        for name in manifest["tables"]:
            db, table = name.split("/", 1)
            path = folder / db / f"{table}.parquet"
            if not path.exists():
                raise ParquetError(f"the Parquet copy in {folder} lacks {db}/{table}.parquet")
            view = f"wh.{_quote(table)}" if db == "wh" else _quote(table)
            con.execute(f"CREATE VIEW {view} AS SELECT * FROM read_parquet({_literal(path)})")
    except BaseException:
        con.close()
        raise
    return con


__all__ = [
    "FORMATS",
    "ParquetError",
    "builds",
    "export_parquet",
    "open_parquet",
    "parquet_path",
    "serve_format",
]
