"""``yangguang endpoints list|create|enable|recover|test``: the webhook endpoints of an API key.

``create`` prints the new endpoint's secret, which the API shows this once; ``recover`` sends again
the events an endpoint missed (after an outage, once it is enabled again); ``test`` delivers a
``webhook_endpoint.test`` event to one endpoint now.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from ._common import (
    EXIT_USAGE,
    ApiKeyOption,
    BaseUrlOption,
    CLIError,
    Command,
    Group,
    command,
    make_client,
    resolve_credentials,
)

__all__ = ["endpoints_app", "EPILOG", "parse_time"]

EPILOG = (
    "Examples:\n\n"
    "  yangguang endpoints create https://example.com/webhooks --event claim.paid\n"
    "  yangguang endpoints list\n"
    "  yangguang endpoints enable whe_...\n"
    "  yangguang endpoints recover whe_... --since 2027-01-10T00:00:00Z\n"
    "  yangguang endpoints test whe_..."
)

endpoints_app = typer.Typer(
    cls=Group,
    help="Your webhook endpoints: list, create, enable, recover missed events, send a test event.",
    no_args_is_help=True,
    epilog=EPILOG,
)

EndpointId = Annotated[str, typer.Argument(metavar="ENDPOINT_ID", help="The endpoint's id (whe_...).")]


def parse_time(value: str, option: str) -> dt.datetime:
    """An ISO 8601 time with its offset (``2027-01-10T00:00:00Z``), or a date (midnight UTC)."""
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone.utc)
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CLIError(
            f"{option}: {value!r} is not a date (2027-01-10) or a time with its offset (2027-01-10T08:00:00Z)",
            EXIT_USAGE,
        ) from None
    if parsed.tzinfo is None:
        raise CLIError(f"{option}: give the time's offset, e.g. {value}Z for UTC", EXIT_USAGE)
    return parsed


@endpoints_app.command("list", cls=Command)
@command
def list_endpoints(api_key: ApiKeyOption = None, base_url: BaseUrlOption = None) -> None:
    """One line per endpoint: id, status, signing, URL and the events it subscribes to."""
    creds = resolve_credentials(api_key, base_url)
    with make_client(creds) as client:
        endpoints = list(client.webhook_endpoints.list())
    if not endpoints:
        typer.echo("no webhook endpoints")
        return
    for e in endpoints:
        status = e.status if e.status == "enabled" else f"disabled ({e.disabled_reason})"
        events = ",".join(e.events) or "all events"
        typer.echo(f"{e.id}  {status:<10}  {e.signing:<11}  {e.url}  {events}")


@endpoints_app.command("create", cls=Command)
@command
def create_endpoint(
    url: Annotated[str, typer.Argument(metavar="URL", help="Where to deliver (https://...).")],
    events: Annotated[
        list[str] | None,
        typer.Option(
            "--event", "-e", metavar="TYPE", help="An event type to receive (repeat it); all if none."
        ),
    ] = None,
    signing: Annotated[
        str, typer.Option("--signing", metavar="KIND", help="ed25519 (default) or hmac-sha256.")
    ] = "ed25519",
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Register URL for events; prints the endpoint's id and its secret, shown this once."""
    if signing not in ("ed25519", "hmac-sha256"):
        raise CLIError(f"--signing: {signing!r} is not ed25519 or hmac-sha256", EXIT_USAGE)
    creds = resolve_credentials(api_key, base_url)
    with make_client(creds) as client:
        endpoint = client.webhook_endpoints.create(url=url, events=events or (), signing=signing)  # type: ignore[arg-type]
    typer.echo(f"created {endpoint.id} for {endpoint.url} ({','.join(endpoint.events) or 'all events'})")
    typer.echo(f"secret: {endpoint.secret}")
    typer.echo("Store the secret now: it is not shown again (rotate it if it is lost).")


@endpoints_app.command("enable", cls=Command)
@command
def enable_endpoint(
    endpoint_id: EndpointId, api_key: ApiKeyOption = None, base_url: BaseUrlOption = None
) -> None:
    """Enable a disabled endpoint again; then `recover` sends the events it missed."""
    creds = resolve_credentials(api_key, base_url)
    with make_client(creds) as client:
        endpoint = client.webhook_endpoints.enable(endpoint_id)
    typer.echo(f"{endpoint.id} is {endpoint.status}")


@endpoints_app.command("recover", cls=Command)
@command
def recover_endpoint(
    endpoint_id: EndpointId,
    since: Annotated[
        str,
        typer.Option("--since", metavar="TIME", help="From this time (2027-01-10 or 2027-01-10T08:00:00Z)."),
    ],
    until: Annotated[
        str | None, typer.Option("--until", metavar="TIME", help="Up to this time (default: now).")
    ] = None,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Send again every event since TIME that the endpoint subscribes to and never received."""
    start = parse_time(since, "--since")
    end = None if until is None else parse_time(until, "--until")
    creds = resolve_credentials(api_key, base_url)
    with make_client(creds) as client:
        count = client.webhook_endpoints.recover(endpoint_id, since=start, until=end)
    typer.echo(f"{count} event{'' if count == 1 else 's'} sent again to {endpoint_id}")


@endpoints_app.command("test", cls=Command)
@command
def test_endpoint(
    endpoint_id: EndpointId, api_key: ApiKeyOption = None, base_url: BaseUrlOption = None
) -> None:
    """Deliver a webhook_endpoint.test event to the endpoint now; prints the event's id."""
    creds = resolve_credentials(api_key, base_url)
    with make_client(creds) as client:
        event = client.webhook_endpoints.send_test(endpoint_id)
    typer.echo(f"sent {event.id} ({event.type}) to {endpoint_id}")
