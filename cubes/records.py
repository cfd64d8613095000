"""Record search (BISP plan §8.2.2): CNIC, address + parameters, PMT range + address, for the Power,
Standard and Basic record-access roles.

What each role gets is data (``data/record_access.yaml``), checked at load against the field catalogue:
a role is granted only fields whose classification it holds, so secret fields (CNICs, coordinates,
sensitive questions) reach Power alone whatever the groups say. Every value from the user is a bound
parameter; field names come only from the validated policy. Basic sees a fixed 1 % of households, chosen
by a keyed hash (secret salt) of the household id, so repeating or re-wording searches can never
collect more than that 1 % of any population.

The gateway (``Gateway.search_records``) runs these on its own DuckDB connection and audits and meters
every search; nothing here opens DuckDB.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from data.catalogue import Catalogue, load_catalogue

POLICY_PATH = Path(__file__).resolve().parents[1] / "data" / "record_access.yaml"
SEARCHES = ("cnic", "address", "pmt_range")
ROLES = ("power", "standard", "basic")
AREA_LEVELS = {"address": ("district", "tehsil", "union_council"), "pmt_range": ("tehsil", "union_council")}
LEVEL_COLUMN = {"district": "district_code", "tehsil": "tehsil_code", "union_council": "uc_code"}
CNIC = re.compile(r"^\d{5}-?\d{7}-?\d$")


class RecordPolicyError(ValueError):
    """The record-access policy file is malformed; the message names the place."""


class RecordInputError(ValueError):
    """A search the user typed that cannot run; the message names the field and what is wrong."""


@dataclass(frozen=True)
class Grant:
    """What one role gets from one kind of search."""

    household: tuple[str, ...]
    member: tuple[str, ...]
    members: str  # all | searched | none
    searched_cnic: bool = False
    sample: bool = False
    payments: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordPolicy:
    grants: dict[tuple[str, str], Grant]
    row_limits: dict[str, int]
    page_size: int
    sample_per_mille: int
    household_filters: frozenset[str]
    member_filters: frozenset[str]
    catalogue: Catalogue = field(repr=False, compare=False)

    def grant(self, search: str, role: str) -> Grant:
        return self.grants[(search, role)]


def _keys(where: str, value, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(value, dict):
        raise RecordPolicyError(f"{where}: expected a mapping")
    if set(value) - allowed:
        raise RecordPolicyError(f"{where}: unknown keys {sorted(set(value) - allowed)}")
    if required - set(value):
        raise RecordPolicyError(f"{where}: missing {sorted(required - set(value))}")
    return value


def parse_policy(raw: dict, catalogue: Catalogue) -> RecordPolicy:
    _keys(
        "record_access.yaml",
        raw,
        {
            "version",
            "roles",
            "row_limits",
            "page_size",
            "basic_sample_per_mille",
            "groups",
            "searches",
            "filters",
        },
        {"roles", "row_limits", "page_size", "basic_sample_per_mille", "groups", "searches", "filters"},
    )
    if set(raw["roles"]) != set(ROLES):
        raise RecordPolicyError(f"roles must be exactly {list(ROLES)}")
    holds = {
        r: set(_keys(f"role {r}", s, {"classifications"}, {"classifications"})["classifications"])
        for r, s in raw["roles"].items()
    }
    groups: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, spec in raw["groups"].items():
        _keys(f"group {name}", spec, {"households", "members", "payments"}, set())
        for table, cols in spec.items():
            for c in cols:
                if c not in catalogue.tables[table].columns:
                    raise RecordPolicyError(f"group {name}: {table}.{c} is not in the field catalogue")
                if catalogue.column(table, c).classification == "internal":
                    raise RecordPolicyError(f"group {name}: {table}.{c} is internal and never shown")
        groups[name] = {t: tuple(cols) for t, cols in spec.items()}
    grants = {}
    for search in SEARCHES:
        per_role = raw["searches"].get(search)
        if not isinstance(per_role, dict) or set(per_role) != set(ROLES):
            raise RecordPolicyError(f"search {search}: give exactly the roles {list(ROLES)}")
        for role, spec in per_role.items():
            where = f"search {search} role {role}"
            _keys(
                where,
                spec,
                {"household", "member", "members", "searched_cnic", "sample", "payments"},
                {"household", "member", "members"},
            )
            if spec["members"] not in ("all", "searched", "none"):
                raise RecordPolicyError(f"{where}: members must be all, searched or none")
            cols = {"households": [], "members": [], "payments": []}
            for part, table in (("household", "households"), ("member", "members"), ("payments", "payments")):
                for g in spec.get(part) or []:
                    if g not in groups:
                        raise RecordPolicyError(f"{where}: unknown group {g!r}")
                    if set(groups[g]) - {table}:
                        raise RecordPolicyError(f"{where}: group {g!r} is not a {table} group")
                    cols[table] += [c for c in groups[g].get(table, ()) if c not in cols[table]]
            for table, names in cols.items():
                for c in names:
                    cls = catalogue.column(table, c).classification
                    if cls not in holds[role]:
                        raise RecordPolicyError(
                            f"{where}: {table}.{c} is {cls}, which the {role} role does not hold"
                        )
            if spec.get("searched_cnic") and "cnic" in cols["members"]:
                raise RecordPolicyError(f"{where}: searched_cnic is for roles that do not see every CNIC")
            grants[(search, role)] = Grant(
                tuple(cols["households"]),
                tuple(cols["members"]),
                spec["members"],
                bool(spec.get("searched_cnic")),
                bool(spec.get("sample")),
                tuple(cols["payments"]),
            )
    _keys("filters", raw["filters"], {"households", "members"}, {"households", "members"})
    for table, names in raw["filters"].items():
        for c in names:
            if c not in catalogue.tables[table].columns:
                raise RecordPolicyError(f"filters: {table}.{c} is not in the field catalogue")
    limits = raw["row_limits"]
    if set(limits) != set(ROLES) or not all(isinstance(v, int) and v > 0 for v in limits.values()):
        raise RecordPolicyError("row_limits: a positive number for each role")
    return RecordPolicy(
        grants,
        dict(limits),
        int(raw["page_size"]),
        int(raw["basic_sample_per_mille"]),
        frozenset(raw["filters"]["households"]),
        frozenset(raw["filters"]["members"]),
        catalogue,
    )


@functools.cache
def load_policy(path: Path = POLICY_PATH) -> RecordPolicy:
    return parse_policy(yaml.safe_load(path.read_text(encoding="utf-8")), load_catalogue())


# -- searches as typed ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordSearch:
    """A validated search: its kind and parameters (all values, never SQL)."""

    kind: str
    cnic: str | None = None
    area: str | None = None
    household_filters: tuple[tuple[str, tuple], ...] = ()
    member_filters: tuple[tuple[str, tuple], ...] = ()
    pmt_min: float | None = None
    pmt_max: float | None = None
    page: int = 1
    export: bool = False  # every row within the role's limit at once (one logged, metered request)

    def population(self) -> str:
        """What defines the households searched (not the page): keys Basic's pseudonyms."""
        out = json.loads(self.parameters())
        out.pop("page", None)
        out.pop("export", None)
        return json.dumps(out, sort_keys=True)

    def parameters(self) -> str:
        """The search's parameters as logged (seed 8.2.3 "selected parameters")."""
        out = {"type": self.kind}
        for k in ("cnic", "area", "pmt_min", "pmt_max"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.household_filters or self.member_filters:
            out["filters"] = {k: list(v) for k, v in (*self.household_filters, *self.member_filters)}
        out["page"] = self.page
        if self.export:
            out["export"] = True
        return json.dumps(out, sort_keys=True)


def normalise_cnic(text) -> str:
    value = str(text or "").strip().replace(" ", "")
    if not CNIC.match(value):
        raise RecordInputError(
            "CNIC: 13 digits, with or without dashes (e.g. 35202-1234567-1); got "
            + repr(str(text or ""))[:40]
        )
    return value.replace("-", "")


def parse_search(raw: dict, policy: RecordPolicy | None = None) -> RecordSearch:
    """A search from a form or an API call; RecordInputError names what is wrong."""
    policy = policy or load_policy()
    if not isinstance(raw, dict):
        raise RecordInputError("a search is an object with a type")
    kind = raw.get("type")
    if kind not in SEARCHES:
        raise RecordInputError(f"type: one of {list(SEARCHES)}")
    allowed = {"type", "page", "export"} | (
        {"cnic"}
        if kind == "cnic"
        else {"area", "filters"} | ({"pmt_min", "pmt_max"} if kind == "pmt_range" else set())
    )
    if set(raw) - allowed:
        raise RecordInputError(f"unknown field(s) {sorted(set(raw) - allowed)} for a {kind} search")
    page = raw.get("page", 1)
    if not isinstance(page, int) or isinstance(page, bool) or page < 1:
        raise RecordInputError("page: a whole number from 1")
    export = raw.get("export", False)
    if not isinstance(export, bool):
        raise RecordInputError("export: true or false")
    if kind == "cnic":
        return RecordSearch("cnic", cnic=normalise_cnic(raw.get("cnic")), page=page, export=export)
    area = raw.get("area")
    if not isinstance(area, str) or not re.fullmatch(r"PK[0-9A-Z]{1,12}", area):
        raise RecordInputError(
            "area: a district, tehsil or union council code such as PK601, PK601T01, PK601T01U001"
        )
    hf, mf = [], []
    filters = raw.get("filters") or {}
    if not isinstance(filters, dict):
        raise RecordInputError("filters: an object of field → list of codes")
    cat = policy.catalogue
    for name, values in sorted(filters.items()):
        table = (
            "households"
            if name in policy.household_filters
            else "members"
            if name in policy.member_filters
            else None
        )
        if table is None:
            raise RecordInputError(
                f"filters: {name!r} cannot be searched on; choose from {sorted(policy.household_filters | policy.member_filters)}"
            )
        values = values if isinstance(values, list) else [values]
        if not values:
            continue
        column = cat.column(table, name)
        checked = []
        for v in values:
            if column.type == "BOOLEAN":
                if not isinstance(v, bool):
                    raise RecordInputError(f"filters: {name} takes true or false")
            elif column.codes is None or not cat.codelists[column.codes].accepts(str(v)):
                codes = sorted(cat.codelists[column.codes].codes) if column.codes else []
                raise RecordInputError(f"filters: {v!r} is not a code of {name}; codes: {codes}")
            checked.append(v)
        (hf if table == "households" else mf).append((name, tuple(sorted(set(checked), key=str))))
    pmt_min = pmt_max = None
    if kind == "pmt_range":
        try:
            pmt_min, pmt_max = float(raw.get("pmt_min")), float(raw.get("pmt_max"))
        except (TypeError, ValueError):
            raise RecordInputError("pmt_min and pmt_max: numbers, e.g. 0 and 16.17") from None
        if not 0 <= pmt_min <= pmt_max <= 100:
            raise RecordInputError("PMT range: 0 ≤ pmt_min ≤ pmt_max ≤ 100")
    return RecordSearch(
        kind,
        area=area,
        household_filters=tuple(hf),
        member_filters=tuple(mf),
        pmt_min=pmt_min,
        pmt_max=pmt_max,
        page=page,
        export=export,
    )


# -- running them (called by the gateway with its connection) ----------------------------------------


@dataclass
class RecordResult:
    ok: bool
    kind: str | None
    role: str | None
    households: list[dict] = field(default_factory=list)
    members: dict[str, list[dict]] = field(default_factory=dict)  # household key → members shown
    payments: dict[str, list[dict]] = field(default_factory=dict)  # household key → payment history
    total: int = 0  # matching households this role may see (capped at the row limit)
    page: int = 1
    pages: int = 0
    truncated: bool = False
    sampled: bool = False
    reason: str | None = None
    snapshot_id: str | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    code: str | None = None  # quota_exceeded when a quota refused it

    @property
    def rows(self) -> int:
        """Records returned: households, members and payments (what is logged and metered)."""
        return (
            len(self.households)
            + sum(len(m) for m in self.members.values())
            + sum(len(p) for p in self.payments.values())
        )


def sample_salt() -> bytes:
    """The secret that picks Basic's 1 % sample: NSER_SAMPLE_SALT (hex) or a file made once under the data
    directory's secrets. Without it nobody can predict which households are in the sample."""
    from data.secrets import kept_secret

    return kept_secret("sample.salt", env="NSER_SAMPLE_SALT")


def pseudonym(salt: bytes, household_id, population: str = "") -> str:
    """A household's name in one Basic answer. Keyed by the search's population too, so two searches
    cannot be joined on it (re-wording a search to learn one sampled household's attributes fails)."""
    return (
        "S-"
        + hashlib.sha256(salt + b"|" + population.encode() + b"|" + str(household_id).encode()).hexdigest()[
            :10
        ]
    )


def _select(table_alias: str, cols: tuple[str, ...]) -> str:
    return ", ".join(f"{table_alias}.{c}" for c in cols)


def run_search(
    con,
    search: RecordSearch,
    role: str,
    scope_column: str | None,
    scope: str | None,
    area_level: str | None,
    salt: bytes,
    policy: RecordPolicy | None = None,
    cnic_lookup: bool = False,
) -> RecordResult:
    """Run a validated search for a role on the warehouse attached as ``wh`` (and ``cnic_lookup`` when the
    cubes file has it). ``scope``: the actor's area code and the household column it is matched on."""
    policy = policy or load_policy()
    grant = policy.grant(search.kind, role)
    limit = policy.row_limits[role]
    size = limit if search.export else policy.page_size
    h_cols = ("household_id", *[c for c in grant.household if c != "household_id"])
    result = RecordResult(
        True, search.kind, role, page=1 if search.export else search.page, sampled=grant.sample
    )
    where, params = [], []
    if scope:
        where.append(f"h.{scope_column} = ?")
        params.append(scope)
    searched_member, member_rows = None, None
    if search.kind == "cnic":
        hit = _find_cnic(con, search.cnic, cnic_lookup)
        if hit is None:
            result.reason = "no registered person has this CNIC"
            return result
        searched_member, household_id, h_rowid, member_rows = hit
        if h_rowid is not None:  # read exactly that row (the lookup knows where it lies)
            where.append("h.rowid = ?")
            params.append(h_rowid)
        where.append("h.household_id = ?")
        params.append(household_id)
    else:
        where.append(f"h.{LEVEL_COLUMN[area_level]} = ?")
        params.append(search.area)
        for name, values in search.household_filters:
            where.append(f"h.{name} IN ({', '.join('?' for _ in values)})")
            params += list(values)
        if search.member_filters:
            sub = [f"m.{LEVEL_COLUMN[area_level]} = ?"]
            sub_params: list = [search.area]
            for name, values in search.member_filters:
                sub.append(f"m.{name} IN ({', '.join('?' for _ in values)})")
                sub_params += list(values)
            where.append(
                f"h.household_id IN (SELECT m.household_id FROM wh.members m WHERE {' AND '.join(sub)})"
            )
            params += sub_params
        if search.kind == "pmt_range":
            where.append("h.pmt_score BETWEEN ? AND ?")
            params += [search.pmt_min, search.pmt_max]
        if grant.sample:
            # a fixed 1 % of all households, whatever else is asked: keyed hash of the household id
            where.append(
                "(('0x' || substr(md5(? || CAST(h.household_id AS VARCHAR)), 1, 8))::BIGINT % 1000) < ?"
            )
            params += [salt.hex(), policy.sample_per_mille]
    clause = " AND ".join(where)
    prefetched = None
    if search.kind == "cnic" and member_rows is not None:
        # The lookup already says which household and rows: read its members and payments side by side
        # with the household row (DuckDB works without the GIL); they are used only if the household is
        # inside the actor's scope.
        member_q = _member_query(grant, [household_id], member_rows, searched_member)
        payment_q = _payment_query(grant, [household_id])
        prefetched = {
            "members": _POOL.submit(_fetch, con.cursor(), member_q) if member_q else _done([]),
            "payments": _POOL.submit(_fetch, con.cursor(), payment_q) if payment_q else _done([]),
        }
    if search.kind == "cnic":
        total = None  # one household at most: counted from the rows read below
    else:
        total = con.execute(f"SELECT count(*) FROM wh.households h WHERE {clause}", params).fetchone()[0]
    if total is None:
        found = con.execute(
            f"SELECT {_select('h', h_cols)} FROM wh.households h WHERE {clause}", params
        ).fetchall()
        if not found:
            result.reason = "no registered person has this CNIC within your area"
            return result
        total = len(found)
    else:
        found = None
    result.truncated = total > limit
    result.total = min(total, limit)
    result.pages = max(1, -(-result.total // size)) if result.total else 0
    offset = 0 if search.export else (search.page - 1) * size
    if result.total and offset >= result.total:
        raise RecordInputError(f"page: this search has {result.pages} page(s)")
    count = max(0, min(size, result.total - offset))
    rows = (
        found
        if found is not None
        else (
            con.execute(
                f"SELECT {_select('h', h_cols)} FROM wh.households h WHERE {clause} ORDER BY h.household_id LIMIT ? OFFSET ?",
                [*params, count, offset],
            ).fetchall()
            if count
            else []
        )
    )
    shown_h = [c for c in h_cols if c in grant.household]
    result.columns = {
        "households": (["household"] if grant.sample else []) + shown_h,
        "members": list(grant.member),
    }
    ids = []
    for r in rows:
        record = dict(zip(h_cols, r, strict=True))
        hid = record["household_id"]
        ids.append(hid)
        key = pseudonym(salt, hid, search.population()) if grant.sample else str(hid)
        shown = {c: record[c] for c in shown_h}
        if grant.sample:
            shown = {"household": key, **shown}
        result.households.append(shown)
    if ids:
        member_q = _member_query(grant, ids, member_rows, searched_member)
        payment_q = _payment_query(grant, ids)
        member_rows_read = (
            prefetched["members"].result() if prefetched else _fetch(con, member_q) if member_q else []
        )
        payment_rows_read = (
            prefetched["payments"].result() if prefetched else _fetch(con, payment_q) if payment_q else []
        )
        if member_q:
            m_cols = member_q[2]
            for r in member_rows_read:
                record = dict(zip(m_cols, r, strict=True))
                shown = {c: record[c] for c in grant.member}
                if grant.searched_cnic and record["member_id"] == searched_member:
                    shown["cnic"] = record["cnic"]  # the CNIC the user typed, and no other
                result.members.setdefault(str(record["household_id"]), []).append(shown)
            if grant.searched_cnic:
                result.columns["members"] = [*grant.member, "cnic"]
        if payment_q:
            for r in payment_rows_read:
                record = dict(zip(payment_q[2], r, strict=True))
                result.payments.setdefault(str(record.pop("household_id")), []).append(record)
            result.columns["payments"] = list(grant.payments)
    return result


_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="records")


def _done(value) -> Future:
    future: Future = Future()
    future.set_result(value)
    return future


def _fetch(con, query) -> list:
    sql, params, _ = query
    return con.execute(sql, params).fetchall()


def _member_query(grant: Grant, ids: list, member_rows, searched_member):
    """SQL, parameters and columns for the members a grant shows (None when it shows none)."""
    if grant.members == "none" or not grant.member:
        return None
    cols = (
        "household_id",
        "member_id",
        "line_no",
        "cnic",
        *[c for c in grant.member if c not in ("cnic", "line_no")],
    )
    where = f"m.household_id IN ({', '.join('?' for _ in ids)})"
    params: list = list(ids)
    if member_rows is not None:  # the household's members lie in this range of rows
        where += " AND m.rowid BETWEEN ? AND ?"
        params += list(member_rows)
    if grant.members == "searched":
        where += " AND m.member_id = ?"
        params.append(searched_member)
    return (
        f"SELECT {_select('m', cols)} FROM wh.members m WHERE {where} ORDER BY m.household_id, m.line_no",
        params,
        cols,
    )


def _payment_query(grant: Grant, ids: list):
    if not grant.payments:
        return None
    cols = ("household_id", *grant.payments)
    sql = (
        f"SELECT {_select('p', cols)} FROM wh.payments p WHERE p.household_id IN ({', '.join('?' for _ in ids)}) "
        "ORDER BY p.household_id, p.quarter, p.member_id"
    )
    return sql, list(ids), cols


def _find_cnic(con, cnic: str, lookup: bool) -> tuple[int, int, int | None, tuple[int, int] | None] | None:
    """(member_id, household_id, household row id, members' row-id range) of a CNIC: from the sorted
    lookup table the cube build makes (a point read at national scale), else from the members table."""
    if lookup:
        row = con.execute(
            "SELECT member_id, household_id, h_rowid, m_first, m_last FROM cnic_lookup WHERE cnic = ?",
            [int(cnic)],
        ).fetchone()
        return (row[0], row[1], row[2], (row[3], row[4])) if row else None
    row = con.execute("SELECT member_id, household_id FROM wh.members WHERE cnic = ?", [cnic]).fetchone()
    return (row[0], row[1], None, None) if row else None
