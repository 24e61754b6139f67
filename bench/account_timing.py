"""(e) Can the time of an answer tell a registered address from an unknown one?

Sign-up, resend and reset for registered and for unknown addresses, interleaved request by
request (so drift on a shared machine hits both alike), through the app's WSGI stack. Each
round also times a second, independent series of unknown addresses: the gap between the two
unknown series (an A/A comparison) is the run-to-run noise, printed beside the gap that
matters. The senders are not running: this is the request path alone.

    .venv/bin/python bench/account_timing.py [--requests 150 --rounds 5]
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench ...
"""

from __future__ import annotations

import time

import common

from app.auth.passwords import hash_password
from app.extensions import db
from app.models import User

FORMS = [("sign-up", "/signup"), ("resend", "/confirm/resend"), ("reset", "/reset-password")]


def make_users(app, count: int) -> list[str]:
    # Every address is the same length, so only "registered or not" differs.
    addresses = [f"k-{n:06d}@example.com" for n in range(count)]
    password_hash = hash_password("correct horse battery")
    with app.app_context():
        for address in addresses:
            db.session.add(User(email=address, password_hash=password_hash, confirmed_at=None))
        db.session.commit()
        for user in db.session.scalars(db.select(User)):
            user.confirmed_at = user.created_at
        db.session.commit()
    return addresses


def timed_post(client, path: str, address: str) -> float:
    started = time.perf_counter()
    response = client.post(path, data={"email": address})
    elapsed = time.perf_counter() - started
    assert response.status_code == 302, response.status_code
    return elapsed * 1000


def one_round(client, path: str, known: list[str], tag: str) -> tuple[float, float, float]:
    """Median ms for known, unknown and unknown-again addresses, interleaved."""
    series = {"known": [], "unknown": [], "again": []}
    for n, address in enumerate(known):
        series["known"].append(timed_post(client, path, address))
        series["unknown"].append(timed_post(client, path, f"u{tag}{n:04d}@example.com"))
        series["again"].append(timed_post(client, path, f"a{tag}{n:04d}@example.com"))
    return tuple(common.median(series[name]) for name in ("known", "unknown", "again"))


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], requests=150, rounds=5)
    database_url = args.database_url or common.default_database_url()
    common.quiet_logs()
    app = common.fresh_app(common.bench_config(database_url, WTF_CSRF_ENABLED=False))
    known = make_users(app, args.requests)
    client = app.test_client()
    common.print_header(
        f"Answer time by address, {args.requests} requests x {args.rounds} rounds", database_url
    )
    rows, worst = [], 0.0
    for index, (label, path) in enumerate(FORMS):
        for n in range(20):  # warm up: templates compiled, connections open
            client.post(path, data={"email": f"warm{n}-{label}@example.org"})
        rounds = [one_round(client, path, known, f"{index}{r}") for r in range(args.rounds)]
        gaps = [k - u for k, u, _ in rounds]
        noise = [a - u for _, u, a in rounds]
        gap, spread = common.median(gaps), max(abs(x) for x in noise)
        worst = max(worst, abs(gap) - spread)
        rows.append(
            [
                label,
                common.median([k for k, _, _ in rounds]),
                common.median([u for _, u, _ in rounds]),
                gap,
                f"{min(noise):+.3f}..{max(noise):+.3f}",
                "yes" if abs(gap) <= spread else "NO",
            ]
        )
    common.print_table(
        ["form", "registered ms", "unknown ms", "gap ms", "A/A noise ms", "within noise"], rows
    )
    common.verdict("largest gap beyond the noise (ms)", max(worst, 0.0), "0", worst <= 0)
    common.dispose(app)


if __name__ == "__main__":
    main()
