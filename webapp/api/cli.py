"""flask api-token create --user EMAIL [--name N] [--expires DAYS]"""
import click
from flask.cli import AppGroup

from webapp.extensions import db

api_token_cli = AppGroup("api-token", help="Personal API tokens.")


def init_app(app):
    app.cli.add_command(api_token_cli)


@api_token_cli.command("create")
@click.option("--user", "email", required=True, help="E-mail of the user the token acts as (with their role).")
@click.option("--name", default="", help="A label to recognise the token by.")
@click.option("--expires", type=click.IntRange(1, 3650), default=None, help="Days until it expires (default never).")
def create_command(email, name, expires):
    """Print a new token (shown only now; only its hash is stored)."""
    from webapp.api import tokens
    from webapp.models import User

    with db.connection_context():
        user = User.get_or_none(User.email == email.strip().lower()) or User.get_or_none(User.email == email.strip())
        if user is None:
            raise click.ClickException(f"no user {email}")
        try:
            row, token = tokens.create(user, name or "command line", expires)
        except tokens.TokenError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(token)
    click.echo(f"token {row.prefix}… for {user.email} ({user.role})"
               + (f", expires {row.expires_at:%Y-%m-%d}" if row.expires_at else ""), err=True)
