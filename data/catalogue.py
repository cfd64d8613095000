"""The field catalogue: every warehouse column with its type, meaning, code list and classification.

The catalogue is data (``catalogue.yaml``) so that the schema, the ingest contract, masking and cube
eligibility all read one source. It is validated when loaded: a typo in a key or a dangling code-list
reference fails at start-up with a message naming the place, not later in a query.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

CATALOGUE_PATH = Path(__file__).with_name("catalogue.yaml")

CLASSIFICATIONS = ("confidential", "secret", "internal")
SOURCES = ("extract", "derived", "internal")
TYPES = ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UTINYINT", "DOUBLE", "VARCHAR", "BOOLEAN", "DATE")
REFERENCE_LEVELS = ("province", "division", "district", "tehsil")

_COLUMN_KEYS = {
    "type",
    "description",
    "unit",
    "classification",
    "aggregate",
    "source",
    "codes",
    "range",
    "pattern",
    "reference",
    "references",
    "unique",
    "nullable",
}
_TABLE_KEYS = {"description", "key", "columns"}
_CODELIST_KEYS = {"description", "codes", "pattern"}


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the table, column and key."""


@dataclass(frozen=True)
class CodeList:
    name: str
    description: str
    codes: dict[str, str] = field(default_factory=dict)
    pattern: str | None = None

    def accepts(self, value: str) -> bool:
        if self.pattern is not None:
            return re.fullmatch(self.pattern, value) is not None
        return value in self.codes


@dataclass(frozen=True)
class Column:
    table: str
    name: str
    type: str
    description: str
    classification: str
    aggregate: bool
    source: str
    unit: str | None = None
    codes: str | None = None
    range: tuple | None = None
    pattern: str | None = None
    reference: str | None = None
    references: str | None = None
    unique: bool = False
    nullable: bool = False

    @property
    def is_secret(self) -> bool:
        return self.classification in ("secret", "internal")


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    key: str
    columns: dict[str, Column]

    def extract_columns(self) -> list[Column]:
        """Columns a real extract must carry, in catalogue order."""
        return [c for c in self.columns.values() if c.source == "extract"]


@dataclass(frozen=True)
class Catalogue:
    codelists: dict[str, CodeList]
    tables: dict[str, Table]

    def table(self, name: str) -> Table:
        return self.tables[name]

    def column(self, table: str, name: str) -> Column:
        return self.tables[table].columns[name]

    def ddl(self, table: str, name: str | None = None) -> str:
        """CREATE TABLE statement with the catalogue's column order and types."""
        cols = ",\n  ".join(f"{c.name} {c.type}" for c in self.tables[table].columns.values())
        return f"CREATE TABLE {name or table} (\n  {cols}\n)"

    def secret_columns(self) -> set[tuple[str, str]]:
        return {(t.name, c.name) for t in self.tables.values() for c in t.columns.values() if c.is_secret}


def _fail(where: str, msg: str) -> CatalogueError:
    return CatalogueError(f"catalogue {where}: {msg}")


def parse_catalogue(raw: dict) -> Catalogue:
    """Build and validate a catalogue from its parsed YAML."""
    if not isinstance(raw, dict) or set(raw) - {"version", "codelists", "tables"}:
        raise _fail("top level", f"unknown keys {sorted(set(raw) - {'version', 'codelists', 'tables'})}")
    codelists: dict[str, CodeList] = {}
    for name, spec in (raw.get("codelists") or {}).items():
        unknown = set(spec) - _CODELIST_KEYS
        if unknown:
            raise _fail(f"codelist {name}", f"unknown keys {sorted(unknown)}")
        if not spec.get("description"):
            raise _fail(f"codelist {name}", "missing description")
        if "codes" not in spec and "pattern" not in spec:
            raise _fail(f"codelist {name}", "needs codes or a pattern")
        for code, label in (spec.get("codes") or {}).items():
            if not isinstance(label, str) or not label.strip():
                raise _fail(
                    f"codelist {name}", f"code {code!r} has no label (quote labels that contain commas)"
                )
        codes = {str(k): str(v) for k, v in (spec.get("codes") or {}).items()}
        codelists[name] = CodeList(name, spec["description"], codes, spec.get("pattern"))

    tables: dict[str, Table] = {}
    for tname, tspec in (raw.get("tables") or {}).items():
        unknown = set(tspec) - _TABLE_KEYS
        if unknown:
            raise _fail(f"table {tname}", f"unknown keys {sorted(unknown)}")
        columns: dict[str, Column] = {}
        for cname, c in (tspec.get("columns") or {}).items():
            where = f"{tname}.{cname}"
            unknown = set(c) - _COLUMN_KEYS
            if unknown:
                raise _fail(where, f"unknown keys {sorted(unknown)}")
            for required in ("type", "description", "classification", "aggregate", "source"):
                if required not in c or c[required] in (None, ""):
                    raise _fail(where, f"missing {required}")
            if c["type"] not in TYPES:
                raise _fail(where, f"type {c['type']!r} is not one of {TYPES}")
            if c["classification"] not in CLASSIFICATIONS:
                raise _fail(where, f"classification {c['classification']!r} is not one of {CLASSIFICATIONS}")
            if c["source"] not in SOURCES:
                raise _fail(where, f"source {c['source']!r} is not one of {SOURCES}")
            if c["classification"] in ("secret", "internal") and c["aggregate"]:
                raise _fail(where, "secret and internal fields can never be aggregated")
            if c.get("codes") and c["codes"] not in codelists:
                raise _fail(where, f"unknown code list {c['codes']!r}")
            if c.get("reference") and c["reference"] not in REFERENCE_LEVELS:
                raise _fail(where, f"reference {c['reference']!r} is not one of {REFERENCE_LEVELS}")
            if c["source"] == "internal" and c["classification"] != "internal":
                raise _fail(where, "internal columns must be classified internal")
            rng = tuple(c["range"]) if c.get("range") is not None else None
            if rng is not None and len(rng) != 2:
                raise _fail(where, "range must be [low, high]")
            columns[cname] = Column(
                table=tname,
                name=cname,
                type=c["type"],
                description=c["description"],
                classification=c["classification"],
                aggregate=bool(c["aggregate"]),
                source=c["source"],
                unit=c.get("unit"),
                codes=c.get("codes"),
                range=rng,
                pattern=c.get("pattern"),
                reference=c.get("reference"),
                references=c.get("references"),
                unique=bool(c.get("unique")),
                nullable=bool(c.get("nullable")),
            )
        key = tspec.get("key")
        if key not in columns:
            raise _fail(f"table {tname}", f"key {key!r} is not a column")
        if not tspec.get("description"):
            raise _fail(f"table {tname}", "missing description")
        tables[tname] = Table(tname, tspec["description"], key, columns)

    for t in tables.values():
        for c in t.columns.values():
            if c.references:
                rt, _, rc = c.references.partition(".")
                if rt not in tables or rc not in tables[rt].columns:
                    raise _fail(f"{t.name}.{c.name}", f"references unknown column {c.references!r}")
    return Catalogue(codelists, tables)


@cache
def load_catalogue(path: Path = CATALOGUE_PATH) -> Catalogue:
    """Load and validate the catalogue shipped with the warehouse package."""
    with open(path, encoding="utf-8") as fh:
        return parse_catalogue(yaml.safe_load(fh))
