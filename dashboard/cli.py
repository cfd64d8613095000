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

    try:
        snap = build_synthetic(
            households, seed, as_of, SnapshotStore(), progress=None if quiet else _say, chunk_households=chunk
        )
    except (SnapshotError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
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
    try:
        snap = ingest_extract(
            households_path,
            members_path,
            as_of=as_of,
            store=SnapshotStore(),
            progress=_say,
            **{k: v for k, v in optional.items() if v is not None},
        )
    except IngestError as exc:
        _say(exc.report())
        raise click.ClickException(
            f"ingest rejected: {exc.total} problem(s); the current snapshot is unchanged"
        ) from None
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    m = snap.manifest
    click.echo(
        f"snapshot {snap.snapshot_id} as of {m['as_of']}: {m['households']:,} households, "
        f"{m['members']:,} members → {snap.path}"
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
def cubes_build(quiet: bool) -> None:
    """Materialise every cube's rollups next to the current snapshot."""
    from cubes.builder import build_cubes

    try:
        summary = build_cubes(progress=None if quiet else _say)
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"cubes for snapshot {summary['snapshot_id']}: {len(summary['cubes'])} cubes, "
        f"{sum(c['rollups'] for c in summary['cubes'].values())} rollups in {summary['duration_s']} s"
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
    from cubes.gateway import Gateway
    from cubes.query import Actor

    if (batch is None) == (query_json is None):
        raise click.UsageError("give one QUERY_JSON argument or --batch FILE")
    gateway = Gateway()
    actor = Actor(tier=tier, user=user, scope=scope)
    lines = [query_json] if query_json is not None else [ln for ln in batch.read().splitlines() if ln.strip()]
    failed = False
    for text in lines:
        result = gateway.run_query(actor, text)
        failed |= not result.ok
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    if failed and query_json is not None:
        sys.exit(2)


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
def run(host: str, port: int, demo_households: int) -> None:
    """Serve the app; on first start, generate the demo warehouse."""
    store = SnapshotStore()
    if store.current() is None:
        from data.warehouse import build_synthetic

        _say(f"no warehouse in {store.root}: generating the demo registry ({demo_households:,} households) …")
        build_synthetic(demo_households, DEMO_SEED, store=store, progress=_say)
    from cubes.builder import build_cubes, cubes_path

    if not cubes_path(store.require_current()).exists():
        _say("building the cubes for the current snapshot …")
        build_cubes(store, progress=_say)
    from app import create_app

    app = create_app()
    _say(f"NSER Insight on http://{host}:{port}/")
    app.run(host=host, port=port, debug=False)


if __name__ == "__main__":  # pragma: no cover
    main()
