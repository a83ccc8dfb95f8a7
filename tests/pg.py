"""A throwaway PostgreSQL cluster on a free loopback port, for tests and benchmarks.

``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN_DIRS = [f"/usr/lib/postgresql/{v}/bin" for v in (17, 16, 15, 14, 13)]


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries, or no way to run them here."""


def _pg_bin() -> Path | None:
    for directory in PG_BIN_DIRS:
        if (Path(directory) / "initdb").exists() and (Path(directory) / "pg_ctl").exists():
            return Path(directory)
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found and shutil.which("initdb") else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a cluster, yield its DSN, stop and delete it. Raises PostgresUnavailable if it can't."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        raise PostgresUnavailable(
            "PostgreSQL binaries (initdb, pg_ctl) not found and YANGGUANG_TEST_PG_DSN is not set"
        )
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresUnavailable(
                "running as root and runuser is missing: cannot start a throwaway PostgreSQL"
            )
        as_postgres = [runuser, "-u", "postgres", "--"]
    workdir = Path(tempfile.mkdtemp(prefix="yg-pg-"))
    data = workdir / "data"
    if as_postgres:
        shutil.chown(workdir, "postgres", "postgres")
    port = _free_port()
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def run(*args: str) -> None:
        result = subprocess.run([*as_postgres, *args], capture_output=True, text=True, env=env, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")

    run(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
    options = f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
    run(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(workdir / "log"), "-w", "start")
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=10"
    finally:
        subprocess.run(
            [*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            env=env,
            timeout=60,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def fresh_schema(dsn: str) -> Iterator[str]:
    """A new, empty schema in ``dsn``'s database; yields a DSN whose ``search_path`` is that schema
    (so a store's tables land there and no other test sees its rows); dropped afterwards."""
    import uuid

    import psycopg
    from psycopg.conninfo import make_conninfo

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_conninfo(dsn, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


@contextlib.contextmanager
def fresh_database(dsn: str) -> Iterator[str]:
    """A new, empty database on ``dsn``'s server; yields its ``postgresql://`` URL (the form
    ``Sandbox(db=...)`` and ``yangguang sandbox serve --db`` take); dropped afterwards."""
    import uuid
    from urllib.parse import quote

    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    parts = conninfo_to_dict(dsn)
    user = quote(str(parts.get("user", "postgres")), safe="")
    password = parts.get("password")
    auth = f"{user}:{quote(str(password), safe='')}" if password else user
    url = f"postgresql://{auth}@{parts.get('host', '127.0.0.1')}:{parts.get('port', 5432)}/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
