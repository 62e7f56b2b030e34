"""The one Lambda factory: every function of the stack is made here, the same way.

Python 3.13 on one architecture with the layers built for it; code from `functions/` (handlers
are `<module>.handler`); X-Ray tracing; JSON logs to a log group of its own with a retention; and
a role of its own that starts with nothing but writing to that log group and sending traces.
What else a function may do is granted by the construct that owns the resource (`Storage`,
`ProviderSecrets`, `Workflow`…), action by action.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constants import (
    FFMPEG_LAYER_PATH,
    FUNCTIONS,
    FUNCTIONS_DIR,
    METRICS_NAMESPACE,
    SERVICE_NAME,
)
from infra.constructs.layers import RUNTIME, Layers
from infra.constructs.nag import XRAY_REASON, acknowledge

LOG_RETENTION = logs.RetentionDays.ONE_MONTH
"""Every log group of the stack: LOG_RETENTION_DAYS."""
_LATEST_RUNTIME_REASON = (
    "Python 3.13 on purpose: the layers are built for CPython 3.13 wheels and the code is tested on "
    "3.11 to 3.13; moving to a newer runtime is a deliberate change of the layers with it."
)


class LambdaFactory(Construct):
    """`factory.create(scope, "StoreClip", environment)` builds the function `FUNCTIONS` describes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        layers: Layers,
        environment: Mapping[str, str],
        reserved_concurrency: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self._layers = layers
        self._environment = {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            # X-Ray keeps what a handler answers or raises unless told not to: screenplays,
            # presigned URLs and provider errors quoting them stay out of every trace.
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
            "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
            **environment,
        }
        self._reserved_concurrency = reserved_concurrency
        # One asset for all functions: the thin handlers are a few kilobytes together.
        self._code = lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=["__pycache__", "*.pyc"])
        self.functions: dict[str, lambda_.Function] = {}

    def create(
        self, scope: Construct, name: str, environment: Mapping[str, str] | None = None
    ) -> lambda_.Function:
        spec = FUNCTIONS[name]
        role = iam.Role(
            scope,
            f"{name}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"The {name} function: only what it uses",
        )
        log_group = logs.LogGroup(
            scope, f"{name}Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.DESTROY
        )
        layers = [self._layers.core, self._layers.deps]
        extra = dict(environment or {})
        if spec.ffmpeg:
            layers.append(self._layers.ffmpeg)
            extra["IMAGEIO_FFMPEG_EXE"] = FFMPEG_LAYER_PATH
        function = lambda_.Function(
            scope,
            name,
            description=spec.description,
            runtime=RUNTIME,
            architecture=self._layers.architecture,
            code=self._code,
            handler=spec.handler,
            layers=layers,
            role=role,
            timeout=Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            ephemeral_storage_size=Size.mebibytes(spec.ephemeral_storage_mb),
            reserved_concurrent_executions=spec.reserved_concurrency if self._reserved_concurrency else None,
            tracing=lambda_.Tracing.ACTIVE,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel.INFO,
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            log_group=log_group,
            environment={**self._environment, **extra},
        )
        # The log group exists before the function runs, so creating it is not granted.
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]", XRAY_REASON)
        acknowledge(function, "AwsSolutions-L1", _LATEST_RUNTIME_REASON)
        self.functions[name] = function
        return function
