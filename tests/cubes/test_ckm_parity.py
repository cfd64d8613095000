"""Parity with the ONS ``cell-key-perturbation`` package on its own test data and its 10-5 ptable.

Our pipeline (DuckDB aggregation of counts and key sums, the full grid with empty cells, the ptable
lookup by (count, cell key) with rows reused above 750, suppression below the threshold) must give
exactly the package's published counts.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

ckp = pytest.importorskip("cell_key_perturbation")
from cell_key_perturbation.create_perturbed_table import create_perturbed_table  # noqa: E402
from cell_key_perturbation.utils.generate_test_data import generate_test_data  # noqa: E402
from cell_key_perturbation.utils.generate_test_ptable import generate_ptable_10_5_rule  # noqa: E402

from cubes import sdc  # noqa: E402
from cubes.ptable import KEYS  # noqa: E402


def ptable_array(frame: pd.DataFrame) -> np.ndarray:
    table = np.zeros((int(frame.pcv.max()) + 1, KEYS), dtype=np.int16)
    table[frame.pcv.to_numpy(), frame.ckey.to_numpy()] = frame.pvalue.to_numpy()
    return table


def our_table(micro: pd.DataFrame, variables: list[str], ptable: np.ndarray, threshold: int) -> pd.DataFrame:
    con = duckdb.connect()
    con.register("micro", micro)
    cols = ", ".join(variables)
    grid = (
        "(SELECT * FROM " + " CROSS JOIN ".join(f"(SELECT DISTINCT {v} FROM micro)" for v in variables) + ")"
    )
    cells = con.execute(f"""
        WITH agg AS (SELECT {cols}, count(*) AS n, sum(record_key) AS k FROM micro GROUP BY ALL)
        SELECT g.*, coalesce(a.n, 0) AS n, coalesce(a.k, 0) AS k FROM {grid} g LEFT JOIN agg a USING ({cols})
        ORDER BY {cols}""").df()
    rules = sdc.CountRules(threshold=threshold, household_threshold=0, rounding_base=1, cap=750)
    value, suppressed = sdc.protect_counts(
        cells.n.to_numpy(), cells.k.to_numpy(), cells.n.to_numpy(), ptable, rules
    )
    cells["count"] = pd.array(np.where(suppressed, 0, value), dtype="Int64")
    cells.loc[suppressed, "count"] = pd.NA
    return cells[[*variables, "count"]]


@pytest.mark.parametrize(
    ("geog", "tab_vars"),
    [
        (["var1"], ["var5", "var8"]),
        ([], ["var1", "var5", "var8"]),
        (["var2"], ["var3"]),
        (["var4"], ["var9", "var6"]),
    ],
)
@pytest.mark.parametrize("size", [1000, 20000])
def test_our_perturbation_equals_the_ons_package(geog, tab_vars, size):
    micro = generate_test_data(size=size)
    ptable = generate_ptable_10_5_rule()
    theirs = create_perturbed_table(micro, ptable, geog, tab_vars, "record_key", threshold=10)
    theirs = theirs[geog + tab_vars + ["count"]].sort_values(geog + tab_vars).reset_index(drop=True)
    ours = our_table(micro, geog + tab_vars, ptable_array(ptable), 10).reset_index(drop=True)
    assert len(ours) == len(theirs)
    pd.testing.assert_frame_equal(
        ours.astype({"count": "Int64"}), theirs.astype({"count": "Int64"}), check_dtype=False
    )
    assert theirs["count"].notna().any()


def test_parity_covers_suppressed_cells():
    """The comparison above includes suppressed cells (and not only published ones)."""
    micro = generate_test_data(size=1000)
    theirs = create_perturbed_table(
        micro, generate_ptable_10_5_rule(), ["var1"], ["var5", "var8"], "record_key"
    )
    assert theirs["count"].isna().sum() > 10
