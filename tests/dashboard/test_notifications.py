"""The outbox: every message is kept; delivered to a real SMTP server on loopback when one is configured,
left waiting with the reason when not (SQLite and PostgreSQL)."""

from __future__ import annotations

import socket
from email import message_from_bytes

import pytest

from dashboard.notifications import MailSettingsError, Outbox, mail_server, wait_for_deliveries


class Inbox:
    """What an aiosmtpd server received."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content))
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def smtp(monkeypatch):
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    monkeypatch.setenv("NSER_SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
    yield inbox
    controller.stop()


def test_mail_settings_are_read_and_bad_ones_named(monkeypatch):
    assert mail_server("") is None
    s = mail_server("smtp://desk%40bisp:p%40ss@mail.bisp.gov.pk:587?starttls=1")
    assert (s.host, s.port, s.tls, s.username, s.password) == (
        "mail.bisp.gov.pk",
        587,
        "starttls",
        "desk@bisp",
        "p@ss",
    )
    assert mail_server("smtps://mail.bisp.gov.pk").port == 465
    with pytest.raises(MailSettingsError, match="must look like smtp://host:25"):
        mail_server("http://mail.bisp.gov.pk")
    with pytest.raises(MailSettingsError, match="NSER_SMTP_URL"):
        mail_server("smtp://mail.bisp.gov.pk:notaport")


def test_a_message_is_delivered_to_the_mail_server(store_engine, smtp):
    outbox = Outbox(store_engine)
    outbox.notify(
        "nadia@pspa.gop.pk",
        "NSER data request NSER-REQ-2026-000001 received",
        "We received it.",
        "NSER-REQ-2026-000001",
    )
    wait_for_deliveries()
    [(sender, to, msg)] = smtp.messages
    assert sender == "nser-data@bisp.gov.pk" and to == ["nadia@pspa.gop.pk"]
    assert msg["Subject"] == "NSER data request NSER-REQ-2026-000001 received"
    assert msg["From"] == "NSER Data Sharing Desk <nser-data@bisp.gov.pk>"
    assert msg.get_payload(decode=True).decode().strip() == "We received it."
    [row] = outbox.recent(5)
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None
    assert outbox.waiting() == 0


def test_without_a_mail_server_messages_wait_and_go_out_later(store_engine, monkeypatch):
    monkeypatch.delenv("NSER_SMTP_URL", raising=False)
    outbox = Outbox(store_engine)
    outbox.notify("nadia@pspa.gop.pk", "first", "one")
    outbox.notify("nadia@pspa.gop.pk", "second", "two")
    wait_for_deliveries()
    assert outbox.waiting() == 2
    assert all("no mail server is configured" in n.last_error for n in outbox.recent(5))
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        monkeypatch.setenv("NSER_SMTP_URL", f"smtp://127.0.0.1:{controller.port}")
        report = outbox.deliver()
    finally:
        controller.stop()
    assert (report.sent, report.failed, report.waiting) == (2, 0, 0)
    assert [m["Subject"] for _, _, m in inbox.messages] == ["first", "second"]  # oldest first


def test_a_server_that_does_not_answer_leaves_the_message_waiting_with_the_reason(store_engine, monkeypatch):
    monkeypatch.setenv("NSER_SMTP_URL", f"smtp://127.0.0.1:{_free_port()}")  # nobody listens there
    outbox = Outbox(store_engine)
    outbox.notify("nadia@pspa.gop.pk", "hello", "body")
    wait_for_deliveries()
    [row] = outbox.recent(1)
    assert row.sent_at is None and row.attempts == 1 and "ConnectionRefusedError" in row.last_error
    assert outbox.deliver().failed == 1 and outbox.recent(1)[0].attempts == 2


def test_the_cli_sends_what_waits_and_says_so(tmp_path, monkeypatch, smtp):
    from click.testing import CliRunner

    from dashboard import store
    from dashboard.cli import main

    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("NSER_DATABASE_URL", url)
    monkeypatch.setenv("NSER_DATA_DIR", str(tmp_path))
    engine = store.engine()
    smtp_url = __import__("os").environ["NSER_SMTP_URL"]
    monkeypatch.delenv("NSER_SMTP_URL")
    Outbox(engine).notify("board-secretariat@bisp.gov.pk", "overdue", "two requests")
    wait_for_deliveries()
    runner = CliRunner()
    refused = runner.invoke(main, ["notifications", "send"])
    assert refused.exit_code != 0 and "set NSER_SMTP_URL" in refused.output
    monkeypatch.setenv("NSER_SMTP_URL", smtp_url)
    done = runner.invoke(main, ["notifications", "send"])
    assert done.exit_code == 0 and "sent 1, failed 0, waiting 0" in done.output, done.output
    assert [m["Subject"] for _, _, m in smtp.messages] == ["overdue"]
    listed = runner.invoke(main, ["notifications", "list"])
    assert "board-secretariat@bisp.gov.pk" in listed.output and "sent" in listed.output


def test_the_web_request_does_not_wait_for_a_slow_mail_server(store_engine, monkeypatch):
    """A server that accepts the connection and never answers: notify() returns at once, the delivery
    gives up after its timeout and the message waits with the reason."""
    import time

    from dashboard import notifications

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    monkeypatch.setenv("NSER_SMTP_URL", f"smtp://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setattr(notifications, "SEND_TIMEOUT_S", 1)
    try:
        started = time.monotonic()
        Outbox(store_engine).notify("nadia@pspa.gop.pk", "slow", "body")
        returned_after = time.monotonic() - started
        wait_for_deliveries()
    finally:
        silent.close()
    assert returned_after < 0.5  # the caller did not wait for the mail server's timeout
    [row] = Outbox(store_engine).recent(1)
    assert row.sent_at is None and "timed out" in row.last_error


def test_a_message_that_cannot_be_built_is_kept_with_the_reason(store_engine, smtp):
    outbox = Outbox(store_engine)
    outbox.queue("x@[y.z", "broken address", "body")  # what a lax form once let through
    outbox.queue("nadia@pspa.gop.pk", "fine", "body")
    report = outbox.deliver()
    assert (report.sent, report.failed) == (1, 1)
    broken = next(n for n in outbox.recent(5) if n.subject == "broken address")
    assert broken.sent_at is None and broken.last_error
    assert [m["Subject"] for _, _, m in smtp.messages] == ["fine"]
