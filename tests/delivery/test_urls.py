"""Webhook endpoint URLs (DESIGN §7.2): what the sandbox registers, and where it connects.

- A URL must be absolute http(s), without user-info, with a valid (IDNA) host and port, else 422
  ``invalid_url`` (``http://xn--/`` used to escape as a 500).
- Where private endpoints are not allowed (a sandbox served beyond loopback), a host that is, or
  resolves to, a non-public address is 422 ``url_not_allowed``, in every spelling the resolver
  reads (``0x7f000001``, ``2130706433``, ``127.1``, ``[::ffff:127.0.0.1]``, ``localhost``), and
  every connection is checked again on the address actually connected, so DNS rebinding does not
  get round it; a refusal is a failed attempt, never a crash, and redirects are never followed.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import served_sandbox
from yangguang_sdk.sandbox import Sandbox, urls
from yangguang_sdk.sandbox.errors import Invalid
from yangguang_sdk.sandbox.urls import check_url, guarded_transport

from .conftest import START, bind

PUBLIC = "93.184.215.14"  # a public address (nothing connects to it in these tests)
_real_getaddrinfo = socket.getaddrinfo


class Receiver:
    """A loopback HTTP server recording the paths it was asked for; ``/redirect`` answers 302."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.paths.append(self.path)
                self.rfile.read(int(self.headers.get("content-length") or 0))
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("location", "/elsewhere")
                else:
                    self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST = _answer  # noqa: N815 - the stdlib's names

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> dict[str, int]:
    """Make ``socket.getaddrinfo`` answer ``answers[host]`` (one list per lookup, in turn, the last
    one repeating); other hosts resolve as usual. Returns the count of lookups per host."""
    lookups: dict[str, int] = {}

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return _real_getaddrinfo(host, port, *args, **kwargs)
        turn = lookups.get(host, 0)
        lookups[host] = turn + 1
        address = answers[host][min(turn, len(answers[host]) - 1)]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (address, int(port or 0)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


# -- check_url ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://xn--/",
        "http://xn--zz-abc/hook",
        "ftp://example.com/hook",
        "javascript:alert(1)",
        "/relative/hook",
        "http:///hook",
        "http://user:s3cr3t-pw@example.com/hook",
        "https://token@example.com/hook",
        "http://example.com:0/hook",
        "http://example.com:99999/hook",
        "http://a..b/hook",
        "http://-a.example/hook",
        "http://ex ample.com/hook",
        "http://%41.example/hook",
        "http://[fe80::1%25eth0]/hook",
        "http://[::zz]/hook",
        "http://0177.0.0.1/hook",  # httpx refuses dotted quads with leading zeros
    ],
)
@pytest.mark.parametrize("allow_private", [True, False])
def test_malformed_urls_are_invalid_url(url: str, allow_private: bool) -> None:
    with pytest.raises(Invalid) as info:
        check_url(url, allow_private=allow_private)
    assert (info.value.code, info.value.param) == ("invalid_url", "url")
    assert "s3cr3t" not in info.value.message and "token" not in info.value.message


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "http://bücher.example/hook",
        "http://xn--bcher-kva.example/hook",
        f"http://{PUBLIC}:8443/hook",
        "http://[2606:4700::1111]/hook",
        "http://hooks.example.invalid/hook",  # does not resolve now: checked at each connection
    ],
)
@pytest.mark.parametrize("allow_private", [True, False])
def test_public_urls_are_taken(url: str, allow_private: bool) -> None:
    check_url(url, allow_private=allow_private)


PRIVATE_URLS = [
    "http://127.0.0.1:8000/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://127.1/hook",
    "http://0x7f.1/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[2002:7f00:1::1]/hook",  # 6to4 of 127.0.0.1
    "http://169.254.169.254/latest/meta-data",
    "http://localhost:8000/hook",
    "http://hooks.localhost/hook",
    "http://10.1.2.3/hook",
    "http://192.168.1.1/hook",
    "http://172.16.0.1/hook",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://[::]/hook",
    "http://224.0.0.1/hook",
    "http://[fc00::1]/hook",
    "http://240.0.0.1/hook",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_hosts_are_not_allowed_unless_allowed(url: str) -> None:
    with pytest.raises(Invalid) as info:
        check_url(url, allow_private=False)
    assert (info.value.code, info.value.param) == ("url_not_allowed", "url")
    assert "--allow-private-endpoints" in info.value.message
    check_url(url, allow_private=True)


def test_a_name_that_resolves_to_a_private_address_is_not_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"internal.example": ["10.0.0.7"], "mixed.example": [PUBLIC, "127.0.0.1"]})
    with pytest.raises(Invalid, match="resolves to an address that is a private address") as info:
        check_url("https://internal.example/hook", allow_private=False)
    assert info.value.code == "url_not_allowed"
    check_url("https://internal.example/hook", allow_private=True)


# -- guarded_transport ----------------------------------------------------------------------------


def test_with_private_allowed_the_transport_connects_to_loopback(receiver: Receiver) -> None:
    with httpx.Client(transport=guarded_transport(allow_private=True)) as http:
        assert http.post(f"http://127.0.0.1:{receiver.port}/hook", content=b"{}").status_code == 200
    assert receiver.paths == ["/hook"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "0x7f000001", "127.1"])
def test_without_private_the_transport_refuses_loopback_at_connect(receiver: Receiver, host: str) -> None:
    with (
        httpx.Client(transport=guarded_transport(allow_private=False)) as http,
        pytest.raises(httpx.ConnectError, match="refused to connect.*loopback"),
    ):
        http.post(f"http://{host}:{receiver.port}/hook", content=b"{}")
    assert receiver.paths == []


def test_dns_rebinding_is_refused_at_connect(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """The name resolves to a public address when registered, to loopback when connected."""
    lookups = fake_dns(monkeypatch, {"rebind.example": [PUBLIC, "127.0.0.1"]})
    url = f"http://rebind.example:{receiver.port}/hook"
    check_url(url, allow_private=False)
    with (
        httpx.Client(transport=guarded_transport(allow_private=False)) as http,
        pytest.raises(httpx.ConnectError, match="loopback"),
    ):
        http.post(url, content=b"{}")
    assert lookups["rebind.example"] == 2 and receiver.paths == []


def test_redirects_are_never_followed(receiver: Receiver) -> None:
    with httpx.Client(transport=guarded_transport(allow_private=True)) as http:
        response = http.post(f"http://127.0.0.1:{receiver.port}/redirect", content=b"{}")
    assert response.status_code == 302
    assert receiver.paths == ["/redirect"]


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A throwaway certificate and key (for a TLS server whose handshake the client will refuse)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_https_connects_to_the_checked_address_and_keeps_the_name_for_tls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The transport connects to the address it checked, but TLS goes to the URL's host name: the
    server sees that name as SNI (and the client then refuses its self-signed certificate)."""
    cert_file, key_file = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve_one() -> None:
        conn, _ = listener.accept()
        with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True):
            pass

    thread = threading.Thread(target=serve_one, daemon=True)
    thread.start()
    fake_dns(monkeypatch, {"hooks.example": ["127.0.0.1"]})
    # for this test only, loopback counts as public, so the connection is made
    monkeypatch.setattr(urls, "public_address_problem", lambda address: None)
    try:
        with (
            httpx.Client(transport=guarded_transport(allow_private=False)) as http,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"),
        ):
            http.post(f"https://hooks.example:{port}/hook", content=b"{}")
    finally:
        thread.join(timeout=10)
        listener.close()
    assert names == ["hooks.example"]


# -- through the sandbox --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://xn--/", "invalid_url"),
        ("http://user:s3cr3t-pw@hooks.example/hook", "invalid_url"),
        ("http://0x7f000001/hook", "url_not_allowed"),
        ("http://169.254.169.254/latest/meta-data", "url_not_allowed"),
        ("http://localhost:8000/hook", "url_not_allowed"),
    ],
)
def test_the_api_answers_422_naming_the_url(url: str, code: str) -> None:
    with Sandbox(now=START, allow_private_endpoints=False) as sb:
        http = httpx.Client(
            transport=sb.transport(),
            base_url="http://sandbox.yangguang.invalid",
            headers={"authorization": f"Bearer {sb.api_key}"},
        )
        response = http.post("/v1/webhook_endpoints", json={"url": url})
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["code"], error["param"]) == (code, "url")
        assert "s3cr3t" not in response.text
        # the connection is still good for the next request (no 500 dropping it)
        assert http.get("/v1/webhook_endpoints").json()["data"] == []
        http.close()


def test_the_in_process_sandbox_allows_local_receivers_by_default(receiver: Receiver) -> None:
    with Sandbox(now=START) as sb, sb.client() as client:
        client.webhook_endpoints.create(url=f"http://127.0.0.1:{receiver.port}/hook")
        bind(client)
    assert receiver.paths and set(receiver.paths) == {"/hook"}


def test_a_rebound_endpoint_is_a_failed_attempt_not_a_crash(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_dns(monkeypatch, {"rebind.example": [PUBLIC, "127.0.0.1"]})
    with Sandbox(now=START, allow_private_endpoints=False) as sb, sb.client() as client:
        endpoint = client.webhook_endpoints.create(url=f"http://rebind.example:{receiver.port}/hook")
        bind(client)
        attempts = list(client.webhook_endpoints.attempts(endpoint.id))
    assert attempts and all(not a.succeeded and a.status_code is None for a in attempts)
    assert "refused to connect" in (attempts[0].error or "")
    assert receiver.paths == []


@pytest.mark.parametrize(
    ("options", "allowed"),
    [((), True), (("--host", "0.0.0.0"), False), (("--host", "0.0.0.0", "--allow-private-endpoints"), True)],
    ids=["loopback", "beyond-loopback", "beyond-loopback-with-flag"],
)
def test_a_served_sandbox_refuses_private_endpoints_only_beyond_loopback(
    options: tuple[str, ...], allowed: bool
) -> None:
    with served_sandbox(*options) as base_url:
        headers = {"authorization": "Bearer yg_test_urls_suite"}
        response = httpx.post(
            f"{base_url}/v1/webhook_endpoints", json={"url": "http://127.0.0.1:9/hook"}, headers=headers
        )
    if allowed:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "url_not_allowed"
