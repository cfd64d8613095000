"""Reading a snapshot's files once, front to back, so the node's page cache holds them before users come.

Why: a record search reads a few dozen column segments scattered through the warehouse file (the
household row has 48 columns, its members 20). When the OS page cache is cold — a node just booted, or
a new snapshot copied in — each segment is a disk seek: at 35M households a Power CNIC search took
p95 70 ms cold against 20 ms warm on the 2-core benchmark machine (BENCHMARKS.md). One sequential pass
over the 9 GB file took 22 s there, and after it the searches run at the warm figure. DuckDB's own
buffer pool does not help: each gateway process has its own and starts empty, while the page cache is
shared by every worker on the node.

The pass reads bytes only (no DuckDB, no parsing), so it cannot change what is served. It is skipped,
with the reason, when the files would take more than a share of the memory the kernel reports available
(they would evict one another and the workers' memory), or when ``NSER_WARM_PAGE_CACHE=off``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from cubes.builder import cubes_path
from cubes.parquet import parquet_path, serve_format
from data.snapshots import Snapshot

#: The files may take at most this share of MemAvailable; beyond it warming would thrash.
MEMORY_SHARE = 0.6
CHUNK = 8 * 1024 * 1024
SETTINGS = ("auto", "off")


class WarmError(ValueError):
    """A setting or a file that makes warming impossible, named in the message."""


def warm_setting() -> str:
    """``NSER_WARM_PAGE_CACHE``: ``auto`` (default: warm when the files fit in memory) or ``off``."""
    value = (os.environ.get("NSER_WARM_PAGE_CACHE") or "auto").strip().lower()
    if value not in SETTINGS:
        raise WarmError(f"NSER_WARM_PAGE_CACHE must be one of {', '.join(SETTINGS)}, not {value!r}")
    return value


def serving_files(snapshot: Snapshot) -> list[Path]:
    """The files the gateway reads for this snapshot in the configured serve format."""
    if serve_format() == "parquet":
        folder = parquet_path(snapshot)
        if not folder.is_dir():
            raise WarmError(f"snapshot {snapshot.snapshot_id} has no Parquet copy at {folder}")
        return sorted(p for p in folder.rglob("*") if p.is_file())
    files = [snapshot.path, cubes_path(snapshot)]
    for path in files:
        if not path.is_file():
            raise WarmError(f"snapshot {snapshot.snapshot_id} is missing {path}")
    return files


def available_memory() -> int:
    """Bytes the kernel says it can hand out without swapping (MemAvailable: free + reclaimable cache)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for row in meminfo:
                if row.startswith("MemAvailable:"):
                    return int(row.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def warm_files(
    paths: Iterable[Path],
    progress: Callable[[str], object] | None = None,
    memory: int | None = None,
) -> dict:
    """Read every file once, sequentially; returns what was read (or why nothing was) and how long it took."""
    paths = list(paths)
    total = sum(p.stat().st_size for p in paths)
    summary = {"files": len(paths), "bytes": 0, "total_bytes": total, "seconds": 0.0, "skipped": None}
    if warm_setting() == "off":
        summary["skipped"] = "NSER_WARM_PAGE_CACHE=off"
        return summary
    memory = available_memory() if memory is None else memory
    if total > MEMORY_SHARE * memory:
        summary["skipped"] = (
            f"the files ({total / 2**30:.1f} GiB) exceed {MEMORY_SHARE:.0%} of available memory "
            f"({memory / 2**30:.1f} GiB); searches read from disk until the cache fills by use"
        )
        return summary
    started = time.perf_counter()
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    for path in paths:
        before = summary["bytes"]
        with open(path, "rb", buffering=0) as handle:
            if hasattr(os, "posix_fadvise"):
                os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
            while read := handle.readinto(view):
                summary["bytes"] += read
        if progress:
            progress(f"page cache: read {path.name} ({(summary['bytes'] - before) / 2**20:,.0f} MiB)")
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary


def warm_snapshot(snapshot: Snapshot, progress: Callable[[str], object] | None = None) -> dict:
    """Warm the files the gateway will read for ``snapshot``; the summary names the snapshot."""
    summary = warm_files(serving_files(snapshot), progress)
    return {"snapshot_id": snapshot.snapshot_id, **summary}


def describe(summary: dict) -> str:
    """One line for the operator: what was read, how fast, or why it was skipped."""
    name = f"snapshot {summary['snapshot_id']}" if "snapshot_id" in summary else f"{summary['files']} file(s)"
    if summary["skipped"]:
        return f"page cache for {name} not warmed: {summary['skipped']}"
    rate = summary["bytes"] / 2**20 / summary["seconds"] if summary["seconds"] else 0.0
    return (
        f"page cache warmed for {name}: {summary['bytes'] / 2**20:,.0f} MiB in {summary['files']} file(s) "
        f"in {summary['seconds']} s ({rate:,.0f} MiB/s)"
    )


__all__ = ["WarmError", "available_memory", "describe", "serving_files", "warm_files", "warm_snapshot"]
