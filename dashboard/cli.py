"""The ``nser`` command: warehouse builds and ingest, snapshot info, and running the app.

Every subcommand is a thin shell over a library function, so tests and scripts call the same code.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from data.snapshots import SnapshotError, SnapshotStore

DEMO_HOUSEHOLDS = 200_000
DEMO_SEED = 20231


def _say(msg: str) -> None:
    click.echo(msg, err=True)


def _date(_ctx, _param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date in the form YYYY-MM-DD") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """NSER Insight: warehouse, cubes and the analytics and data-sharing portal."""


@main.group()
def warehouse() -> None:
    """Build, ingest and inspect warehouse snapshots (in $NSER_DATA_DIR)."""


@warehouse.command("build")
@click.option(
    "--households",
    type=click.IntRange(min=1000),
    default=DEMO_HOUSEHOLDS,
    show_default=True,
    help="Number of households to generate (35000000 for national scale).",
)
@click.option(
    "--seed", type=int, default=DEMO_SEED, show_default=True, help="Seed: same seed and size, same tables."
)
@click.option(
    "--as-of", callback=_date, default=None, help="Snapshot date (default from data/synthetic.yaml)."
)
@click.option(
    "--chunk",
    type=click.IntRange(min=1000),
    default=2_000_000,
    show_default=True,
    help="Households generated per chunk (bounds memory).",
)
@click.option("--quiet", is_flag=True, help="Print only the final summary.")
def warehouse_build(households: int, seed: int, as_of: dt.date | None, chunk: int, quiet: bool) -> None:
    """Generate a census-calibrated synthetic registry as a new snapshot and make it current."""
    from data.warehouse import build_synthetic

    effects = _integration_effects()
    try:
        snap = build_synthetic(
            households,
            seed,
            as_of,
            SnapshotStore(),
            progress=None if quiet else _say,
            chunk_households=chunk,
            integration=effects,
        )
    except (SnapshotError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    _record_integration(snap, effects)
    m = snap.manifest
    click.echo(
        f"snapshot {snap.snapshot_id} as of {m['as_of']}: {m['households']:,} households, "
        f"{m['members']:,} members, {m['duration_s']} s, peak {m['peak_rss_mb']} MB → {snap.path}"
    )


@warehouse.command("ingest")
@click.option(
    "--households",
    "households_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Households extract (.csv or .parquet).",
)
@click.option(
    "--members",
    "members_path",
    type=click.Path(path_type=Path),
    required=True,
    help="Members extract (.csv or .parquet).",
)
@click.option(
    "--schools",
    "schools_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Schools extract (optional; needed with --cct).",
)
@click.option(
    "--cct",
    "cct_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Taleemi Wazaif enrolments extract (optional).",
)
@click.option(
    "--payments",
    "payments_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Kafaalat payments extract (optional).",
)
@click.option("--as-of", callback=_date, default=None, help="Date the extract refers to (default: today).")
def warehouse_ingest(
    households_path: Path,
    members_path: Path,
    schools_path: Path | None,
    cct_path: Path | None,
    payments_path: Path | None,
    as_of: dt.date | None,
) -> None:
    """Validate real extracts and load them as a new snapshot; reject the whole load on any error."""
    from data.ingest import IngestError, ingest_extract

    optional = {"schools_path": schools_path, "cct_path": cct_path, "payments_path": payments_path}
    effects = _integration_effects()
    try:
        snap = ingest_extract(
            households_path,
            members_path,
            as_of=as_of,
            store=SnapshotStore(),
            progress=_say,
            integration=effects,
            **{k: v for k, v in optional.items() if v is not None},
        )
    except IngestError as exc:
        _say(exc.report())
        raise click.ClickException(
            f"ingest rejected: {exc.total} problem(s); the current snapshot is unchanged"
        ) from None
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    _record_integration(snap, effects)
    m = snap.manifest
    click.echo(
        f"snapshot {snap.snapshot_id} as of {m['as_of']}: {m['households']:,} households, "
        f"{m['members']:,} members → {snap.path}"
    )


def _integration_effects() -> list[dict]:
    """The integration events in force (confirmed by MIS), which every build applies (none before the
    app's store exists: a build never creates it)."""
    from dashboard import store
    from dashboard.integration import Integration

    return Integration().effects_for_build() if store.exists() else []


def _record_integration(snap, effects: list[dict]) -> None:
    from dashboard import store
    from dashboard.integration import Integration

    report = snap.manifest.get("integration") or {}
    if not store.exists():
        return
    Integration().record_build(snap.snapshot_id, effects, report, actor=_admin())
    if report.get("events"):
        _say(
            f"integration: {report['applied']} event(s) applied, {report['skipped_count']} skipped "
            f"(see `nser warehouse info --json`)"
        )


@warehouse.command("info")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def warehouse_info(as_json: bool) -> None:
    """Show the current snapshot: id, date, counts and build metadata."""
    from data.warehouse import info

    try:
        data = info()
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        json.dump(data, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return
    click.echo(f"snapshot   {data['snapshot_id']} ({data['kind']})")
    click.echo(f"as of      {data['as_of']}")
    click.echo(f"file       {data['path']} ({data['size_mb']} MB)")
    click.echo(f"households {data['households']:,}")
    click.echo(f"members    {data['members']:,}")
    for table, rows in sorted(data.get("tables", {}).items()):
        click.echo(f"  {table:<16} {rows:>14,}")
    if data.get("duration_s") is not None:
        click.echo(
            f"built in   {data['duration_s']} s, peak memory {data.get('peak_rss_mb')} MB on {data.get('machine')}"
        )


@main.group()
def cubes() -> None:
    """Build and list the OLAP cubes served by the gateway."""


@cubes.command("build")
@click.option("--quiet", is_flag=True, help="Print only the final summary.")
@click.option(
    "--reports/--no-reports",
    default=True,
    show_default=True,
    help="Then precompute every published report for the new snapshot (as `nser reports refresh`).",
)
def cubes_build(quiet: bool, reports: bool) -> None:
    """Materialise every cube's rollups next to the current snapshot."""
    from cubes.builder import build_cubes

    try:
        summary = build_cubes(
            progress=None if quiet else _say,
            before_serve=lambda snapshot_id: _prepare_to_serve(snapshot_id, quiet),
        )
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"cubes for snapshot {summary['snapshot_id']}: {len(summary['cubes'])} cubes, "
        f"{sum(c['rollups'] for c in summary['cubes'].values())} rollups in {summary['duration_s']} s"
    )
    if reports:
        from dashboard.publication import refresh

        pages = refresh()
        if pages:
            click.echo(
                f"published reports precomputed: {sum(pages.values())} page(s) of {len(pages)} report(s)"
            )


def _prepare_to_serve(snapshot_id: str, quiet: bool = False) -> None:
    """Before SERVING names a new snapshot: its files into this node's page cache, then the dashboards."""
    _warm_page_cache(snapshot_id, quiet)
    _precompute_dashboards(snapshot_id, quiet)


def _warm_page_cache(snapshot_id: str | None, quiet: bool = False) -> dict:
    from cubes.page_cache import describe, warm_snapshot

    store = SnapshotStore()
    try:
        snap = store.get(snapshot_id) if snapshot_id else store.serving()
        summary = warm_snapshot(snap, progress=None if quiet else _say)
    except (SnapshotError, ValueError) as exc:  # WarmError and a bad NSER_SERVE_FORMAT are ValueErrors
        raise click.ClickException(str(exc)) from exc
    _say(describe(summary))
    return summary


def _precompute_dashboards(snapshot_id: str | None, quiet: bool = False) -> dict:
    from dashboard.district_questions import precompute_public_dashboards

    totals = precompute_public_dashboards(snapshot_id, progress=None if quiet else _say)
    _say(
        f"public district dashboards of snapshot {totals['snapshot_id']}: {totals['districts']} districts, "
        f"{totals['answered']} answers computed, {totals['cached']} already cached, "
        f"{totals['refused']} refused, in {totals['seconds']} s"
    )
    return totals


@cubes.command("precompute")
@click.option("--snapshot", "snapshot_id", help="A snapshot with its cubes built (default: the serving one).")
@click.option("--quiet", is_flag=True, help="Print only the summary.")
def cubes_precompute(snapshot_id: str | None, quiet: bool) -> None:
    """Precompute the public district dashboards' answers into the shared answer cache.

    `nser cubes build` does it before serving a new snapshot; run it after copying in a snapshot built
    elsewhere, before naming it SERVING, or after the shared cache (Redis) was emptied."""
    from cubes.gateway import Refused

    try:
        _precompute_dashboards(snapshot_id, quiet)
    except (SnapshotError, Refused) as exc:
        raise click.ClickException(str(exc)) from exc


@cubes.command("warm")
@click.option("--snapshot", "snapshot_id", help="A snapshot with its cubes built (default: the serving one).")
@click.option("--quiet", is_flag=True, help="Print only the summary.")
def cubes_warm(snapshot_id: str | None, quiet: bool) -> None:
    """Read the snapshot's files once so this node's page cache holds them (fast first record searches).

    `nser run` and `nser cubes build` do it themselves; run it on an app node started another way (after
    a boot, or after copying in a snapshot). Skipped, with the reason, when the files would not fit in
    memory or NSER_WARM_PAGE_CACHE=off."""
    _warm_page_cache(snapshot_id, quiet)


@cubes.command("export-parquet")
@click.option("--snapshot", "snapshot_id", help="A snapshot with its cubes built (default: the serving one).")
def cubes_export_parquet(snapshot_id: str | None) -> None:
    """Write the snapshot's warehouse and cubes as Parquet, for app nodes with NSER_SERVE_FORMAT=parquet.

    `nser cubes build` does it itself when NSER_SERVE_FORMAT=parquet; run it for a snapshot whose cubes
    were built without, before naming it SERVING on nodes that read Parquet."""
    from cubes.builder import cubes_path
    from cubes.parquet import ParquetError, export_parquet

    store = SnapshotStore()
    try:
        snap = store.get(snapshot_id) if snapshot_id else store.serving()
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    if not cubes_path(snap).exists():
        raise click.ClickException(f"snapshot {snap.snapshot_id} has no cubes yet; run `nser cubes build`")
    try:
        manifest = export_parquet(snap, cubes_path(snap), progress=_say)
    except ParquetError as exc:
        raise click.ClickException(f"snapshot {snap.snapshot_id}: {exc}") from exc
    serving, build = store.serving_stamp()
    if serving == snap.snapshot_id and build != manifest["build_id"]:
        store.serve(snap.snapshot_id, manifest["build_id"])  # so nodes reading Parquet open this copy
    click.echo(
        f"parquet copy of {snap.snapshot_id}: {len(manifest['tables'])} tables, "
        f"{manifest['bytes'] / 2**20:,.1f} MB in {manifest['seconds']} s"
    )


@cubes.command("list")
@click.option(
    "--json", "as_json", is_flag=True, help="Print cubes, dimensions, measures and tier rules as JSON."
)
def cubes_list(as_json: bool) -> None:
    """List the cubes with their dimensions, measures and tier rules."""
    from cubes.catalog import describe_cubes

    data = describe_cubes()
    if as_json:
        json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    for cube in data["cubes"]:
        click.echo(f"{cube['name']}: {cube['title']}")
        click.echo(f"  dimensions: {', '.join(d['name'] for d in cube['dimensions'])}")
        click.echo(f"  measures:   {', '.join(m['name'] for m in cube['measures'])}")
        tiers = ", ".join(f"{t} ≥ {r['lowest_geography']}" for t, r in cube["tiers"].items())
        click.echo(f"  tiers:      {tiers}")


@cubes.command("ptable")
@click.option("--check", is_flag=True, help="Fail if cubes/ptable.csv differs from a fresh generation.")
def cubes_ptable(check: bool) -> None:
    """Regenerate the perturbation table from the parameters in cubes/tiers.yaml."""
    from cubes.model import load_model
    from cubes.ptable import PtableSpec, generate, read_csv, write_csv

    model = load_model()
    p = model.policy["ptable"]
    spec = PtableSpec(p["max_noise"], p["variance"], p["no_small"], p["cap"])
    table = generate(spec)
    if check:
        shipped = read_csv(model.ptable_path, spec.cap)
        if not (shipped == table).all():
            raise click.ClickException(f"{model.ptable_path} is out of date; run `nser cubes ptable`")
        click.echo(f"{model.ptable_path} matches the parameters")
        return
    write_csv(table, model.ptable_path)
    click.echo(f"wrote {model.ptable_path}")


@main.command("query")
@click.option(
    "--tier",
    type=click.Choice(["public", "business", "mis"]),
    required=True,
    help="Ask as an actor of this tier.",
)
@click.option("--scope", default=None, help="Geography code the actor is limited to (e.g. a district).")
@click.option("--user", default="cli", show_default=True, help="Name recorded in the audit log.")
@click.option(
    "--batch",
    type=click.File("r", encoding="utf-8"),
    default=None,
    help="A file of queries, one JSON object per line.",
)
@click.argument("query_json", required=False)
def query(tier: str, scope: str | None, user: str, batch, query_json: str | None) -> None:
    """Run cube queries through the gateway the app uses, and print JSON (one line per query)."""
    from cubes.query import Actor
    from dashboard.oversight import governed_gateway

    if (batch is None) == (query_json is None):
        raise click.UsageError("give one QUERY_JSON argument or --batch FILE")
    gateway = governed_gateway()
    actor = Actor(tier=tier, user=user, scope=scope)
    lines = [query_json] if query_json is not None else [ln for ln in batch.read().splitlines() if ln.strip()]
    failed = False
    for text in lines:
        result = gateway.run_query(actor, text)
        failed |= not result.ok
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    if failed and query_json is not None:
        sys.exit(2)


@main.group()
def db() -> None:
    """The app's relational store (SQLite by default, PostgreSQL with NSER_DATABASE_URL)."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the store's schema to the newest version."""
    from dashboard.store import database_url, engine

    e = engine()
    click.echo(
        f"store at {e.url.render_as_string(hide_password=True)} is up to date ({database_url().split(':')[0]})"
    )


@main.group()
def orgs() -> None:
    """Organisations (seed 8.2.1 levels 1–2) with their permissible-clientage registration (7.2)."""


@orgs.command("add")
@click.option("--name", required=True)
@click.option("--type", "org_type", required=True, help="Organisation type from dashboard/governance.yaml.")
@click.option("--registration-body", default=None)
@click.option("--registration-number", default=None)
@click.option("--address", default=None)
def orgs_add(name: str, org_type: str, registration_body, registration_number, address) -> None:
    """Register an organisation."""
    from dashboard.accounts import AccountError, Accounts

    try:
        org = Accounts().add_organisation(
            name, org_type, registration_body, registration_number, address, actor=_admin()
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"organisation {org.name} ({org.org_type}) added")


@orgs.command("list")
@click.option("--json", "as_json", is_flag=True)
def orgs_list(as_json: bool) -> None:
    """List organisations."""
    from dashboard.accounts import Accounts

    rows = [
        {
            "name": o.name,
            "type": o.org_type,
            "registration_body": o.registration_body,
            "registration_number": o.registration_number,
            "gratis": o.gratis,
        }
        for o in Accounts().organisations()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['name']:<40} {r['type']:<22} {r['registration_number'] or ''}")


def _admin() -> str:
    import getpass
    import os

    return os.environ.get("NSER_ADMIN", getpass.getuser())


def _password(value: str | None, stdin: bool) -> str:
    if stdin:
        return sys.stdin.readline().rstrip("\n")
    if value:
        return value
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


@main.group()
def users() -> None:
    """Users (seed 8.2.1 levels 3–4): tier, record role, approval duties, scope, status."""


@users.command("add")
@click.option("--username", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--org", "organisation", required=True, help="Organisation name.")
@click.option("--tier", type=click.Choice(["business", "mis"]), default="business", show_default=True)
@click.option(
    "--role",
    "record_role",
    type=click.Choice(["none", "basic", "standard", "power"]),
    default="none",
    show_default=True,
    help="Record-access role (seed 8.2.1).",
)
@click.option(
    "--duty",
    "duties",
    multiple=True,
    type=click.Choice(["dg_nser", "secretary_bisp", "bisp_board"]),
    help="Approval duty (seed 7.3); repeatable.",
)
@click.option(
    "--scope", default=None, help="Province, division, district or tehsil code the user is limited to."
)
@click.option("--designation", default=None)
@click.option("--location", default=None, help="District/tehsil code or city of the user.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_add(
    username, full_name, organisation, tier, record_role, duties, scope, designation, location, password_stdin
) -> None:
    """Create a user (the password is asked for, or read with --password-stdin)."""
    from dashboard.accounts import AccountError, Accounts

    try:
        Accounts().add_user(
            username,
            full_name,
            organisation,
            _password(None, password_stdin),
            tier,
            record_role,
            list(duties),
            scope,
            designation,
            location,
            actor=_admin(),
        )
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {username} added ({tier}, records: {record_role})")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
def users_list(as_json: bool) -> None:
    """List users with organisation, tier, role, duties, scope and status."""
    from dashboard.accounts import Accounts

    rows = [
        {
            "username": u.username,
            "name": u.full_name,
            "organisation": o.name,
            "tier": u.tier,
            "record_role": u.record_role,
            "duties": u.duties,
            "scope": u.scope,
            "status": u.status,
        }
        for u, o in Accounts().users()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(
            f"{r['username']:<20} {r['tier']:<9} {r['record_role']:<9} {r['status']:<9} {r['organisation']}"
        )


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable a user (they can no longer log in)."""
    from dashboard.accounts import AccountError, Accounts

    try:
        Accounts().disable(username, actor=_admin())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {username} disabled")


@users.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Enable (and unlock) a user."""
    from dashboard.accounts import AccountError, Accounts

    try:
        Accounts().enable(username, actor=_admin())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"user {username} enabled")


@users.command("reset-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def users_reset_password(username: str, password_stdin: bool) -> None:
    """Set a new password (MIS admin); unlocks the account and asks for a change at the next login."""
    from dashboard.accounts import AccountError, Accounts

    try:
        Accounts().reset_password(username, _password(None, password_stdin), actor=_admin())
    except AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"password of {username} reset")


@main.group()
def audit() -> None:
    """The tamper-evident access log."""


@audit.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exits 1 and names the first bad row when it is broken."""
    from dashboard.audit import AccessLog

    ok, message = AccessLog().verify()
    click.echo(message)
    if not ok:
        sys.exit(1)


@audit.command("export")
@click.argument("path", type=click.Path(path_type=Path))
def audit_export(path: Path) -> None:
    """Write the access log with its hashes as CSV for auditors."""
    from dashboard.audit import AccessLog

    n = AccessLog().export(path)
    click.echo(f"{n} rows written to {path}")


@main.group()
def rates() -> None:
    """Data metering rates (seed 8.4), by service and client type."""


@rates.command("list")
def rates_list() -> None:
    """Show the rates in force."""
    from dashboard.metering import Metering

    for r in Metering().rates():
        click.echo(f"{r['service']:<16} {r['client_type']:<11} {r['rate']:>9.2f} PKR per {r['unit']}")


@rates.command("set")
@click.argument("service")
@click.argument("client_type", type=click.Choice(["government", "private"]))
@click.argument("rate", type=float)
def rates_set(service: str, client_type: str, rate: float) -> None:
    """Set a new rate from now on (the history is kept)."""
    from dashboard.metering import Metering

    try:
        Metering().set_rate(service, client_type, rate, set_by=_admin())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{service} for {client_type} clients: {rate:.2f} PKR per unit from now on")


@main.group()
def metering() -> None:
    """Ledger statements and quotas."""


@metering.command("statement")
@click.option("--org", "organisation", required=True)
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None)
@click.option("--xlsx", "xlsx_path", type=click.Path(path_type=Path), default=None)
def metering_statement(organisation: str, month: str, csv_path, xlsx_path) -> None:
    """An organisation's monthly statement: on screen, and as CSV and/or XLSX."""
    from dashboard.metering import Metering

    m = Metering()
    try:
        stmt = m.statement(organisation, month)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{stmt['organisation']} — {stmt['month']}")
    for x in stmt["lines"]:
        click.echo(
            f"  {x['label']:<36} {x['units']:>10,} {x['unit']}s × {x['rate']:.2f} = {x['amount']:>12,.2f} PKR"
            + (f"  (gratis: {x['gratis']})" if x["gratis"] else "")
        )
    click.echo(f"  {'total':<36} {stmt['total_units']:>10,}            {stmt['total_amount']:>12,.2f} PKR")
    if csv_path:
        m.write_csv(stmt, csv_path)
    if xlsx_path:
        m.write_xlsx(stmt, xlsx_path)


@metering.command("quota")
@click.option("--user", "username", default=None)
@click.option("--org", "organisation", default=None)
@click.argument("metric", type=click.Choice(["queries", "cells", "rows"]))
@click.argument("per_day", type=click.IntRange(min=0))
def metering_quota(username, organisation, metric: str, per_day: int) -> None:
    """Set a daily quota for one user or organisation (0 = no limit)."""
    from sqlalchemy import select

    from dashboard.metering import Metering
    from dashboard.models import Organisation, User

    if (username is None) == (organisation is None):
        raise click.UsageError("give --user or --org")
    m = Metering()
    with m.sessions() as s:
        if username:
            row = s.scalar(select(User).where(User.username == username))
        else:
            row = s.scalar(select(Organisation).where(Organisation.name == organisation))
    if row is None:
        raise click.ClickException(f"no such {'user' if username else 'organisation'}")
    m.set_quota("user" if username else "organisation", row.id, metric, per_day)
    click.echo(f"daily {metric} quota for {username or organisation}: {per_day or 'no limit'}")


@main.group("api-clients")
def api_clients() -> None:
    """OAuth2 clients of partner organisations for the data-sharing API (seed 8.3)."""


@api_clients.command("add")
@click.option("--org", "organisation", required=True)
@click.option("--name", required=True, help="what the client is, e.g. 'point of sale'")
@click.option(
    "--scope", "scopes", multiple=True, required=True, help="aggregates, pmt_lookup, registry_search"
)
@click.option("--tier", default="business", show_default=True)
@click.option("--record-role", default="none", show_default=True)
@click.option("--area", default=None, help="limit the client to one area (a geography code)")
@click.option("--per-minute", type=int, default=60, show_default=True)
@click.option("--callback-url", default=None, help="where asynchronous DCI answers are POSTed")
def api_clients_add(organisation, name, scopes, tier, record_role, area, per_minute, callback_url) -> None:
    """Create a client and print its id and secret (the secret is shown this once)."""
    from dashboard.api_clients import ApiClientError, ApiClients

    try:
        cid, secret = ApiClients().add(
            organisation,
            name,
            list(scopes),
            tier,
            record_role,
            area,
            per_minute,
            actor=_admin(),
            callback_url=callback_url,
        )
    except ApiClientError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"client_id: {cid}")
    click.echo(f"client_secret: {secret}   (shown once; store it now)")


@api_clients.command("list")
def api_clients_list() -> None:
    from dashboard.api_clients import ApiClients

    for c, org in ApiClients().list():
        click.echo(f"{c.client_id:<22} {c.status:<8} {org:<40} {','.join(c.scopes):<30} {c.record_role}")


@api_clients.command("revoke")
@click.argument("client_id")
def api_clients_revoke(client_id: str) -> None:
    """Revoke at once: the client's unexpired tokens stop working on their next call."""
    from dashboard.api_clients import ApiClientError, ApiClients

    try:
        ApiClients().revoke(client_id, actor=_admin())
    except ApiClientError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{client_id} revoked")


@main.command("feedback")
@click.option("--limit", type=int, default=50, show_default=True)
def feedback_list(limit: int) -> None:
    """Records partners posted back through the API, newest first (staged for MIS; seed 8.3)."""
    from dashboard.feedback import staged

    for o in staged(limit=limit):
        click.echo(
            f"{o.received_at:%Y-%m-%d %H:%M} {o.client_id:<22} {o.type:<18} household {o.household_id:<10} {o.payload}"
        )


@main.group()
def integrate() -> None:
    """Feeds from other registries (seed 9): load, match on CNIC, review, appeal, reverse."""


def _reviewer(username: str):
    principal = _acting(username)
    if principal.tier != "mis":
        raise click.ClickException(f"{username} is not in the MIS team; only MIS reviews integration events")
    return principal


def _integration_step(step):
    from dashboard.integration import IntegrationError

    try:
        return step()
    except IntegrationError as exc:
        raise click.ClickException(str(exc)) from exc


@integrate.command("feeds")
def integrate_feeds() -> None:
    """The feeds declared in data/feeds.yaml, with their rules."""
    from data.feeds import load_feeds

    for feed in load_feeds().feeds.values():
        rules = ", ".join(f"{r.name} → {r.effect}{' ' + r.code if r.code else ''}" for r in feed.rules)
        click.echo(
            f"{feed.name:<20} plan {feed.plan:<7} {feed.label}\n{'':<20} fields: {', '.join(feed.fields)}"
        )
        click.echo(f"{'':<20} rules: {rules}")


@integrate.command("load")
@click.argument("feed")
@click.argument("path", type=click.Path(path_type=Path))
def integrate_load(feed: str, path: Path) -> None:
    """Load a feed's file (CSV or Parquet): all-or-nothing, matched on CNIC, events raised for review."""
    from dashboard.integration import BatchRejected, Integration, IntegrationError
    from data.feeds import FeedsError

    try:
        report = Integration().load_file(feed, path, actor=_admin())
    except BatchRejected as exc:
        _say(exc.report())
        raise click.ClickException(f"rejected: {exc.total} problem(s); nothing was loaded") from None
    except (IntegrationError, FeedsError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.summary())


@integrate.command("feedback")
@click.argument("feed", default="usc_purchases")
def integrate_feedback(feed: str) -> None:
    """Load the partner feedback staged through the API (e.g. Utility Stores purchases) as a batch."""
    from dashboard.integration import Integration

    click.echo(_integration_step(lambda: Integration().load_feedback(feed, actor=_admin())).summary())


@integrate.command("demo")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="where to write the files")
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--load/--no-load", default=True, show_default=True, help="load every file after writing it")
def integrate_demo(out: Path | None, seed: int, load: bool) -> None:
    """Write realistic demo feeds for the current synthetic snapshot (and load them)."""
    from dashboard.integration import BatchRejected, Integration, IntegrationError
    from data.feeds_demo import write_demo_feeds

    snap = SnapshotStore().require_current()
    out = out or SnapshotStore().root / "demo-feeds"
    files = write_demo_feeds(snap.path, out, seed=seed)
    integration = Integration() if load else None
    for feed, path in files.items():
        if integration is None:
            click.echo(f"{feed:<20} {path}")
            continue
        try:
            click.echo(integration.load_file(feed, path, actor=_admin()).summary())
        except BatchRejected as exc:
            raise click.ClickException(exc.report()) from None
        except IntegrationError as exc:  # e.g. loaded already by an earlier run with this seed
            click.echo(f"{feed:<20} skipped: {exc}")


@integrate.command("events")
@click.option(
    "--state",
    default="pending",
    show_default=True,
    help="pending, confirmed, resurvey, dismissed, appealed, reversed or all",
)
@click.option("--feed", default=None)
@click.option("--district", default=None)
@click.option("--as", "username", required=True, help="the MIS user asking")
@click.option("--limit", type=int, default=50, show_default=True)
def integrate_events(state: str, feed: str | None, district: str | None, username: str, limit: int) -> None:
    """Integration events, oldest first, with their explanation."""
    from dashboard.integration import Integration

    rows = _integration_step(
        lambda: Integration().events(
            _reviewer(username), None if state == "all" else state, feed, district, limit
        )
    )
    for e in rows:
        click.echo(f"{e.id:>7} {e.state:<10} {e.district_code or '':<8} {e.explanation}")
    if not rows:
        click.echo("no event")


@integrate.command("records")
@click.argument("batch_id", type=int)
@click.option("--status", type=click.Choice(["matched", "unmatched", "ambiguous", "duplicate"]), default=None)
@click.option("--as", "username", required=True, help="the MIS user asking")
@click.option("--limit", type=int, default=100, show_default=True)
def integrate_records(batch_id: int, status: str | None, username: str, limit: int) -> None:
    """A batch's records with what matching found (e.g. the unmatched ones and why)."""
    from dashboard.integration import Integration

    rows = _integration_step(lambda: Integration().records(_reviewer(username), batch_id, status, limit))
    for r in rows:
        click.echo(f"line {r.line:>7} {r.status:<10} {r.reason or ''}")
    if not rows:
        click.echo("no record")


@integrate.command("review")
@click.argument("event_id", type=int)
@click.argument("action", type=click.Choice(["confirm", "resurvey", "dismiss"]))
@click.option("--as", "username", required=True)
@click.option("--comment", default=None)
def integrate_review(event_id: int, action: str, username: str, comment: str | None) -> None:
    """Confirm an event (it applies from the next snapshot), send it for re-survey, or dismiss it."""
    from dashboard.integration import Integration

    e = _integration_step(lambda: Integration().review(_reviewer(username), event_id, action, comment))
    click.echo(f"event {e.id}: {e.state}" + (f", appeal until {e.appeal_until}" if e.appeal_until else ""))


@integrate.command("appeal")
@click.argument("event_id", type=int)
@click.option("--grounds", required=True, help="what the household says")
@click.option("--as", "username", required=True, help="the MIS or grievance desk user recording it")
def integrate_appeal(event_id: int, grounds: str, username: str) -> None:
    """Record the household's appeal against a confirmed event, within the window."""
    from dashboard.integration import Integration

    e = _integration_step(lambda: Integration().appeal(_reviewer(username), event_id, grounds))
    click.echo(f"event {e.id}: {e.state}")


@integrate.command("decide-appeal")
@click.argument("event_id", type=int)
@click.argument("decision", type=click.Choice(["uphold", "reject"]))
@click.option("--comment", required=True)
@click.option("--as", "username", required=True)
def integrate_decide_appeal(event_id: int, decision: str, comment: str, username: str) -> None:
    """Uphold an appeal (the event is reversed) or reject it (the event stands)."""
    from dashboard.integration import Integration

    e = _integration_step(
        lambda: Integration().decide_appeal(_reviewer(username), event_id, decision == "uphold", comment)
    )
    click.echo(f"event {e.id}: {e.state}")


@integrate.command("reverse")
@click.argument("event_id", type=int)
@click.option("--reason", required=True, help="e.g. the death was recorded in error")
@click.option("--as", "username", required=True)
def integrate_reverse(event_id: int, reason: str, username: str) -> None:
    """Take an event back: the next snapshot no longer applies it."""
    from dashboard.integration import Integration

    e = _integration_step(lambda: Integration().reverse(_reviewer(username), event_id, reason))
    click.echo(f"event {e.id}: {e.state}")


@main.group()
def names() -> None:
    """Urdu names of provinces, divisions, districts and tehsils (corrections by the MIS team)."""


@names.command("set")
@click.argument("code")
@click.argument("name_ur")
@click.option("--reason", required=True, help="where the name comes from, or why it changes")
@click.option("--as", "username", required=True, help="the MIS user making the correction")
def names_set(code: str, name_ur: str, reason: str, username: str) -> None:
    """Set the Urdu name of a unit (kept with who, when and why; the access log has it too)."""
    from dashboard.place_names import PlaceNameError, correct

    try:
        done = correct(_acting(username), code, name_ur, reason)
    except PlaceNameError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{done['code']} {done['english']}: {done['previous'] or '(none)'} → {done['name_ur']}")


@names.command("list")
@click.option("--code", default=None)
def names_list(code: str | None) -> None:
    """The corrections, newest first."""
    from dashboard.place_names import history

    for c in history(code=code):
        click.echo(
            f"{c.corrected_at:%Y-%m-%d %H:%M} {c.code:<10} {c.previous or '(none)'} → {c.name_ur}  ({c.corrected_by}: {c.reason})"
        )


@names.command("missing")
def names_missing() -> None:
    """Units that have no Urdu name yet (shown in English on Urdu pages)."""
    from dashboard.place_names import missing

    rows = missing()
    for code, english in rows:
        click.echo(f"{code:<10} {english}")
    click.echo(f"{len(rows)} unit(s) without an Urdu name")


@main.group("requests")
def data_requests() -> None:
    """Data requests from the web form: the open ones, overdue reminders to the forums (seed 7.3, 8.5)."""


@data_requests.command("list")
@click.option("--overdue", is_flag=True, help="only requests past their service timeline")
def data_requests_list(overdue: bool) -> None:
    """Open requests, oldest due first."""
    import datetime as dt

    from sqlalchemy import select

    from dashboard.data_requests import DataRequests
    from dashboard.models import DataRequest

    requests = DataRequests()
    if overdue:
        rows = requests.overdue()
    else:
        with requests.sessions() as s:
            rows = list(
                s.scalars(
                    select(DataRequest)
                    .where(DataRequest.state.in_(("submitted", "deciding")))
                    .order_by(DataRequest.due_on)
                )
            )
    today = dt.date.today()
    for r in rows:
        late = " OVERDUE" if r.due_on < today else ""  # the due date the requester was given
        click.echo(
            f"{r.reference}  {r.forum:<15} {r.data_type:<16} due {r.due_on:%Y-%m-%d}{late}  {r.organisation_name}"
        )
    if not rows:
        click.echo("no open request" + (" is overdue" if overdue else ""))


@data_requests.command("remind")
def data_requests_remind() -> None:
    """Write to each forum's secretariat about its overdue requests (run daily, e.g. from cron)."""
    from dashboard.data_requests import DataRequests

    sent = DataRequests().remind()
    for forum, n in sent.items():
        click.echo(f"{forum}: reminded of {n} overdue request(s)")
    if not sent:
        click.echo("no request is overdue")


@main.group()
def notifications() -> None:
    """The outbox of messages to requesters and forums (delivered through NSER_SMTP_URL)."""


@notifications.command("list")
@click.option("--limit", type=int, default=20, show_default=True)
def notifications_list(limit: int) -> None:
    from dashboard.notifications import Outbox

    for n in Outbox().recent(limit):
        state = (
            f"sent {n.sent_at:%Y-%m-%d %H:%M}" if n.sent_at else f"WAITING ({n.last_error or 'not tried'})"
        )
        click.echo(f"{n.id:>6} {n.created_at:%Y-%m-%d %H:%M} {n.to_address:<36} {n.subject}  [{state}]")


@notifications.command("send")
def notifications_send() -> None:
    """Deliver every waiting message; exits non-zero when some could not be delivered."""
    from dashboard.notifications import MailSettingsError, Outbox, mail_server

    try:
        if mail_server() is None:
            raise click.ClickException(
                "no mail server is configured: set NSER_SMTP_URL (e.g. smtp://host:25)"
            )
    except MailSettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    d = Outbox().deliver()
    click.echo(f"sent {d.sent}, failed {d.failed}, waiting {d.waiting}")
    if d.failed:
        raise SystemExit(1)


@main.group()
def reports() -> None:
    """Statistical reports: designs as JSON, the approval workflow, publication (seed 6.3, 7.3)."""


def _acting(username: str):
    """The principal a workflow step is done as (the four-eyes rule needs a real user)."""
    from dashboard.accounts import Accounts

    principal = Accounts().get(username)
    if principal is None:
        raise click.ClickException(f"no active user {username!r}")
    return principal


def _workflow(step):
    from dashboard.reports import DesignError, ReportNotFound, WorkflowError

    try:
        return step()
    except (DesignError, WorkflowError, ReportNotFound) as exc:
        raise click.ClickException(str(exc)) from exc


@reports.command("list")
@click.option("--as", "username", required=True, help="an MIS user (drafts are MIS-only)")
def reports_list(username: str) -> None:
    """Every report with its latest version and state."""
    from dashboard.reports import Reports

    for r in _workflow(lambda: Reports().all_reports(_acting(username))):
        click.echo(
            f"{r.slug:<40} v{r.version:<3} {r.state:<10} {r.design['audience']:<8} {r.design['title']}"
        )


@reports.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--as", "username", required=True, help="the MIS user who designs")
def reports_import(files: tuple[Path, ...], username: str) -> None:
    """Save designs from JSON files as drafts (all or nothing: every file is checked first)."""
    from dashboard.reports import DesignError, Reports, validate_design

    designs = []
    for f in files:
        try:
            designs.append(validate_design(json.loads(f.read_text(encoding="utf-8"))))
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{f}: not JSON ({exc.msg} at line {exc.lineno})") from exc
        except DesignError as exc:
            raise click.ClickException(f"{f}: {exc}") from exc
    principal, store = _acting(username), Reports()
    for d in designs:
        info = _workflow(lambda d=d: store.save_draft(principal, d))
        click.echo(f"{info.slug} v{info.version}: {info.state}")


@reports.command("export")
@click.argument("slug")
@click.option("--as", "username", required=True)
@click.option("--version", type=int, default=None, help="default: the latest")
def reports_export(slug: str, username: str, version: int | None) -> None:
    """Print a version's design as JSON (to diff, or to import in another environment)."""
    from dashboard.reports import Reports, canonical

    versions = _workflow(lambda: Reports().versions(_acting(username), slug))
    chosen = [v for v in versions if version is None or v.version == version]
    if not chosen:
        raise click.ClickException(f"{slug} has no version {version}")
    click.echo(canonical(chosen[-1].design))


@reports.command("submit")
@click.argument("slug")
@click.option("--as", "username", required=True)
@click.option("--comment", default=None)
def reports_submit(slug: str, username: str, comment: str | None) -> None:
    """Send the draft to the DG NSER for approval."""
    from dashboard.reports import Reports

    info = _workflow(lambda: Reports().submit(_acting(username), slug, comment))
    click.echo(f"{info.slug} v{info.version}: {info.state}")


@reports.command("approve")
@click.argument("slug")
@click.option("--version", type=int, required=True)
@click.option("--as", "username", required=True, help="a DG NSER who did not design this version")
@click.option("--comment", default=None)
@click.option("--precompute/--no-precompute", default=True, show_default=True)
def reports_approve(slug: str, version: int, username: str, comment: str | None, precompute: bool) -> None:
    """Approve and publish a submitted version (the one it replaces is retired)."""
    from dashboard.reports import Reports

    info = _workflow(lambda: Reports().approve(_acting(username), slug, version, comment))
    click.echo(f"{info.slug} v{info.version}: {info.state}")
    if precompute:
        from dashboard.publication import precompute as run

        click.echo(f"precomputed {run(slug)} page(s) for the current snapshot")


@reports.command("reject")
@click.argument("slug")
@click.option("--version", type=int, required=True)
@click.option("--as", "username", required=True)
@click.option("--comment", required=True, help="what the designer should change")
def reports_reject(slug: str, version: int, username: str, comment: str) -> None:
    from dashboard.reports import Reports

    info = _workflow(lambda: Reports().reject(_acting(username), slug, version, comment))
    click.echo(f"{info.slug} v{info.version}: {info.state}")


@reports.command("retire")
@click.argument("slug")
@click.option("--as", "username", required=True)
@click.option("--comment", default=None)
def reports_retire(slug: str, username: str, comment: str | None) -> None:
    """Take a report off the catalogue (revoke)."""
    from dashboard.reports import Reports

    info = _workflow(lambda: Reports().retire(_acting(username), slug, comment))
    click.echo(f"{info.slug} v{info.version}: {info.state}")


@reports.command("rollback")
@click.argument("slug")
@click.option("--version", type=int, required=True)
@click.option("--as", "username", required=True)
@click.option("--comment", default=None)
def reports_rollback(slug: str, version: int, username: str, comment: str | None) -> None:
    """Publish an earlier approved version again."""
    from dashboard.reports import Reports

    info = _workflow(lambda: Reports().rollback(_acting(username), slug, version, comment))
    click.echo(f"{info.slug} v{info.version}: {info.state}")


@reports.command("history")
@click.argument("slug")
@click.option("--as", "username", required=True)
def reports_history(slug: str, username: str) -> None:
    from dashboard.reports import Reports

    for e in _workflow(lambda: Reports().history(_acting(username), slug)):
        click.echo(
            f"{e.at:%Y-%m-%d %H:%M} v{e.version} {e.action:<10} {e.from_state or '-':>9} → {e.to_state:<9} "
            f"{e.username}" + (f"  “{e.comment}”" if e.comment else "")
        )


@reports.command("refresh")
def reports_refresh() -> None:
    """Precompute every published report for the current snapshot (run after a new snapshot)."""
    from dashboard.publication import refresh

    for slug, pages in refresh().items():
        click.echo(f"{slug}: {pages} page(s)")


def _seed_demo_integration(store: SnapshotStore) -> None:
    """On a demo's first start, load the demo feeds, so the integration page has events to review."""
    from dashboard.integration import Integration
    from data.feeds_demo import write_demo_feeds

    integration = Integration()
    if integration.loaded_any():
        return
    _say("loading the demo integration feeds …")
    files = write_demo_feeds(store.require_current().path, store.root / "demo-feeds", seed=1)
    events = sum(integration.load_file(feed, path, actor="demo").events for feed, path in files.items())
    _say(f"  {len(files)} feeds, {events} events waiting for review on /admin/integration")


@main.command("worker")
@click.option("--concurrency", type=click.IntRange(min=1, max=64), default=2, show_default=True)
def worker(concurrency: int) -> None:
    """Run the background callbacks (the explorer's exports) as a Celery worker, for app nodes that
    share Redis (NSER_CACHE_URL=redis://…); without it, each app node runs them itself."""
    import os
    import sys

    from dashboard.store import cache_url

    if not cache_url():
        raise click.ClickException(
            "nser worker needs NSER_CACHE_URL=redis://host:6379/0 (without it, app nodes run background "
            "callbacks themselves)"
        )
    args = [sys.executable, "-m", "celery", "-A", "app:celery", "worker", "--concurrency", str(concurrency)]
    os.execv(sys.executable, args + ["--loglevel", "WARNING"])


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8050, show_default=True)
@click.option(
    "--demo-households",
    type=click.IntRange(min=1000),
    default=DEMO_HOUSEHOLDS,
    show_default=True,
    help="Size of the demo warehouse generated when none exists yet.",
)
@click.option(
    "--demo/--no-demo",
    default=None,
    help="Demo mode seeds demo users (default: on unless NSER_SECRET_KEY is set).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    default=2,
    show_default=True,
    help="gunicorn worker processes (each answers requests in 4 threads).",
)
def run(host: str, port: int, demo_households: int, demo: bool | None, workers: int) -> None:
    """Serve the app under gunicorn; on first start, generate the demo warehouse and its cubes."""
    import os
    import sys

    if demo is None:
        demo = not os.environ.get("NSER_SECRET_KEY")
    if demo:
        os.environ["NSER_DEMO"] = "1"
    elif not os.environ.get("NSER_SECRET_KEY"):
        raise click.ClickException("--no-demo needs NSER_SECRET_KEY (see the README's deployment notes)")
    store = SnapshotStore()
    if store.current() is None:
        from data.warehouse import build_synthetic

        _say(f"no warehouse in {store.root}: generating the demo registry ({demo_households:,} households) …")
        build_synthetic(demo_households, DEMO_SEED, store=store, progress=_say)
    from cubes.builder import build_cubes, cubes_path

    if not cubes_path(store.require_current()).exists():
        _say("building the cubes for the current snapshot …")
        build_cubes(store, progress=_say)
    os.environ["NSER_DATA_DIR"] = str(store.root)  # the workers serve the store just prepared
    if demo:
        from dashboard.demo import DEMO_PASSWORD, DEMO_USERS

        _seed_demo_integration(store)
        _say("demo users (password " + DEMO_PASSWORD + "): " + ", ".join(u[0] for u in DEMO_USERS))
    _warm_page_cache(None, quiet=True)  # after a boot the page cache is cold: first searches would seek
    _precompute_dashboards(None, quiet=True)  # quick when they already are (a restart)
    _say(f"NSER Insight on http://{host}:{port}/ ({workers} gunicorn workers; Ctrl-C stops)")
    args = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--threads",
        "4",
        "--bind",
        f"{host}:{port}",
        "--timeout",
        "120",
        "--access-logfile",
        "-",
        "app:server",
    ]
    os.execv(sys.executable, args)  # gunicorn replaces this process: signals reach it directly


if __name__ == "__main__":  # pragma: no cover
    main()
