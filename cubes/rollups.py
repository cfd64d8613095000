"""Which rollups a cube gets, and how cells are re-aggregated from a finer table.

Every rollup is at tehsil grain (coarser geography is a sum of tehsils; union councils are for the MIS
tier, which may read raw rows). Each cube has its finest grain F (every dimension), its grand total,
every single dimension and every pair, and covering blocks chosen so that every triple of dimensions is
inside at least one block; each is aggregated from F.

A cell keeps, per count measure, records (``n__``), the sum of their record keys (``k__``) and
households (``h__``); per magnitude, the sum (``s__``), count (``c__``), two largest household
contributions (``t__``), minimum and maximum. Sums of records and of keys roll up exactly, so a coarser
cell gets exactly the cell key its records would give. Households roll up exactly along geography and
household-level dimensions (a household is in one cell); along a person-level dimension a household can
be in several cells, so the coarser cell takes the largest sub-cell — a lower bound, which can only
make the household rule suppress more, never less. In the same way the largest contribution of a
household split over person-level cells is bounded from above by the sum of the parts.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from cubes.model import Cube, Model

FINE = "fine"
NATIONAL_COLUMN = "country_code"
NATIONAL_CODE = "PK"


@dataclass(frozen=True)
class RollupSpec:
    name: str
    cube: str
    geo_level: str
    dims: tuple[str, ...]

    @property
    def table(self) -> str:
        return f"r_{self.cube}__{self.name}"


def _cardinality(model: Model, dim: str) -> int:
    members = model.dimensions[dim].members
    return len(members) if members is not None else 12  # data-driven members: quarters in the window


def covering_blocks(
    model: Model, dims: tuple[str, ...], max_cells: int = 3000, size: int = 3
) -> list[tuple[str, ...]]:
    """Greedy set of dimension blocks such that every ``size``-subset of ``dims`` lies in one block.

    Blocks grow while the product of their members stays within ``max_cells`` per tehsil, so each
    rollup stays small enough to answer a query in milliseconds.
    """
    targets = {frozenset(c) for c in itertools.combinations(dims, size)}
    blocks: list[tuple[str, ...]] = []
    while targets:
        block = set(min(targets, key=lambda t: sorted(t)))
        while True:
            best, gain = None, 0
            for d in dims:
                if d in block:
                    continue
                cand = block | {d}
                if math.prod(_cardinality(model, x) for x in cand) > max_cells:
                    continue
                g = sum(1 for t in targets if t <= cand)
                if g > gain:
                    best, gain = d, g
            if best is None:
                break
            block.add(best)
        blocks.append(tuple(d for d in dims if d in block))
        targets = {t for t in targets if not t <= block}
    return blocks


def rollups_for(model: Model, cube: Cube) -> list[RollupSpec]:
    """Every rollup built for a cube, finest grain first (the others are aggregated from it)."""
    dims = cube.dimensions
    specs = [RollupSpec(FINE, cube.name, "tehsil", dims), RollupSpec("t0", cube.name, "tehsil", ())]
    specs += [RollupSpec(f"t1_{i}", cube.name, "tehsil", (d,)) for i, d in enumerate(dims)]
    specs += [
        RollupSpec(f"t2_{i}", cube.name, "tehsil", pair)
        for i, pair in enumerate(itertools.combinations(dims, 2))
    ]
    if len(dims) > 3:
        blocks = [b for b in covering_blocks(model, dims) if b != dims]
        specs += [RollupSpec(f"tb_{i}", cube.name, "tehsil", b) for i, b in enumerate(blocks)]
    return specs


def reaggregate_sql(
    model: Model,
    cube: Cube,
    table: str,
    table_dims: tuple[str, ...],
    geo_col: str,
    dims: tuple[str, ...],
    where: str = "",
    measures: set[str] | None = None,
) -> str:
    """Cells at (``geo_col``, ``dims``) from a tehsil-grain ``table`` holding ``table_dims`` ⊇ ``dims``,
    for the ``measures`` given (default: all of the cube's; fewer columns make small answers fast)."""
    dropped = [d for d in table_dims if d not in dims]
    dropped_hh = [d for d in dropped if model.dimensions[d].level == "household"]
    split = any(model.dimensions[d].level == "person" for d in dropped)
    wanted = (lambda m: True) if measures is None else (lambda m: m in measures)  # noqa: E731
    counts = [m.name for m in cube.count_measures() if wanted(m.name)]
    mags = [m.name for m in cube.magnitude_measures() if wanted(m.name)]
    inner, outer = [], []
    for m in counts:
        inner += [
            f"sum(n__{m}) AS n__{m}",
            f"sum(k__{m}) AS k__{m}",
            f"{'max' if split else 'sum'}(h__{m}) AS h__{m}",
        ]
        outer += [
            f"sum(n__{m})::BIGINT AS n__{m}",
            f"sum(k__{m})::BIGINT AS k__{m}",
            f"sum(h__{m})::BIGINT AS h__{m}",
        ]
    for m in mags:
        top = f"[sum(t__{m}[1]), sum(coalesce(t__{m}[2], 0))] AS t__{m}" if split else _top2(m)
        inner += [
            f"sum(s__{m}) AS s__{m}",
            f"sum(c__{m}) AS c__{m}",
            top,
            f"min(lo__{m}) AS lo__{m}",
            f"max(hi__{m}) AS hi__{m}",
        ]
        outer += [
            f"sum(s__{m}) AS s__{m}",
            f"sum(c__{m})::BIGINT AS c__{m}",
            _top2(m),
            f"min(lo__{m}) AS lo__{m}",
            f"max(hi__{m}) AS hi__{m}",
        ]
    outer_keys = list(dict.fromkeys(_geo_prefix(geo_col) + [geo_col, *dims]))
    ok = ", ".join(outer_keys)
    if geo_col == NATIONAL_COLUMN:
        table = with_country(table)
    if not split:  # every dropped dimension is household-level: one level of sums is exact
        return f"SELECT {ok}, {', '.join(outer)} FROM {table} {where} GROUP BY {ok}"
    # A household split across person-level sub-cells: take the largest sub-cell first (lower bound).
    inner_keys = list(
        dict.fromkeys(["tehsil_code", *_geo_prefix("tehsil_code"), geo_col, *dims, *dropped_hh])
    )
    ik = ", ".join(inner_keys)
    return (
        f"WITH i AS (SELECT {ik}, {', '.join(inner)} FROM {table} {where} GROUP BY {ik}) "
        f"SELECT {ok}, {', '.join(outer)} FROM i GROUP BY {ok}"
    )


def _top2(m: str) -> str:
    """The two largest contributions among the cells' own top two, without building lists: the largest
    of the firsts, and the larger of the best second and the second-best first."""
    return f"[max(t__{m}[1]), greatest(coalesce(max(t__{m}[2]), 0), coalesce(max(t__{m}[1], 2)[2], 0))] AS t__{m}"


def _geo_prefix(geo_col: str) -> list[str]:
    if geo_col == NATIONAL_COLUMN:
        return []
    order = ["province_code", "division_code", "district_code", "tehsil_code"]
    return order[: order.index(geo_col)] if geo_col in order else order


def with_country(table: str) -> str:
    """A table or subquery with the constant national column added (the whole country is one area)."""
    return f"(SELECT *, '{NATIONAL_CODE}' AS {NATIONAL_COLUMN} FROM {table})"


def rollup_from_fine_sql(model: Model, cube: Cube, spec: RollupSpec, fine_table: str) -> str:
    return reaggregate_sql(model, cube, fine_table, cube.dimensions, "tehsil_code", spec.dims)


def choose_rollup(
    model: Model, specs: list[RollupSpec], sizes: dict[str, int], dims: tuple[str, ...]
) -> RollupSpec | None:
    """The rollup that answers a query: fewest dropped person dimensions (tightest household counts),
    then the fewest rows."""
    need = set(dims)
    usable = [s for s in specs if need <= set(s.dims)]
    if not usable:
        return None

    def dropped_person(s: RollupSpec) -> int:
        return sum(1 for d in s.dims if d not in need and model.dimensions[d].level == "person")

    return min(usable, key=lambda s: (dropped_person(s), sizes.get(s.table, 0), len(s.dims)))
