"""Saved explorer views, one list per user (a later save under the same name replaces the earlier one)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from dashboard import store
from dashboard.models import SavedView

MAX_VIEWS = 50


class SavedViews:
    def __init__(self, engine=None):
        self.sessions = store.sessions(engine or store.engine())

    def save(self, user_id: int, name: str, search: str) -> None:
        name = name[:120]
        with self.sessions.begin() as s:
            view = s.scalar(select(SavedView).where(SavedView.user_id == user_id, SavedView.name == name))
            if view is None:
                count = len(s.scalars(select(SavedView.id).where(SavedView.user_id == user_id)).all())
                if count >= MAX_VIEWS:
                    raise ValueError(f"at most {MAX_VIEWS} saved views; delete one first")
                s.add(
                    SavedView(user_id=user_id, name=name, search=search, created_at=dt.datetime.now(dt.UTC))
                )
            else:
                view.search = search

    def list(self, user_id: int) -> list[SavedView]:
        with self.sessions() as s:
            return list(
                s.scalars(select(SavedView).where(SavedView.user_id == user_id).order_by(SavedView.name))
            )
