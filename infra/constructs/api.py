"""The REST API under /api/v1, its function, and the screenplay writer the API starts.

Every method but the CORS preflight is authorised with IAM (SigV4-signed requests) and also
requires an API key. The key authorises nothing: it ties requests to the usage plan, which meters
them and caps them (rate, burst, daily quota) on top of the stage's own throttling. Clients send
both, for example

    curl --aws-sigv4 "aws:amz:$AWS_REGION:execute-api" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
         -H "x-amz-security-token: $AWS_SESSION_TOKEN" -H "x-api-key: $STF_API_KEY" "$ApiUrl/health"

with the key's value from `aws apigateway get-api-key --api-key <ApiKeyId> --include-value`.
The stage writes JSON access logs and X-Ray traces. `POST /scripts/generate` invokes the writer
asynchronously, so no request waits on Claude behind API Gateway's 29-second limit.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constants import (
    API_BASE_PATH,
    API_BURST_LIMIT,
    API_RATE_LIMIT,
    API_STAGE,
    CORS_ALLOW_HEADERS,
    USAGE_PLAN_BURST_LIMIT,
    USAGE_PLAN_DAILY_QUOTA,
    USAGE_PLAN_RATE_LIMIT,
)
from infra.constructs.functions import LOG_RETENTION, LambdaFactory
from infra.constructs.nag import acknowledge
from infra.constructs.secrets import ProviderSecrets
from infra.constructs.storage import CLIPS, FILM, JOBS, MANIFEST, SCRIPTS, Storage
from infra.constructs.workflow import Workflow

API_ITEMS = ("SCRIPT#*", "VIDEO#*")
WRITER_ITEMS = ("SCRIPT#*",)
_IAM_NOT_COGNITO = (
    "The API is authorised with IAM (SigV4): callers are AWS principals, so no Cognito user pool "
    "is involved (RELIABILITY.md 14: IAM or Cognito)."
)


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: LambdaFactory,
        storage: Storage,
        secrets: ProviderSecrets,
        workflow: Workflow,
        runway_concurrency: int | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.writer = factory.create(self, "ScriptWriter")
        self.function = factory.create(
            self,
            "Api",
            {
                "STF_STATE_MACHINE_ARN": workflow.state_machine.state_machine_arn,
                "STF_SCENE_STATE_MACHINE_ARN": workflow.scene_state_machine.state_machine_arn,
                "STF_WRITER_FUNCTION": self.writer.function_name,
                "STF_IDEMPOTENCY_TABLE": storage.idempotency_table.table_name,
                **({"STF_RUNWAY_CONCURRENCY": str(runway_concurrency)} if runway_concurrency else {}),
            },
        )
        self._grant(storage, secrets, workflow)
        # An async invoke is delivered at least once; one more try covers a crash, and the writer's
        # claim on the script keeps a duplicate from paying Claude twice.
        self.writer.configure_async_invoke(retry_attempts=1, max_event_age=Duration.hours(1))
        self.rest_api = self._rest_api()

    def _grant(self, storage: Storage, secrets: ProviderSecrets, workflow: Workflow) -> None:
        api, writer = self.function, self.writer
        storage.grant_items(
            api, ["GetItem", "PutItem", "UpdateItem", "Query", "BatchWriteItem"], leading_keys=API_ITEMS
        )
        storage.grant_listing(api)
        storage.grant_objects(
            api, ["s3:PutObject"], [SCRIPTS, JOBS], "it stores screenplays and the scene jobs of new videos"
        )
        storage.grant_objects(
            api,
            ["s3:GetObject"],
            [SCRIPTS, CLIPS, FILM, MANIFEST],
            "it reads screenplays and presigns the film and clip URLs it answers with",
        )
        storage.grant_bucket_listing(api)
        storage.grant_idempotency(api)
        workflow.grant_start(api)
        # A start whose answer was lost is looked up by name; a cancel stops the execution.
        workflow.grant_executions(api, ["states:DescribeExecution", "states:StopExecution"])
        secrets.grant_runway(api)  # cancelling a video cancels its provider tasks
        api.add_to_role_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[writer.function_arn])
        )
        storage.grant_items(writer, ["GetItem", "UpdateItem"], leading_keys=WRITER_ITEMS)
        storage.grant_objects(writer, ["s3:PutObject"], [SCRIPTS], "it stores the screenplay it wrote")
        secrets.grant_anthropic(writer)

    def _rest_api(self) -> apigw.RestApi:
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="Script-to-Film: screenplays in, films out",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Execution logs need the account's API Gateway CloudWatch role; this stack sets it.
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=API_STAGE,
                throttling_rate_limit=API_RATE_LIMIT,
                throttling_burst_limit=API_BURST_LIMIT,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                # Request and response bodies hold screenplays: never in the execution logs.
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
            ),
        )
        acknowledge(
            rest_api.node.find_child("CloudWatchRole"),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The AWS managed policy made for API Gateway's account-wide logging role, kept current by AWS.",
        )
        acknowledge(
            rest_api.deployment_stage,
            "AwsSolutions-APIG3",
            "No WAF web ACL: every method is IAM-authorised and throttled by the stage and the usage "
            "plan; a web ACL would add its monthly cost to a low-traffic API.",
        )
        # Browsers need CORS headers on API Gateway's own refusals (403 for a bad signature) too.
        for response_type in (apigw.ResponseType.DEFAULT_4_XX, apigw.ResponseType.DEFAULT_5_XX):
            rest_api.add_gateway_response(
                f"Cors{response_type.response_type}",
                type=response_type,
                response_headers={"Access-Control-Allow-Origin": "'*'"},
            )

        integration = apigw.LambdaIntegration(self.function, allow_test_invoke=False)
        validator = rest_api.add_request_validator(
            "Validator",
            # Bodies are validated by the function's Pydantic models; this checks what the
            # methods declare (the proxy path) and any request model added later.
            validate_request_parameters=True,
            validate_request_body=True,
        )
        base = rest_api.root.resource_for_path(API_BASE_PATH)
        proxy = base.add_resource("{proxy+}")
        for resource, parameters in ((base, {}), (proxy, {"method.request.path.proxy": True})):
            method = resource.add_method(
                "ANY",
                integration,
                authorization_type=apigw.AuthorizationType.IAM,
                api_key_required=True,
                request_parameters=parameters,
                request_validator=validator,
            )
            acknowledge(method, "AwsSolutions-COG4", _IAM_NOT_COGNITO)
            # Unauthorised by necessity: browsers send the preflight unsigned. It is a mock
            # integration that answers the CORS headers and reaches no function.
            resource.add_cors_preflight(
                allow_origins=apigw.Cors.ALL_ORIGINS,
                allow_methods=["GET", "POST", "OPTIONS"],
                allow_headers=list(CORS_ALLOW_HEADERS),
                max_age=Duration.hours(1),
            )

        plan = rest_api.add_usage_plan(
            "UsagePlan",
            description="Meters and caps each API key's requests",
            throttle=apigw.ThrottleSettings(
                rate_limit=USAGE_PLAN_RATE_LIMIT, burst_limit=USAGE_PLAN_BURST_LIMIT
            ),
            quota=apigw.QuotaSettings(limit=USAGE_PLAN_DAILY_QUOTA, period=apigw.Period.DAY),
            api_stages=[apigw.UsagePlanPerApiStage(api=rest_api, stage=rest_api.deployment_stage)],
        )
        self.api_key = rest_api.add_api_key("MeteringKey", description="Meters requests; authorises nothing")
        plan.add_api_key(self.api_key)
        return rest_api

    @property
    def url(self) -> str:
        return self.rest_api.url_for_path(API_BASE_PATH)
