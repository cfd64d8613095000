"""The integration stage of every build: what confirmed integration events say, applied to the new
snapshot (never to the current one, which readers keep using until the swap).

The events come from the app's store (``dashboard.integration``), already confirmed by MIS; this stage
only applies them, keyed by CNIC (stable between snapshots) or by area code:

* a death removes the member from ``members`` into ``deceased_members`` and recounts the household; a
  household whose only beneficiary died is held (``deceased_beneficiary``); a household nobody is left in
  moves to ``closed_households``;
* a hold or a flag lands on the household in ``integration_households`` (every household has a row
  there, the source of the integration cube); an area flag lands on every household of the area;
* ``integration_applied`` lists the events applied, and the returned report the ones skipped, with why
  (e.g. the CNIC is not in this snapshot), for the build's manifest.

A reversed or dismissed event is simply not given to the next build: nothing to undo by hand.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from data.catalogue import load_catalogue
from data.derived import disabled_sql

TABLES = ("integration_applied", "deceased_members", "closed_households", "integration_households")
RESURVEY_FLAGS = ("address_changed", "marital_status_changed", "new_member")
EFFECT_COLUMNS = {
    "event_id": "int64",
    "feed": "string",
    "rule": "string",
    "effect": "string",
    "code": "string",
    "cnic": "string",
    "area_code": "string",
    "since": "datetime64[ns]",
    "state": "string",
}


def _effects_frame(effects: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(effects, columns=list(EFFECT_COLUMNS))
    for col, kind in EFFECT_COLUMNS.items():
        frame[col] = pd.to_datetime(frame[col]) if kind.startswith("datetime") else frame[col].astype(kind)
    return frame


def apply_integration(con: duckdb.DuckDBPyConnection, effects: list[dict]) -> dict:
    """Apply confirmed events to the snapshot being built (``con`` writes the staging file)."""
    cat = load_catalogue()
    for table in TABLES:
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(cat.ddl(table))
    con.register("eff_df", _effects_frame(effects))
    con.execute("CREATE OR REPLACE TEMP TABLE eff AS SELECT *, since::DATE AS since_day FROM eff_df")
    con.unregister("eff_df")
    # person events find their member by CNIC; area events their district or tehsil
    con.execute("""
CREATE OR REPLACE TEMP TABLE eff_person AS
SELECT e.*, m.member_id, m.household_id, m.is_beneficiary
FROM eff e LEFT JOIN members m ON m.cnic = e.cnic
WHERE e.cnic IS NOT NULL""")
    con.execute("""
CREATE OR REPLACE TEMP TABLE eff_area AS
SELECT e.*, g.level AS area_level
FROM eff e LEFT JOIN geo_units g ON g.code = e.area_code AND g.level IN ('district', 'tehsil')
WHERE e.cnic IS NULL""")
    skipped = [
        {"event_id": int(i), "reason": "no member has this CNIC in this snapshot"}
        for (i,) in con.execute("SELECT event_id FROM eff_person WHERE member_id IS NULL").fetchall()
    ] + [
        {"event_id": int(i), "reason": "the area is not a district or tehsil of this snapshot"}
        for (i,) in con.execute("SELECT event_id FROM eff_area WHERE area_level IS NULL").fetchall()
    ]
    deaths = _apply_deaths(con)
    con.execute("""
CREATE OR REPLACE TEMP TABLE hh_holds AS
SELECT household_id, code AS reason, feed, since_day, event_id FROM eff_person
WHERE effect = 'hold' AND member_id IS NOT NULL
UNION ALL
SELECT household_id, 'deceased_beneficiary', feed, since_day, event_id FROM orphaned""")
    con.execute("""
CREATE OR REPLACE TEMP TABLE hh_flags AS
SELECT household_id, code AS flag, state FROM eff_person WHERE effect = 'flag' AND member_id IS NOT NULL
UNION ALL
SELECT household_id, NULL, state FROM eff_person WHERE state = 'resurvey' AND member_id IS NOT NULL""")
    con.execute(f"""
INSERT INTO integration_households BY NAME
WITH hold AS (
  SELECT household_id, arg_min(reason, (since_day, event_id)) AS hold_reason,
         arg_min(feed, (since_day, event_id)) AS hold_source, min(since_day) AS hold_since
  FROM hh_holds GROUP BY household_id
), flag AS (
  SELECT household_id,
         bool_or(flag = 'relief_priority') AS relief_priority,
         bool_or(flag = 'conviction') AS conviction_flag,
         bool_or(flag IN {RESURVEY_FLAGS} OR state = 'resurvey') AS resurvey
  FROM hh_flags GROUP BY household_id
), area AS (
  SELECT DISTINCT h.household_id FROM households h
  JOIN eff_area a ON a.area_level IS NOT NULL AND a.effect = 'flag' AND a.code = 'relief_priority'
   AND (h.district_code = a.area_code OR h.tehsil_code = a.area_code)
)
SELECT h.household_id, h.province_code, h.division_code, h.district_code, h.tehsil_code, h.uc_code,
  h.urban_rural, h.pmt_band, h.is_beneficiary_household,
  hold.household_id IS NOT NULL AS held, hold.hold_reason, hold.hold_source, hold.hold_since,
  coalesce(flag.relief_priority, false) OR area.household_id IS NOT NULL AS relief_priority,
  coalesce(flag.conviction_flag, false) AS conviction_flag,
  coalesce(flag.resurvey, false) AS resurvey,
  h.record_key
FROM households h
LEFT JOIN hold USING (household_id)
LEFT JOIN flag USING (household_id)
LEFT JOIN area USING (household_id)
ORDER BY h.rowid""")
    con.execute("""
INSERT INTO integration_applied BY NAME
SELECT event_id, feed, rule, effect, code, cnic, NULL AS area_code, member_id, household_id,
       since_day AS since, state
FROM eff_person WHERE member_id IS NOT NULL
UNION ALL
SELECT event_id, feed, rule, effect, code, NULL, area_code, NULL, NULL, since_day, state
FROM eff_area WHERE area_level IS NOT NULL
ORDER BY event_id""")
    applied = [int(i) for (i,) in con.execute("SELECT event_id FROM integration_applied").fetchall()]
    held, flagged = con.execute(
        "SELECT count(*) FILTER (WHERE held), count(*) FILTER (WHERE relief_priority OR conviction_flag "
        "OR resurvey) FROM integration_households"
    ).fetchone()
    for t in ("eff", "eff_person", "eff_area", "dead", "orphaned", "emptied", "hh_holds", "hh_flags"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return {
        "events": len(effects),
        "applied": applied,
        "skipped": skipped,
        "deceased": deaths["deceased"],
        "closed_households": deaths["closed"],
        "held_households": int(held),
        "flagged_households": int(flagged),
    }


def _apply_deaths(con: duckdb.DuckDBPyConnection) -> dict:
    """Move the dead out of the roster, recount their households, hold the ones left without a
    beneficiary and close the ones left with nobody. Leaves the temp table ``orphaned``."""
    con.execute("""
CREATE OR REPLACE TEMP TABLE dead AS
SELECT member_id, any_value(household_id) AS household_id, any_value(is_beneficiary) AS was_beneficiary,
       min(since_day) AS deceased_on, min(event_id) AS event_id, arg_min(feed, event_id) AS feed
FROM eff_person WHERE effect = 'deceased' AND member_id IS NOT NULL GROUP BY member_id""")
    con.execute("""
INSERT INTO deceased_members BY NAME
SELECT m.member_id, m.household_id, m.cnic, m.name, m.gender, m.age, m.relation,
       m.is_beneficiary AS was_beneficiary, d.deceased_on, d.event_id
FROM members m JOIN dead d USING (member_id) ORDER BY m.member_id""")
    con.execute("DELETE FROM members WHERE member_id IN (SELECT member_id FROM dead)")
    con.execute("""
CREATE OR REPLACE TEMP TABLE emptied AS
SELECT d.household_id, max(d.deceased_on) AS closed_on FROM dead d
WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.household_id = d.household_id)
GROUP BY d.household_id""")
    con.execute("""
INSERT INTO closed_households BY NAME
SELECT e.household_id, h.district_code, e.closed_on FROM emptied e JOIN households h USING (household_id)
ORDER BY e.household_id""")
    con.execute("DELETE FROM households WHERE household_id IN (SELECT household_id FROM emptied)")
    # the household lost its only beneficiary: held until a new one is nominated or it is re-surveyed
    con.execute("""
CREATE OR REPLACE TEMP TABLE orphaned AS
SELECT d.household_id, min(d.deceased_on) AS since_day, min(d.event_id) AS event_id,
       arg_min(d.feed, d.event_id) AS feed
FROM dead d
WHERE d.was_beneficiary
  AND d.household_id NOT IN (SELECT household_id FROM emptied)
  AND NOT EXISTS (SELECT 1 FROM members m WHERE m.household_id = d.household_id AND m.is_beneficiary)
GROUP BY d.household_id""")
    con.execute(f"""
UPDATE households h SET
  household_size = a.n, n_children_under_5 = a.u5, n_ever_married_women = a.emw,
  n_disabled = a.dis, has_disabled_member = a.dis > 0
FROM (
  SELECT household_id, count(*)::TINYINT AS n,
    count(*) FILTER (WHERE age < 5)::TINYINT AS u5,
    count(*) FILTER (WHERE gender = 'female' AND marital_status <> 'never_married' AND age >= 15)::TINYINT AS emw,
    count(*) FILTER (WHERE {disabled_sql()})::TINYINT AS dis
  FROM members WHERE household_id IN (SELECT household_id FROM dead) GROUP BY household_id
) a
WHERE h.household_id = a.household_id""")
    deceased = con.execute("SELECT count(*) FROM dead").fetchone()[0]
    closed = con.execute("SELECT count(*) FROM emptied").fetchone()[0]
    return {"deceased": int(deceased), "closed": int(closed)}
