"""Which webhook endpoint URLs the sandbox takes, and a transport that connects only where allowed.

``check_url`` judges a URL when an endpoint is registered: http or https, absolute, no user-info,
a valid (IDNA) host and port, else ``Invalid`` ``invalid_url``; and, unless private addresses are
allowed, a host that is or resolves to a loopback, private, link-local, unspecified, reserved,
multicast or otherwise non-public address is ``Invalid`` ``url_not_allowed``. The host is read as
the resolver would read it, so ``0x7f000001``, ``2130706433`` and ``127.1`` are 127.0.0.1.

A check at registration cannot stop a name that resolves elsewhere later (DNS rebinding), so
``guarded_transport`` checks again at every connection: it resolves the host itself, refuses if
any address is not public, and connects to one of the addresses it checked. A refusal is an
``httpx.ConnectError`` (a failed delivery attempt, not a crash). Redirects are never followed: the
transport does not follow them, and the delivery client is built with ``follow_redirects=False``.

Messages never repeat a URL's user-info (it may hold a password).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable

import httpcore
import httpx

from .errors import Invalid

__all__ = ["check_url", "guarded_transport", "public_address_problem"]

_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_MAX_HOST = 253
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _invalid(reason: str) -> Invalid:
    return Invalid("invalid_url", f"url {reason}", param="url")


def _not_allowed(host: str, problem: str) -> Invalid:
    return Invalid(
        "url_not_allowed",
        f"url's host {host} {problem}: this sandbox delivers only to public addresses (a sandbox "
        "served beyond loopback refuses private ones unless started with --allow-private-endpoints)",
        param="url",
    )


def public_address_problem(address: IPAddress) -> str | None:
    """Why ``address`` is not a public one (``"is a loopback address"``, ...), or None if it is.
    An IPv4 address inside IPv6 (mapped, 6to4, Teredo) is judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if inner is not None:
            return public_address_problem(inner)
    for kind, flagged in (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flagged:
            article = "an" if kind[0] in "aeiou" else "a"
            return f"is {article} {kind} address ({address})"
    if not address.is_global:
        return f"is not a public address ({address})"
    return None


def _literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, read as the system resolver reads it (so the legacy
    IPv4 forms ``0x7f000001``, ``2130706433``, ``127.1``, ``0177.0.0.1`` count), or None."""
    if ":" in host:
        return ipaddress.IPv6Address(host)  # the caller checked it parses
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _host(url: str) -> tuple[str, int]:
    """The host (lower case ASCII, no brackets) and port of ``url``, or ``Invalid`` ``invalid_url``."""
    try:
        parsed = httpx.URL(url)
        raw_host = parsed.raw_host.decode("ascii")
        port = parsed.port
    except (httpx.InvalidURL, ValueError, TypeError, UnicodeError):
        raise _invalid("must be an absolute http:// or https:// URL") from None
    if parsed.scheme not in ("http", "https") or not parsed.is_absolute_url:
        raise _invalid("must be an absolute http:// or https:// URL")
    if parsed.userinfo:
        raise _invalid(
            "must not carry a user name or password (user:password@host): authenticate by the signature"
        )
    if not raw_host:
        raise _invalid("must name a host")
    if port is not None and not 1 <= port <= 65535:
        raise _invalid("has a port outside 1-65535")
    default = 443 if parsed.scheme == "https" else 80
    host = raw_host.lower()
    if ":" in host:
        if "%" in host:
            raise _invalid("must not carry an IPv6 zone (%...)")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _invalid("has an invalid IPv6 address") from None
        return host, port or default
    name = host[:-1] if host.endswith(".") else host
    labels = name.split(".")
    import idna  # only here: registering an endpoint is rare

    for label in labels:
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError, ValueError):
                raise _invalid("has an invalid internationalised (IDNA) host name") from None
    if len(name) > _MAX_HOST or not all(_LABEL.fullmatch(label) for label in labels):
        raise _invalid("has an invalid host name")
    return name, port or default


def _resolve(host: str, port: int) -> list[tuple[IPAddress, tuple[object, ...], int]]:
    """Each (address, socket address, family) ``host`` resolves to; ``OSError`` if none."""
    found: list[tuple[IPAddress, tuple[object, ...], int]] = []
    for family, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        found.append((address, tuple(sockaddr), family))
    if not found:
        raise OSError(f"{host} has no IPv4 or IPv6 address")
    return found


def _is_localhost(name: str) -> bool:
    return name == "localhost" or name.endswith(".localhost")


def check_url(url: str, *, allow_private: bool) -> None:
    """Refuse a webhook endpoint URL the sandbox will not deliver to (module docstring):
    ``Invalid`` ``invalid_url`` or ``url_not_allowed``, ``param`` ``"url"``."""
    host, port = _host(url)
    if allow_private:
        return
    literal = _literal_address(host)
    if literal is not None:
        problem = public_address_problem(literal)
        if problem is not None:
            raise _not_allowed(host, problem)
        return
    if _is_localhost(host):
        raise _not_allowed(host, "is a loopback name")
    try:
        resolved = _resolve(host, port)
    except (OSError, UnicodeError):
        return  # not resolvable now: every attempt checks the address it connects to anyway
    for address, _, _ in resolved:
        problem = public_address_problem(address)
        if problem is not None:
            raise _not_allowed(host, f"resolves to an address that {problem}")


class _PublicOnlyBackend(httpcore.SyncBackend):
    """httpcore's sync network backend, connecting only to public addresses: it resolves the host,
    refuses it if any of its addresses is not public, connects to a checked address, and checks
    the peer of the socket it got."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            resolved = _resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from None
        for address, _, _ in resolved:
            problem = public_address_problem(address)
            if problem is not None:
                raise httpcore.ConnectError(
                    f"refused to connect: {host} {problem}; this sandbox delivers only to public "
                    "addresses (--allow-private-endpoints allows private ones)"
                )
        last: httpcore.ConnectError | httpcore.ConnectTimeout | None = None
        for address, _, _ in resolved:
            try:
                stream = super().connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
                continue
            peer = stream.get_extra_info("server_addr")
            peer_address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0]) if peer else None
            if peer_address is None or public_address_problem(peer_address) is not None:
                stream.close()
                raise httpcore.ConnectError(f"refused: connected to a non-public address for {host}")
            return stream
        assert last is not None
        raise last


def guarded_transport(
    *,
    allow_private: bool,
    wrap: Callable[[httpcore.NetworkBackend], httpcore.NetworkBackend] | None = None,
) -> httpx.HTTPTransport:
    """The sync httpx transport webhook deliveries go through. With ``allow_private`` False every
    connection is checked at connect time against the address actually connected (DNS rebinding
    does not get round it) and a non-public one fails as ``httpx.ConnectError``. Neither kind
    follows redirects (a transport never does). ``wrap`` wraps the network backend (the delivery
    worker bounds every attempt by its total deadline that way)."""
    backend: httpcore.NetworkBackend = httpcore.SyncBackend() if allow_private else _PublicOnlyBackend()
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx takes no network backend of its own: its pool is rebuilt with ours (same TLS settings)
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=backend if wrap is None else wrap(backend),
    )
    return transport
