"""Warming a snapshot's files into the page cache: every byte read, or a named reason for reading none."""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import sys
from pathlib import Path

import pytest

from cubes.builder import cubes_path
from cubes.page_cache import MEMORY_SHARE, WarmError, describe, serving_files, warm_files, warm_snapshot


def resident_share(path: Path) -> float:
    """The share of the file's pages in the page cache, from mincore(2): what warming is for."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    size = path.stat().st_size
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    with open(path, "rb") as handle:
        mapped = mmap.mmap(handle.fileno(), size, access=mmap.ACCESS_COPY)  # mapping touches no page
        try:
            first = ctypes.c_char.from_buffer(mapped)
            vec = (ctypes.c_ubyte * pages)()
            failed = libc.mincore(ctypes.c_void_p(ctypes.addressof(first)), ctypes.c_size_t(size), vec)
            del first
            if failed:
                raise OSError(ctypes.get_errno(), "mincore failed")
            return sum(v & 1 for v in vec) / pages
        finally:
            mapped.close()


def evict(path: Path) -> None:
    with open(path, "rb") as handle:
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)


@pytest.fixture()
def files(tmp_path: Path) -> list[Path]:
    made = []
    for name, size in (("a.duckdb", 3 * 2**20 + 17), ("a.cubes.duckdb", 2**20)):
        path = tmp_path / name
        path.write_bytes(os.urandom(size))
        os.sync()  # clean pages: DONTNEED can evict them
        made.append(path)
    return made


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mincore and fadvise are Linux calls here")
def test_every_byte_is_read_and_the_pages_end_up_in_the_page_cache(files):
    for path in files:
        evict(path)
    if max(resident_share(p) for p in files) > 0.5:
        pytest.skip("this file system keeps pages resident (tmpfs): nothing to warm")
    summary = warm_files(files, memory=2**40)
    assert summary["skipped"] is None
    assert summary["bytes"] == summary["total_bytes"] == sum(p.stat().st_size for p in files)
    assert summary["files"] == 2
    assert [resident_share(p) for p in files] == [1.0, 1.0]


def test_files_larger_than_the_memory_share_are_not_read_and_the_reason_says_so(files):
    total = sum(p.stat().st_size for p in files)
    summary = warm_files(files, memory=int(total / MEMORY_SHARE) - 1)
    assert summary["bytes"] == 0
    assert "exceed 60% of available memory" in summary["skipped"]
    assert "not warmed" in describe(summary)
    fits = warm_files(files, memory=int(total / MEMORY_SHARE) + 1)
    assert fits["skipped"] is None and fits["bytes"] == total


def test_the_setting_turns_warming_off_and_a_bad_value_is_named(files, monkeypatch):
    monkeypatch.setenv("NSER_WARM_PAGE_CACHE", "off")
    assert warm_files(files, memory=2**40) == {
        "files": 2,
        "bytes": 0,
        "total_bytes": sum(p.stat().st_size for p in files),
        "seconds": 0.0,
        "skipped": "NSER_WARM_PAGE_CACHE=off",
    }
    monkeypatch.setenv("NSER_WARM_PAGE_CACHE", "yes please")
    with pytest.raises(WarmError, match="NSER_WARM_PAGE_CACHE must be one of auto, off, not 'yes please'"):
        warm_files(files, memory=2**40)


def test_the_serving_files_follow_the_serve_format(cubes_store, monkeypatch):
    snap = cubes_store.serving()
    assert serving_files(snap) == [snap.path, cubes_path(snap)]
    summary = warm_snapshot(snap)
    assert summary["snapshot_id"] == snap.snapshot_id
    assert summary["bytes"] == snap.path.stat().st_size + cubes_path(snap).stat().st_size
    assert describe(summary).startswith(f"page cache warmed for snapshot {snap.snapshot_id}: ")

    monkeypatch.setenv("NSER_SERVE_FORMAT", "parquet")
    if not (snap.path.with_name(f"{snap.snapshot_id}.parquet")).is_dir():
        with pytest.raises(WarmError, match=f"snapshot {snap.snapshot_id} has no Parquet copy"):
            serving_files(snap)


def test_a_missing_file_is_named(cubes_store, tmp_path):
    from data.snapshots import Snapshot

    snap = cubes_store.serving()
    orphan = Snapshot("20990101T000000Z-orphan", tmp_path / "20990101T000000Z-orphan.duckdb", snap.manifest)
    orphan.path.write_bytes(b"x")
    with pytest.raises(WarmError, match=r"is missing .*20990101T000000Z-orphan\.cubes\.duckdb"):
        serving_files(orphan)
