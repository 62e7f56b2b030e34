"""cdk-nag acknowledgements, each on the construct it concerns and with its reason.

cdk-nag 3 reads CDK's own `Validations.of(construct).acknowledge(...)`, with ids of the form
`AwsSolutions::<finding>` (the plugin's name, then the finding as its report names it). An
acknowledgement covers that construct and the resources under it, and only the finding it names:
a wildcard finding is acknowledged for the one resource pattern it was granted on, never for the
rule as a whole.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, Stack, Validations
from constructs import IConstruct

XRAY_REASON = (
    "X-Ray's PutTraceSegments and PutTelemetryRecords take no resource ARN: '*' is the only "
    "resource they can be granted on."
)


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge an AwsSolutions finding (`AwsSolutions-SMG4`, `AwsSolutions-IAM5[Resource::*]`)."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"AwsSolutions::{finding}", reason=reason))


def acknowledge_wildcard_resource(scope: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for one resource pattern granted under `scope`."""
    acknowledge(scope, f"AwsSolutions-IAM5[Resource::{nag_resource(scope, resource)}]", reason)


def nag_resource(scope: IConstruct, value: str) -> str:
    """A resource as cdk-nag names it in a finding: `<Logical.Arn>/videos/*`, `<AWS::Region>`…"""
    return _render(Stack.of(scope).resolve(value))


def _render(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"<{argument}>"
        if function == "Fn::GetAtt":
            logical_id, attribute = argument
            return f"<{logical_id}.{attribute}>"
        if function == "Fn::Join":
            separator, parts = argument
            return str(separator).join(_render(part) for part in parts)
    raise ValueError(f"no cdk-nag name for the resource {value!r}")
