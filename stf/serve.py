"""`stf serve`: the REST API over HTTP on the embedded local stack (`infra.local.server`)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from typing import Any

from infra.local.server import LocalApi


def add_serve_command(commands: argparse._SubParsersAction[Any]) -> None:
    """Add `stf serve [--port 8000] [--host 127.0.0.1]`."""
    serve = commands.add_parser(
        "serve", help="serve the REST API over HTTP on the embedded local stack (no AWS account needed)"
    )
    serve.add_argument(
        "--port", type=_port, default=8000, help="port to listen on (default 8000; 0: any free)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.set_defaults(command=serve_command)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65_535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)")
    return value


def serve_command(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; 0 once stopped cleanly."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started in the background by a shell script (`stf serve &`), or by a process that
        # ignores SIGINT: Python keeps that, and Ctrl-C or `kill -INT` would never stop it.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    with LocalApi(host=args.host, port=args.port, access_log=sys.stderr) as api:
        print(f"Script-to-Film API on {api.url}  (local stack, S3 at {api.s3_url}; Ctrl-C stops)")
        print(f"  OpenAPI   {api.url}/openapi.json")
        print(f"  Swagger   {api.url}/swagger")
        print(f"  try       curl -s {api.url}/health")
        print(
            f"            curl -s {api.url}/scripts -H 'Content-Type: application/json' "
            """-d '{"content": "INT. KITCHEN - NIGHT\\n\\nA kettle boils."}'""",
            flush=True,
        )
        try:
            while True:
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("stopping", flush=True)
    return 0
