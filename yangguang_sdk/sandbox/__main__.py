"""``python -m yangguang_sdk.sandbox --port 8765 [--db FILE|URL] [--clock realtime] [--workers N]``:
serve the sandbox over HTTP on loopback. Webhooks are delivered over HTTP to each endpoint's URL."""

from __future__ import annotations

import argparse
import sys

from . import Sandbox, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yangguang_sdk.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--db", default=None, help="SQLite file or postgresql:// URL to keep state in (default: memory)"
    )
    parser.add_argument("--clock", choices=["manual", "realtime"], default="manual")
    parser.add_argument(
        "--allow-private-endpoints",
        action="store_true",
        help="served beyond loopback, still deliver webhooks to loopback and private addresses",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes on the one port (above 1: PostgreSQL only)"
    )
    parser.add_argument("--write-openapi", metavar="PATH", help="write the OpenAPI document and exit")
    args = parser.parse_args(argv)

    if args.write_openapi:
        from .app import openapi_json

        sb = Sandbox()
        with open(args.write_openapi, "w", encoding="utf-8") as fh:
            fh.write(openapi_json(sb.app))
        sb.close()
        return 0

    try:
        serve(
            host=args.host,
            port=args.port,
            db=args.db,
            clock=args.clock,
            allow_private_endpoints=args.allow_private_endpoints,
            workers=args.workers,
        )
    except OSError as exc:
        print(f"error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a ParameterError: --workers without PostgreSQL
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
