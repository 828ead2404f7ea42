"""flask commands: init-db, users, worker, sandbox, demo."""
import logging
import os
import secrets
import threading

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from webapp.extensions import db

users_cli = AppGroup("users", help="Manage staff accounts.")


def init_app(app):
    app.cli.add_command(init_db_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(sandbox_command)
    app.cli.add_command(demo_command)


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Create or upgrade the schema (idempotent)."""
    from webapp.db import migrate

    applied = migrate()
    click.echo(f"applied migrations: {applied}" if applied else "schema is up to date")


def _configure_logging():
    from flask.logging import default_handler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The root handler prints every line; Flask's own handler on the app logger ("webapp") would print the
    # app's lines a second time.
    logging.getLogger("webapp").removeHandler(default_handler)
    # One line per job run every few seconds drowns everything else; failures are still logged.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _fail(message):
    raise click.ClickException(message)


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "supervisor", "agent"]), default="agent")
@click.password_option(prompt="Password")
@with_appcontext
def users_create(email, name, role, password):
    from webapp.auth.service import UserError, create_user

    with db.connection_context():
        try:
            user = create_user(email, name, role, password)
        except UserError as exc:
            _fail(str(exc))
    click.echo(f"created {user.role} {user.email}")


def _user(email):
    from webapp.auth.service import normalize_email
    from webapp.models import User

    user = User.get_or_none(User.email == normalize_email(email))
    if user is None:
        _fail(f"no user {email}")
    return user


@users_cli.command("set-password")
@click.option("--email", required=True)
@click.password_option(prompt="New password")
@with_appcontext
def users_set_password(email, password):
    from webapp.auth.service import UserError, set_password

    with db.connection_context():
        try:
            set_password(_user(email), password)
        except UserError as exc:
            _fail(str(exc))
    click.echo("password changed; existing sessions are signed out")


@users_cli.command("deactivate")
@click.option("--email", required=True)
@with_appcontext
def users_deactivate(email):
    from webapp.auth.service import set_active

    with db.connection_context():
        set_active(_user(email), False)
    click.echo(f"{email} deactivated")


@click.command("worker")
@with_appcontext
def worker_command():
    """Run the dispatcher loop and (when elected leader) the scheduled jobs, until Ctrl-C."""
    from webapp.worker import run_worker

    _configure_logging()
    stop = threading.Event()
    try:
        run_worker(current_app._get_current_object(), stop)
    except KeyboardInterrupt:
        stop.set()


@click.command("sandbox")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5055, type=int)
@with_appcontext
def sandbox_command(host, port):
    """Serve the four provider simulators (citcall, masking, airtel, oca)."""
    from webapp.sandbox import create_sandbox_app, settings_from_config
    from webapp.serving import server

    _configure_logging()
    settings = settings_from_config(current_app.config)
    # Simulator knobs (SANDBOX_LATENCY_MS, SANDBOX_FAILURE_RATIO, SANDBOX_EVENT_DELAY...) straight from the env.
    settings.update({k: v for k, v in os.environ.items() if k.startswith("SANDBOX_")})
    sandbox_app = create_sandbox_app(settings)
    click.echo(f"provider simulators on http://{host}:{port}")
    server(host, port, sandbox_app).serve_forever()


@click.command("demo")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--sandbox-port", default=5055, type=int)
@with_appcontext
def demo_command(host, port, sandbox_port):
    """Everything in one process: sandbox, app and worker, with demo data and a printed admin."""
    from webapp.db import migrate
    from webapp.demo import DEMO_USERS, move_ports, seed_demo
    from webapp.sandbox import create_sandbox_app, settings_from_config
    from webapp.serving import server
    from webapp.worker import start_in_thread

    app = current_app._get_current_object()
    if not app.config["SANDBOX"]:
        _fail("the demo runs against the simulators: start it with SANDBOX=1 (make demo does)")
    _configure_logging()
    move_ports(app.config, host, port, sandbox_port)
    migrate()
    password = secrets.token_urlsafe(12)
    with db.connection_context():
        email = seed_demo(admin_password=password)
    sandbox_app = create_sandbox_app(settings_from_config(app.config))
    sandbox_server = server(host, sandbox_port, sandbox_app)
    threading.Thread(target=sandbox_server.serve_forever, daemon=True, name="sandbox").start()
    start_in_thread(app)
    click.echo("")
    click.echo("=" * 64)
    click.echo(f"  Campaign Console demo: http://{host}:{port}")
    click.echo(f"  Sign in as {email}  password: {password}")
    click.echo(f"  ({', '.join(email for email, *_ in DEMO_USERS)}: the same password)")
    click.echo(f"  Provider simulators:  http://{host}:{sandbox_port}")
    click.echo("=" * 64)
    app_server = server(host, port, app)
    try:
        app_server.serve_forever()
    except KeyboardInterrupt:
        pass
