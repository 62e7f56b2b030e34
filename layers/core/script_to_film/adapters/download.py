"""Fetch a provider's finished clip as a stream, which StoreClip spools to disk, checks and
uploads (promise 15).

A provider hands back a short-lived, signed URL of an address someone else chose, so this is the
one place where the project must not be talked into fetching something else:

- Only https, from public addresses. `check_url` refuses other schemes, credentials in the URL, an
  empty host, and a host whose resolution holds any address that is not public
  (`is_public_address`). Every redirect hop is checked the same way before it is requested.
- The check holds at connect time too: the client `open_download` builds connects only to addresses
  it has just resolved and checked itself, so a name that resolves publicly for the check and
  privately for the connection (DNS rebinding) is still refused. A caller's own `client` gets the
  per-hop `check_url` only.
- The answer must be 2xx, of an accepted content type, and not content-encoded; its size is capped
  both by the declared Content-Length and by counting the bytes as they arrive.
- The body streams in 64 KiB chunks, so memory stays constant whatever the clip's size.

Provider URLs carry their signature in the query string: messages name URLs through `redact`,
and the query strings in httpx's and httpcore's own log records are dropped.

`STF_DOWNLOAD_ALLOW_HOSTS` lets local fakes through: a comma-separated list of `host` (any port)
or `host:port` (that port only; IPv6 as `[::1]:8123`). A listed host may be fetched over plain
http and on any address. It is meant for tests and the local stack, never for a deployed stack.
"""

from __future__ import annotations

import io
import ipaddress
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

import httpcore
import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from script_to_film.domain.errors import DownloadError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

ALLOW_HOSTS_ENV = "STF_DOWNLOAD_ALLOW_HOSTS"
MIB = 1024 * 1024
CHUNK_BYTES = 64 * 1024

DEFAULT_CONTENT_TYPES = frozenset({"video/*", "application/octet-stream", "binary/octet-stream"})
"""Runway serves `video/mp4`; any `video/*` is accepted, and so is the generic binary type a CDN or
bucket answers for an object stored without one (`binary/octet-stream` is S3's default)."""

_DEFAULT_PORTS = {"https": 443, "http": 80}
_EXPIRED_STATUSES = frozenset({403, 404, 410})
_NAT64_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

Resolver = Callable[[str, int], Sequence[tuple[Any, ...]]]
"""`socket.getaddrinfo` or a stand-in: `(host, port)` to entries whose last item is the sockaddr."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _normal_host(host: str) -> str:
    """Lower case, and IPv6 addresses in their compressed form, so equal hosts compare equal."""
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        return host.lower()


def _host_key(host: str, port: int | None = None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


def _allow_entry(entry: str) -> str:
    """One `STF_DOWNLOAD_ALLOW_HOSTS` entry in the form `DownloadPolicy.allows_host` looks up."""
    text = entry.strip()
    port: str | None = None
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or (rest and not rest.startswith(":")):
            raise ValueError(f"{ALLOW_HOSTS_ENV}: {entry!r} is not host, host:port or [ipv6]:port")
        port = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host = text
    if not host or any(character in host for character in "/@?#[] \t"):
        raise ValueError(f"{ALLOW_HOSTS_ENV}: {entry!r} is not host, host:port or [ipv6]:port")
    if port is None:
        return _host_key(_normal_host(host))
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{ALLOW_HOSTS_ENV}: {entry!r} has no valid port")
    return _host_key(_normal_host(host), int(port))


class DownloadPolicy(BaseModel):
    """What `check_url` and `open_download` accept."""

    model_config = ConfigDict(frozen=True)

    max_bytes: int = Field(default=512 * MIB, gt=0)
    content_types: frozenset[str] = DEFAULT_CONTENT_TYPES
    """Media types (`video/mp4`) or whole families (`video/*`)."""
    max_redirects: int = Field(default=5, ge=0)
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    read_timeout_seconds: float = Field(default=30.0, gt=0)
    """The longest wait for any one read, not for the whole body."""
    allow_hosts: frozenset[str] = frozenset()
    """`host` or `host:port` entries that may be fetched over http and on any address."""

    @field_validator("content_types")
    @classmethod
    def _lower_content_types(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(media_type.strip().lower() for media_type in value)

    @field_validator("allow_hosts")
    @classmethod
    def _canonical_allow_hosts(cls, value: frozenset[str]) -> frozenset[str]:
        return frozenset(_allow_entry(entry) for entry in value)

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> DownloadPolicy:
        """The defaults, with `STF_DOWNLOAD_ALLOW_HOSTS` (comma-separated) as the allowed hosts."""
        entries = env.get(ALLOW_HOSTS_ENV, "").split(",")
        return cls(allow_hosts=frozenset(entry for entry in entries if entry.strip()))

    def allows_host(self, host: str, port: int) -> bool:
        """Whether `host` is listed, on any port or on this one."""
        host = _normal_host(host)
        return _host_key(host) in self.allow_hosts or _host_key(host, port) in self.allow_hosts

    def accepts_content_type(self, media_type: str) -> bool:
        """Whether a response's media type (lower case, without parameters) is accepted."""
        family, slash, subtype = media_type.partition("/")
        if not (family and slash and subtype):
            return False
        return media_type in self.content_types or f"{family}/*" in self.content_types

    @property
    def timeout(self) -> httpx.Timeout:
        return httpx.Timeout(self.read_timeout_seconds, connect=self.connect_timeout_seconds)


def redact(url: str | httpx.URL) -> str:
    """The URL without its query, fragment and credentials: safe for messages and logs."""
    text = str(url).split("#", 1)[0].split("?", 1)[0]
    scheme, separator, rest = text.partition("://")
    if not separator:
        return text
    authority, slash, path = rest.partition("/")
    return f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"


def is_public_address(address: IPAddress) -> bool:
    """Whether an address is on the public internet, so fetching from it reaches nothing of ours.

    The rule: `ipaddress`'s `is_global`, and none of multicast, reserved, loopback, link-local
    (which holds the instance metadata service 169.254.169.254), private, unspecified or IPv6
    site-local. For IPv6 that leaves only global unicast (2000::/3). An IPv6 address that carries
    an IPv4 one, IPv4-mapped (::ffff:0:0/96) or NAT64 (64:ff9b::/96), is judged by the IPv4
    address it reaches; a 6to4 address (2002::/16) also needs its embedded IPv4 to be public.
    Shared address space (100.64.0.0/10, CGNAT) is not global.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped
        if embedded is None and address in _NAT64_PREFIX:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
        if embedded is not None:
            return is_public_address(embedded)
        if address.sixtofour is not None and not is_public_address(address.sixtofour):
            return False
        if address not in _GLOBAL_UNICAST or address.is_site_local:
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_unspecified
    )


def _public_addresses(host: str, port: int, resolve: Resolver) -> list[str]:
    """Every address `host` resolves to, if all of them are public; else `DownloadError`."""
    try:
        texts = [ipaddress.ip_address(host).compressed]
    except ValueError:
        try:
            entries = resolve(host, port)
        except (OSError, UnicodeError) as error:
            raise DownloadError(f"cannot resolve {host}: {error}") from error
        texts = list(dict.fromkeys(str(entry[-1][0]) for entry in entries))
    if not texts:
        raise DownloadError(f"{host} resolves to no address")
    for text in texts:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            raise DownloadError(f"{host} resolves to {text!r}, which is not an IP address") from None
        if not is_public_address(address):
            raise DownloadError(f"{host} resolves to {address}, which is not a public address")
    return texts


def check_url(url: str, policy: DownloadPolicy, resolve: Resolver = socket.getaddrinfo) -> None:
    """Refuse, with `DownloadError`, a URL that must not be fetched (see the module docstring).

    A host in `policy.allow_hosts` may use http as well, and is not resolved or checked.
    """
    shown = redact(url)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise DownloadError(f"{shown} is not a valid URL") from error
    if parsed.scheme not in _DEFAULT_PORTS:
        raise DownloadError(f"{shown}: only https URLs are fetched")
    if parsed.userinfo:
        raise DownloadError(f"{shown}: a URL that carries credentials is refused")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise DownloadError(f"{shown}: the URL has no host")
    port = parsed.port or _DEFAULT_PORTS[parsed.scheme]
    if policy.allows_host(host, port):
        return
    if parsed.scheme != "https":
        raise DownloadError(f"{shown}: only https URLs are fetched (plain http only from {ALLOW_HOSTS_ENV})")
    _public_addresses(host, port, resolve)


class _PublicOnlyBackend(httpcore.NetworkBackend):
    """Opens TCP connections only to addresses `check_url` would accept, resolved here and now."""

    def __init__(self, policy: DownloadPolicy, resolve: Resolver) -> None:
        self._policy = policy
        self._resolve = resolve
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        if self._policy.allows_host(host, port):
            return self._sockets.connect_tcp(host, port, timeout, local_address, socket_options)
        failure: Exception | None = None
        # Each checked address in turn, as `socket.create_connection` tries a name's addresses.
        for address in _public_addresses(host, port, self._resolve):
            try:
                return self._sockets.connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None, "_public_addresses returns at least one address"
        raise failure

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        raise DownloadError("downloads never use unix sockets")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class _PublicOnlyTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that uses `_PublicOnlyBackend`."""

    def __init__(self, policy: DownloadPolicy, resolve: Resolver) -> None:
        ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context, trust_env=False)
        # httpx takes no network backend, so the pool it built is replaced by one that has ours.
        # httpx is pinned; the integration test of DNS rebinding fails if this stops taking effect.
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, network_backend=_PublicOnlyBackend(policy, resolve)
        )


def _new_client(policy: DownloadPolicy, resolve: Resolver) -> httpx.Client:
    # trust_env=False: no proxy from the environment (it would connect for us, to anywhere) and no
    # .netrc credentials sent to a host a provider chose.
    return httpx.Client(
        transport=_PublicOnlyTransport(policy, resolve),
        timeout=policy.timeout,
        follow_redirects=False,
        trust_env=False,
    )


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


class _CappedBody(io.RawIOBase):
    """A response body as a raw, non-seekable stream that stops past `max_bytes`.

    Reads the raw (undecoded) bytes: `_check_response` has refused any content encoding, and
    decoding is what would let a small body expand in memory.
    """

    def __init__(self, response: httpx.Response, max_bytes: int, shown_url: str) -> None:
        super().__init__()
        self._chunks = response.iter_raw()
        self._max_bytes = max_bytes
        self._shown_url = shown_url
        self._pending = memoryview(b"")
        self._received = 0
        self._failure: DownloadError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending:
            chunk = self._next_chunk()
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        target = memoryview(buffer).cast("B")
        count = min(len(target), len(self._pending))
        target[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def _next_chunk(self) -> bytes | None:
        # A failure sticks: reading on after one must not look like a clean end of the body.
        if self._failure is not None:
            raise self._failure
        try:
            chunk = next(self._chunks)
        except StopIteration:
            return None
        except httpx.HTTPError as error:
            self._failure = DownloadError(
                f"the download of {self._shown_url} broke off after {self._received} bytes"
                f" ({_describe(error)})"
            )
            raise self._failure from error
        self._received += len(chunk)
        if self._received > self._max_bytes:
            self._failure = DownloadError(
                f"{self._shown_url} sent more than the {self._max_bytes} bytes allowed; stopped there"
            )
            raise self._failure
        return chunk


def _send_following_redirects(
    client: httpx.Client, url: str, policy: DownloadPolicy, resolve: Resolver
) -> tuple[httpx.Response, str]:
    """The first answer that is not a redirect, and the URL that gave it; every hop checked."""
    target = url
    for _ in range(policy.max_redirects + 1):
        check_url(target, policy, resolve)
        request = client.build_request(
            "GET", target, headers={"Accept-Encoding": "identity"}, timeout=policy.timeout
        )
        try:
            response = client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as error:
            raise DownloadError(f"could not fetch {redact(target)} ({_describe(error)})") from error
        if response.next_request is None:
            return response, target
        response.close()
        target = str(response.next_request.url)
    raise DownloadError(f"{redact(url)} redirected more than {policy.max_redirects} times")


def _check_response(response: httpx.Response, shown_url: str, policy: DownloadPolicy) -> None:
    status = response.status_code
    if not response.is_success:
        expired = "; the provider's URL may have expired" if status in _EXPIRED_STATUSES else ""
        raise DownloadError(f"{shown_url} answered HTTP {status}{expired}", status_code=status)
    media_type = response.headers.get("Content-Type", "").partition(";")[0].strip().lower()
    if not policy.accepts_content_type(media_type):
        served = repr(media_type[:100]) if media_type else "no Content-Type"
        raise DownloadError(f"{shown_url} serves {served}, not one of {sorted(policy.content_types)}")
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise DownloadError(f"{shown_url} is content-encoded ({encoding[:40]!r}); a clip is sent as is")
    declared = response.headers.get("Content-Length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise DownloadError(f"{shown_url} declares an invalid Content-Length")
        size = int(declared)
        if size > policy.max_bytes:
            raise DownloadError(f"{shown_url} declares {size} bytes, over the {policy.max_bytes} allowed")


@contextmanager
def open_download(
    url: str,
    policy: DownloadPolicy | None = None,
    *,
    client: httpx.Client | None = None,
    resolve: Resolver = socket.getaddrinfo,
) -> Iterator[BinaryIO]:
    """A readable, non-seekable stream of the body at `url`, fetched under `policy`.

    `policy` defaults to `DownloadPolicy.from_env()`. Reads go through a 64 KiB buffer over the
    response, so memory stays constant; `read()` with no size reads the whole body into memory.
    Every failure, refusal or network error is a `DownloadError` (with the cause chained), raised
    on opening or while reading. On exit the response is closed, and so is the client unless the
    caller passed it in.
    """
    if policy is None:
        policy = DownloadPolicy.from_env()
    http = client if client is not None else _new_client(policy, resolve)
    try:
        response, final_url = _send_following_redirects(http, url, policy, resolve)
        try:
            shown = redact(final_url)
            _check_response(response, shown, policy)
            with io.BufferedReader(_CappedBody(response, policy.max_bytes, shown), CHUNK_BYTES) as body:
                yield body
        finally:
            response.close()
    finally:
        if client is None:
            http.close()


class DropQueryStrings(logging.Filter):
    """Removes query strings from a logger's records: signed URLs carry their signature there.

    httpx logs each request's URL at INFO, and httpcore each response's headers (a redirect's
    Location among them) at DEBUG. A query string ends at whitespace, a double quote, or any of
    `stop_at` (a single quote for loggers that print Python reprs)."""

    def __init__(self, stop_at: str = "") -> None:
        super().__init__()
        self._query_string = re.compile(r'\?[^\s"' + re.escape(stop_at) + r"]*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self._query_string.sub("", message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


_LOGGERS_THAT_SHOW_URLS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)
"""Each by name: a logger's filters see the records logged on it, not on its children."""

for _name in _LOGGERS_THAT_SHOW_URLS:
    logging.getLogger(_name).addFilter(DropQueryStrings())
