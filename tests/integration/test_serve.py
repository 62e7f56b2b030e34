"""`stf serve`: the API over real HTTP on the local stack, as curl and any HTTP client see it.

A client makes a film over HTTP exactly as the README shows (curl when the machine has it);
schemathesis fuzzes every operation of the served OpenAPI document and no request may get a 5xx;
`stf serve` itself starts, answers and stops cleanly on Ctrl-C.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from functions.api import app as api_app
from infra.local.server import API_PREFIX, MAX_BODY_BYTES, LocalApi
from infra.local.stack import WRITER_FUNCTION
from script_to_film.adapters import media
from script_to_film.domain.errors import InvalidInputError

CARDS = media.TITLE_CARD_SECONDS + media.END_CARD_SECONDS
"""An animatic film opens on a title card and closes on an end card."""

REPO = Path(__file__).resolve().parents[2]
TRAIN_STATION = REPO / "events" / "scripts" / "train-station.fountain"
CURL = shutil.which("curl")


@pytest.fixture(scope="module")
def served() -> Iterator[LocalApi]:
    # No key reaches a paid provider from here, whatever a fuzzed request asks for.
    with LocalApi(port=0, environment={"ANTHROPIC_API_KEY": "", "RUNWAYML_API_SECRET": ""}) as api:
        api.stack.lambdas.register(WRITER_FUNCTION, lambda event, context: None)
        yield api


def http(method: str, url: str, body: Any = None) -> tuple[int, bytes]:
    """One request the way the README makes it: with curl when there is one, else httpx."""
    data = None if body is None else json.dumps(body)
    if CURL is None:
        response = httpx.request(
            method,
            url,
            content=data,
            headers={"Content-Type": "application/json"} if data else {},
            timeout=30,
        )
        return response.status_code, response.content
    command = [CURL, "-sS", "-X", method, url, "-w", "\n%{http_code}"]
    if data is not None:
        command += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    completed = subprocess.run(
        command, input=(data or "").encode(), capture_output=True, check=True, timeout=60
    )
    payload, _, status = completed.stdout.rpartition(b"\n")
    return int(status), payload


def download(url: str, target: Path) -> int:
    if CURL is None:
        with httpx.stream("GET", url, timeout=60) as response, target.open("wb") as out:
            for chunk in response.iter_bytes():
                out.write(chunk)
            return response.status_code
    completed = subprocess.run(
        [CURL, "-sS", "-o", str(target), "-w", "%{http_code}", url],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return int(completed.stdout)


def test_a_client_makes_a_film_over_http(served: LocalApi, tmp_path: Path) -> None:
    status, body = http(
        "POST", f"{served.url}/scripts", {"content": TRAIN_STATION.read_text(encoding="utf-8")}
    )
    assert status == 201, body
    script = json.loads(body)

    status, body = http("POST", f"{served.url}/videos", {"script_id": script["id"], "poll_seconds": 1})
    assert status == 202, body
    video_id = json.loads(body)["id"]

    deadline = time.monotonic() + 120
    while True:
        status, body = http("GET", f"{served.url}/videos/{video_id}")
        video = json.loads(body)
        if video["status"] not in ("QUEUED", "RUNNING"):
            break
        assert time.monotonic() < deadline, f"still {video['status']} at {video['progress']:.0%}"
        time.sleep(0.5)

    assert video["status"] == "SUCCEEDED"
    assert video["film_url"].startswith(served.s3_url), "a URL the client can reach"
    film = tmp_path / "film.mp4"
    assert download(video["film_url"], film) == 200
    clip = media.probe(film)
    assert clip.video_codec == "h264"
    assert clip.duration == pytest.approx(
        CARDS + sum(s["duration_seconds"] for s in video["scenes"]), abs=0.5
    )
    first_clip = tmp_path / "scene_001.mp4"
    assert download(video["scenes"][0]["clip_url"], first_clip) == 200
    assert media.probe(first_clip).duration == pytest.approx(video["scenes"][0]["duration_seconds"], abs=0.2)


def test_a_body_over_api_gateways_limit_is_refused_before_the_handler(served: LocalApi) -> None:
    host, port = served.url.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/scripts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode()
        )
        answer = connection.recv(4096)

    assert answer.startswith(b"HTTP/1.1 413")


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        with pytest.raises(InvalidInputError, match=f"cannot serve on 127.0.0.1:{port}"), LocalApi(port=port):
            pass


# schemathesis over the served OpenAPI document ---------------------------------------------------


# The document is the handler's own; the first test checks it is exactly what `stf serve` serves.
DOCUMENT = json.loads(api_app.get_openapi_json_schema())
schema = schemathesis.openapi.from_dict(DOCUMENT)


def test_the_fuzzed_document_is_the_served_one(served: LocalApi) -> None:
    served_document = httpx.get(f"{served.url}/openapi.json", timeout=10).json()

    assert served_document["paths"] == DOCUMENT["paths"]
    assert served_document["components"] == DOCUMENT["components"]


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(served: LocalApi, case: schemathesis.Case) -> None:
    """Every default check but one, `not_a_server_error` first: statuses, content types, headers and
    bodies as documented, invalid input refused, undeclared methods answered 405. Left out is
    `positive_data_acceptance`: a request can fit the schema and still be refused on meaning (a
    script id that does not exist, text without a scene heading, a token never handed out)."""
    case.call_and_validate(
        base_url=served.url.removesuffix(API_PREFIX), excluded_checks=[positive_data_acceptance]
    )


# `stf serve` as a person runs it ----------------------------------------------------------------

_SERVE = (
    "import argparse, sys\n"
    "from stf.serve import add_serve_command\n"
    "parser = argparse.ArgumentParser(prog='stf')\n"
    "add_serve_command(parser.add_subparsers(required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.command(args))\n"
)


def test_stf_serve_prints_where_it_listens_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE, "serve", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert banner.startswith("Script-to-Film API on http://127.0.0.1:"), banner
        url = banner.split()[3]
        hints = [process.stdout.readline() for _ in range(4)]
        assert any(f"curl -s {url}/health" in line for line in hints)
        assert httpx.get(f"{url}/health", timeout=10).json()["status"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)

    assert process.returncode == 0, err
    assert "stopping" in out
    assert '"GET /api/v1/health HTTP/1.1" 200' in err, "each request is logged"
    assert "Traceback" not in err
