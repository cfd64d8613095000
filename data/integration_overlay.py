"""The integration stage of every build: what confirmed integration events say, applied to the new
snapshot (never to the current one, which readers keep using until the swap).

The events come from the app's store (``dashboard.integration``), already confirmed by MIS; this stage
only applies them, keyed by CNIC (stable between snapshots) or by area code:

* a death removes the member from ``members`` into ``deceased_members`` (with the member's Taleemi
  Wazaif enrolments and Kafaalat payments of quarters after the death) and recounts the household with
  the rules of ``data/derived.py``: size, children, ever-married women, disability, Taleemi Wazaif
  children, the PMT rule and the profiling filter. The programme status itself never changes silently: a
  beneficiary household that lost its only beneficiary is held (``deceased_beneficiary``), one that no
  longer meets the rule (its member with a disability died) is held (``eligibility_changed``), both
  pending verification. When the head died, the spouse (else the oldest member) stands as head and the
  household is marked for re-survey. A household nobody is left in moves to ``closed_households`` (its
  payment history stays in ``payments``);
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
from data.derived import disabled_sql, exclusion_sql, kafaalat_eligible_sql

TABLES = ("integration_applied", "deceased_members", "closed_households", "integration_households")
RESURVEY_FLAGS = ("address_changed", "marital_status_changed", "new_member")
MAX_SKIPPED_LISTED = 10_000  # the manifest lists at most this many skipped events (it counts them all)
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
SELECT household_id, reason, feed, since_day, event_id FROM death_holds""")
    con.execute("""
CREATE OR REPLACE TEMP TABLE hh_flags AS
SELECT household_id, code AS flag, state FROM eff_person WHERE effect = 'flag' AND member_id IS NOT NULL
UNION ALL
SELECT household_id, NULL, state FROM eff_person WHERE state = 'resurvey' AND member_id IS NOT NULL
UNION ALL
SELECT household_id, 'head_died', 'confirmed' FROM rehead""")
    special = ("relief_priority", "conviction", *RESURVEY_FLAGS, "head_died")
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
         bool_or(flag IN {(*RESURVEY_FLAGS, "head_died")} OR state = 'resurvey') AS resurvey,
         string_agg(DISTINCT flag, ',' ORDER BY flag) FILTER (WHERE flag NOT IN {special}) AS other_flags
  FROM hh_flags GROUP BY household_id
), area AS (  -- two equi-joins, not one join on (district OR tehsil): 35 million households × the areas
  SELECT h.household_id FROM households h JOIN eff_area a
    ON a.area_level = 'district' AND a.effect = 'flag' AND a.code = 'relief_priority' AND h.district_code = a.area_code
  UNION
  SELECT h.household_id FROM households h JOIN eff_area a
    ON a.area_level = 'tehsil' AND a.effect = 'flag' AND a.code = 'relief_priority' AND h.tehsil_code = a.area_code
)
SELECT h.household_id, h.province_code, h.division_code, h.district_code, h.tehsil_code, h.uc_code,
  h.urban_rural, h.pmt_band, h.is_beneficiary_household,
  hold.household_id IS NOT NULL AS held, hold.hold_reason, hold.hold_source, hold.hold_since,
  coalesce(flag.relief_priority, false) OR area.household_id IS NOT NULL AS relief_priority,
  coalesce(flag.conviction_flag, false) AS conviction_flag,
  coalesce(flag.resurvey, false) AS resurvey,
  flag.other_flags,
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
    applied = con.execute("SELECT count(*) FROM integration_applied").fetchone()[0]
    held, flagged = con.execute(
        "SELECT count(*) FILTER (WHERE held), count(*) FILTER (WHERE relief_priority OR conviction_flag "
        "OR resurvey) FROM integration_households"
    ).fetchone()
    for t in (
        "eff",
        "eff_person",
        "eff_area",
        "dead",
        "death_holds",
        "rehead",
        "emptied",
        "hh_holds",
        "hh_flags",
    ):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return {
        "events": len(effects),
        "applied": int(applied),  # the ids are in the snapshot's integration_applied table
        "skipped_count": len(skipped),
        "skipped": skipped[:MAX_SKIPPED_LISTED],
        "deceased": deaths["deceased"],
        "closed_households": deaths["closed"],
        "held_households": int(held),
        "flagged_households": int(flagged),
    }


def _apply_deaths(con: duckdb.DuckDBPyConnection) -> dict:
    """Move the dead out of the roster, recount their households, hold the ones whose programme status
    the deaths put in doubt, re-head the ones whose head died and close the ones left with nobody.
    Leaves the temp tables ``death_holds`` and ``rehead``."""
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
    # nothing is paid, and no child is enrolled, in the quarters after a death
    quarter_start = "make_date(left(quarter, 4)::INT, 3 * right(quarter, 1)::INT - 2, 1)"
    for table in ("cct_enrolments", "payments"):
        con.execute(f"""
DELETE FROM {table} t USING dead d
WHERE t.member_id = d.member_id AND {quarter_start} > d.deceased_on""")
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
    # the head died: the spouse stands as head, else the oldest member (the re-survey settles it)
    con.execute("""
CREATE OR REPLACE TEMP TABLE rehead AS
SELECT h.household_id,
       arg_min(m.member_id, (m.relation <> 'spouse', -m.age::INT, m.line_no)) AS head_member_id
FROM households h JOIN dead d ON d.member_id = h.head_member_id
JOIN members m ON m.household_id = h.household_id
GROUP BY h.household_id""")
    con.execute("""
UPDATE households h SET head_member_id = m.member_id, head_gender = m.gender, head_age = m.age,
  head_education = m.education, head_employment = m.employment_status, head_cnic = m.cnic
FROM rehead r JOIN members m ON m.member_id = r.head_member_id
WHERE h.household_id = r.household_id""")
    rule = kafaalat_eligible_sql("h.pmt_score", "a.dis")
    exclusion = exclusion_sql("h.has_car", "a.gov")
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE recount AS
SELECT h.household_id, a.*, {rule} AS eligible, CASE WHEN {rule} THEN {exclusion} END AS excluded,
       h.is_beneficiary_household AS was_beneficiary_household
FROM households h JOIN (
  SELECT household_id, count(*)::TINYINT AS n,
    count(*) FILTER (WHERE age < 5)::TINYINT AS u5,
    count(*) FILTER (WHERE gender = 'female' AND marital_status <> 'never_married' AND age >= 15)::TINYINT AS emw,
    count(*) FILTER (WHERE {disabled_sql()})::TINYINT AS dis,
    count(*) FILTER (WHERE employment_type = 'government') AS gov,
    count(*) FILTER (WHERE is_cct_child)::TINYINT AS cct,
    coalesce(bool_or(is_beneficiary), false) AS has_beneficiary
  FROM members WHERE household_id IN (SELECT household_id FROM dead) GROUP BY household_id
) a ON a.household_id = h.household_id""")
    con.execute("""
UPDATE households h SET
  household_size = r.n, n_children_under_5 = r.u5, n_ever_married_women = r.emw,
  n_disabled = r.dis, has_disabled_member = r.dis > 0, cct_children = r.cct,
  kafaalat_eligible = r.eligible, exclusion_reason = r.excluded
FROM recount r WHERE h.household_id = r.household_id""")
    # the programme status is not changed here; a status the deaths put in doubt is held for verification
    con.execute("""
CREATE OR REPLACE TEMP TABLE death_holds AS
SELECT r.household_id,
       CASE WHEN NOT r.has_beneficiary THEN 'deceased_beneficiary' ELSE 'eligibility_changed' END AS reason,
       arg_min(d.feed, d.event_id) AS feed, min(d.deceased_on) AS since_day, min(d.event_id) AS event_id
FROM recount r JOIN dead d USING (household_id)
WHERE r.was_beneficiary_household
  AND (NOT r.has_beneficiary OR NOT (r.eligible AND r.excluded IS NULL AND r.emw > 0))
GROUP BY r.household_id, r.has_beneficiary""")
    deceased = con.execute("SELECT count(*) FROM dead").fetchone()[0]
    closed = con.execute("SELECT count(*) FROM emptied").fetchone()[0]
    con.execute("DROP TABLE IF EXISTS recount")
    return {"deceased": int(deceased), "closed": int(closed)}
