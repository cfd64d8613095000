"""How pages ask for numbers: through the governed gateway, as the actor of the current request."""

from __future__ import annotations

import io

import pandas as pd

from cubes.gateway import Result
from dashboard.oversight import governed_gateway
from dashboard.web import current_actor


def ask(query: dict) -> Result:
    """The gateway's answer for whoever is logged in (or the public); never raw data."""
    return governed_gateway().run_query(current_actor(), query)


def result_frame(result: Result) -> pd.DataFrame:
    """A result as a table: category columns first, protected values (blank where suppressed)."""
    return pd.DataFrame(result.rows, columns=result.columns)


def to_csv(result: Result) -> str:
    frame = result_frame(result)
    head = f"# NSER Insight, registry as of {result.as_of}, snapshot {result.snapshot_id}\n"
    notes = "".join(f"# {n}\n" for n in result.notes)
    return head + notes + frame.to_csv(index=False)


def to_xlsx(result: Result) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        result_frame(result).to_excel(xl, sheet_name="data", index=False)
        pd.DataFrame(
            {"note": [f"Registry as of {result.as_of}", f"Snapshot {result.snapshot_id}", *result.notes]}
        ).to_excel(xl, sheet_name="about", index=False)
    return buf.getvalue()
