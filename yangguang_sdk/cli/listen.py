"""``yangguang listen``: follow the insurer's event list and forward each event to a local URL.

Each event is POSTed as a Standard Webhooks delivery (``webhook-id``, ``webhook-timestamp``,
``webhook-signature: v1,...``) signed with a local ``whsec_`` secret, so the receiver under
development verifies it with ``Webhook(secret)`` exactly as it will verify the insurer's deliveries.

Where it stands is kept in a state file (by default ``~/.config/yangguang/listen.json``): per base
URL and API key *hash* (never the key), the signing secret and the id of the last event handled.
The position is saved after every event, so a restart neither repeats nor loses one.

The command (options, messages, exit codes) is ``listen`` at the end; the working parts above it
take a client and callbacks, so they can be tested without a terminal.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import typer

from .._version import __version__
from ..errors import APIConnectionError, APIStatusError, InternalServerError, RateLimitError
from ._common import (
    EXIT_ERROR,
    EXIT_PARTIAL,
    EXIT_USAGE,
    ApiKeyOption,
    BaseUrlOption,
    CLIError,
    closest,
    command,
    make_client,
    one_line,
    resolve_credentials,
)

if TYPE_CHECKING:
    from .. import Client

__all__ = [
    "listen",
    "EPILOG",
    "STATE_ENV",
    "RETRY_DELAYS",
    "default_state_path",
    "key_hash",
    "ListenState",
    "Forwarder",
    "Outcome",
    "Totals",
    "follow",
]

STATE_ENV = "YANGGUANG_LISTEN_STATE"
RETRY_DELAYS = (0.5, 1.0, 2.0)
"""Seconds to wait before each retry of a failed forward: 4 attempts over 3.5 s, then move on."""
FORWARD_TIMEOUT = 10.0
PAGE_LIMIT = 100
STATE_VERSION = 1


def default_state_path() -> Path:
    """``$YANGGUANG_LISTEN_STATE``, else ``$XDG_CONFIG_HOME/yangguang/listen.json``, else
    ``~/.config/yangguang/listen.json``."""
    if os.environ.get(STATE_ENV):
        return Path(os.environ[STATE_ENV])
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "yangguang" / "listen.json"


def key_hash(api_key: str) -> str:
    """The first 16 hex digits of the key's SHA-256: tells keys apart, cannot be used as one."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


# -- the state file ----------------------------------------------------------------------------------
@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path.lock`` while the state is read and rewritten (POSIX; elsewhere
    two listeners must not share a state file)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path.with_name(path.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class ListenState:
    """One profile (base URL + API key hash) of the state file: its secret and its position.

    Several profiles share the file; each update re-reads it under a lock and replaces it
    atomically (write a temporary file, then rename), so a crash never leaves half a file.
    The file holds a signing secret: it is created readable by its owner only.
    """

    def __init__(self, path: Path, base_url: str, api_key: str) -> None:
        self.path = path
        self.base_url = base_url.rstrip("/")
        self.key_hash = key_hash(api_key)
        self.profile_id = f"{self.base_url} {self.key_hash}"

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"version": STATE_VERSION, "profiles": {}}
        except OSError as exc:
            raise CLIError(f"cannot read the listen state {self.path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
                raise ValueError("no profiles")
        except ValueError:
            raise CLIError(
                f"the listen state {self.path} is damaged; delete it (a new secret will be made) "
                "or pass another --state FILE",
                EXIT_ERROR,
            ) from None
        return data

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".listen-", dir=self.path.parent)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2, sort_keys=True)
                fh.write("\n")
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def profile(self) -> dict[str, Any]:
        """This profile, created (with a new ``whsec_`` secret) on first use."""
        from ..webhooks import generate_hmac_secret

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with _locked(self.path):
            data = self._read()
            profile = data["profiles"].get(self.profile_id)
            if isinstance(profile, dict) and isinstance(profile.get("secret"), str):
                return dict(profile)
            profile = {
                "base_url": self.base_url,
                "key_sha256": self.key_hash,
                "secret": generate_hmac_secret(),
                "last_event_id": None,
                "updated_at": _utc_now(),
            }
            data["profiles"][self.profile_id] = profile
            self._write(data)
            return dict(profile)

    def save_position(self, event_id: str | None) -> None:
        """Remember ``event_id`` as the last event handled (None: start from the oldest next time)."""
        with _locked(self.path):
            data = self._read()
            profile = data["profiles"].setdefault(self.profile_id, {})
            profile["last_event_id"] = event_id
            profile["updated_at"] = _utc_now()
            self._write(data)


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- forwarding ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """How forwarding one event went."""

    event_id: str
    type: str
    ok: bool
    status: int | None
    detail: str
    attempts: int

    def line(self, when: dt.datetime | None = None) -> str:
        """``2026-11-25 20:51:03  policy.bound          evt_...  -> 200``"""
        stamp = (when or dt.datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
        text = f"{stamp}  {self.type:<20}  {self.event_id}  -> {self.detail}"
        if self.ok and self.attempts > 1:
            text += f" (attempt {self.attempts})"
        if not self.ok:
            text += f", gave up after {self.attempts} attempts"
        return text


class Forwarder:
    """POSTs events to one URL, signed with a ``whsec_`` secret, retrying a failed forward."""

    def __init__(
        self,
        url: str,
        secret: str,
        *,
        retry_delays: tuple[float, ...] | None = None,
        timeout: float = FORWARD_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        from ..webhooks import Webhook

        self.url = url
        self._webhook = Webhook(secret)
        self._delays = RETRY_DELAYS if retry_delays is None else retry_delays
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)

    def forward(self, event: dict[str, Any]) -> Outcome:
        event_id, kind = str(event.get("id", "")), str(event.get("type", ""))
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        attempts, status, detail = 0, None, ""
        for delay in (*self._delays, None):
            attempts += 1
            headers = {
                **self._webhook.build_headers(event_id, body),  # signed per attempt, at the time sent
                "content-type": "application/json",
                "user-agent": f"yangguang-cli/{__version__} (listen)",
            }
            try:
                response = self._http.post(self.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                status, detail = None, _describe_transport_error(exc)
            else:
                status = response.status_code
                detail = f"{status} {response.reason_phrase}".strip()
                if 200 <= status < 300:
                    return Outcome(event_id, kind, True, status, detail, attempts)
            if delay is not None:
                self._sleep(delay)
        return Outcome(event_id, kind, False, status, detail, attempts)

    def close(self) -> None:
        self._http.close()


def _describe_transport_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "connection refused (is your app running?)"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {FORWARD_TIMEOUT:g} s"
    return one_line(f"{type(exc).__name__}: {exc}") or type(exc).__name__


# -- following the event list ------------------------------------------------------------------------------
@dataclass
class Totals:
    forwarded: int = 0
    failed: int = 0
    skipped: int = 0
    last_event_id: str | None = None


def _fetch(client: Client, cursor: str | None) -> tuple[list[dict[str, Any]], bool]:
    """One page of ``client.events.list`` after ``cursor``, the events as the raw JSON objects the API
    sent (forwarded as they are, not re-serialised from models)."""
    page = client.raw_page("/v1/events", query={"limit": PAGE_LIMIT}, starting_after=cursor)
    return list(page.data), page.has_more


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, (APIConnectionError, InternalServerError, RateLimitError))


def skip_to_end(client: Client, cursor: str | None) -> tuple[str | None, int]:
    """The id of the newest event (and how many were passed over), without forwarding any."""
    passed = 0
    while True:
        events, has_more = _fetch(client, cursor)
        if events:
            cursor = events[-1]["id"]
            passed += len(events)
        if not has_more:
            return cursor, passed


def follow(
    client: Client,
    state: ListenState,
    forwarder: Forwarder,
    *,
    cursor: str | None,
    wanted: frozenset[str] | None,
    once: bool,
    interval: float,
    say: Callable[[str], None],
    warn: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> Totals:
    """Forward every event after ``cursor`` (of the ``wanted`` types), saving the position after each.

    With ``once``, stop when the list is exhausted; otherwise poll every ``interval`` seconds. While
    following, an unreachable or failing server is waited out; with ``once`` it is an error.
    """
    totals = Totals(last_event_id=cursor)
    outage = 0
    while True:
        try:
            events, has_more = _fetch(client, cursor)
        except APIStatusError as exc:
            if exc.code == "invalid_cursor" and cursor is not None:
                warn(
                    f"the saved position {cursor} is unknown to {state.base_url} (was the sandbox "
                    "reset?); starting from its oldest event"
                )
                cursor = None
                state.save_position(None)
                continue
            if once or not _transient(exc):
                raise
            outage = _wait_out(exc, outage, warn, sleep)
            continue
        except APIConnectionError as exc:
            if once:
                raise
            outage = _wait_out(exc, outage, warn, sleep)
            continue
        if outage:
            warn("the event list is reachable again; carrying on")
            outage = 0
        for event in events:
            if wanted is None or event.get("type") in wanted:
                outcome = forwarder.forward(event)
                say(outcome.line())
                if outcome.ok:
                    totals.forwarded += 1
                else:
                    totals.failed += 1
            else:
                totals.skipped += 1
            cursor = str(event["id"])
            state.save_position(cursor)
            totals.last_event_id = cursor
        if has_more:
            continue
        if once:
            return totals
        sleep(interval)


def _wait_out(
    exc: BaseException, outage: int, warn: Callable[[str], None], sleep: Callable[[float], None]
) -> int:
    if outage == 0:
        warn(f"cannot list events ({one_line(exc)}); retrying until it answers")
    sleep(min(1.0 * 2**outage, 15.0))
    return outage + 1


# -- the command -----------------------------------------------------------------------------------
EPILOG = (
    "Examples:\n\n"
    "  yangguang listen --forward-to http://localhost:8000/webhooks\n"
    "  yangguang listen -f http://localhost:8000/webhooks -e claim.paid,claim.opened\n"
    "  # forward what is there now, then exit (scripts, tests)\n"
    "  yangguang listen -f http://localhost:8000/webhooks --once\n"
    "  # the secret alone, for your app's configuration\n"
    "  yangguang listen --print-secret\n\n"
    "Exit codes: 0 ok, 1 API or runtime error, 2 usage error, 3 partial failure."
)


def _event_types(text: str | None) -> frozenset[str] | None:
    if not text:
        return None
    from ..types.event import EVENT_TYPES

    wanted = frozenset(t.strip() for t in text.split(",") if t.strip())
    unknown = sorted(wanted - set(EVENT_TYPES))
    if unknown:
        hints = [
            f"{name} (did you mean {meant}?)" if (meant := closest(name, list(EVENT_TYPES))) else name
            for name in unknown
        ]
        raise CLIError(
            f"unknown event type(s) {', '.join(hints)}; known: {', '.join(EVENT_TYPES)}", EXIT_USAGE
        )
    return wanted or None


@command
def listen(
    forward_to: Annotated[
        str | None,
        typer.Option("--forward-to", "-f", metavar="URL", help="Your app's webhook URL."),
    ] = None,
    events: Annotated[
        str | None,
        typer.Option("--events", "-e", metavar="TYPES", help="Comma-separated event types (default: all)."),
    ] = None,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    state: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            envvar=STATE_ENV,
            show_envvar=True,
            help="State file (default: ~/.config/yangguang/listen.json).",
        ),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Forward the events there are now, then exit.")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.05, metavar="SECONDS", help="Seconds between polls of the event list.")
    ] = 1.0,
    skip_past: Annotated[
        bool,
        typer.Option(
            "--skip-past", help="With no saved position, start after the newest event, not the oldest."
        ),
    ] = False,
    reset: Annotated[bool, typer.Option("--reset", help="Forget the saved position first.")] = False,
    print_secret: Annotated[
        bool, typer.Option("--print-secret", help="Print the signing secret and exit.")
    ] = False,
) -> None:
    """Forward the API's events to a local URL as signed webhooks (like `stripe listen`).

    Follows the event list and POSTs each event to --forward-to as a Standard Webhooks delivery signed with a local whsec_ secret, printed at start: verify it in your app with Webhook(secret).

    The secret and the position (the last event handled) are kept in a state file per base URL and API key hash (never the key), so a restart neither repeats nor loses an event. The first run starts from the oldest event (--skip-past: from the next one).

    A failed forward (connection error or non-2xx answer) is retried 3 times, after 0.5, 1 and 2 s, then reported and passed over. One line per delivery: time, event type, event id, status.
    """
    creds = resolve_credentials(api_key, base_url)
    wanted = _event_types(events)
    if not print_secret:
        if not forward_to:
            raise CLIError("give --forward-to URL (your app's webhook endpoint)", EXIT_USAGE)
        if not forward_to.startswith(("http://", "https://")):
            raise CLIError(f"--forward-to must be an http:// or https:// URL, got {forward_to!r}", EXIT_USAGE)
    store = ListenState(state or default_state_path(), creds.base_url, creds.api_key)
    profile = store.profile()
    secret: str = profile["secret"]
    if print_secret:
        typer.echo(secret)
        return
    assert forward_to is not None
    client = make_client(creds)
    say = typer.echo

    def warn(text: str) -> None:
        typer.echo(text, err=True)

    cursor: str | None = None if reset else profile.get("last_event_id")
    if reset:
        store.save_position(None)
    warn(f"Forwarding events from {creds.base_url} to {forward_to}" + ("" if once else " (Ctrl-C to stop)"))
    warn(f"Webhook signing secret: {secret}  (kept in {store.path})")
    if cursor is None and skip_past:
        cursor, passed = skip_to_end(client, None)
        store.save_position(cursor)
        warn(f"Skipped {passed} past events; forwarding what comes next")
    elif cursor is not None:
        warn(f"Resuming after {cursor}")
    else:
        warn("Starting from the oldest event")
    forwarder = Forwarder(forward_to, secret)
    try:
        totals = follow(
            client,
            store,
            forwarder,
            cursor=cursor,
            wanted=wanted,
            once=once,
            interval=interval,
            say=say,
            warn=warn,
        )
    except KeyboardInterrupt:
        warn("Stopped; the position is saved.")
        return
    finally:
        forwarder.close()
        client.close()
    warn(
        f"Forwarded {totals.forwarded} events, {totals.failed} failed"
        + (f", {totals.skipped} not in --events" if totals.skipped else "")
        + (f"; position saved after {totals.last_event_id}" if totals.last_event_id else "")
    )
    if totals.failed:
        raise CLIError(f"{totals.failed} event(s) could not be forwarded (see the lines above)", EXIT_PARTIAL)
