"""schemathesis over the API's own OpenAPI document, in-process: every phase (examples, coverage,
fuzzing with 200 examples an operation, stateful), and no request may get a 5xx or an answer over a
megabyte.

Requests reach `functions.api.handler` through `tests.fakes.api_gateway` (a WSGI stand-in for API
Gateway) on one embedded local stack: no socket, no server thread, so this measures the handler
alone. `test_serve.py` fuzzes the same document over real HTTP through `stf serve`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from functions import api
from infra.local.stack import WRITER_FUNCTION, LocalStack
from script_to_film.domain.limits import MAX_RESPONSE_BYTES
from tests.fakes.api_gateway import wsgi_app

EXAMPLES = 200
"""Fuzzed requests per operation (the coverage and examples phases add their own)."""

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app(api.handler))


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    # No key reaches a paid provider or Claude from here, whatever a fuzzed request asks for.
    with LocalStack({"ANTHROPIC_API_KEY": "", "RUNWAYML_API_SECRET": ""}) as running:
        running.lambdas.register(WRITER_FUNCTION, lambda event, context: None)
        yield running


def answers_under_a_megabyte(ctx: Any, response: Any, case: schemathesis.Case) -> None:
    if response.content_size >= MAX_RESPONSE_BYTES:
        raise AssertionError(f"{case.method} {case.path}: an answer of {response.content_size:,} bytes")


def validate(response: Any, case: schemathesis.Case) -> None:
    """Every default check but `positive_data_acceptance` (a request can fit the schema and still be
    refused on meaning: an id that does not exist, text without a scene heading, a token never
    handed out), and the answer's size."""
    case.validate_response(
        response, excluded_checks=[positive_data_acceptance], additional_checks=[answers_under_a_megabyte]
    )


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(stack: LocalStack, case: schemathesis.Case) -> None:
    validate(case.call(), case)


class ApiWorkflow(schema.as_state_machine()):  # type: ignore[misc]
    """Scenarios that follow the document's links: store a script, then read it, its scenes and
    its text; start a video, then follow and cancel it."""

    def validate_response(
        self, response: Any, case: schemathesis.Case, additional_checks: Any = None, **kwargs: Any
    ) -> None:
        validate(response, case)


@pytest.mark.stateful
def test_no_sequence_of_linked_requests_gets_a_server_error(stack: LocalStack) -> None:
    ApiWorkflow.run(
        settings=settings(
            max_examples=EXAMPLES // 4,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
