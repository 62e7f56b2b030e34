"""The REST API over real HTTP, on the embedded local stack (what `stf serve` runs).

Every HTTP request becomes the event API Gateway's REST proxy integration would send
(`api_gateway_event`) and goes to `functions.api.handler`, the very handler deployed on AWS; its
answer goes back as the HTTP response. The workflow runs as in `stf run`: moto executes the state
machine and the Lambda tasks run in-process.

Downloads. `film_url` and the clip URLs are presigned S3 URLs, as on AWS, so the client needs S3
over HTTP. The local stack's S3 is therefore served by moto's own HTTP server
(`ThreadedMotoServer`) on a second port of the same host: it runs in this process on the same
in-memory backend, and every S3 client of the stack uses it as its endpoint
(`AWS_ENDPOINT_URL_S3`), so the URLs the API signs point at it and any HTTP client can fetch them
until they expire. That keeps S3's own semantics (expiry, content type, ranges) instead of a
download route of ours that would have to imitate them.

Requests are served the way Lambda serves them: by a small pool of API "instances", each its
own import of `functions.api` (its own Powertools resolver, which keeps the current event on
itself), each answering one request at a time, like Lambda execution environments. A request
takes an idle instance, or makes one (a cold start) while there are fewer than
`API_INSTANCES`, or waits for one. No lock is held across a request: a slow request delays no
other. The films are made in this same process; their renders run at a lower CPU priority and
a bounded number at a time (`script_to_film.adapters.media`), so that answering stays quick while ten
films render. Connections queue (`LISTEN_BACKLOG`) rather than being refused under a burst.
"""

from __future__ import annotations

import base64
import gc
import importlib.util
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import parse_qsl, unquote, urlsplit

from script_to_film.domain.errors import InvalidInputError

if TYPE_CHECKING:
    from infra.local.lambda_dispatch import LocalLambdaContext
    from infra.local.stack import LocalStack

API_PREFIX = "/api/v1"
STAGE = "local"
ACCOUNT_ID = "123456789012"
API_FUNCTION = "Api"
MAX_BODY_BYTES = 10 * 1024 * 1024
"""API Gateway refuses a larger payload (413) before any Lambda runs."""
INTEGRATION_TIMEOUT_SECONDS = 29
"""API Gateway REST's integration timeout: the handler's deadline, as its context reports it."""
API_MODULE = "functions.api"
API_INSTANCES = 8
"""API instances at most (Lambda's concurrency for the function); more requests wait for one."""
LISTEN_BACKLOG = 128
"""Connections the kernel queues while every request thread is busy being started."""

LOG = logging.getLogger(__name__)


def api_gateway_event(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes | None = None,
    source_ip: str = "127.0.0.1",
    host: str = "localhost",
    request_id: str | None = None,
) -> dict[str, Any]:
    """The event of an API Gateway REST API proxy integration (`/{proxy+}`) for one request.

    As API Gateway does: `path` stays percent-encoded while the proxy path parameter and the
    query string are decoded; `headers` keeps the last value of each header and
    `multiValueHeaders` all of them (likewise the query string); an empty query string or body is
    null; a body that is not UTF-8 text is base64 with `isBase64Encoded`. The path is served
    without the stage in it, as behind a custom domain.
    """
    request_id = request_id or str(uuid.uuid4())
    header_list = list(headers)
    multi_headers: dict[str, list[str]] = {}
    for name, value in header_list:
        multi_headers.setdefault(name, []).append(value)
    pairs = parse_qsl(query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for name, value in pairs:
        multi_query.setdefault(name, []).append(value)
    text: str | None = None
    encoded = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    now = datetime.now(UTC)
    user_agent = next((value for name, value in reversed(header_list) if name.lower() == "user-agent"), None)
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": {name: values[-1] for name, values in multi_headers.items()} or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": {"proxy": unquote(path).lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "extendedRequestId": request_id,
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "principalOrgId": None,
                "sourceIp": source_ip,
                "user": None,
                "userAgent": user_agent,
                "userArn": None,
            },
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "resourceId": "proxy",
            "resourcePath": "/{proxy+}",
            "stage": STAGE,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def lambda_context(request_id: str) -> LocalLambdaContext:
    """The API function's context for one request, with API Gateway's 29 s as its deadline."""
    from infra.local.lambda_dispatch import LocalLambdaContext
    from infra.local.stack import REGION

    return LocalLambdaContext(
        function_name=API_FUNCTION,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{API_FUNCTION}",
        memory_limit_in_mb=512,
        aws_request_id=request_id,
        log_group_name=f"/aws/lambda/{API_FUNCTION}",
        log_stream_name=f"{time.strftime('%Y/%m/%d')}/[$LATEST]{request_id.replace('-', '')}",
        timeout_seconds=INTEGRATION_TIMEOUT_SECONDS,
    )


ApiHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def _fresh_api_handler() -> ApiHandler:
    """`functions.api.handler` from a new import of the module: a Lambda cold start."""
    spec = importlib.util.find_spec(API_MODULE)
    assert spec is not None and spec.loader is not None, f"{API_MODULE} is importable"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: ApiHandler = module.handler
    return handler


class ApiInstances:
    """The API function's execution environments: each serves one request at a time."""

    def __init__(self, limit: int = API_INSTANCES) -> None:
        self._limit = limit
        self._changed = threading.Condition()
        self._idle: list[ApiHandler] = []
        self._made = 0

    @contextmanager
    def instance(self) -> Iterator[ApiHandler]:
        """An idle instance, a new one while there are fewer than the limit, or the next freed."""
        with self._changed:
            self._changed.wait_for(lambda: bool(self._idle) or self._made < self._limit)
            handler = self._idle.pop() if self._idle else None
            if handler is None:
                self._made += 1
        if handler is None:
            try:
                handler = _fresh_api_handler()
            except BaseException:
                with self._changed:
                    self._made -= 1
                    self._changed.notify()
                raise
        try:
            yield handler
        finally:
            with self._changed:
                self._idle.append(handler)
                self._changed.notify()


class _ApiHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    # Refuse a port another process holds, rather than share it.
    allow_reuse_address = False
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], access_log: TextIO | None) -> None:
        super().__init__(address, _ApiRequestHandler)
        self.instances = ApiInstances()
        self.access_log = access_log


class _ApiRequestHandler(BaseHTTPRequestHandler):
    server: _ApiHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "stf-serve"

    def __getattr__(self, name: str) -> Any:
        # `do_<METHOD>` for every method: like API Gateway's ANY, the server hands each one to the
        # function, which answers the methods it has no route for.
        if name.startswith("do_"):
            return self._proxy
        raise AttributeError(name)

    def _proxy(self) -> None:
        body = self._read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        event = api_gateway_event(
            self.command,
            url.path,
            query=url.query,
            headers=self.headers.items(),
            body=body,
            source_ip=self.client_address[0],
            host=self.headers.get("Host", "localhost"),
        )
        request_id = event["requestContext"]["requestId"]
        try:
            with self.server.instances.instance() as handler:
                response = handler(event, lambda_context(request_id))
        except Exception:
            # What API Gateway answers when the function itself fails.
            LOG.exception("the API handler failed on %s %s", self.command, self.path)
            self._send_json(HTTPStatus.BAD_GATEWAY, {"message": "Internal server error"})
            return
        self._send_proxy_response(response)

    def _read_body(self) -> bytes | None:
        """The request body, or None once an error has been answered instead."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send_json(HTTPStatus.LENGTH_REQUIRED, {"message": "send a Content-Length"})
            return None
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self._send_json(HTTPStatus.BAD_REQUEST, {"message": "bad Content-Length"})
            return None
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send_json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"message": "Request Too Long"})
            return None
        return self.rfile.read(length) if length else b""

    def _send_proxy_response(self, response: Mapping[str, Any]) -> None:
        raw = response.get("body") or ""
        payload = base64.b64decode(raw) if response.get("isBase64Encoded") else str(raw).encode("utf-8")
        self.send_response(int(response.get("statusCode", HTTPStatus.BAD_GATEWAY)))
        headers: dict[str, list[str]] = {
            name: [str(value)] for name, value in (response.get("headers") or {}).items()
        }
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = [str(value) for value in values]
        for name, values in headers.items():
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                for value in values:
                    self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _send_json(self, status: HTTPStatus, document: Mapping[str, Any]) -> None:
        payload = json.dumps(document).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.access_log is not None:
            print(f"{self.log_date_time_string()}  {format % args}", file=self.server.access_log, flush=True)


class LocalApi:
    """The API on the local stack over HTTP: `with LocalApi(port=0) as api:` then `api.url`.

    `port=0` takes a free port. Starting it starts the local stack, its S3 over HTTP, and the API
    server on a background thread; leaving the block stops all three.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        environment: Mapping[str, str] | None = None,
        access_log: TextIO | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._environment = dict(environment or {})
        self._access_log = access_log
        self._exit = ExitStack()
        self.stack: LocalStack
        self.s3_url = ""

    @property
    def url(self) -> str:
        """The API's base URL, e.g. http://127.0.0.1:8000/api/v1."""
        return f"http://{_url_host(self.host)}:{self.port}{API_PREFIX}"

    def __enter__(self) -> LocalApi:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def _start(self) -> None:
        # Imported here, not with the module: `stf` adds this command to its parser at every start,
        # and moto takes half a second to import.
        from infra.local.stack import LocalStack

        try:
            httpd = _ApiHttpServer((self.host, self.port), self._access_log)
        except OSError as error:
            raise InvalidInputError(
                f"cannot serve on {self.host}:{self.port}: {error.strerror or error}"
            ) from None
        self._exit.callback(httpd.server_close)
        self.port = int(httpd.server_address[1])
        self.s3_url = self._exit.enter_context(_s3_over_http(self.host))
        self.stack = self._exit.enter_context(
            LocalStack(environment={**self._environment, "AWS_ENDPOINT_URL_S3": self.s3_url})
        )
        self._exit.enter_context(_start_up_heap_frozen())
        thread = threading.Thread(target=httpd.serve_forever, name="stf-serve", daemon=True)
        thread.start()
        # Runs first on exit: no request reaches the handler once the stack is going away.
        self._exit.callback(thread.join, 5)
        self._exit.callback(httpd.shutdown)


@contextmanager
def _start_up_heap_frozen() -> Iterator[None]:
    """Keep what exists once the stack is up (boto's and moto's models, the modules: hundreds of
    thousands of objects) out of the garbage collector's full collections while serving. Such a
    collection holds the GIL, and over that heap it paused every request for one to three
    seconds while films rendered; it now walks only what was made since."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextmanager
def _s3_over_http(host: str) -> Iterator[str]:
    """moto's HTTP server on a free port, serving the in-process S3 the local stack uses."""
    from moto.server import ThreadedMotoServer

    # Werkzeug logs every request moto serves; the API's own log is enough.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=host, port=0, verbose=False)
    server.start()
    try:
        bound_host, port = server.get_host_and_port()
        yield f"http://{_url_host(bound_host)}:{port}"
    finally:
        server.stop()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
