"""Command-line tools: ``flask --app qa_app users|demo|audit|alerts|backup``."""

import sqlite3
import sys
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from qa_app.errors import ServiceError
from qa_app.extensions import db
from qa_app.models import ROLES
from qa_app.services import accounts, audit

CLI_ACTOR = "command line"

users_cli = AppGroup("users", help="Create, deactivate and unlock accounts.")
audit_cli = AppGroup("audit", help="Check the audit trail.")
alerts_cli = AppGroup("alerts", help="Deliver e-mail alerts.")


def _fail(exc: ServiceError) -> None:
    detail = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
    raise click.ClickException(f"{exc.message} {detail}".strip())


@users_cli.command("create")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice(ROLES),
    help="A role; repeat for several.",
)
@click.option("--name", "full_name", required=True, help="Full name, as printed on signatures.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(username: str, roles: tuple[str, ...], full_name: str, password_stdin: bool) -> None:
    """Create USERNAME with one or more roles."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.create_user(
            None, username=username, full_name=full_name, roles=roles, password=password, actor_name=CLI_ACTOR
        )
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Created {user.username} ({', '.join(sorted(user.roles))}).")


@users_cli.command("deactivate")
@click.argument("username")
@click.option("--reason", default=None, help="Why, for the audit trail.")
def deactivate_user(username: str, reason: str | None) -> None:
    """Deactivate USERNAME: sessions and tokens stop at once; nothing is deleted."""
    try:
        accounts.set_active(None, username, False, reason=reason, actor_name=CLI_ACTOR)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Deactivated {username}.")


@users_cli.command("unlock")
@click.argument("username")
def unlock_user(username: str) -> None:
    """Lift the lockout of USERNAME."""
    try:
        accounts.unlock(None, username, actor_name=CLI_ACTOR)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"Unlocked {username}.")


@audit_cli.command("verify")
def verify_audit() -> None:
    """Check the hash chain and the seals, then each result, signature and certificate
    against the event that created it; exit 1 naming what does not match."""
    check = audit.verify_chain()
    if check.ok:
        click.echo(f"Audit trail intact: {check.checked} events checked.")
        if check.unsealed:
            click.echo(
                f"Events 1 to {check.unsealed} were written before the audit key was introduced: "
                "they have no seal of their own and are covered by the sealed events after them."
            )
    elif check.problem == audit.UNSEALED:
        click.echo(
            f"Audit trail NOT SEALED: none of its {check.checked} events has a seal. If they were "
            "written before the audit key was introduced and the upgrade did not seal them, run "
            "`flask audit seal` once; if this trail was sealed before, its seals were removed: "
            "preserve the database as it is.",
            err=True,
        )
    else:
        click.echo(
            f"Audit trail BROKEN at event {check.first_bad}: {check.problem} "
            f"({check.checked} events before it are intact).",
            err=True,
        )
    problems = audit.check_records()
    for problem in problems:
        click.echo(f"Record does not match the audit trail: {problem}.", err=True)
    if problems:
        click.echo(f"{len(problems)} records do not match the audit trail.", err=True)
    elif check.ok:
        click.echo("Results, signatures and certificates match the events that created them.")
    if not check.ok or problems:
        sys.exit(1)


@audit_cli.command("seal")
def seal_audit() -> None:
    """Seal a trail written before the audit key was introduced that the upgrade left unsealed."""
    try:
        event = audit.seal_trail(CLI_ACTOR)
    except ServiceError as exc:
        _fail(exc)
    if event is None:
        click.echo("Nothing to seal: the audit trail is sealed already.")
        return
    click.echo(
        f"Sealed: event {event.seq} covers the {event.seq - 1} events before it. "
        "Keep the audit key apart from the database and its backups."
    )


@alerts_cli.command("send")
@click.option("--watch", is_flag=True, help="Keep delivering until stopped (Ctrl+C or SIGTERM).")
@click.option(
    "--interval",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds between rounds with --watch.",
)
def send_alerts(watch: bool, interval: float) -> None:
    """Deliver the e-mail alerts waiting in the outbox; once a day, first look for lots near
    expiry and batches near their beyond-use date. A failed delivery stays in the outbox and is
    tried again later."""
    from qa_app.services import alerts, clock

    while True:
        written = alerts.daily_scan(clock.today())
        if written is not None:
            click.echo(f"Daily scan for {clock.today().isoformat()}: {written} alerts written.")
        done = alerts.send_pending()
        if done.sent or done.failed or not watch:
            click.echo(f"{done.sent} alerts sent, {done.failed} failed (kept for a later attempt).")
        if not watch:
            if done.failed:
                sys.exit(1)
            return
        db.session.remove()
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            click.echo("Stopped; what is still pending is sent by the next run.")
            return


@click.command("demo")
@with_appcontext
def demo() -> None:
    """Load demonstration data and print the demo logins."""
    from qa_app.demo import load_demo

    for line in load_demo():
        click.echo(line)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(path: Path) -> None:
    """A consistent copy of the SQLite database at PATH, safe while the app runs."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise click.ClickException(
            "This deployment uses PostgreSQL: back it up with pg_dump, for example "
            "`pg_dump --format=custom --file=qa.dump \"$DATABASE_URL\"` (drop '+psycopg' from the URL)."
        )
    if path.exists():
        raise click.ClickException(f"{path} exists already; choose a new file name.")
    source = sqlite3.connect(engine.url.database)
    target = sqlite3.connect(path)
    try:
        with target:
            source.backup(target)  # SQLite's online backup: a consistent snapshot
        integrity = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if integrity != "ok":
        raise click.ClickException(f"The copy failed its integrity check: {integrity}")
    current_app.logger.info("backup written to %s", path)
    click.echo(f"Backup written to {path} (integrity ok).")


def init_app(app: Flask) -> None:
    for command in (users_cli, audit_cli, alerts_cli, demo, backup):
        app.cli.add_command(command)
