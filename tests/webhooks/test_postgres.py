"""PostgresInbox: exactly once across processes, its table, its connections.

The contract shared with the other inboxes is in test_inbox.py; these need a server (``pg_dsn``).
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from yangguang_sdk.errors import ParameterError
from yangguang_sdk.webhooks import PostgresInbox, Webhook, WebhookHandler

from ._events import FROZEN_NOW, event_bytes, run_worker_processes

pytestmark = pytest.mark.postgres


@pytest.fixture
def inbox(pg_dsn: str) -> Iterator[PostgresInbox]:
    with PostgresInbox(pg_dsn, table=f"inbox_{uuid.uuid4().hex[:12]}") as inbox:
        yield inbox


def test_four_processes_deliver_the_same_events_and_each_function_runs_once(
    pg_dsn: str, tmp_path: Path
) -> None:
    table = f"inbox_{uuid.uuid4().hex[:12]}"
    counts = run_worker_processes(f"postgres:{table}:{pg_dsn}", tmp_path, events=40)
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}


def test_four_processes_with_a_lease_shorter_than_the_function_run_each_event_once(
    pg_dsn: str, tmp_path: Path
) -> None:
    # Lease 3 s, function 5 s: without renewal a second worker takes over after 3 s (issue #16).
    table = f"inbox_{uuid.uuid4().hex[:12]}"
    counts = run_worker_processes(
        f"postgres:{table}:{pg_dsn}", tmp_path, events=3, lease=3, function_seconds=5, fail_rate=0
    )
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}


def test_handler_with_postgres_inbox_processes_once(inbox: PostgresInbox) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    handler = WebhookHandler(Webhook(secret, now=lambda: FROZEN_NOW), inbox=inbox)
    seen: list[str] = []
    handler.on("claim.paid")(lambda event: seen.append(event.id))
    body = event_bytes("evt_pg")
    headers = Webhook(secret).build_headers("evt_pg", body, timestamp=FROZEN_NOW)
    assert handler.handle(body, headers)[0] == 200
    assert handler.handle(body, headers)[0] == 200
    assert seen == ["evt_pg"] and inbox.is_done("evt_pg")


def test_schema_qualified_table_is_created_and_used(pg_dsn: str) -> None:
    import psycopg

    schema = f"s_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    with PostgresInbox(pg_dsn, table=f"{schema}.webhook_inbox") as inbox:
        token = inbox.claim("evt_1")
        assert token is not None and inbox.complete("evt_1", token)
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute(f"SELECT status, attempts FROM {schema}.webhook_inbox").fetchone()
    assert row == ("done", 1)


def test_many_inboxes_creating_one_table_at_once_do_not_collide(pg_dsn: str) -> None:
    import threading

    table = f"inbox_{uuid.uuid4().hex[:12]}"
    inboxes = [PostgresInbox(pg_dsn, table=table) for _ in range(6)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(inboxes))

    def first_use(inbox: PostgresInbox) -> None:
        barrier.wait()
        try:
            inbox.is_done("evt_1")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use, args=(inbox,)) for inbox in inboxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for inbox in inboxes:
        inbox.close()
    assert not errors


def test_a_dropped_pooled_connection_is_replaced(inbox: PostgresInbox, pg_dsn: str) -> None:
    import psycopg

    token = inbox.claim("evt_1")
    assert token is not None
    with psycopg.connect(pg_dsn, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND query LIKE %s",
            (f"%{inbox.table}%",),
        )
    assert inbox.complete("evt_1", token)
    assert inbox.is_done("evt_1")


def test_purge_deletes_only_old_done_events(inbox: PostgresInbox) -> None:
    token = inbox.claim("evt_old")
    assert token is not None and inbox.complete("evt_old", token)
    assert inbox.claim("evt_pending")
    assert inbox.purge(older_than_seconds=3600) == 0
    assert inbox.purge(older_than_seconds=0) == 1
    assert not inbox.is_done("evt_old") and not inbox.claim("evt_pending")


def test_repr_hides_the_dsn() -> None:
    inbox = PostgresInbox("postgresql://app:hunter2@db/app")
    assert "hunter2" not in repr(inbox) and "yangguang_webhook_inbox" in repr(inbox)


@pytest.mark.parametrize("table", ["", "a.b.c", "inbox; drop table x", "1abc", "x" * 70])
def test_bad_table_names_are_refused(table: str) -> None:
    with pytest.raises(ParameterError, match="table"):
        PostgresInbox("dbname=x", table=table)


def test_psycopg_is_imported_only_when_the_inbox_is_used() -> None:
    code = (
        "import sys; from yangguang_sdk.webhooks import PostgresInbox; PostgresInbox('dbname=x');"
        "print('psycopg' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"
