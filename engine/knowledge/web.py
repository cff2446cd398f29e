"""The one way Argot fetches a URL someone gave it: pages to ingest, images to search.

`fetch(url, policy)` does, in this order, for the URL and for every redirect:

1. the scheme is http or https (https only with `policy.https_only`);
2. the host is one the policy allows (`policy.hosts`; None: any host);
3. the host is resolved once, and every address it resolves to must be public: no
   loopback, private, link-local, multicast or reserved address (unless the host is one
   the operator configured, `policy.trusted`, or the policy is `LOCAL_TEST_SERVERS`);
4. the connection goes to the address that was checked (the check runs inside the
   connection itself, so a DNS answer that changes in between cannot point it
   elsewhere); the name is kept for the Host header and TLS (SNI, certificate check);
5. the whole fetch, redirects included, ends by `deadline_s`, however slowly the
   server drips its bytes; the body is cut as soon as it passes `max_bytes`.

Headers given by the caller (a bot token) go only to the first host: a redirect to
another host drops them. Nothing is read from proxy environment variables.

Example:
    >>> page = fetch("https://wiki.example.com/runbook", HostPolicy.only(["wiki.example.com"]))
    >>> page.content_type, len(page.body)
    ('text/html', 5120)
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit, urlunsplit

from engine.errors import ArgotError

if TYPE_CHECKING:
    from engine.types import Document

DEADLINE_S = 30.0
MAX_REDIRECTS = 5
USER_AGENT = "argot-fetch/0.2"


class FetchRefused(ArgotError):
    """The URL (or a redirect) goes somewhere the policy does not allow; says where."""


class FetchFailed(ArgotError):
    """The server could not be reached, answered an error, was too slow or too large."""


@dataclass(frozen=True)
class HostPolicy:
    """Where a fetch may go.

    Args:
        hosts: the only hosts allowed (a host matches itself and its subdomains); None
            allows any host with a public address.
        https_only: refuse plain http (image downloads carrying the bot token).
        trusted: hosts the operator configured (SLACK_API_URL), exempt from the
            public-address and https rules: they are configuration, not user input.
        any_address: allow loopback and private addresses everywhere. For tests against
            a local server only; there is deliberately no setting that turns it on.
    """

    hosts: tuple[str, ...] | None = None
    https_only: bool = False
    trusted: tuple[str, ...] = ()
    any_address: bool = False

    @classmethod
    def only(cls, hosts: Iterable[str], **options: object) -> HostPolicy:
        """Just these hosts (ARGOT_INGEST_HOSTS); an empty list allows nothing."""
        return cls(hosts=tuple(h.strip().lower().rstrip(".") for h in hosts if h.strip()),
                   **options)  # type: ignore[arg-type]

    def allows_host(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if _matches(host, self.trusted):
            return True
        return self.hosts is None or _matches(host, self.hosts)


PUBLIC_WEB = HostPolicy()
"""Any host whose addresses are all public: `argot ingest URL`."""
LOCAL_TEST_SERVERS = HostPolicy(any_address=True)
"""Tests only: lets a fetch reach a server on 127.0.0.1."""


@dataclass(frozen=True)
class Fetched:
    url: str
    """Where the body came from, after redirects."""
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def _matches(host: str, patterns: Iterable[str]) -> bool:
    return any(host == p or host.endswith("." + p) for p in patterns)


def public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, policy: HostPolicy) -> None:
    """Steps 1-2 of the module docstring: scheme, credentials, allowed host."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise FetchRefused(f"{url[:80]}: only http(s) links can be fetched")
    if policy.https_only and parts.scheme != "https" and not _matches(host, policy.trusted):
        raise FetchRefused(f"{url[:80]}: only https links can be fetched")
    if parts.username or parts.password:
        raise FetchRefused(f"{host}: links with a user name or password are not fetched")
    if not policy.allows_host(host):
        raise FetchRefused(f"{host} is not an allowed host; an admin can add it to "
                           "ARGOT_INGEST_HOSTS")


def checked_addresses(host: str, port: int, policy: HostPolicy) -> list[str]:
    """Step 3: the addresses to try, in order, every address of the host being allowed."""
    host = host.lower()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"{host}: the name does not resolve ({exc})") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not (_matches(host, policy.trusted) or policy.any_address):
        private = [a for a in addresses if not public_address(a)]
        if private or not addresses:
            raise FetchRefused(f"{host} resolves to a loopback, private or link-local address "
                               f"({', '.join(private[:2])}); Argot does not fetch from those")
    return addresses


class _Guarded:
    """httpcore's network backend, connecting only to checked addresses (step 4) and
    shortening every socket wait to what is left of the deadline (step 5)."""

    def __init__(self, policy: HostPolicy, deadline: float, deadline_s: float) -> None:
        import httpcore

        self.sync = httpcore.SyncBackend()
        self.policy, self.deadline, self.deadline_s = policy, deadline, deadline_s

    def left(self, timeout: float | None) -> float:
        import httpcore

        left = self.deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout(f"took longer than {self.deadline_s:.0f} s")
        return min(left, timeout) if timeout else left

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None, socket_options: object = None) -> object:
        addresses = checked_addresses(host, port, self.policy)
        for number, address in enumerate(addresses, start=1):
            try:
                stream = self.sync.connect_tcp(address, port, self.left(timeout), local_address,
                                               socket_options)  # type: ignore[arg-type]
            except Exception:  # noqa: BLE001 - httpcore's ConnectError; try the next address
                if number == len(addresses):
                    raise
                continue
            return _DeadlineStream(stream, self)
        raise FetchFailed(f"{host}: no address to connect to")

    def connect_unix_socket(self, *args: object, **kwargs: object) -> object:
        raise FetchRefused("unix sockets are not fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _DeadlineStream:
    def __init__(self, stream: object, backend: _Guarded) -> None:
        self.stream, self.backend = stream, backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self.backend.left(timeout))  # type: ignore[attr-defined]

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self.backend.left(timeout))  # type: ignore[attr-defined]

    def close(self) -> None:
        self.stream.close()  # type: ignore[attr-defined]

    def start_tls(self, ssl_context: object, server_hostname: str | None = None,
                  timeout: float | None = None) -> _DeadlineStream:
        return _DeadlineStream(self.stream.start_tls(  # type: ignore[attr-defined]
            ssl_context, server_hostname, self.backend.left(timeout)), self.backend)

    def get_extra_info(self, info: str) -> object:
        return self.stream.get_extra_info(info)  # type: ignore[attr-defined]


def fetch(url: str, policy: HostPolicy = PUBLIC_WEB, *, max_bytes: int,
          deadline_s: float = DEADLINE_S, headers: Mapping[str, str] | None = None,
          max_redirects: int = MAX_REDIRECTS) -> Fetched:
    """GET `url` under `policy`; raises `FetchRefused` or `FetchFailed` with a reason.

    Any final status is returned (the caller words a 404 its own way); the body is read
    only for a 200. A body over `max_bytes` (declared or read) is a `FetchFailed`.
    """
    import ssl

    import certifi
    import httpcore

    backend = _Guarded(policy, time.monotonic() + deadline_s, deadline_s)
    context = ssl.create_default_context(cafile=certifi.where())
    first_host = urlsplit(url).hostname
    with httpcore.ConnectionPool(ssl_context=context,
                                 network_backend=backend) as pool:  # type: ignore[arg-type]
        for _ in range(max_redirects + 1):
            check_url(url, policy)
            parts = urlsplit(url)
            sent = {"User-Agent": USER_AGENT, "Host": parts.netloc, "Accept-Encoding": "identity"}
            if parts.hostname == first_host:
                sent.update(headers or {})
            target = urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))
            try:
                with pool.stream("GET", target, headers=sent,
                                 extensions={"timeout": {"connect": 10.0, "read": 10.0,
                                                         "write": 10.0, "pool": 10.0}}) as response:
                    location = dict((k.decode("latin-1").lower(), v.decode("latin-1"))
                                    for k, v in response.headers).get("location")
                    if response.status in (301, 302, 303, 307, 308) and location:
                        url = urljoin(url, location)
                        continue
                    return _read(url, response, max_bytes)
            except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
                    httpcore.UnsupportedProtocol, OSError) as exc:
                if time.monotonic() >= backend.deadline:
                    raise FetchFailed(f"{url[:80]}: took longer than {deadline_s:.0f} s") from exc
                raise FetchFailed(f"{url[:80]}: unreachable ({exc.__class__.__name__}: {exc})"
                                  ) from exc
    raise FetchFailed(f"{url[:80]}: more than {max_redirects} redirects")


def _read(url: str, response: object, max_bytes: int) -> Fetched:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1")
               for k, v in response.headers}  # type: ignore[attr-defined]
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    status = int(response.status)  # type: ignore[attr-defined]
    if status != 200:
        return Fetched(url, status, kind, b"", headers)
    declared = headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchFailed(f"{url[:80]}: larger than {size_text(max_bytes)}")
    body = bytearray()
    for part in response.iter_stream():  # type: ignore[attr-defined]
        body.extend(part)
        if len(body) > max_bytes:
            raise FetchFailed(f"{url[:80]}: larger than {size_text(max_bytes)}")
    return Fetched(url, 200, kind, bytes(body), headers)


def size_text(size: int) -> str:
    return f"{size // 1024 // 1024} MB" if size >= 1024 * 1024 else f"{size // 1024} kB"


def fetch_page(url: str, allowed_hosts: Iterable[str] = (), *, policy: HostPolicy | None = None
               ) -> Document:
    """A page someone linked in Slack, as a document whose id and url are `url`.

    Only `allowed_hosts` (ARGOT_INGEST_HOSTS; none: nothing is fetched) with public
    addresses, unless a test passes its own `policy`. Raises `IngestError` with a reason
    a person can read (refused host, HTTP error, too large, too slow, not a page).
    """
    from engine.knowledge.sources import fetch_url

    return fetch_url(url, policy or HostPolicy.only(allowed_hosts))
