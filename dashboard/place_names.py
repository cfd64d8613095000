"""Names of provinces, divisions, districts and tehsils in the reader's language.

Urdu names come from ``data/reference/urdu_names.csv`` (sources and doubts in its SOURCES.md), corrected
by the MIS team where they are wrong or missing (``correct``: every correction is kept and logged, the
latest wins). Where no Urdu name exists the English one is shown — visibly, in Latin script, so nobody
mistakes it for a translation. Codes never change; only what is shown does.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import threading
import time

from dash import html

from cubes.rollups import NATIONAL_CODE
from dashboard import i18n

REFRESH_S = 30  # how long a worker keeps the corrections before reading them again
URDU_SCRIPT = re.compile(r"[\u0600-\u06FF]")
_lock = threading.Lock()
_corrections: dict[str, str] = {}
_read_at = 0.0


class PlaceNameError(ValueError):
    """A correction that cannot be made; the message names the field."""


@functools.cache
def _reference() -> dict[str, str]:
    from data import geography

    return {
        code: name for code, name in geography.urdu_names().items() if isinstance(name, str) and name.strip()
    }


@functools.cache
def _units() -> dict[str, str]:
    """Every province, division, district and tehsil code with its English name."""
    from data import geography

    out = dict(zip(geography.provinces().province_code, geography.provinces().province, strict=True))
    out |= dict(zip(geography.divisions().division_code, geography.divisions().division, strict=True))
    out |= dict(zip(geography.districts().district_code, geography.districts().district, strict=True))
    out |= dict(zip(geography.tehsils().tehsil_code, geography.tehsils().tehsil_name, strict=True))
    return out


def _current_corrections() -> dict[str, str]:
    """The latest correction of each code (re-read from the store every REFRESH_S seconds per worker)."""
    global _corrections, _read_at
    if time.monotonic() - _read_at < REFRESH_S:
        return _corrections
    with _lock:
        if time.monotonic() - _read_at >= REFRESH_S:
            try:
                from sqlalchemy import select

                from dashboard import store
                from dashboard.models import PlaceNameCorrection

                if store.exists():
                    with store.sessions()() as s:
                        rows = s.execute(
                            select(PlaceNameCorrection.code, PlaceNameCorrection.name_ur).order_by(
                                PlaceNameCorrection.id
                            )
                        ).all()
                    _corrections = dict(rows)
            except Exception:  # noqa: BLE001 — a store that cannot be read leaves the reference names
                pass
            _read_at = time.monotonic()
    return _corrections


def forget_cache() -> None:
    global _read_at
    _read_at = 0.0


def urdu_name(code: str) -> str | None:
    """The Urdu name of a unit: MIS's correction, else the reference's; the country itself is in the
    catalog (the gateway's national row is named "Pakistan")."""
    if code == NATIONAL_CODE:
        return i18n.catalog("ur").get("Pakistan")
    return _current_corrections().get(code) or _reference().get(code)


def text(code: str | None, english: str) -> str:
    """The name as plain text (charts, tooltips, exports): Urdu when the page is Urdu and one exists."""
    if i18n.language() == "ur" and code:
        return urdu_name(code) or english
    return english


def component(code: str | None, english: str):
    """The name for a page: Urdu on Urdu pages, else the English name marked as English."""
    if i18n.language() != "ur":
        return english
    name = urdu_name(code) if code else None
    if name:
        return name
    return html.Span(
        english, lang="en", dir="ltr", className="name-en-fallback", title=i18n._("No Urdu name yet")
    )


def correct(principal, code: str, name_ur: str, reason: str, engine=None, log=None) -> dict:
    """Set the Urdu name of a unit (MIS only): kept with who, when, why and the name it replaced."""
    from dashboard import store
    from dashboard.audit import AccessLog, Entry
    from dashboard.models import PlaceNameCorrection

    if principal is None or principal.tier != "mis":
        raise PlaceNameError("only the BISP MIS team corrects place names")
    code = (code or "").strip() if isinstance(code, str) else ""
    if code not in _units():
        raise PlaceNameError(
            f"Code: {code or '(empty)'} is not a province, division, district or tehsil code"
        )
    name_ur = " ".join(name_ur.split()) if isinstance(name_ur, str) else ""
    if not name_ur or not URDU_SCRIPT.search(name_ur) or len(name_ur) > 120:
        raise PlaceNameError("Urdu name: in Urdu script, at most 120 characters")
    if not isinstance(reason, str) or not reason.strip():
        raise PlaceNameError("Reason: say where the name comes from or why it changes")
    engine = engine or store.engine()
    previous = urdu_name(code)
    with store.sessions(engine).begin() as s:
        s.add(
            PlaceNameCorrection(
                code=code,
                name_ur=name_ur,
                previous=previous,
                reason=reason.strip(),
                corrected_by=principal.username,
                corrected_at=dt.datetime.now(dt.UTC),
            )
        )
    (log or AccessLog(engine)).append(
        Entry(
            kind="admin",
            outcome="success",
            user_id=principal.user_id,
            username=principal.username,
            organisation=principal.organisation,
            action="place_name.correct",
            parameters=json.dumps({"code": code, "from": previous, "to": name_ur}, ensure_ascii=False),
            reason=reason.strip(),
        )
    )
    forget_cache()
    return {"code": code, "english": _units()[code], "previous": previous, "name_ur": name_ur}


def history(engine=None, code: str | None = None, limit: int = 50) -> list:
    from sqlalchemy import select

    from dashboard import store
    from dashboard.models import PlaceNameCorrection

    q = select(PlaceNameCorrection).order_by(PlaceNameCorrection.id.desc()).limit(limit)
    if code:
        q = q.where(PlaceNameCorrection.code == code)
    with store.sessions(engine or store.engine())() as s:
        return list(s.scalars(q))


def missing() -> list[tuple[str, str]]:
    """(code, English name) of every unit with no Urdu name yet — what MIS could fill in."""
    return [(code, name) for code, name in sorted(_units().items()) if not urdu_name(code)]
