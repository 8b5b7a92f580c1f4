"""Benchmark: delivering pending e-mail alerts to an SMTP server on loopback.

A throw-away SQLite database with BENCH_ALERTS pending alerts (written by ``alerts.raise_alert``
as an OOS result would, for one person), delivered by ``alerts.send_pending`` (what ``flask
--app qa_app alerts send`` runs: claim 50, send them over one connection, mark each sent) to an
aiosmtpd server on 127.0.0.1 that keeps every message. Repeated BENCH_ALERT_RUNS times with new
alerts; compared with the floor, the same number of messages sent with bare ``smtplib`` over one
connection, no database.

    make bench                     # with the other benchmarks and BENCHMARKS.md
    BENCH_ALERTS=100 BENCH_ALERT_RUNS=2 .venv/bin/python bench/bench_alerts.py
"""

import os
import smtplib
import socket
import statistics
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiosmtpd.controller import Controller  # noqa: E402

from bench.common import figures, prepare, write_json  # noqa: E402
from config import TestConfig  # noqa: E402
from qa_app import create_app  # noqa: E402
from qa_app.extensions import db  # noqa: E402
from qa_app.services import alerts  # noqa: E402
from tests.builders import user  # noqa: E402

ALERTS = int(os.environ.get("BENCH_ALERTS", "500"))
RUNS = int(os.environ.get("BENCH_ALERT_RUNS", "3"))


class Collector:
    """An aiosmtpd handler counting the messages it accepts."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.count += 1
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raise_alerts(run: int, count: int) -> None:
    for i in range(1, count + 1):
        lot = f"LDN-261207-{i % 1000:03d}"
        alerts.raise_alert(
            "oos",
            f"result:{run}-{i}",
            f"Out of specification: Assay of batch {lot}",
            f"Assay result {i} of batch {lot} is out of specification: 89.4 % LC (limits 90.0–110.0 % LC). "
            "An OOS investigation is open for it.",
            f"/batches/{lot}",
        )
    db.session.commit()


def bare_send(port: int, count: int) -> float:
    """The floor: ``count`` ready messages over one smtplib connection; seconds."""
    messages = []
    for i in range(count):
        message = EmailMessage()
        message["From"], message["To"] = "qa@pharmacy.example", "rob@pharmacy.example"
        message["Subject"] = f"Out of specification: Assay of batch LDN-261207-{i % 1000:03d}"
        message.set_content(
            "Assay result is out of specification: 89.4 % LC.\n\nOpen the record: http://x/\n"
        )
        messages.append(message)
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for message in messages:
            smtp.send_message(message)
    return time.perf_counter() - started


def run() -> dict:
    port = free_port()
    handler = Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(
                TestConfig,
                instance_path=tmp,
                SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp}/alerts.sqlite3",
                QA_SMTP_HOST="127.0.0.1",
                QA_SMTP_PORT=port,
                QA_MAIL_FROM="qa@pharmacy.example",
            )
            seconds, sent, failed, received = [], 0, 0, 0
            with app.app_context():
                prepare()
                alerts.set_alerts(user("rob"), "rob", "rob@pharmacy.example", list(alerts.ALERT_KINDS))
                raise_alerts(0, 10)
                alerts.send_pending()  # connections and code paths warm
                for number in range(1, RUNS + 1):
                    raise_alerts(number, ALERTS)
                    before = handler.count
                    started = time.perf_counter()
                    done = alerts.send_pending()
                    seconds.append(time.perf_counter() - started)
                    sent += done.sent
                    failed += done.failed
                    received += handler.count - before
                    print(
                        f"run {number}: {done.sent} alerts sent, {done.failed} failed, {handler.count - before} received, "
                        f"in {seconds[-1]:.2f} s = {done.sent / seconds[-1]:,.0f} messages/s",
                        flush=True,
                    )
        bare_send(port, 10)
        floor = [bare_send(port, ALERTS) for _ in range(RUNS)]
    finally:
        controller.stop()
    rates = [ALERTS / s for s in seconds]
    median_s, floor_s = statistics.median(seconds), statistics.median(floor)
    print(
        f"alert delivery: {ALERTS} alerts a run, median {ALERTS / median_s:,.0f} messages/s "
        f"({median_s / ALERTS * 1000:.2f} ms a message); bare smtplib {ALERTS / floor_s:,.0f} messages/s "
        f"({floor_s / ALERTS * 1000:.2f} ms a message)",
        flush=True,
    )
    return {
        "database": "SQLite",
        "alerts": ALERTS,
        "runs": RUNS,
        "sent": sent,
        "failed": failed,
        "received": received,
        "seconds": figures([s * 1000 for s in seconds]),
        "median_per_s": ALERTS / median_s,
        "slowest_per_s": min(rates),
        "per_message_ms": median_s / ALERTS * 1000,
        "floor_per_s": ALERTS / floor_s,
        "floor_per_message_ms": floor_s / ALERTS * 1000,
    }


if __name__ == "__main__":
    write_json(run())
