"""The outbox: messages to requesters and to the authorization forums, kept in the store and delivered by
SMTP when a mail server is configured.

Every message is written to the outbox first, in its own transaction, so it is never lost: if delivery
fails (or no server is configured) it stays queued with the error, MIS sees it on the requests page, and
``nser notifications send`` retries. The requester can always read the same news on the status page.

``NSER_SMTP_URL`` names the server: ``smtp://host:25``, ``smtp://user:password@host:587?starttls=1`` or
``smtps://user:password@host:465``. ``NSER_MAIL_FROM`` (or ``mail_from`` in requests.yaml) is the sender.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select

from dashboard import store
from dashboard.models import Notification

SEND_TIMEOUT_S = 10
log = logging.getLogger(__name__)
_IN_FLIGHT: set[threading.Thread] = set()  # deliveries started by notify() and not yet finished
_IN_FLIGHT_LOCK = threading.Lock()


def wait_for_deliveries(timeout_s: float = 30) -> None:
    """Wait until the background deliveries started so far have finished (tests, the CLI at exit)."""
    with _IN_FLIGHT_LOCK:
        running = list(_IN_FLIGHT)
    for thread in running:
        thread.join(timeout_s)


class MailSettingsError(ValueError):
    """NSER_SMTP_URL cannot be used; the message says what is wrong with it."""


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    tls: str  # none | starttls | ssl
    username: str | None
    password: str | None


def mail_server(url: str | None = None) -> MailServer | None:
    """The configured SMTP server, or None when none is configured (messages then stay queued)."""
    url = url if url is not None else os.environ.get("NSER_SMTP_URL", "")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise MailSettingsError(
            "NSER_SMTP_URL must look like smtp://host:25, smtp://user:password@host:587?starttls=1 "
            "or smtps://user:password@host:465"
        )
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError as exc:
        raise MailSettingsError(f"NSER_SMTP_URL: {exc}") from exc
    starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
    return MailServer(
        parts.hostname,
        port,
        "ssl" if parts.scheme == "smtps" else ("starttls" if starttls else "none"),
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password else None,
    )


def sender() -> str:
    from dashboard.data_requests import load_rules

    return os.environ.get("NSER_MAIL_FROM") or load_rules()["mail_from"]


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int
    waiting: int  # still queued (no server configured, or failed and left for a retry)


class Outbox:
    def __init__(self, engine=None):
        self.engine = engine or store.engine()
        self.sessions = store.sessions(self.engine)

    def queue(self, to: str, subject: str, body: str, reference: str | None = None) -> int:
        with self.sessions.begin() as s:
            row = Notification(
                to_address=to,
                subject=subject[:300],
                body=body,
                reference=reference,
                created_at=dt.datetime.now(dt.UTC),
                attempts=0,
            )
            s.add(row)
            s.flush()
            return row.id

    def notify(self, to: str, subject: str, body: str, reference: str | None = None) -> int:
        """Queue a message and deliver it in the background: the web request that caused it never waits
        for a mail server (a slow one cannot time a worker out), and a failure leaves it queued."""
        message_id = self.queue(to, subject, body, reference)
        thread = threading.Thread(target=self._deliver_quietly, args=([message_id],), daemon=True)
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.add(thread)
        thread.start()
        return message_id

    def _deliver_quietly(self, ids: list[int]) -> None:
        try:
            self.deliver(ids)
        except Exception:  # recorded on the row where possible; a retry comes with `nser notifications send`
            log.exception("delivering notifications %s failed", ids)
        finally:
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.discard(threading.current_thread())

    def deliver(self, ids: list[int] | None = None, limit: int = 200) -> Delivery:
        """Send queued messages (these ids, or the oldest unsent); each result is recorded on its row."""
        try:
            server = mail_server()
        except MailSettingsError as exc:
            server, problem = None, str(exc)
        else:
            problem = "no mail server is configured (NSER_SMTP_URL); the message waits in the outbox"
        with self.sessions() as s:
            q = select(Notification).where(Notification.sent_at.is_(None)).order_by(Notification.id)
            if ids is not None:
                q = q.where(Notification.id.in_(ids))
            rows = list(s.scalars(q.limit(limit)))
        sent = failed = 0
        for row in rows:
            try:
                error = problem if server is None else _send(server, row)
            except Exception as exc:  # a message that cannot even be built (a bad address) is kept, not lost
                error = f"{type(exc).__name__}: {exc}"[:500]
            with self.sessions.begin() as s:
                live = s.get(Notification, row.id)
                if server is not None:
                    live.attempts += 1
                if error is None:
                    live.sent_at, live.last_error = dt.datetime.now(dt.UTC), None
                    sent += 1
                else:
                    live.last_error = error
                    failed += server is not None
        with self.sessions() as s:
            waiting = len(list(s.scalars(select(Notification.id).where(Notification.sent_at.is_(None)))))
        return Delivery(sent, failed, waiting)

    def recent(self, limit: int = 20, reference: str | None = None) -> list[Notification]:
        with self.sessions() as s:
            q = select(Notification).order_by(Notification.id.desc()).limit(limit)
            if reference is not None:
                q = q.where(Notification.reference == reference)
            return list(s.scalars(q))

    def waiting(self) -> int:
        with self.sessions() as s:
            return len(list(s.scalars(select(Notification.id).where(Notification.sent_at.is_(None)))))


def _send(server: MailServer, row: Notification) -> str | None:
    """Deliver one message; None when the server accepted it, else what went wrong."""
    msg = EmailMessage()
    msg["From"] = sender()
    msg["To"] = row.to_address
    msg["Subject"] = row.subject
    msg["Message-ID"] = make_msgid(domain="nser.bisp.gov.pk")
    msg.set_content(row.body)
    try:
        if server.tls == "ssl":
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=SEND_TIMEOUT_S)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=SEND_TIMEOUT_S)
        with smtp:
            if server.tls == "starttls":
                smtp.starttls()
            if server.username:
                smtp.login(server.username, server.password or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        return f"{type(exc).__name__}: {exc}"[:500]
    return None
