"""`nser cubes build`: materialise every cube's rollups next to the current snapshot.

For each cube the builder first computes the **finest grain** F (tehsil × every dimension of the cube)
from the warehouse rows, in one pass; every other rollup is then aggregated from F, which is tens of
times smaller than the rows. Each F cell keeps, per count measure, the number of records, the sum of
their record keys and the exact number of distinct households, and per magnitude the sum, the count and
the two largest household contributions (see cubes/rollups.py for how these roll up).

For person records, households per cell need a pass over (household, cell) pairs; the dimensions are
encoded as one integer per cell for that pass, which is several times cheaper than grouping by a dozen
strings. The rollups go into a sibling DuckDB file, ``<snapshot_id>.cubes.duckdb``, written in staging
and moved into place atomically; the snapshot file itself is never written.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from cubes.model import Cube, Model, load_model
from cubes.outliers import MissingColumns, build_outliers
from cubes.parquet import export_parquet, serve_format
from cubes.rollups import FINE, RollupSpec, rollup_from_fine_sql, rollups_for, with_country
from data.snapshots import Snapshot, SnapshotStore
from data.warehouse import memory_limit

Progress = Callable[[str], None]
GEO_COLUMNS = {
    "national": ["country_code"],
    "province": ["province_code"],
    "division": ["province_code", "division_code"],
    "district": ["province_code", "division_code", "district_code"],
    "tehsil": ["province_code", "division_code", "district_code", "tehsil_code"],
    "union_council": ["province_code", "division_code", "district_code", "tehsil_code", "uc_code"],
}


def cubes_path(snapshot: Snapshot) -> Path:
    return snapshot.path.with_name(f"{snapshot.snapshot_id}.cubes.duckdb")


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def aggregate_sql(
    model: Model,
    cube: Cube,
    geo_level: str,
    dims: tuple[str, ...],
    members: dict[str, list[str]],
    extra_where: str | None = None,
    source_prefix: str = "",
    measures: set[str] | None = None,
) -> str:
    """SELECT that aggregates warehouse rows to (geography at ``geo_level``, ``dims``) cells.

    Used for each cube's finest grain at build time and, with ``extra_where`` limiting the areas and
    ``measures`` the measures computed (a query's own, not all of the cube's), for the MIS tier's raw
    queries. Output columns per count measure ``m``: ``n__m`` records, ``k__m`` sum of
    record keys, ``h__m`` distinct households; per magnitude: ``s__``, ``c__``, ``t__`` (two largest
    household contributions), ``lo__``, ``hi__``.
    """
    geo = GEO_COLUMNS[geo_level]
    conditions = [c for c in (cube.where, extra_where) if c]
    where = f"WHERE {' AND '.join(f'({c})' for c in conditions)}" if conditions else ""
    source = f"{source_prefix}{cube.source}"
    if geo_level == "national":
        source = with_country(source)
    counts = [
        (m.name, m.filter or "TRUE") for m in cube.count_measures() if not measures or m.name in measures
    ]
    mags = [m for m in cube.magnitude_measures() if not measures or m.name in measures]
    if cube.unit == "household":
        dim_cols = [f"({model.dimensions[d].expression}) AS {d}" for d in dims]
        cols = []
        for name, flt in counts:
            cols += [
                f"count(*) FILTER (WHERE {flt})::BIGINT AS n__{name}",
                f"coalesce(sum(record_key) FILTER (WHERE {flt}), 0)::BIGINT AS k__{name}",
                f"count(*) FILTER (WHERE {flt})::BIGINT AS h__{name}",
            ]
        for m in mags:
            x = f"({m.column})::DOUBLE"
            cols += [
                f"sum({x}) AS s__{m.name}",
                f"count({x})::BIGINT AS c__{m.name}",
                f"max({x}, 2) AS t__{m.name}",
                f"min({x}) AS lo__{m.name}",
                f"max({x}) AS hi__{m.name}",
            ]
        return f"SELECT {', '.join([*geo, *dim_cols, *cols])} FROM {source} {where} GROUP BY ALL"
    # Person records. Dimensions become one integer per cell (several times cheaper to group by than a
    # dozen strings). Records and key sums come from one pass over the rows; households need a pass over
    # (household, cell) pairs, which keeps only presence flags and household contributions so that its
    # hash table stays small even with 200 million rows.
    radix, parts, decode = 1, [], []
    for d in dims:
        codes = members[d]
        idx = f"(list_position({_sql_list(codes)}, ({model.dimensions[d].expression})::VARCHAR) - 1)"
        parts.append(f"{idx}::BIGINT * {radix}")
        decode.append(f"{_sql_list(codes)}[(r.cell // {radix}) % {len(codes)} + 1] AS {d}")
        radix *= len(codes)
    cell = " + ".join(parts) if parts else "0::BIGINT"
    geo_keys = ", ".join(geo)
    rows_aggs, pair_aggs, cell_aggs = [], [], []
    for i, (name, flt) in enumerate(counts):
        rows_aggs += [
            f"count(*) FILTER (WHERE {flt})::BIGINT AS n__{name}",
            f"coalesce(sum(record_key) FILTER (WHERE {flt}), 0)::BIGINT AS k__{name}",
        ]
        pair_aggs.append(f"bool_or({flt}) AS f{i}")
        cell_aggs.append(f"count(*) FILTER (WHERE f{i})::BIGINT AS h__{name}")
    for j, m in enumerate(mags):
        x = f"({m.column})::DOUBLE"
        rows_aggs += [
            f"sum({x}) AS s__{m.name}",
            f"count({x})::BIGINT AS c__{m.name}",
            f"min({x}) AS lo__{m.name}",
            f"max({x}) AS hi__{m.name}",
        ]
        pair_aggs.append(f"sum({x}) AS x{j}")
        cell_aggs.append(f"max(x{j}, 2) AS t__{m.name}")
    return (
        f"WITH r AS (SELECT {geo_keys}, {cell} AS cell, {', '.join(rows_aggs)} FROM {source} {where} GROUP BY ALL), "
        f"p AS (SELECT household_id, {cell} AS cell, any_value({geo[-1]}) AS g, {', '.join(pair_aggs)} "
        f"FROM {source} {where} GROUP BY household_id, cell), "
        f"c AS (SELECT g, cell, {', '.join(cell_aggs)} FROM p GROUP BY g, cell) "
        f"SELECT {', '.join([*[f'r.{k}' for k in geo], *decode])}, "
        f"r.* EXCLUDE ({geo_keys}, cell), c.* EXCLUDE (g, cell) "
        f"FROM r JOIN c ON c.g = r.{geo[-1]} AND c.cell = r.cell"
    )


def dimension_members(
    con: duckdb.DuckDBPyConnection, model: Model, cube: Cube, source_prefix: str = ""
) -> dict[str, list[str]]:
    """Members of every dimension of a cube: from the model, or from the data where the model says so."""
    out = {}
    where = f"WHERE {cube.where}" if cube.where else ""
    for d in cube.dimensions:
        codes = model.dimensions[d].member_codes()
        if codes is None:
            rows = con.execute(
                f"SELECT DISTINCT ({model.dimensions[d].expression})::VARCHAR AS v "
                f"FROM {source_prefix}{cube.source} {where} ORDER BY v"
            ).fetchall()
            codes = [r[0] for r in rows if r[0] is not None]
        out[d] = codes
    return out


def build_cnic_lookup(con, into: str) -> None:
    """CNIC → member, household, and where their rows lie in the snapshot (the household's row id and the
    range of its members' row ids), sorted by CNIC: a record search then reads one row group of this
    table and exactly the rows it needs from the warehouse, not 222 million members. Row ids are stable
    because a snapshot is never written after it is built."""
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {into}.cnic_lookup AS
        WITH hr AS (SELECT household_id, rowid AS h_rowid FROM wh.households),
             mr AS (SELECT household_id, min(rowid) AS m_first, max(rowid) AS m_last
                    FROM wh.members GROUP BY household_id)
        SELECT CAST(m.cnic AS BIGINT) AS cnic, m.member_id, m.household_id, hr.h_rowid, mr.m_first, mr.m_last
        FROM wh.members m JOIN hr USING (household_id) JOIN mr USING (household_id)
        WHERE m.cnic IS NOT NULL
        ORDER BY 1
        """
    )


def build_cubes(
    store: SnapshotStore | None = None,
    progress: Progress | None = None,
    model: Model | None = None,
    before_serve: Callable[[str], object] | None = None,
) -> dict:
    """Build every cube's rollups for the current snapshot; returns the build summary.

    ``before_serve(snapshot_id)`` runs once the cubes file is in place and before SERVING names it (the
    app precomputes its public dashboards there, so the first visitors after a swap do not wait). If it
    fails, the snapshot is not served and the error is raised: the app keeps answering from the old one."""
    store = store or SnapshotStore()
    progress = progress or (lambda m: None)
    model = model or load_model()
    snap = store.require_current()
    final = cubes_path(snap)
    staging = final.with_name(f".{final.name}.staging")
    for leftover in (staging, staging.with_name(staging.name + ".wal")):
        leftover.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect()
    summary: dict = {"snapshot_id": snap.snapshot_id, "cubes": {}}
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET memory_limit = '{memory_limit()}'")
        spill = final.with_name(f".{final.name}.spill")
        spill.mkdir(exist_ok=True)
        con.execute(f"SET temp_directory = '{spill}'")
        con.execute(f"ATTACH '{staging}' AS cubes_db")
        con.execute(f"ATTACH '{snap.path}' AS wh (READ_ONLY)")
        con.execute(
            "CREATE TABLE cubes_db.rollups (cube VARCHAR, rollup VARCHAR, tbl VARCHAR, geo_level VARCHAR, "
            "dims VARCHAR[], rows BIGINT, seconds DOUBLE)"
        )
        max_size = con.execute("SELECT max(household_size) FROM wh.households").fetchone()[0] or 1
        present = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh'"
            ).fetchall()
        }
        for cube in model.cubes.values():
            if cube.source not in present:  # a snapshot built before the cube's source existed
                summary.setdefault("skipped_cubes", {})[cube.name] = (
                    f"the snapshot has no {cube.source} table (built before it existed); rebuild or re-ingest it"
                )
                progress(f"cube {cube.name}: skipped, {summary['skipped_cubes'][cube.name]}")
                continue
            t0 = time.perf_counter()
            members = dimension_members(con, model, cube, "wh.")
            specs = rollups_for(model, cube)
            for spec in specs:
                t1 = time.perf_counter()
                if spec.name == FINE:
                    sql = aggregate_sql(model, cube, "tehsil", spec.dims, members, source_prefix="wh.")
                else:
                    sql = rollup_from_fine_sql(
                        model,
                        cube,
                        spec,
                        f"cubes_db.{RollupSpec(FINE, cube.name, 'tehsil', cube.dimensions).table}",
                    )
                # sorted by geography, so a query for a few districts or tehsils skips most row groups
                con.execute(
                    f"CREATE TABLE cubes_db.{spec.table} AS SELECT * FROM ({sql}) ORDER BY tehsil_code"
                )
                rows = con.execute(f"SELECT count(*) FROM cubes_db.{spec.table}").fetchone()[0]
                con.execute(
                    "INSERT INTO cubes_db.rollups VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        cube.name,
                        spec.name,
                        spec.table,
                        spec.geo_level,
                        list(spec.dims),
                        rows,
                        round(time.perf_counter() - t1, 3),
                    ],
                )
            fine_seconds = con.execute(
                "SELECT seconds FROM cubes_db.rollups WHERE cube = ? AND rollup = ?", [cube.name, FINE]
            ).fetchone()[0]
            summary["cubes"][cube.name] = {
                "rollups": len(specs),
                "seconds": round(time.perf_counter() - t0, 1),
                "fine_seconds": fine_seconds,
                "members": members,
            }
            progress(
                f"cube {cube.name}: {len(specs)} rollups in {time.perf_counter() - t0:.1f} s "
                f"(finest grain {fine_seconds:.1f} s)"
            )
        t0 = time.perf_counter()
        build_cnic_lookup(con, "cubes_db")
        summary["cnic_lookup_seconds"] = round(time.perf_counter() - t0, 1)
        progress(f"CNIC lookup in {summary['cnic_lookup_seconds']} s")
        try:
            summary["outliers"] = build_outliers(con, "cubes_db")
            progress(f"{summary['outliers']['outliers']:,} outliers in {summary['outliers']['seconds']} s")
        except MissingColumns as exc:  # an older extract: the statistics still build, without outliers
            summary["outliers"] = {"skipped": str(exc)}
            progress(str(exc))
        summary["max_household_size"] = int(max_size)
        # names this build everywhere: SERVING, cache keys, the Parquet copy (the same on every node)
        summary["build_id"] = build_id = secrets.token_hex(8)
        summary["built_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        summary["duration_s"] = round(time.perf_counter() - started, 1)
        summary["model_files"] = [p.name for p in model.files]
        con.execute("CREATE TABLE cubes_db.build_info AS SELECT ? AS summary", [json.dumps(summary)])
        con.execute("DETACH wh")
        con.execute("DETACH cubes_db")
    except BaseException:
        con.close()
        staging.unlink(missing_ok=True)
        staging.with_name(staging.name + ".wal").unlink(missing_ok=True)
        raise
    finally:
        import shutil

        shutil.rmtree(final.with_name(f".{final.name}.spill"), ignore_errors=True)
    con.close()
    if serve_format() == "parquet":  # app nodes read the Parquet copy: in place before the cubes are
        try:
            summary["parquet"] = export_parquet(snap, staging, progress)
        except BaseException:
            staging.unlink(missing_ok=True)
            raise
    os.replace(staging, final)
    if before_serve is not None:
        before_serve(snap.snapshot_id)
    store.serve(snap.snapshot_id, build_id)  # the app answers from it from now on
    progress(f"cubes for {snap.snapshot_id} built in {summary['duration_s']} s → {final}")
    return summary


__all__ = ["build_cubes", "aggregate_sql", "cubes_path", "GEO_COLUMNS", "math"]
