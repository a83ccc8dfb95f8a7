"""The sandbox's web dashboard (DESIGN §7.9): one tenant's insurer, seen and steered in a browser.

Served at ``/dashboard`` by the sandbox app (``app.py`` includes ``dashboard_router``). Pages are
rendered on the server from the Jinja2 templates beside this module, styled by the vendored
``static/dashboard.css``; no script, so every page reads and works with JavaScript off.

- Sign-in: a pasted test key, kept in an HttpOnly, SameSite=Strict cookie whose path is
  ``/dashboard``; it is checked on every request by the API's own rule (``app.key_problem``) and is
  never written into a page, a URL or a log line.
- Every form that changes something carries a CSRF token, HMAC-SHA256 of the cookie under a server
  secret kept in the sandbox's store (so every worker on one database agrees); a POST without the
  right token is answered 403 and does nothing.
- Reads and actions are the engine's and the delivery worker's own methods, the very calls the
  API's routes make; the tenant is the key, so another tenant's ids are simply not found (404).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from ...types._validation import describe_validation_error
from ...types.event_type import event_catalog
from ...types.webhook_endpoint import WebhookEndpointRecoverParams
from ..app import ClockAdvanceParams, error_status, key_problem
from ..delivery import DeliveryWorker
from ..engine import Engine
from ..errors import SandboxError

__all__ = ["CSRF_FIELD", "COOKIE", "PREFIX", "csrf_token", "dashboard_router", "money"]

PREFIX = "/dashboard"
COOKIE = "yg_dashboard_key"
"""The cookie holding the signed-in test key (HttpOnly, SameSite=Strict, Path=/dashboard)."""
CSRF_FIELD = "csrf_token"
"""The hidden form field every state-changing POST carries."""
ADVANCE_DAYS = (1, 30, 365)
"""The clock page's one-press advances, in days."""
PAGE = 50
"""Rows per page of each list."""
_HERE = Path(__file__).resolve().parent
_SECRET_TABLE, _SECRET_OWNER, _SECRET_KEY = "dashboard", "", "csrf_secret"
_DONE = re.compile(r"[A-Za-z0-9_ ]{1,100}")
_CSS = (_HERE / "static" / "dashboard.css").read_bytes()

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def money(value: Mapping[str, Any] | None) -> str:
    """A wire Money (integer fen) as ``¥1,234.56``, by integer arithmetic."""
    if value is None:
        return "—"
    fen = int(value["amount"])
    sign, fen = ("−", -fen) if fen < 0 else ("", fen)
    symbol = "¥" if value.get("currency", "CNY") == "CNY" else f"{value['currency']} "
    return f"{sign}{symbol}{fen // 100:,}.{fen % 100:02d}"


_templates.filters["money"] = money


def csrf_token(secret: bytes, cookie: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 of its cookie under the server secret."""
    return hmac.new(secret, cookie.encode("utf-8"), hashlib.sha256).hexdigest()


class _Page(Exception):
    """An answer that ends a request early: a status and a message, rendered as the error page."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def dashboard_router(engine: Engine, webhooks: DeliveryWorker) -> APIRouter:
    """The dashboard's routes over ``engine`` and ``webhooks`` (kept out of the OpenAPI document)."""
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    cached: list[bytes] = []

    def secret() -> bytes:
        """The server secret, made once per store and shared by every process on it."""
        if not cached:
            with engine.atomic(_SECRET_OWNER):
                record = engine.get_record(_SECRET_TABLE, _SECRET_OWNER, _SECRET_KEY)
                if record is None:
                    record = {"secret": secrets.token_hex(32)}
                    engine.put_record(_SECRET_TABLE, _SECRET_OWNER, _SECRET_KEY, record)
            cached.append(bytes.fromhex(record["secret"]))
        return cached[0]

    def signed_in(request: Request) -> str | None:
        """The tenant of the request's cookie, checked now; None if there is none or it is refused."""
        key = request.cookies.get(COOKIE)
        if not key or key_problem(key) is not None:
            return None
        return key

    def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        tenant = signed_in(request)
        html = _templates.get_template(name).render(
            prefix=PREFIX,
            csrf_field=CSRF_FIELD,
            csrf=csrf_token(secret(), tenant) if tenant else "",
            signed_in=tenant is not None,
            now=engine.clock(tenant)["now"] if tenant else None,
            **{"done": done(request), **context},
        )
        response = HTMLResponse(html, status_code=status)
        response.headers["cache-control"] = "no-store"
        response.headers["x-frame-options"] = "DENY"
        response.headers["referrer-policy"] = "no-referrer"
        response.headers["content-security-policy"] = (
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        )
        return response

    def guarded(view: Callable[..., Response], request: Request, *args: Any) -> Response:
        """``view``, with a refusal or an engine error rendered as the error page."""
        try:
            return view(request, *args)
        except _Page as exc:
            return render(request, "error.html", exc.status, title=exc.title, message=exc.message)
        except SandboxError as exc:
            status = error_status(exc)
            title = "Not found" if status == 404 else "Refused"
            return render(request, "error.html", status, title=title, message=exc.message)

    def page(view: Callable[[Request, str], Response]) -> Callable[[Request], Any]:
        """A page for a signed-in tenant (the sign-in page otherwise), run in the thread pool as the
        API's sync routes are (engine calls block)."""

        async def handler(request: Request) -> Response:
            tenant = signed_in(request)
            if tenant is None:
                return RedirectResponse(f"{PREFIX}/login", status_code=303)
            return await run_in_threadpool(guarded, view, request, tenant)

        return handler

    def action(view: Callable[[Request, str, dict[str, str]], Response]) -> Callable[[Request], Any]:
        """A form POST: signed in, its CSRF token checked (403 otherwise, nothing done), then ``view``."""

        async def handler(request: Request) -> Response:
            tenant = signed_in(request)
            if tenant is None:
                return RedirectResponse(f"{PREFIX}/login", status_code=303)
            form = await read_form(request)
            return await run_in_threadpool(guarded, checked(view), request, tenant, form)

        return handler

    def checked(
        view: Callable[[Request, str, dict[str, str]], Response],
    ) -> Callable[[Request, str, dict[str, str]], Response]:
        def run(request: Request, tenant: str, form: dict[str, str]) -> Response:
            if not hmac.compare_digest(
                form.get(CSRF_FIELD, "").encode(), csrf_token(secret(), tenant).encode()
            ):
                raise _Page(
                    403,
                    "Refused",
                    "This form's security token is missing or wrong: reload the page and try again.",
                )
            return view(request, tenant, form)

        return run

    def back(path: str, **query: str) -> RedirectResponse:
        """After an action: see the page that shows its effect (303, so a reload does not repeat it)."""
        return RedirectResponse(PREFIX + path + (f"?{urlencode(query)}" if query else ""), status_code=303)

    def paging(request: Request) -> dict[str, Any]:
        after = request.query_params.get("after") or None
        if after is not None and len(after) > 64:
            raise _Page(422, "Refused", "after: at most 64 characters")
        return {"limit": PAGE, "starting_after": after}

    # -- sign-in -------------------------------------------------------------------------------
    @router.get("/static/dashboard.css")
    async def stylesheet() -> Response:
        return Response(_CSS, media_type="text/css", headers={"cache-control": "max-age=3600"})

    @router.get("/login")
    def login_form(request: Request) -> Response:  # sync: FastAPI runs it in the thread pool
        return render(request, "login.html", error=None)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await read_form(request)
        key = form.get("key", "").strip()
        problem = key_problem(key) if key else "Paste a test key (yg_test_...)."
        if problem is not None:
            return await run_in_threadpool(render, request, "login.html", 401, error=problem)
        response = RedirectResponse(PREFIX, status_code=303)
        response.set_cookie(COOKIE, key, path=PREFIX, httponly=True, samesite="strict")
        return response

    def logout(request: Request, tenant: str, form: dict[str, str]) -> Response:
        response = RedirectResponse(f"{PREFIX}/login", status_code=303)
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response

    # -- reading ---------------------------------------------------------------------------------
    def overview(request: Request, tenant: str) -> HTMLResponse:
        return render(
            request,
            "overview.html",
            advance_days=ADVANCE_DAYS,
            policies=engine.list_policies(tenant, limit=5)["data"],
            claims=engine.list_claims(tenant, limit=5)["data"],
            events=engine.list_events(tenant, limit=5)["data"],
        )

    def quotes(request: Request, tenant: str) -> HTMLResponse:
        return render(request, "quotes.html", page=engine.list_quotes(tenant, **paging(request)))

    def quote(request: Request, tenant: str) -> HTMLResponse:
        return render(request, "quote.html", quote=engine.get_quote(tenant, request.path_params["quote_id"]))

    def policies(request: Request, tenant: str) -> HTMLResponse:
        return render(request, "policies.html", page=engine.list_policies(tenant, **paging(request)))

    def policy(request: Request, tenant: str) -> HTMLResponse:
        found = engine.get_policy(tenant, request.path_params["policy_id"])
        money_moves = engine.list_balance_transactions(tenant, policy_id=found["id"], limit=100)["data"]
        endorsements = [
            event["endorsement"]
            for event in all_events(tenant, "policy.endorsed")
            if event["data"]["id"] == found["id"] and "endorsement" in event
        ]
        return render(
            request,
            "policy.html",
            policy=found,
            money_moves=money_moves,
            endorsements=endorsements,
        )

    def all_events(tenant: str, type_: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            batch = engine.list_events(tenant, type=type_, limit=100, starting_after=cursor)
            found.extend(batch["data"])
            if not batch["has_more"]:
                return found
            cursor = batch["data"][-1]["id"]

    def claims(request: Request, tenant: str) -> HTMLResponse:
        return render(request, "claims.html", page=engine.list_claims(tenant, **paging(request)))

    def events(request: Request, tenant: str) -> HTMLResponse:
        types = [entry["type"] for entry in event_catalog()]
        chosen = request.query_params.get("type") or None
        if chosen is not None and chosen not in types:
            raise _Page(422, "Refused", "type: not an event type of the catalog")
        return render(
            request,
            "events.html",
            types=types,
            chosen=chosen,
            page=engine.list_events(tenant, type=chosen, **paging(request)),
        )

    def event(request: Request, tenant: str) -> HTMLResponse:
        found = engine.get_event(tenant, request.path_params["event_id"])
        return render(request, "event.html", event=found)

    def endpoints(request: Request, tenant: str) -> HTMLResponse:
        return render(request, "endpoints.html", page=webhooks.list_endpoints(tenant, limit=100))

    def endpoint(request: Request, tenant: str) -> HTMLResponse:
        endpoint_id = request.path_params["endpoint_id"]
        found = webhooks.get_endpoint(tenant, endpoint_id)
        after = paging(request)["starting_after"]
        attempts = webhooks.list_attempts(tenant, endpoint_id, limit=100, starting_after=after)
        return render(
            request,
            "endpoint.html",
            endpoint=found,
            page=attempts,
        )

    def statement(request: Request, tenant: str) -> HTMLResponse:
        month = request.query_params.get("month") or engine.clock(tenant)["now"][:7]
        if len(month) > 16:
            raise _Page(422, "Refused", "month: a UTC calendar month YYYY-MM")
        return render(request, "statement.html", month=month, statement=engine.get_statement(tenant, month))

    # -- acting ----------------------------------------------------------------------------------
    def advance(request: Request, tenant: str, form: dict[str, str]) -> Response:
        try:
            params = ClockAdvanceParams(days=int(form.get("days", "")))
        except (ValueError, ValidationError) as exc:
            message = (
                str(describe_validation_error(exc))
                if isinstance(exc, ValidationError)
                else "days: a whole number"
            )
            raise _Page(422, "Refused", message) from None
        if not params.days:
            raise _Page(422, "Refused", "days: give a number of days greater than zero")
        engine.advance(tenant, dt.timedelta(days=params.days))
        return back("", done=f"advanced {params.days} days")

    def redeliver(request: Request, tenant: str, form: dict[str, str]) -> Response:
        event_id = request.path_params["event_id"]
        endpoint_id = form.get("endpoint_id")
        if endpoint_id:
            webhooks.get_endpoint(tenant, endpoint_id)  # where to go back to: this tenant's, or 404
        webhooks.redeliver(tenant, event_id)
        if endpoint_id:
            return back(f"/endpoints/{endpoint_id}", done=f"{event_id} scheduled again")
        return back(f"/events/{event_id}", done="scheduled again")

    def enable(request: Request, tenant: str, form: dict[str, str]) -> Response:
        endpoint_id = request.path_params["endpoint_id"]
        webhooks.enable(tenant, endpoint_id)
        return back(f"/endpoints/{endpoint_id}", done="enabled")

    def send_test(request: Request, tenant: str, form: dict[str, str]) -> Response:
        endpoint_id = request.path_params["endpoint_id"]
        sent = webhooks.send_test(tenant, endpoint_id)
        return back(f"/endpoints/{endpoint_id}", done=f"test event {sent['id']} sent")

    def recover(request: Request, tenant: str, form: dict[str, str]) -> Response:
        endpoint_id = request.path_params["endpoint_id"]
        try:
            params = WebhookEndpointRecoverParams.model_validate(
                {"since": form.get("since", ""), "until": form.get("until") or None}
            )
        except ValidationError as exc:
            raise _Page(422, "Refused", str(describe_validation_error(exc))) from None
        result = webhooks.recover(tenant, endpoint_id, params)
        return back(f"/endpoints/{endpoint_id}", done=f"{result['recovered']} events scheduled again")

    router.add_api_route("", page(overview), methods=["GET"])
    router.add_api_route("/quotes", page(quotes), methods=["GET"])
    router.add_api_route("/quotes/{quote_id}", page(quote), methods=["GET"])
    router.add_api_route("/policies", page(policies), methods=["GET"])
    router.add_api_route("/policies/{policy_id}", page(policy), methods=["GET"])
    router.add_api_route("/claims", page(claims), methods=["GET"])
    router.add_api_route("/events", page(events), methods=["GET"])
    router.add_api_route("/events/{event_id}", page(event), methods=["GET"])
    router.add_api_route("/endpoints", page(endpoints), methods=["GET"])
    router.add_api_route("/endpoints/{endpoint_id}", page(endpoint), methods=["GET"])
    router.add_api_route("/statement", page(statement), methods=["GET"])
    router.add_api_route("/logout", action(logout), methods=["POST"])
    router.add_api_route("/clock/advance", action(advance), methods=["POST"])
    router.add_api_route("/events/{event_id}/redeliver", action(redeliver), methods=["POST"])
    router.add_api_route("/endpoints/{endpoint_id}/enable", action(enable), methods=["POST"])
    router.add_api_route("/endpoints/{endpoint_id}/send_test", action(send_test), methods=["POST"])
    router.add_api_route("/endpoints/{endpoint_id}/recover", action(recover), methods=["POST"])
    return router


def done(request: Request) -> str | None:
    """The note an action's redirect carries (``?done=``), shown only if it reads like one of ours
    (words, digits, ids), so a crafted link cannot put a message of its own on the page."""
    note = request.query_params.get("done")
    return note if note is not None and _DONE.fullmatch(note) else None


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form's fields, the first value of each (the sandbox's body limit applies)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}
