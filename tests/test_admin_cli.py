"""`flask users create-admin` and `flask users promote`."""

from sqlalchemy import select

from app.auth.passwords import check_password
from app.extensions import db
from app.models import User
from tests.admin_helpers import make_user

SECRET = "a long admin passphrase"


def user(app, email):
    with app.app_context():
        found = db.session.scalar(select(User).where(User.email == email))
        if found is not None:
            db.session.expunge(found)
        return found


def test_create_admin_reads_the_password_from_stdin(app, runner):
    result = runner.invoke(
        args=["users", "create-admin", "Root@Example.COM", "--password-stdin"],
        input=SECRET + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "created admin root@example.com" in result.output
    assert SECRET not in result.output
    admin = user(app, "root@example.com")
    assert admin.is_admin
    assert admin.confirmed_at is not None
    assert check_password(admin.password_hash, SECRET)


def test_create_admin_prompts_twice_for_the_password(app, runner):
    result = runner.invoke(
        args=["users", "create-admin", "root@example.com"], input=f"{SECRET}\n{SECRET}\n"
    )
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert check_password(user(app, "root@example.com").password_hash, SECRET)


def test_create_admin_refuses_a_weak_password_and_creates_nothing(app, runner):
    result = runner.invoke(
        args=["users", "create-admin", "root@example.com", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 1
    assert "password refused" in result.output
    assert user(app, "root@example.com") is None


def test_create_admin_refuses_a_bad_address(app, runner):
    result = runner.invoke(
        args=["users", "create-admin", "root@example.com, eve@evil.test", "--password-stdin"],
        input=SECRET + "\n",
    )
    assert result.exit_code == 2
    assert "Invalid value for EMAIL" in result.output


def test_create_admin_refuses_an_existing_account(app, runner):
    make_user(app, "bob@example.com")
    result = runner.invoke(
        args=["users", "create-admin", "bob@example.com", "--password-stdin"], input=SECRET + "\n"
    )
    assert result.exit_code == 1
    assert "flask users promote bob@example.com" in result.output
    assert not user(app, "bob@example.com").is_admin


def test_promote_makes_an_existing_user_admin(app, runner):
    make_user(app, "bob@example.com")
    result = runner.invoke(args=["users", "promote", "BOB@example.com"])
    assert result.exit_code == 0, result.output
    assert "bob@example.com is now an admin" in result.output
    assert user(app, "bob@example.com").is_admin
    again = runner.invoke(args=["users", "promote", "bob@example.com"])
    assert "already an admin" in again.output


def test_promote_an_unknown_address_fails(app, runner):
    result = runner.invoke(args=["users", "promote", "nobody@example.com"])
    assert result.exit_code == 1
    assert "no account for nobody@example.com" in result.output
