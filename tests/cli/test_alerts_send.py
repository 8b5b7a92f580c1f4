"""`flask --app qa_app alerts send` against a real SMTP server on 127.0.0.1.

Delivered once; nothing lost while the server is down; two senders at once never send an
alert twice (PostgreSQL, where senders really run side by side).
"""

import socket
import threading
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from qa_app.extensions import db
from qa_app.models import Alert
from qa_app.models.types import utcnow
from qa_app.services import alerts
from tests.builders import user
from tests.conftest import make_user
from tests.databases import POSTGRES


class Collector:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((tuple(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def mailbox(smtp_port):
    """A real SMTP server on 127.0.0.1; yields the handler that collects what it receives."""
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


@pytest.fixture
def mail_app(app, smtp_port):
    """The app sending through ``smtp_port``; rob receives every kind at rob@pharmacy.example."""
    app.config.update(QA_SMTP_HOST="127.0.0.1", QA_SMTP_PORT=smtp_port, QA_MAIL_FROM="qa@pharmacy.example")
    make_user(app, "ada", ("admin",))
    make_user(app, "rob", ("reviewer",))
    with app.app_context():
        alerts.set_alerts(user("rob"), "rob", "rob@pharmacy.example", list(alerts.ALERT_KINDS))
    return app


def raise_oos(app, n: int = 1) -> None:
    with app.app_context():
        for i in range(1, n + 1):
            alerts.raise_alert(
                "oos",
                f"result:{i}",
                f"Out of specification: Assay of batch LDN-261207-00{i}",
                f"Assay result {i} of batch LDN-261207-00{i} is out of specification: 89.4 % LC.",
                f"/batches/LDN-261207-00{i}",
            )
        db.session.commit()


def outbox(app) -> list[Alert]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(Alert).order_by(Alert.id)))
        db.session.expunge_all()
        return found


def test_an_alert_is_delivered_once_with_its_record_and_link(mail_app, mailbox):
    raise_oos(mail_app)
    runner = mail_app.test_cli_runner()

    first = runner.invoke(args=["alerts", "send"])
    assert first.exit_code == 0, first.output
    assert "1 alerts sent, 0 failed" in first.output
    second = runner.invoke(args=["alerts", "send"])
    assert "0 alerts sent, 0 failed" in second.output

    [(recipients, message)] = mailbox.messages
    assert recipients == ("rob@pharmacy.example",)
    assert message["From"] == "qa@pharmacy.example"
    assert message["Subject"] == "Out of specification: Assay of batch LDN-261207-001"
    body = message.get_content()
    assert "Assay result 1 of batch LDN-261207-001 is out of specification: 89.4 % LC." in body
    assert "Open the record: http://127.0.0.1:5000/batches/LDN-261207-001" in body
    [alert] = outbox(mail_app)
    assert (alert.status, alert.attempts, alert.claim_token) == ("sent", 0, None)
    assert alert.sent_at is not None


def test_nothing_is_lost_while_the_server_is_down(mail_app, smtp_port):
    raise_oos(mail_app)
    runner = mail_app.test_cli_runner()

    down = runner.invoke(args=["alerts", "send"])  # nothing listens on the port yet
    assert down.exit_code == 1
    assert "0 alerts sent, 1 failed" in down.output
    [alert] = outbox(mail_app)
    assert (alert.status, alert.attempts) == ("pending", 1)
    assert f"Not delivered through 127.0.0.1:{smtp_port}" in alert.last_error
    wait = alert.next_attempt_at - utcnow()
    assert timedelta(seconds=50) < wait <= timedelta(minutes=1)  # the first retry after a minute

    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        early = runner.invoke(args=["alerts", "send"])  # the server is back, the minute is not over
        assert "0 alerts sent, 0 failed" in early.output
        with mail_app.app_context():  # a minute later
            db.session.execute(sa.update(Alert).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
            db.session.commit()
        later = runner.invoke(args=["alerts", "send"])
        assert "1 alerts sent, 0 failed" in later.output
    finally:
        controller.stop()
    assert len(handler.messages) == 1
    [alert] = outbox(mail_app)
    assert (alert.status, alert.attempts) == ("sent", 1)


def test_the_wait_doubles_up_to_an_hour():
    assert [alerts.backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4, 7, 8, 20)] == [
        1.0, 2.0, 4.0, 8.0, 60.0, 60.0, 60.0,
    ]  # fmt: skip


@pytest.mark.skipif(
    not POSTGRES, reason="two senders at once need PostgreSQL (SQLite runs one writer at a time)"
)
def test_two_senders_at_once_never_send_an_alert_twice(mail_app, mailbox):
    make_user(mail_app, "ada2", ("admin",))
    with mail_app.app_context():
        alerts.set_alerts(user("ada2"), "ada2", "ada2@pharmacy.example", ["oos"])
    raise_oos(mail_app, 30)  # 30 causes × 2 people: 60 alerts
    start = threading.Barrier(2)
    totals = []

    def sender():
        with mail_app.app_context():
            start.wait()
            totals.append(alerts.send_pending(batch_size=3))
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(totals) == 2  # both senders finished
    assert sum(t.sent for t in totals) == 60
    delivered = [(to, m["Subject"]) for (to,), m in mailbox.messages]
    assert len(delivered) == 60
    assert len(set(delivered)) == 60
    assert {alert.status for alert in outbox(mail_app)} == {"sent"}
