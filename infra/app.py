"""The CDK app: one stack, checked by cdk-nag's AwsSolutions rules at every synth.

    make synth                       # CDK_OUTDIR=cdk.out python -m infra.app, offline, seconds
    make deploy                      # npx aws-cdk deploy (needs AWS credentials)

Context (`cdk … -c key=value`, or CDK_CONTEXT_JSON when running this module directly):
`stf:layers` (`built` | `placeholder`), `stf:runway_concurrency` (1–40, Runway tier),
`stf:reserved_concurrency` (`true` | `false`). A synth with a cdk-nag error fails, and
`<outdir>/validation-report.json` says which rule and which resource.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, get_args

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Node

from infra.constants import (
    CONTEXT_LAYERS,
    CONTEXT_RESERVED_CONCURRENCY,
    CONTEXT_RUNWAY_CONCURRENCY,
    STACK_NAME,
    LayerMode,
)
from infra.stack import ScriptToFilmStack, StackSettings

MAX_MAP_CONCURRENCY = 40
FEATURE_FLAGS: Mapping[str, Any] = {
    # Server access logs delivered under a bucket policy, not the legacy log-delivery ACL, so the
    # log bucket can enforce bucket-owner object ownership (ACLs off) like the films bucket.
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
}
"""Set here rather than in cdk.json, so that `python -m infra.app` and the tests build the same stack."""


class SettingsError(ValueError):
    """A context value the stack cannot be built with."""


def settings_from_context(node: Node) -> StackSettings:
    """The stack's settings from the context, which holds strings when given with `-c`."""
    layers = str(node.try_get_context(CONTEXT_LAYERS) or "built")
    if layers not in get_args(LayerMode):
        raise SettingsError(f"{CONTEXT_LAYERS} must be one of {get_args(LayerMode)}, not {layers!r}")
    concurrency_value = node.try_get_context(CONTEXT_RUNWAY_CONCURRENCY)
    concurrency: int | None = None
    if concurrency_value is not None:
        try:
            concurrency = int(concurrency_value)
        except ValueError:
            raise SettingsError(
                f"{CONTEXT_RUNWAY_CONCURRENCY} must be a whole number, not {concurrency_value!r}"
            ) from None
        if not 1 <= concurrency <= MAX_MAP_CONCURRENCY:
            raise SettingsError(
                f"{CONTEXT_RUNWAY_CONCURRENCY} must be 1 to {MAX_MAP_CONCURRENCY}, not {concurrency}"
            )
    reserved = str(node.try_get_context(CONTEXT_RESERVED_CONCURRENCY)).lower() != "false"
    return StackSettings(
        layers=layers,  # type: ignore[arg-type]  # checked against LayerMode above
        runway_concurrency=concurrency,
        reserved_concurrency=reserved,
    )


def build_app(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None
) -> tuple[App, ScriptToFilmStack]:
    app = App(context={**FEATURE_FLAGS, **(context or {})}, outdir=outdir)
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    stack = ScriptToFilmStack(
        app,
        STACK_NAME,
        settings=settings_from_context(app.node),
        # Environment-agnostic unless the CDK CLI says where it deploys.
        env=Environment(account=account, region=region) if account and region else None,
        description="Script-to-Film: screenplays become short films (API Gateway, Lambda, Step Functions)",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
