"""Quotes per second of one served sandbox tree, for A/B comparisons between two checkouts.

    .venv/bin/python bench/served_quotes.py TREE [DB] [--quotes N] [--in-flight N]

Serves ``python -m yangguang_sdk.sandbox`` from TREE (its own copy of the package, via PYTHONPATH)
on a free loopback port, warms it up, then sends N quotes over raw ``httpx.AsyncClient`` with a
bounded number in flight, spread over 8 tenants. Run it on two trees one after the other, in the
same minute, and compare the two figures (e.g. main against ``git worktree add /tmp/old <commit>``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _quote(i: int, due: str) -> dict[str, Any]:
    return {
        "product": "consumer_installment",
        "merchant_order_id": f"AB-{i}",
        "borrower": {
            "type": "individual",
            "name": "张三",
            "id_number": "11010519491231002X",
            "credit_score": 720,
        },
        "loan": {
            "principal": {"amount": 300000, "currency": "CNY"},
            "term_months": 6,
            "annual_rate": "0.10",
            "first_due_date": due,
        },
    }


async def _run(port: int, quotes: int, in_flight: int) -> float:
    due = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    gate = asyncio.Semaphore(in_flight)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:

        async def one(i: int) -> None:
            async with gate:
                response = await client.post(
                    "/v1/quotes",
                    json=_quote(i, due),
                    headers={"authorization": f"Bearer yg_test_ab_{i % 8:04d}"},
                )
                response.raise_for_status()

        await asyncio.gather(*(one(i) for i in range(50)))  # warm-up
        began = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(quotes)))
        return quotes / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("tree")
    parser.add_argument("db", nargs="?")
    parser.add_argument("--quotes", type=int, default=1500)
    parser.add_argument("--in-flight", type=int, default=32)
    args = parser.parse_args()
    port = _free_port()
    command = [sys.executable, "-m", "yangguang_sdk.sandbox", "--port", str(port)]
    if args.db:
        command += ["--db", args.db]
    env = {**os.environ, "PYTHONPATH": args.tree}
    server = subprocess.Popen(
        command, cwd=args.tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        rate = asyncio.run(_run(port, args.quotes, args.in_flight))
        print(f"{args.tree} (db={args.db or 'memory'}): {rate:,.0f} quotes/s")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
