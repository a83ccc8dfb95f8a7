"""A merchant's webhook receiver goes down for four days, then recovers the events it missed.

Run it with ``python examples/webhook_outage.py``. The sandbox insurer runs in this process and
delivers to the receiver through a WSGI transport; its clock moves only when the story says so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

import yangguang_sdk as yg
from yangguang_sdk.sandbox import Sandbox
from yangguang_sdk.webhooks import SQLiteInbox, WebhookHandler

START = dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc)
BORROWER = {"type": "individual", "name": "张三", "id_number": "11010519491231002X", "credit_score": 720}


class Receiver:
    """The merchant's WSGI app: a WebhookHandler, unless the server is down (503 to everything)."""

    def __init__(self) -> None:
        self.handler: WebhookHandler | None = None
        self.down = False

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.down or self.handler is None:
            start_response("503 Service Unavailable", [("content-length", "0")])
            return [b""]
        return self.handler.wsgi_app(environ, start_response)


def bind(client: yg.Client, order: str) -> str:
    quote = client.quotes.create(
        product="consumer_installment",
        merchant_order_id=order,
        borrower=BORROWER,
        loan={
            "principal": yg.Money.cny("12999.00"),
            "term_months": 12,
            "annual_rate": "0.12",
            "first_due_date": "2026-12-25",
        },
    )
    return client.policies.bind(consent=yg.consent(client, reference=f"CR-{order}"), quote_id=quote.id).id


def main(inbox_path: str = "outage_inbox.db") -> None:
    receiver = Receiver()
    sandbox = Sandbox(now=START, webhook_transport=httpx.WSGITransport(app=receiver.wsgi))
    client = sandbox.client()
    endpoint = client.webhook_endpoints.create(url="https://shop.example/webhooks", signing="hmac-sha256")
    assert endpoint.secret is not None
    processed: list[str] = []
    with SQLiteInbox(inbox_path) as inbox:
        inbox_handler = WebhookHandler(sandbox.webhook(endpoint.secret), inbox=inbox)
        receiver.handler = inbox_handler

        @inbox_handler.on("*")
        def record(event: Any) -> None:
            processed.append(f"{event.type} {event.id}")

        test = client.webhook_endpoints.send_test(endpoint.id)
        print(f"test delivery {test.id} ({test.type}) processed: {processed == [f'{test.type} {test.id}']}")

        bind(client, "ORD-1")
        print(f"before the outage the shop processed {len(processed)} events")

        receiver.down = True
        outage_began = client.test_clock.retrieve().now
        bind(client, "ORD-2")  # delivered while the receiver is down: every attempt fails
        client.test_clock.advance(days=4)  # past the retry schedule (about three days)
        status = client.webhook_endpoints.retrieve(endpoint.id)
        print(f"after four days down the endpoint is {status.status} ({status.disabled_reason})")
        bind(client, "ORD-3")  # the insurer no longer tries a disabled endpoint

        receiver.down = False
        client.webhook_endpoints.enable(endpoint.id)
        recovered = client.webhook_endpoints.recover(endpoint.id, since=outage_began)
        print(f"enabled again; recover sent {recovered} missed events")
        again = client.webhook_endpoints.recover(endpoint.id, since=START)
        print(f"a second recovery from the start finds {again} to send")
        counts: dict[str, int] = {}
        for line in processed:
            counts[line] = counts.get(line, 0) + 1
        print(f"the shop processed {len(processed)} events, each once: {set(counts.values()) == {1}}")
        for line in processed:
            print("  " + line)
    client.close()
    sandbox.close()


if __name__ == "__main__":
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        main(str(Path(tmp) / "outage_inbox.db"))
