"""(f) A million outbox rows (two million attempts): every health, admin list, summary and
metrics page under 50 ms.

Builds the rows inside the database (generate_series on PostgreSQL, a recursive CTE on
SQLite) in a database of its own, then asks each page through the app (Flask's test client:
the app's own work, no HTTP) and prints its median and p95. It also EXPLAINs every query a
page made and names any that reads a whole outbox table (a scan that grows with it).

    .venv/bin/python bench/million_rows.py                 # SQLite in a scratch folder
    BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/million_rows.py             # a new database on that server
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta

import common
from sqlalchemy import create_engine, event, make_url, text

from app import clock
from app.auth.passwords import hash_password
from app.extensions import db
from app.mail.models import DeliveryAttempt, OutboxMessage, SenderState
from app.mail.previews import render_preview
from app.models import User

TARGET_MS = 50.0
HEALTH_TOKEN = "bench-health-token-0123456789abcdef"
METRICS_TOKEN = "bench-metrics-token-0123456789abcdef"
ADMIN = ("admin@example.com", "correct horse battery staple")
# How the rows look: one every 2 s (a million is 23 days), the newest 20,000 with their body
# (older ones purged), the newest 500 still queued; 1% failed, some suppressed and expired.
SECONDS_APART = 2
WITH_BODY = 20_000
QUEUED = 500
STATUS_SQL = f"""CASE WHEN n > :rows - {QUEUED} THEN 'queued'
    WHEN n % 100 = 7 THEN 'failed' WHEN n % 200 = 11 THEN 'suppressed'
    WHEN n % 500 = 13 THEN 'expired' ELSE 'sent' END"""
FULL_SCAN = {
    # SQLite: SCAN is the whole table or the whole of an index (SEARCH is a range).
    "sqlite": re.compile(r"^SCAN (mail_outbox|mail_attempt)\b", re.M),
    "postgresql": re.compile(r"Seq Scan on (mail_outbox|mail_attempt)\b"),
}


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], rows=1_000_000, requests=40)
    common.quiet_logs()
    url, drop = own_database(args.database_url)
    try:
        app = common.fresh_app(
            common.bench_config(
                url,
                HEALTH_TOKEN=HEALTH_TOKEN,
                METRICS_TOKEN=METRICS_TOKEN,
                MAIL_SENDER_THREADS=0,
            )
        )
        with app.app_context():
            built = build(args.rows)
            attempts = db.session.scalar(text("SELECT count(*) FROM mail_attempt"))
        common.print_header(f"(f) pages at {args.rows:,} outbox rows", url)
        print(f"   rows built in {built:.0f} s ({attempts:,} attempt rows)")
        measure(app, args.rows, args.requests)
        common.dispose(app)
    finally:
        drop()


def own_database(url: str | None):
    """SQLite in the scratch folder, or a new PostgreSQL database beside the one named."""
    if not url:
        return common.default_database_url(), lambda: None
    server = make_url(url)
    name = f"mailroom_million_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


def build(rows: int) -> float:
    started = time.perf_counter()
    dialect = db.engine.dialect.name
    base = (clock.utcnow() - timedelta(seconds=SECONDS_APART * rows)).replace(microsecond=0)
    mime = render_preview("reset_password").mail.mime
    params = {"rows": rows, "base": base.strftime("%Y-%m-%d %H:%M:%S"), "mime": mime}
    db.session.execute(text(outbox_insert(dialect)), params)
    db.session.execute(text(attempts_insert(retry=True)))
    db.session.execute(text(attempts_insert()))
    now = clock.utcnow()
    for index in range(2):
        name = f"bench-worker:{index}"
        db.session.add(SenderState(name=name, host="bench-worker", pid=index, heartbeat_at=now))
    admin = User(email=ADMIN[0], password_hash=hash_password(ADMIN[1]), is_admin=True)
    admin.confirmed_at = now
    db.session.add(admin)
    db.session.commit()
    if dialect == "postgresql":
        # What autovacuum does soon after a bulk load: statistics and the visibility map.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def outbox_insert(dialect: str) -> str:
    if dialect == "postgresql":
        series = "generate_series(1, :rows) AS g(n)"
        at = f"(CAST(:base AS timestamp) + n * interval '{SECONDS_APART} seconds')"
        later = f"({at} + interval '1 second')"
    else:
        series = "(WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < :rows)"
        series += " SELECT n FROM g)"
        at = f"(strftime('%Y-%m-%d %H:%M:%S', :base, '+' || (n * {SECONDS_APART}) || ' seconds')"
        at += " || '.000000')"
        later = at.replace("seconds')", "seconds', '+1 seconds')")
    values = {
        "id": "n",
        "message_id": "'<bench-' || n || '@mailroom.example>'",
        "template": "CASE WHEN n % 2 = 0 THEN 'reset_password' ELSE 'password_changed' END",
        "sender": f"'{common.SENDER}'",
        "recipient": "'user' || n || '@example' || (n % 50) || '.com'",
        "subject": "'Reset your Mailroom password'",
        "mime": f"CASE WHEN n > :rows - {WITH_BODY} THEN :mime END",
        "status": STATUS_SQL,
        "attempts": "1",
        "next_attempt_at": at,
        "created_at": at,
        "sent_at": f"CASE WHEN ({STATUS_SQL}) = 'sent' THEN {later} END",
        "smtp_reply": f"CASE WHEN ({STATUS_SQL}) = 'sent' THEN '250 2.0.0 Ok: queued' END",
        "relay": f"CASE WHEN ({STATUS_SQL}) = 'sent' THEN 'smtp.example.com:587' END",
        "last_error": f"CASE WHEN ({STATUS_SQL}) = 'failed' THEN '550 5.1.1 no such user' END",
    }
    values |= _other_columns(OutboxMessage.__table__, values)
    names = ", ".join(values)
    # Built from this file's constants and the table's own column names: nothing from outside.
    columns = ", ".join(values.values())
    return f"INSERT INTO mail_outbox ({names}) SELECT {columns} FROM {series}"  # noqa: S608


def attempts_insert(retry: bool = False) -> str:
    """The final attempt of every sent or failed message, or (`retry`) a 421 before it: two
    attempt rows a message, two million at a million rows, as the issue sizes it."""
    final = {
        "outcome": "CASE WHEN status = 'failed' THEN 'failed' ELSE 'sent' END",
        "smtp_code": "CASE WHEN status = 'failed' THEN 550 ELSE 250 END",
        "smtp_reply": "COALESCE(smtp_reply, last_error)",
    }
    first = {"outcome": "'retry'", "smtp_code": "421", "smtp_reply": "'421 4.7.0 Try again later'"}
    values = {
        "outbox_id": "id",
        "started_at": "created_at",
        "duration_ms": "12",
        **(first if retry else final),
        "relay": "'smtp.example.com:587'",
        "sender_name": "'bench-worker:0'",
    }
    values |= _other_columns(DeliveryAttempt.__table__, values, skip={"id"})
    select_sql = f"SELECT {', '.join(values.values())} FROM mail_outbox"  # noqa: S608
    where = " WHERE status IN ('sent', 'failed')"
    return f"INSERT INTO mail_attempt ({', '.join(values)}) {select_sql}{where}"


def _other_columns(table, given: dict, skip=frozenset()) -> dict:
    """Columns added later get their default (or NULL): the bench keeps up with the schema."""
    extra = {}
    for column in table.columns:
        if column.name in given or column.name in skip:
            continue
        default = column.default.arg if column.default is not None else None
        if isinstance(default, bool):
            extra[column.name] = "TRUE" if default else "FALSE"
        elif isinstance(default, int | float):
            extra[column.name] = str(default)
        elif isinstance(default, str):
            extra[column.name] = "'" + default.replace("'", "''") + "'"
        else:
            extra[column.name] = "NULL"
    return extra


def pages(rows: int) -> list[tuple[str, str, dict]]:
    """(label, path, headers): what a load balancer, an operator and an admin open. Only the
    public /healthz goes without the admin's session cookie."""
    bearer = {"Authorization": f"Bearer {HEALTH_TOKEN}"}
    middle = rows // 2
    return [
        ("/healthz (public)", "/healthz", {}),
        ("/healthz (details, bearer)", "/healthz", bearer),
        ("/metrics (bearer)", "/metrics", {"Authorization": f"Bearer {METRICS_TOKEN}"}),
        ("/admin/mail", "/admin/mail", {}),
        ("/admin/mail/outbox", "/admin/mail/outbox", {}),
        ("  ?status=failed", "/admin/mail/outbox?status=failed", {}),
        ("  ?status=expired", "/admin/mail/outbox?status=expired", {}),
        ("  far page (?before=1000)", "/admin/mail/outbox?before=1000", {}),
        ("  ?q=@example7.com", "/admin/mail/outbox?q=%40example7.com", {}),
        (f"  ?q=user{middle}@ (one match)", f"/admin/mail/outbox?q=user{middle}%40", {}),
        ("  ?q=<a whole address>", f"/admin/mail/outbox?q=user{middle}%40example0.com", {}),
        ("/admin/mail/outbox/<id> (sent)", f"/admin/mail/outbox/{rows - QUEUED - 2}", {}),
        ("/admin/mail/outbox/<id> (purged)", f"/admin/mail/outbox/{middle}", {}),
    ]


def measure(app, rows: int, requests: int) -> None:
    admin, anonymous = app.test_client(), app.test_client()
    log_in(admin)
    statements = Statements(app)
    table, scans = [], []
    for label, path, headers in pages(rows):
        client = anonymous if label.endswith("(public)") else admin
        for _ in range(3):  # warm: templates compiled, statements prepared
            response = client.get(path, headers=headers)
            assert response.status_code in (200, 503), (path, response.status_code)
        timings, in_db = [], []
        for _ in range(requests):
            statements.clear()
            started = time.perf_counter()
            client.get(path, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
            in_db.append(statements.db_seconds * 1000)
        scans += [(label, sql) for sql in full_scans(app, list(statements))]
        median, p95 = common.median(timings), common.p95(timings)
        met = "yes" if p95 < TARGET_MS else "NO"
        table.append([label, median, p95, common.median(in_db), len(statements), met])
    headers = ["page", "median ms", "p95 ms", "of it SQL", "queries", "p95 < 50 ms"]
    common.print_table(headers, table)
    for label, sql in scans:
        print(f"   full scan on {label}: {sql}")
    if not scans:
        print("   EXPLAIN: no query reads a whole mail_outbox or mail_attempt table")


def log_in(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "email": ADMIN[0], "password": ADMIN[1]}
    response = client.post("/login", data=form)
    assert response.status_code == 302, response.status_code


class Statements(list):
    """The outbox statements of the request being timed, and the time all its statements
    spent in the database (so a slow page says whether SQL or rendering is to blame)."""

    def __init__(self, app):
        super().__init__()
        self.db_seconds = 0.0
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def clear(self) -> None:
        super().clear()
        self.db_seconds = 0.0

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()
        if "mail_outbox" in statement or "mail_attempt" in statement:
            self.append((statement, parameters))

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        self.db_seconds += time.perf_counter() - conn.info.pop("bench_started")


def full_scans(app, statements: list) -> list[str]:
    """The statements whose plan reads a whole outbox or attempt table with nothing to stop
    it early (a LIMIT over an ordered scan stops after a page)."""
    found = []
    with app.app_context():
        dialect = db.engine.dialect.name
        prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        with db.engine.connect() as conn:
            driver = conn.connection.driver_connection
            for statement, parameters in statements:
                if re.search(r"\bLIMIT\b", statement):
                    continue
                cursor = driver.cursor()
                cursor.execute(prefix + statement, parameters)
                plan = "\n".join(" ".join(str(c) for c in row[-1:]) for row in cursor.fetchall())
                if FULL_SCAN[dialect].search(plan):
                    found.append(" ".join(statement.split())[:160])
    return found


if __name__ == "__main__":
    main()
