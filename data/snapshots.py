"""Warehouse snapshots: immutable DuckDB files swapped in atomically.

A DuckDB writer cannot share a file with readers, so every build or ingest writes a *new* file in a
staging folder, and only when it is complete is it moved next to the others and named current by
atomically replacing the small ``CURRENT`` pointer file. Readers that opened the previous snapshot keep
reading it; they notice the new snapshot id and reconnect. A failed build leaves nothing behind and the
previous snapshot stays current and untouched.

The app answers from the *serving* snapshot, not the current one: a new warehouse is current as soon as
it is published, but its cubes take minutes to build at national scale, and until they are in place the
gateway keeps answering from the previous snapshot. ``build_cubes`` names a snapshot serving once its
cubes file is in place, so a swap under load never shows a refusal or a half-built state.

Layout of ``$NSER_DATA_DIR`` (default: ``data/snapshots`` in the repository, git-ignored)::

    CURRENT                      snapshot id of the current snapshot (the newest published warehouse)
    SERVING                      snapshot id the app answers from: the newest whose cubes are built
    <snapshot_id>.duckdb         the warehouse
    <snapshot_id>.json           its manifest (what `nser warehouse info` prints)
    .staging/                    builds in progress
    .build.lock                  one writer at a time
    secrets/record_key.secret    key for record keys of ingested (real) data, mode 0600
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "snapshots"
KEEP_SNAPSHOTS = 3


class SnapshotError(RuntimeError):
    """No usable snapshot, or a second writer tried to build at the same time."""


def data_dir() -> Path:
    """Where snapshots live: ``$NSER_DATA_DIR`` or the repository's git-ignored default."""
    return Path(os.environ.get("NSER_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()


@dataclass(frozen=True)
class Snapshot:
    """A published snapshot: its id, file and manifest."""

    snapshot_id: str
    path: Path
    manifest: dict

    @property
    def as_of(self) -> str:
        return self.manifest["as_of"]


def new_snapshot_id(kind: str) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{kind}-{secrets.token_hex(3)}"


class SnapshotStore:
    """The folder of snapshots and its CURRENT pointer."""

    def __init__(self, root: Path | None = None):
        self.root = (root or data_dir()).resolve()

    @property
    def pointer(self) -> Path:
        return self.root / "CURRENT"

    def current_id(self) -> str | None:
        try:
            value = self.pointer.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return value or None

    @property
    def serving_pointer(self) -> Path:
        return self.root / "SERVING"

    def serving_stamp(self) -> tuple[str | None, str]:
        """(serving snapshot id, the stamp of its cubes build): a reader reconnects when either changes,
        so cubes rebuilt for the same snapshot (a cube added) are followed too."""
        try:
            parts = self.serving_pointer.read_text(encoding="utf-8").split()
        except FileNotFoundError:
            parts = []
        if (
            parts
            and (self.root / f"{parts[0]}.duckdb").exists()
            and (self.root / f"{parts[0]}.json").exists()
        ):
            return parts[0], " ".join(parts[1:])
        return self.current_id(), ""

    def serving_id(self) -> str | None:
        """The snapshot the app answers from: the one named SERVING while its files are there, else the
        current one (a data directory from before SERVING existed, or a first build)."""
        return self.serving_stamp()[0]

    def serving(self) -> Snapshot:
        sid = self.serving_id()
        if sid is None:
            raise SnapshotError(
                f"no warehouse snapshot in {self.root}; run `nser warehouse build` (or set NSER_DATA_DIR)"
            )
        return self.get(sid)

    def serve(self, snapshot_id: str, build_id: str | None = None) -> None:
        """Name a snapshot serving (its cubes are in place), atomically, with the id of its cubes build
        (app nodes reading Parquet open that build's copy; a new token when there is none)."""
        self.get(snapshot_id)  # it exists
        tmp = self.root / ".SERVING.tmp"
        tmp.write_text(f"{snapshot_id} {build_id or secrets.token_hex(4)}\n", encoding="utf-8")
        os.replace(tmp, self.serving_pointer)

    def current(self) -> Snapshot | None:
        """The current snapshot, or None when nothing has been built yet."""
        sid = self.current_id()
        if sid is None:
            return None
        return self.get(sid)

    def require_current(self) -> Snapshot:
        snap = self.current()
        if snap is None:
            raise SnapshotError(
                f"no warehouse snapshot in {self.root}; run `nser warehouse build` (or set NSER_DATA_DIR)"
            )
        return snap

    def get(self, snapshot_id: str) -> Snapshot:
        path = self.root / f"{snapshot_id}.duckdb"
        manifest_path = self.root / f"{snapshot_id}.json"
        if not path.exists() or not manifest_path.exists():
            raise SnapshotError(
                f"snapshot {snapshot_id} is named current but its files are missing in {self.root}"
            )
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        return Snapshot(snapshot_id, path, manifest)

    def list_ids(self) -> list[str]:
        """Snapshot ids, oldest first (a snapshot's cubes file, ``<id>.cubes.duckdb``, is not one)."""
        return sorted(p.stem for p in self.root.glob("*.duckdb") if not p.name.endswith(".cubes.duckdb"))

    @contextlib.contextmanager
    def writer(self, kind: str) -> Iterator[Staging]:
        """Stage a new snapshot; publish it with ``staging.publish(manifest)``.

        Anything raised inside the block removes the staged file; CURRENT is only touched by publish.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        lock_fh = open(self.root / ".build.lock", "w")  # noqa: SIM115 - held for the whole block
        try:
            try:
                fcntl.flock(lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise SnapshotError(f"another build or ingest is running in {self.root}") from exc
            staging_dir = self.root / ".staging"
            staging_dir.mkdir(exist_ok=True)
            sid = new_snapshot_id(kind)
            staging = Staging(self, sid, staging_dir / f"{sid}.duckdb")
            try:
                yield staging
            finally:
                for leftover in staging_dir.glob(f"{sid}*"):
                    if leftover.is_dir():
                        shutil.rmtree(leftover, ignore_errors=True)
                    else:
                        leftover.unlink(missing_ok=True)
        finally:
            fcntl.flock(lock_fh, fcntl.LOCK_UN)
            lock_fh.close()

    def _publish(self, staging: Staging, manifest: dict) -> Snapshot:
        final = self.root / f"{staging.snapshot_id}.duckdb"
        manifest = {**manifest, "snapshot_id": staging.snapshot_id, "path": str(final)}
        os.replace(staging.path, final)
        manifest_tmp = self.root / f".{staging.snapshot_id}.json.tmp"
        manifest_tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(manifest_tmp, self.root / f"{staging.snapshot_id}.json")
        pointer_tmp = self.root / ".CURRENT.tmp"
        pointer_tmp.write_text(staging.snapshot_id + "\n", encoding="utf-8")
        os.replace(pointer_tmp, self.pointer)
        self.prune()
        return Snapshot(staging.snapshot_id, final, manifest)

    def prune(self, keep: int = KEEP_SNAPSHOTS) -> None:
        """Delete all but the newest ``keep`` snapshots (never the current or the serving one).

        Open readers of a deleted file keep their handle (POSIX), so pruning never breaks a query.
        """
        kept = {self.current_id(), self.serving_id()} - {None}
        ids = [s for s in self.list_ids() if s not in kept]
        for sid in ids[: max(0, len(ids) - (keep - len(kept)))]:
            (self.root / f"{sid}.duckdb").unlink(missing_ok=True)
            (self.root / f"{sid}.json").unlink(missing_ok=True)
            (self.root / f"{sid}.cubes.duckdb").unlink(missing_ok=True)
            shutil.rmtree(self.root / f"{sid}.parquet", ignore_errors=True)  # its copy for app nodes

    def record_key_secret(self) -> bytes:
        """The persistent secret for record keys of ingested data (created once, mode 0600).

        Keys must never change for the same household between snapshots, or old and new published
        tables could be differenced; so the secret is created once per data directory and reused.
        """
        from data.secrets import read_or_create

        return read_or_create(str(self.root / "secrets" / "record_key.secret"))


@dataclass
class Staging:
    """A snapshot being written; invisible to readers until published."""

    store: SnapshotStore
    snapshot_id: str
    path: Path

    def publish(self, manifest: dict) -> Snapshot:
        return self.store._publish(self, manifest)
