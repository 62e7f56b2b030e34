"""The clip downloader against a real HTTP server on 127.0.0.1 (promise 15): streaming, redirects,
refusals, size caps, and memory that stays flat however large the clip."""

from __future__ import annotations

import hashlib
import logging
import random
import shutil
import socket
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from moto import mock_aws

from script_to_film.adapters.aws import AwsSettings
from script_to_film.adapters.backend import AwsBackend
from script_to_film.adapters.download import ALLOW_HOSTS_ENV, DownloadPolicy, open_download
from script_to_film.domain.errors import DownloadError

KIB = 1024
MIB = 1024 * KIB
READ_SIZE = 64 * KIB
SIGNATURE = "5ecret5ignature"
"""Signed provider URLs carry their signature in the query string; it must never show."""

Route = Callable[[BaseHTTPRequestHandler], None]


# A local HTTP server whose answers each test chooses ------------------------------------------------


class _Server(ThreadingHTTPServer):
    routes: dict[str, Route]
    seen: list[str]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        route = self.server.routes.get(urlsplit(self.path).path)
        try:
            if route is None:
                self.send_error(404)
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            # The client hung up on purpose: a refused or capped download.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class LocalServer:
    port: int
    routes: dict[str, Route]
    seen: list[str]
    """Request paths, with their queries, in the order they arrived."""

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def policy(self) -> DownloadPolicy:
        return DownloadPolicy(allow_hosts=frozenset({self.host}))

    def url(self, path: str) -> str:
        """A URL signed the way a provider signs its clip URLs."""
        return f"http://{self.host}{path}?{signed_query()}"

    def paths(self) -> list[str]:
        return [urlsplit(path).path for path in self.seen]


def signed_query() -> str:
    return f"X-Amz-Signature={SIGNATURE}&Expires=1700000000"


@contextmanager
def serving() -> Iterator[LocalServer]:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    httpd.routes, httpd.seen = {}, []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield LocalServer(httpd.server_address[1], httpd.routes, httpd.seen)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with serving() as local:
        yield local


@pytest.fixture
def decoy() -> Iterator[LocalServer]:
    """A second server that no test may reach."""
    with serving() as local:
        yield local


def body(data: bytes, content_type: str | None = "video/mp4", *, status: int = 200, **headers: str) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        if content_type is not None:
            handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name.replace("_", "-"), value)
        handler.end_headers()
        handler.wfile.write(data)

    return route


def redirect(location: str, status: int = 302) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return route


def blocks(block: bytes, count: int, *, framing: str = "length", stall_seconds: float = 0) -> Route:
    """`count` copies of `block`, generated as they are sent: framed by Content-Length, chunked,
    or ended by closing the connection; optionally stalling after the first block."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        if framing == "length":
            handler.send_header("Content-Length", str(len(block) * count))
        elif framing == "chunked":
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Connection", "close")
            handler.close_connection = True
        handler.end_headers()
        for index in range(count):
            if framing == "chunked":
                handler.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
            else:
                handler.wfile.write(block)
            if index == 0 and stall_seconds:
                time.sleep(stall_seconds)
        if framing == "chunked":
            handler.wfile.write(b"0\r\n\r\n")

    return route


def declares(length: int) -> Route:
    """Headers only: a body that never comes, so reading it would hang until the read timeout."""

    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", str(length))
        handler.end_headers()

    return route


def breaks_off(declared: int, sent: int) -> Route:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "video/mp4")
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(bytes(sent))
        handler.close_connection = True

    return route


# Helpers ----------------------------------------------------------------------------------------


@dataclass
class Received:
    sha256: str
    size: int
    largest_read: int


def download(url: str, policy: DownloadPolicy | None = None, **options: Any) -> Received:
    """Read the whole body in 64 KiB reads, as a hashing sink that keeps nothing."""
    digest, size, largest = hashlib.sha256(), 0, 0
    with open_download(url, policy, **options) as stream:
        while chunk := stream.read(READ_SIZE):
            digest.update(chunk)
            size += len(chunk)
            largest = max(largest, len(chunk))
    return Received(digest.hexdigest(), size, largest)


def refusal(url: str, policy: DownloadPolicy | None = None, **options: Any) -> DownloadError:
    with pytest.raises(DownloadError) as caught:
        download(url, policy, **options)
    assert_no_signature(caught.value)
    return caught.value


def assert_no_signature(error: BaseException) -> None:
    seen: BaseException | None = error
    while seen is not None:
        assert SIGNATURE not in str(seen), f"{type(seen).__name__} shows the signature: {seen}"
        assert SIGNATURE not in repr(seen)
        seen = seen.__cause__ or seen.__context__


def clip_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Streaming ----------------------------------------------------------------------------------------


def test_a_clip_streams_through_intact_in_bounded_reads(server: LocalServer) -> None:
    clip = clip_bytes(3 * MIB)
    server.routes["/clip.mp4"] = body(clip)
    received = download(server.url("/clip.mp4"), server.policy)
    assert (received.sha256, received.size) == (sha256(clip), len(clip))
    assert received.largest_read == READ_SIZE


def test_the_stream_is_readable_and_not_seekable(server: LocalServer) -> None:
    clip = clip_bytes(200 * KIB)
    server.routes["/clip.mp4"] = body(clip, "video/quicktime")
    with open_download(server.url("/clip.mp4"), server.policy) as stream:
        assert stream.readable()
        assert not stream.seekable()
        assert stream.read(10) == clip[:10]
        assert stream.read() == clip[10:]
        assert stream.read(10) == b""


def test_the_allowed_hosts_come_from_the_environment(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = clip_bytes(100 * KIB)
    server.routes["/clip.mp4"] = body(clip, "application/octet-stream")
    monkeypatch.setenv(ALLOW_HOSTS_ENV, f"localhost:{server.port}")
    received = download(f"http://localhost:{server.port}/clip.mp4?{signed_query()}")
    assert received.sha256 == sha256(clip)


def test_memory_stays_flat_while_a_large_clip_streams(server: LocalServer) -> None:
    block, count = clip_bytes(64 * KIB), 1024
    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(block)
    server.routes["/large.mp4"] = blocks(block, count)

    tracemalloc.start()
    try:
        received = download(server.url("/large.mp4"), server.policy)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (received.sha256, received.size) == (expected.hexdigest(), 64 * MIB)
    assert peak < 8 * MIB, f"peak traced memory {peak / MIB:.1f} MiB for a 64 MiB clip"


def test_a_clip_streams_to_disk_and_into_s3_in_parts_through_the_store(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    clip = clip_bytes(12 * MIB)
    server.routes["/clip.mp4"] = body(clip)
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        session.client("s3").create_bucket(Bucket="clips")
        backend = AwsBackend(AwsSettings(table_name="unused", bucket_name="clips"), session=session)
        spooled = tmp_path / "scene_001.mp4"
        with open_download(server.url("/clip.mp4"), server.policy) as stream, spooled.open("wb") as file:
            shutil.copyfileobj(stream, file, MIB)
        backend.objects.upload_file(
            "videos/v1/scene_001.mp4", spooled
        )  # 12 MiB: above boto3's multipart threshold
        stored = session.client("s3").get_object(Bucket="clips", Key="videos/v1/scene_001.mp4")
        assert sha256(stored["Body"].read()) == sha256(clip)
        assert stored["ContentType"] == "video/mp4"


# Redirects -----------------------------------------------------------------------------------------


def test_redirects_are_followed(server: LocalServer) -> None:
    clip = clip_bytes(300 * KIB)
    server.routes["/start"] = redirect(f"http://{server.host}/moved?{signed_query()}", 301)
    server.routes["/moved"] = redirect("/clip.mp4", 307)
    server.routes["/clip.mp4"] = body(clip)
    assert download(server.url("/start"), server.policy).sha256 == sha256(clip)
    assert server.paths() == ["/start", "/moved", "/clip.mp4"]


@pytest.mark.allow_hosts(["127.0.0.1"])
@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "only https"),
        ("https://169.254.169.254/latest/meta-data/", "not a public address"),
        ("https://[fd00:ec2::254]/latest/meta-data/", "not a public address"),
        ("https://10.0.0.5/clip.mp4", "not a public address"),
        ("http://127.0.0.1:{decoy}/clip.mp4", "only https"),
        ("http://localhost:{port}/clip.mp4", "only https"),
        ("https://attacker:pw@127.0.0.1:{port}/clip.mp4", "credentials"),
        ("file:///etc/passwd", "only https"),
    ],
)
def test_a_redirect_anywhere_not_allowed_is_refused_without_connecting(
    server: LocalServer, decoy: LocalServer, location: str, reason: str
) -> None:
    # Any connection but to 127.0.0.1 would fail the test with pytest-socket's error, not ours.
    target = location.format(decoy=decoy.port, port=server.port) + f"?{signed_query()}"
    server.routes["/start"] = redirect(target)
    error = refusal(server.url("/start"), server.policy)
    assert reason in str(error)
    assert server.paths() == ["/start"]
    assert decoy.seen == []


def test_too_many_redirects_are_refused(server: LocalServer) -> None:
    server.routes["/loop"] = redirect(f"/loop?{signed_query()}")
    error = refusal(server.url("/loop"), server.policy)
    assert "redirected more than 5 times" in str(error)
    assert len(server.seen) == 6

    server.seen.clear()
    server.routes["/once"] = redirect("/clip.mp4")
    server.routes["/clip.mp4"] = body(b"clip")
    no_redirects = server.policy.model_copy(update={"max_redirects": 0})
    assert "redirected more than 0 times" in str(refusal(server.url("/once"), no_redirects))
    assert server.paths() == ["/once"]


@pytest.mark.allow_hosts(["192.0.2.1"])
def test_a_name_that_rebinds_to_a_private_address_is_refused_at_connect_time(server: LocalServer) -> None:
    # Public for the check, loopback when the connection is made: the second answer must be
    # checked too. Any connection to 127.0.0.1 would fail the test with pytest-socket's error.
    answers = iter(["93.184.216.34", "127.0.0.1"])
    asked: list[str] = []

    def rebinding(host: str, port: int) -> list[tuple[Any, ...]]:
        asked.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    error = refusal(f"https://clips.example.com:{server.port}/clip.mp4?{signed_query()}", resolve=rebinding)
    assert "resolves to 127.0.0.1, which is not a public address" in str(error)
    assert asked == ["clips.example.com", "clips.example.com"]
    assert server.seen == []


# Refused answers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [403, 404, 410])
def test_a_refused_signed_url_may_have_expired(server: LocalServer, status: int) -> None:
    server.routes["/clip.mp4"] = body(b"<Error>AccessDenied</Error>", "application/xml", status=status)
    error = refusal(server.url("/clip.mp4"), server.policy)
    assert f"HTTP {status}" in str(error)
    assert "may have expired" in str(error)
    assert error.status_code == status


def test_a_server_error_is_reported_with_its_status(server: LocalServer) -> None:
    server.routes["/clip.mp4"] = body(b"oops", "text/plain", status=503)
    error = refusal(server.url("/clip.mp4"), server.policy)
    assert "HTTP 503" in str(error)
    assert "expired" not in str(error)


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [
        ("text/html; charset=utf-8", "'text/html'"),
        ("application/json", "'application/json'"),
        (None, "no Content-Type"),
    ],
)
def test_a_body_that_is_not_a_video_is_refused(
    server: LocalServer, content_type: str | None, shown: str
) -> None:
    server.routes["/clip.mp4"] = body(b"<html>signed in?</html>", content_type)
    assert shown in str(refusal(server.url("/clip.mp4"), server.policy))


def test_a_content_encoded_body_is_refused(server: LocalServer) -> None:
    server.routes["/clip.mp4"] = body(b"\x1f\x8b compressed", Content_Encoding="gzip")
    assert "content-encoded" in str(refusal(server.url("/clip.mp4"), server.policy))


def test_a_declared_length_over_the_cap_is_refused_before_reading(server: LocalServer) -> None:
    policy = server.policy.model_copy(update={"max_bytes": MIB, "read_timeout_seconds": 5})
    server.routes["/clip.mp4"] = declares(MIB + 1)
    started = time.monotonic()
    error = refusal(server.url("/clip.mp4"), policy)
    assert f"declares {MIB + 1} bytes" in str(error)
    assert time.monotonic() - started < 2, "the body was waited for"


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_a_body_larger_than_it_said_is_cut_off_at_the_cap(server: LocalServer, framing: str) -> None:
    policy = server.policy.model_copy(update={"max_bytes": MIB})
    server.routes["/clip.mp4"] = blocks(clip_bytes(64 * KIB), 64, framing=framing)
    delivered = 0
    with (
        pytest.raises(DownloadError, match=f"more than the {MIB} bytes allowed") as caught,
        open_download(server.url("/clip.mp4"), policy) as stream,
    ):
        while chunk := stream.read(READ_SIZE):
            delivered += len(chunk)
    assert_no_signature(caught.value)
    assert delivered <= MIB


def test_reading_on_after_the_cap_does_not_look_like_the_end(server: LocalServer) -> None:
    policy = server.policy.model_copy(update={"max_bytes": 100 * KIB})
    server.routes["/clip.mp4"] = blocks(clip_bytes(64 * KIB), 8, framing="chunked")
    with open_download(server.url("/clip.mp4"), policy) as stream:
        with pytest.raises(DownloadError):
            stream.read()
        with pytest.raises(DownloadError):
            stream.read(READ_SIZE)


def test_a_body_that_breaks_off_is_an_error_with_its_cause(server: LocalServer) -> None:
    server.routes["/clip.mp4"] = breaks_off(declared=MIB, sent=100 * KIB)
    error = refusal(server.url("/clip.mp4"), server.policy)
    assert "broke off" in str(error)
    assert isinstance(error.__cause__, httpx.RemoteProtocolError)


def test_a_stalled_body_times_out(server: LocalServer) -> None:
    policy = server.policy.model_copy(update={"read_timeout_seconds": 0.3})
    server.routes["/clip.mp4"] = blocks(clip_bytes(64 * KIB), 4, stall_seconds=3)
    error = refusal(server.url("/clip.mp4"), policy)
    assert "ReadTimeout" in str(error)
    assert isinstance(error.__cause__, httpx.ReadTimeout)


def test_a_host_that_refuses_the_connection_is_an_error_with_its_cause() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = DownloadPolicy(allow_hosts=frozenset({f"127.0.0.1:{port}"}))
    error = refusal(f"http://127.0.0.1:{port}/clip.mp4?{signed_query()}", policy)
    assert "could not fetch" in str(error)
    assert isinstance(error.__cause__, httpx.ConnectError)


# Without the allowed host ----------------------------------------------------------------------------


@pytest.mark.parametrize(("scheme", "reason"), [("http", "only https"), ("https", "not a public address")])
def test_the_local_server_is_refused_unless_allowed(server: LocalServer, scheme: str, reason: str) -> None:
    server.routes["/clip.mp4"] = body(b"clip")
    assert reason in str(refusal(f"{scheme}://{server.host}/clip.mp4?{signed_query()}", DownloadPolicy()))
    assert server.seen == []


# Logs --------------------------------------------------------------------------------------------------


def test_the_signature_never_reaches_the_logs(server: LocalServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    clip = clip_bytes(100 * KIB)
    server.routes["/start"] = redirect(f"/clip.mp4?{signed_query()}")
    server.routes["/clip.mp4"] = body(clip)
    server.routes["/gone.mp4"] = body(b"", "application/xml", status=410)
    assert download(server.url("/start"), server.policy).sha256 == sha256(clip)
    refusal(server.url("/gone.mp4"), server.policy)
    assert f"http://{server.host}/clip.mp4" in caplog.text
    assert SIGNATURE not in caplog.text
