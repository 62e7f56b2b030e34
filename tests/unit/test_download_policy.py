"""Which URLs the clip downloader may fetch (promise 15), decided without touching the network:
every name resolves through an injected resolver."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv6Address, ip_network
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from script_to_film.adapters.download import ALLOW_HOSTS_ENV, DownloadPolicy, check_url, redact
from script_to_film.domain.errors import DownloadError

POLICY = DownloadPolicy()
PUBLIC_V4 = "93.184.216.34"

Resolver = Callable[[str, int], Sequence[tuple[Any, ...]]]


def resolving_to(*addresses: str) -> Resolver:
    """A resolver that answers every name with these addresses, as getaddrinfo would."""

    def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port),
            )
            for address in addresses
        ]

    return resolve


def never_resolves(host: str, port: int) -> list[tuple[Any, ...]]:
    raise AssertionError(f"{host} should not have been resolved")


def refusal(url: str, policy: DownloadPolicy = POLICY, resolve: Resolver = never_resolves) -> str:
    with pytest.raises(DownloadError) as caught:
        check_url(url, policy, resolve)
    return str(caught.value)


# Schemes, credentials, hosts ------------------------------------------------------------------


def test_an_https_url_of_a_public_host_is_accepted() -> None:
    check_url("https://cdn.example.com/clips/1.mp4?X-Amz-Signature=abc", POLICY, resolving_to(PUBLIC_V4))


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.example.com/clip.mp4",
        "ftp://cdn.example.com/clip.mp4",
        "file:///etc/passwd",
        "gopher://cdn.example.com/",
        "ws://cdn.example.com/",
        "//cdn.example.com/clip.mp4",
        "cdn.example.com/clip.mp4",
        "/clip.mp4",
    ],
)
def test_anything_but_https_is_refused(url: str) -> None:
    assert "only https" in refusal(url, resolve=resolving_to(PUBLIC_V4))


@pytest.mark.parametrize(
    "url", ["https://user:hunter2@cdn.example.com/clip.mp4", "https://user@cdn.example.com/clip.mp4"]
)
def test_credentials_in_the_url_are_refused_and_not_repeated(url: str) -> None:
    message = refusal(url, resolve=resolving_to(PUBLIC_V4))
    assert "credentials" in message
    assert "hunter2" not in message
    assert "user" not in message


@pytest.mark.parametrize("url", ["https:///clip.mp4", "https://:443/clip.mp4"])
def test_a_url_without_a_host_is_refused(url: str) -> None:
    assert "no host" in refusal(url)


def test_a_malformed_url_is_refused() -> None:
    assert "not a valid URL" in refusal("https://[::1/clip.mp4")


# Addresses ------------------------------------------------------------------------------------

NOT_PUBLIC = {
    "127.0.0.1": "loopback",
    "127.255.255.254": "loopback",
    "10.0.0.1": "private 10/8",
    "10.255.255.255": "private 10/8",
    "172.16.0.1": "private 172.16/12",
    "172.31.255.254": "private 172.16/12",
    "192.168.1.10": "private 192.168/16",
    "169.254.169.254": "instance metadata service",
    "169.254.0.1": "link-local",
    "100.64.0.1": "shared address space (CGNAT)",
    "100.127.255.254": "shared address space (CGNAT)",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "this network",
    "224.0.0.251": "multicast",
    "239.255.255.250": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "broadcast",
    "192.0.2.1": "documentation",
    "198.18.0.1": "benchmarking",
    "::1": "IPv6 loopback",
    "::": "IPv6 unspecified",
    "fc00::1": "unique local",
    "fd00:ec2::254": "instance metadata service over IPv6",
    "fe80::1": "IPv6 link-local",
    "fe80::1%eth0": "IPv6 link-local with a zone",
    "fec0::1": "IPv6 site-local",
    "ff02::1": "IPv6 multicast",
    "ff0e::1": "IPv6 global-scope multicast",
    "2001:db8::1": "IPv6 documentation",
    "2001::1": "Teredo",
    "100::1": "discard-only",
    "::2": "reserved",
    "::ffff:127.0.0.1": "IPv4-mapped loopback",
    "::ffff:169.254.169.254": "IPv4-mapped metadata service",
    "::ffff:10.0.0.1": "IPv4-mapped private",
    "64:ff9b::a9fe:a9fe": "NAT64 of the metadata service",
    "64:ff9b::a00:1": "NAT64 of a private address",
    "2002:a9fe:a9fe::1": "6to4 of the metadata service",
    "2002:7f00:1::1": "6to4 of loopback",
}

PUBLIC = [
    PUBLIC_V4,
    "8.8.8.8",
    "1.1.1.1",
    "13.32.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001:830::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
]


@pytest.mark.parametrize("address", NOT_PUBLIC, ids=[f"{a} {why}" for a, why in NOT_PUBLIC.items()])
def test_a_name_resolving_to_a_non_public_address_is_refused(address: str) -> None:
    message = refusal("https://clips.example.com/a.mp4", resolve=resolving_to(address))
    assert "not a public address" in message


@pytest.mark.parametrize("address", [a for a in NOT_PUBLIC if "%" not in a])
def test_a_non_public_address_literal_is_refused_without_resolving(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    assert "not a public address" in refusal(f"https://{host}/a.mp4")


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_accepted(address: str) -> None:
    check_url("https://clips.example.com/a.mp4", POLICY, resolving_to(address))
    host = f"[{address}]" if ":" in address else address
    check_url(f"https://{host}/a.mp4", POLICY, never_resolves)


@pytest.mark.parametrize(
    "addresses", [(PUBLIC_V4, "10.0.0.1"), ("10.0.0.1", PUBLIC_V4), (PUBLIC_V4, "2606:4700::1", "fe80::1")]
)
def test_every_resolved_address_must_be_public(addresses: tuple[str, ...]) -> None:
    assert "not a public address" in refusal(
        "https://clips.example.com/a.mp4", resolve=resolving_to(*addresses)
    )


def test_a_name_that_does_not_resolve_is_refused() -> None:
    def fails(host: str, port: int) -> list[tuple[Any, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    assert "cannot resolve" in refusal("https://nowhere.example.com/a.mp4", resolve=fails)
    assert "no address" in refusal("https://nowhere.example.com/a.mp4", resolve=resolving_to())


def test_the_resolver_is_asked_for_the_urls_host_and_port() -> None:
    asked: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> Sequence[tuple[Any, ...]]:
        asked.append((host, port))
        return resolving_to(PUBLIC_V4)(host, port)

    check_url("https://CDN.Example.com/a.mp4", POLICY, resolve)
    check_url("https://cdn.example.com:8443/a.mp4", POLICY, resolve)
    check_url("https://bücher.example/a.mp4", POLICY, resolve)
    assert asked == [("cdn.example.com", 443), ("cdn.example.com", 8443), ("xn--bcher-kva.example", 443)]


# Allowed hosts (local fakes) --------------------------------------------------------------------


def test_an_allowed_host_and_port_may_use_http_on_any_address() -> None:
    policy = DownloadPolicy(allow_hosts=frozenset({"127.0.0.1:8123"}))
    check_url("http://127.0.0.1:8123/clip.mp4", policy, never_resolves)
    check_url("https://127.0.0.1:8123/clip.mp4", policy, never_resolves)
    assert "only https" in refusal("http://127.0.0.1:8124/clip.mp4", policy)
    assert "only https" in refusal("http://127.0.0.1/clip.mp4", policy)
    assert "not a public address" in refusal("https://127.0.0.1:8124/clip.mp4", policy)


def test_an_allowed_host_without_a_port_is_allowed_on_every_port() -> None:
    policy = DownloadPolicy(allow_hosts=frozenset({"localhost"}))
    check_url("http://localhost/clip.mp4", policy, never_resolves)
    check_url("http://LOCALHOST:5000/clip.mp4", policy, never_resolves)
    assert "only https" in refusal("http://127.0.0.1:5000/clip.mp4", policy)


def test_an_allowed_ipv6_host_is_matched_in_any_spelling() -> None:
    policy = DownloadPolicy(allow_hosts=frozenset({"[0:0::1]:9000"}))
    check_url("http://[::1]:9000/clip.mp4", policy, never_resolves)
    check_url("http://[0000::0001]:9000/clip.mp4", policy, never_resolves)
    assert "only https" in refusal("http://[::1]:9001/clip.mp4", policy)


def test_allowed_hosts_still_refuse_credentials_and_other_schemes() -> None:
    policy = DownloadPolicy(allow_hosts=frozenset({"127.0.0.1"}))
    assert "credentials" in refusal("http://a:b@127.0.0.1/clip.mp4", policy)
    assert "only https" in refusal("ftp://127.0.0.1/clip.mp4", policy)


def test_the_environment_lists_the_allowed_hosts() -> None:
    env = {ALLOW_HOSTS_ENV: " 127.0.0.1:8123, LocalHost ,,[::1]:9000, ::1 ,"}
    assert DownloadPolicy.from_env(env).allow_hosts == {"127.0.0.1:8123", "localhost", "[::1]:9000", "[::1]"}
    assert DownloadPolicy.from_env({}).allow_hosts == frozenset()
    assert DownloadPolicy.from_env({ALLOW_HOSTS_ENV: " "}).allow_hosts == frozenset()


@pytest.mark.parametrize(
    "entry",
    ["host:port", "host:0", "host:70000", "[::1", "[::1]x", ":8080", "http://host", "user@host", "a/b"],
)
def test_a_malformed_allowed_host_is_an_error_at_start(entry: str) -> None:
    with pytest.raises(ValueError, match=ALLOW_HOSTS_ENV):
        DownloadPolicy.from_env({ALLOW_HOSTS_ENV: entry})


# The rest of the policy -------------------------------------------------------------------------


def test_the_defaults() -> None:
    assert POLICY.max_bytes == 512 * 1024 * 1024
    assert POLICY.max_redirects == 5
    assert POLICY.allow_hosts == frozenset()
    assert POLICY.timeout.connect == POLICY.connect_timeout_seconds
    assert POLICY.timeout.read == POLICY.read_timeout_seconds


@pytest.mark.parametrize(
    ("media_type", "accepted"),
    [
        ("video/mp4", True),
        ("video/quicktime", True),
        ("video/webm", True),
        ("application/octet-stream", True),
        ("binary/octet-stream", True),
        ("text/html", False),
        ("application/json", False),
        ("image/gif", False),
        ("video", False),
        ("video/", False),
        ("/mp4", False),
        ("", False),
    ],
)
def test_content_types(media_type: str, accepted: bool) -> None:
    assert POLICY.accepts_content_type(media_type) is accepted


def test_a_narrower_content_type_list() -> None:
    policy = DownloadPolicy(content_types=frozenset({"Video/MP4"}))
    assert policy.accepts_content_type("video/mp4")
    assert not policy.accepts_content_type("video/quicktime")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "https://cdn.example.com/a/clip.mp4?X-Amz-Signature=abc&Expires=1",
            "https://cdn.example.com/a/clip.mp4",
        ),
        ("https://cdn.example.com/clip.mp4#t=10", "https://cdn.example.com/clip.mp4"),
        ("https://user:secret@cdn.example.com:8443/clip.mp4?sig=1", "https://cdn.example.com:8443/clip.mp4"),
        ("https://cdn.example.com?sig=1", "https://cdn.example.com"),
        ("https://cdn.example.com/clip.mp4", "https://cdn.example.com/clip.mp4"),
        ("not a url?sig=1", "not a url"),
    ],
)
def test_redact_drops_query_fragment_and_credentials(url: str, shown: str) -> None:
    assert redact(url) == shown


# Properties --------------------------------------------------------------------------------------


def documented_rule(address: IPv4Address | IPv6Address) -> bool:
    """`is_public_address`'s docstring, stated with networks rather than `ipaddress` flags."""
    if isinstance(address, IPv6Address):
        if address in ip_network("::ffff:0:0/96") or address in ip_network("64:ff9b::/96"):
            return documented_rule(IPv4Address(int(address) & 0xFFFF_FFFF))
        if address in ip_network("2002::/16") and not documented_rule(
            IPv4Address(int(address) >> 80 & 0xFFFF_FFFF)
        ):
            return False
        return address in ip_network("2000::/3") and address.is_global
    return address.is_global and address not in ip_network("224.0.0.0/4")


@given(st.ip_addresses())
def test_a_resolved_address_is_accepted_exactly_when_it_is_public(address: IPv4Address | IPv6Address) -> None:
    try:
        check_url("https://clips.example.com/a.mp4", POLICY, resolving_to(str(address)))
    except DownloadError:
        accepted = False
    else:
        accepted = True
    assert accepted is documented_rule(address)


BLOCKED_NETWORKS = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
    "::ffff:10.0.0.0/104",
    "::ffff:127.0.0.0/104",
    "::ffff:169.254.0.0/112",
]


@given(st.sampled_from(BLOCKED_NETWORKS).flatmap(lambda network: st.ip_addresses(network=network)))
def test_every_address_of_a_blocked_network_is_refused(address: IPv4Address | IPv6Address) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    with pytest.raises(DownloadError):
        check_url(f"https://{host}/a.mp4", POLICY, never_resolves)


@given(
    path=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789/-_.", max_size=30),
    query=st.text(alphabet=st.characters(codec="ascii", exclude_characters="#"), min_size=1, max_size=40),
)
def test_redact_never_keeps_the_query(path: str, query: str) -> None:
    secret = f"SIG{query}"
    shown = redact(f"https://cdn.example.com/{path}?{secret}")
    assert secret not in shown
    assert shown == f"https://cdn.example.com/{path}"
