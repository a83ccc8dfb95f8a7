"""A SQLite sandbox keeps its endpoints, their keys, the attempt log and pending retries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from yangguang_sdk.sandbox import Sandbox

from .conftest import START, Receiver, bind

URL = "https://merchant.example/webhooks"


def test_reopening_a_sqlite_sandbox_keeps_endpoints_and_pending_retries(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.sqlite")
    down = Receiver(script=[500])
    with Sandbox(db, now=START, webhook_transport=down) as sb:
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL)
        rotated_away = client.webhook_endpoints.create(url=URL + "/2", events=["policy.cancelled"])
        client.webhook_endpoints.delete(rotated_away.id)
        bind(client)
        assert len(down.deliveries) == 1  # attempt 1 failed; attempt 2 is due in 5 s

    up = Receiver()
    with Sandbox(db, webhook_transport=up) as sb:
        client = sb.client()
        assert [e.id for e in client.webhook_endpoints.list()] == [endpoint.id]
        assert client.webhook_endpoints.retrieve(endpoint.id).status == "enabled"
        assert up.deliveries == []

        client.test_clock.advance(minutes=1)

        (retry,) = up.deliveries
        assert retry.id == down.deliveries[0].id and retry.body == down.deliveries[0].body
        assert endpoint.secret is not None
        sb.webhook(endpoint.secret).verify(retry.body, retry.headers)  # the signing key survived
        attempts = list(client.webhook_endpoints.attempts(endpoint.id))
        assert [(a.attempt, a.succeeded) for a in attempts] == [(1, False), (2, True)]
        assert attempts[1].at == START + dt.timedelta(seconds=5)


def test_a_rotation_grace_survives_a_reopen(tmp_path: Path) -> None:
    db = str(tmp_path / "sandbox.sqlite")
    first = Receiver()
    with Sandbox(db, now=START, webhook_transport=first) as sb:
        client = sb.client()
        endpoint = client.webhook_endpoints.create(url=URL, signing="hmac-sha256")
        bind(client)
        new = client.webhook_endpoints.rotate_secret(endpoint.id).secret
    event_id = first.deliveries[0].id

    again = Receiver()
    with Sandbox(db, webhook_transport=again) as sb:
        client = sb.client()
        client.events.redeliver(event_id)
        assert endpoint.secret is not None and new is not None
        for secret in (endpoint.secret, new):
            sb.webhook(secret).verify(again.deliveries[-1].body, again.deliveries[-1].headers)
