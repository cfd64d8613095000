"""The app shell serves the current snapshot's id and national household count."""

from __future__ import annotations

import json

from data.snapshots import SnapshotStore
from data.warehouse import build_synthetic


def test_home_shows_current_snapshot(data_dir):
    snap = build_synthetic(2000, 5, store=SnapshotStore())
    from app import create_app

    client = create_app().server.test_client()
    assert client.get("/").status_code == 200
    layout = json.dumps(client.get("/_dash-layout").get_json())
    assert snap.snapshot_id in layout
    assert "2,000" in layout
