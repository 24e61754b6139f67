"""`flask users ...`: make the first admin from a terminal, or promote an existing account.

There is no sign-up for admins: whoever can run commands on the server decides.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app import clock
from app.auth import codes
from app.auth.addresses import InvalidAddress, normalise_email
from app.auth.passwords import hash_password, policy_problem
from app.auth.sessions import end_all_sessions, purge_sessions
from app.extensions import db
from app.models import User

users_cli = AppGroup("users", help="Accounts from the terminal: create and promote admins.")


@users_cli.command("create-admin")
@click.argument("email")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (for scripts).",
)
def create_admin(email: str, password_stdin: bool) -> None:
    """Create a confirmed admin account for EMAIL."""
    address = _address(email)
    if _find(address) is not None:
        raise click.ClickException(
            f"{address} already has an account: use `flask users promote {address}`"
        )
    password = _read_password(password_stdin)
    db.session.add(
        User(
            email=address,
            password_hash=hash_password(password),
            is_admin=True,
            # Whoever runs this controls the server: the address needs no confirmation mail.
            confirmed_at=clock.utcnow(),
        )
    )
    db.session.commit()
    click.echo(f"created admin {address}")


@users_cli.command("promote")
@click.argument("email")
def promote(email: str) -> None:
    """Make the existing account EMAIL an admin."""
    address = _address(email)
    user = _find(address)
    if user is None:
        raise click.ClickException(f"no account for {address}")
    if user.is_admin:
        click.echo(f"{address} is already an admin")
        return
    user.is_admin = True
    db.session.commit()
    click.echo(f"{address} is now an admin")


@users_cli.command("logout")
@click.argument("email")
def logout(email: str) -> None:
    """End every session of EMAIL now (a stolen laptop, a departing colleague)."""
    address = _address(email)
    user = _find(address)
    if user is None:
        raise click.ClickException(f"no account for {address}")
    ended = end_all_sessions(user)
    db.session.commit()
    click.echo(f"ended {ended} session{'' if ended == 1 else 's'} of {address}")


@users_cli.command("purge")
def purge_command() -> None:
    """Delete sessions that were logged out or have expired, and emailed codes whose link
    has expired (run it daily, beside `flask mail purge`)."""
    click.echo(f"deleted {purge_sessions()} ended sessions")
    click.echo(f"deleted {codes.purge_expired()} expired emailed codes")


def _address(raw: str) -> str:
    try:
        return normalise_email(raw)
    except InvalidAddress as problem:
        raise click.BadParameter(str(problem), param_hint="EMAIL") from None


def _find(address: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == address))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problem = policy_problem(password)
    if problem:
        raise click.ClickException(f"password refused: {problem}")
    return password
