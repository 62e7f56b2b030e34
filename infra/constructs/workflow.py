"""The film workflow: `film.asl.json` as a Standard state machine, and the seven functions it runs.

The definition is the file the local stack runs too; CDK only fills in its `${<State>FunctionArn}`
substitutions. Executions log every event (ALL) without their data, which holds prompts and
screenplay text, and are traced with X-Ray. The state machine's role may invoke exactly these
seven functions.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constants import ASL_PATH, WORKFLOW_STATES
from infra.constructs.functions import LOG_RETENTION, LambdaFactory
from infra.constructs.nag import acknowledge, acknowledge_wildcard_resource
from infra.constructs.secrets import ProviderSecrets
from infra.constructs.storage import BATCH_SUMMARY, CLIPS, FILM, JOBS, MANIFEST, Storage

VIDEO_ITEMS = ("VIDEO#*",)
"""The workflow reads and writes a video's items (the video, its scenes, its submit claims);
Finalize also its batch's, when the video came from an S3 batch."""
_SFN_LOGS_AND_XRAY = (
    "Step Functions' log delivery (logs:CreateLogDelivery, PutResourcePolicy…) and X-Ray "
    "(PutTraceSegments…) actions take no resource ARN: CDK grants them on '*' for logging and tracing."
)


class Workflow(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: LambdaFactory,
        storage: Storage,
        secrets: ProviderSecrets,
    ) -> None:
        super().__init__(scope, construct_id)
        self.functions = {state: factory.create(self, state) for state in WORKFLOW_STATES}
        self._grant(storage, secrets)

        stack = Stack.of(self)
        self.state_machine_name = f"{stack.stack_name}-Film"
        # The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy from growing per log group.
        self.log_group = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=f"/aws/vendedlogs/states/{self.state_machine_name}",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.state_machine_name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(ASL_PATH)),
            definition_substitutions={
                f"{state}FunctionArn": function.function_arn for state, function in self.functions.items()
            },
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False
            ),
            tracing_enabled=True,
        )
        # The definition names the functions by substitution, so CDK cannot grant them itself.
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[function.function_arn for function in self.functions.values()],
            )
        )
        acknowledge(self.state_machine, "AwsSolutions-IAM5[Resource::*]", _SFN_LOGS_AND_XRAY)

    def _grant(self, storage: Storage, secrets: ProviderSecrets) -> None:
        f = self.functions
        storage.grant_items(f["LoadShots"], ["Query", "UpdateItem"], leading_keys=VIDEO_ITEMS)
        # A paid call's claim is one transaction: the claim's PutItem and a ConditionCheckItem
        # that the video is still live.
        claims = ["GetItem", "PutItem", "ConditionCheckItem", "UpdateItem", "DeleteItem"]
        storage.grant_items(f["SubmitScene"], claims, leading_keys=VIDEO_ITEMS)
        storage.grant_objects(f["SubmitScene"], ["s3:GetObject"], [JOBS], "it reads the scene's job")
        # Runway's keyframe path makes the video task from the job once the keyframe image is ready,
        # under a once-only claim item (put, read back, recorded, or released after a refusal).
        storage.grant_items(f["CheckScene"], claims, leading_keys=VIDEO_ITEMS)
        storage.grant_objects(f["CheckScene"], ["s3:GetObject"], [JOBS], "it reads the scene's job")
        storage.grant_items(f["StoreClip"], ["GetItem", "UpdateItem"], leading_keys=VIDEO_ITEMS)
        storage.grant_objects(f["StoreClip"], ["s3:GetObject"], [JOBS], "it reads the scene's job")
        storage.grant_objects(
            f["StoreClip"],
            ["s3:PutObject", "s3:AbortMultipartUpload"],
            [CLIPS],
            "it uploads the scene's clip",
        )
        storage.grant_items(f["RecordFailure"], ["UpdateItem"], leading_keys=VIDEO_ITEMS)
        storage.grant_items(f["AssembleFilm"], ["Query"], leading_keys=VIDEO_ITEMS)
        storage.grant_objects(f["AssembleFilm"], ["s3:GetObject"], [CLIPS], "it downloads the clips")
        storage.grant_objects(
            f["AssembleFilm"], ["s3:PutObject", "s3:AbortMultipartUpload"], [FILM], "it uploads the film"
        )
        # The last video of an S3 batch to end writes the batch's summary.
        storage.grant_items(
            f["Finalize"], ["GetItem", "Query", "UpdateItem"], leading_keys=(*VIDEO_ITEMS, "BATCH#*")
        )
        storage.grant_objects(
            f["Finalize"],
            ["s3:PutObject"],
            [MANIFEST, BATCH_SUMMARY],
            "it writes the video's manifest and, last of a batch, the batch's summary",
        )
        # Every scene task talks to the provider: submit, poll, download, cancel.
        for state in ("SubmitScene", "CheckScene", "StoreClip", "RecordFailure"):
            secrets.grant_runway(f[state])

    def grant_start(self, function: lambda_.Function) -> None:
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"], resources=[self.state_machine.state_machine_arn]
            )
        )

    def grant_executions(self, function: lambda_.Function, actions: list[str]) -> None:
        """`actions` (`states:StopExecution`…) on this state machine's executions, any of them:
        they are named after video ids."""
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{self.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=[executions]))
        role = function.role
        assert role is not None
        acknowledge_wildcard_resource(
            role, executions, "Executions are named after video ids, so they are granted by name pattern."
        )
