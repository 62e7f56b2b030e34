"""The film workflow: two Standard state machines and the eight functions they run.

`film.asl.json` (the film: LoadShots, Preflight, a Map of scenes, AssembleFilm, Finalize) starts
one execution of `scene.asl.json` (a scene: submit, poll, store or record a failure) per scene
through `states:startExecution.sync:2`, so each scene's polls are in its own history. The
definitions are the files the local stack runs too; CDK only fills in their `${<State>FunctionArn}`
and `${SceneWorkflowArn}` substitutions. Executions log every event (ALL) without their data,
which holds prompts and screenplay text, and are traced with X-Ray. Each state machine's role may
invoke exactly its own functions; the film's may also start, follow and stop scene executions.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constants import ASL_PATH, FILM_STATES, SCENE_ASL_PATH, SCENE_STATES, WORKFLOW_STATES
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
        self.scene_state_machine_name = f"{stack.stack_name}-Scene"
        self.scene_state_machine = self._state_machine(
            "SceneStateMachine",
            self.scene_state_machine_name,
            SCENE_ASL_PATH,
            {f"{state}FunctionArn": self.functions[state].function_arn for state in SCENE_STATES},
        )
        self.state_machine = self._state_machine(
            "StateMachine",
            self.state_machine_name,
            ASL_PATH,
            {
                **{f"{state}FunctionArn": self.functions[state].function_arn for state in FILM_STATES},
                "SceneWorkflowArn": self.scene_state_machine.state_machine_arn,
            },
        )
        self._let_the_film_run_its_scenes()

    def _state_machine(
        self, construct_id: str, name: str, definition: Path, substitutions: dict[str, str]
    ) -> sfn.StateMachine:
        # The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy from growing per log group.
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.DESTROY,
        )
        machine = sfn.StateMachine(
            self,
            construct_id,
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_file(str(definition)),
            definition_substitutions=substitutions,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
        )
        # The definition names the functions by substitution, so CDK cannot grant them itself.
        functions = [arn for key, arn in substitutions.items() if key.endswith("FunctionArn")]
        invoke = iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=functions)
        machine.add_to_role_policy(invoke)
        acknowledge(machine, "AwsSolutions-IAM5[Resource::*]", _SFN_LOGS_AND_XRAY)
        return machine

    def _let_the_film_run_its_scenes(self) -> None:
        """What `states:startExecution.sync:2` needs of the film's role: start a scene's
        execution, follow it and stop it, and the managed rule through which Step Functions
        learns that it ended."""
        stack = Stack.of(self)
        film = self.state_machine
        film.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"], resources=[self.scene_state_machine.state_machine_arn]
            )
        )
        scene_executions = self._executions_of(self.scene_state_machine_name)
        film.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"], resources=[scene_executions]
            )
        )
        managed_rule = stack.format_arn(
            service="events",
            resource="rule",
            resource_name="StepFunctionsGetEventsForStepFunctionsExecutionRule",
        )
        rule_actions = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
        film.add_to_role_policy(iam.PolicyStatement(actions=rule_actions, resources=[managed_rule]))
        acknowledge_wildcard_resource(
            film.role, scene_executions, "Scene executions are named after their video and scene."
        )

    def _executions_of(self, state_machine_name: str) -> str:
        return Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _grant(self, storage: Storage, secrets: ProviderSecrets) -> None:
        f = self.functions
        storage.grant_items(f["LoadShots"], ["Query", "UpdateItem"], leading_keys=VIDEO_ITEMS)
        storage.grant_items(f["Preflight"], ["Query", "UpdateItem"], leading_keys=VIDEO_ITEMS)
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
        for state in ("Preflight", "SubmitScene", "CheckScene", "StoreClip", "RecordFailure"):
            secrets.grant_runway(f[state])

    def grant_start(self, function: lambda_.Function) -> None:
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:StartExecution"], resources=[self.state_machine.state_machine_arn]
            )
        )

    def grant_executions(self, function: lambda_.Function, actions: list[str]) -> None:
        """`actions` (`states:StopExecution`…) on the film's and the scenes' executions, any of
        them: they are named after video ids (and scene numbers)."""
        executions = [
            self._executions_of(self.state_machine_name),
            self._executions_of(self.scene_state_machine_name),
        ]
        function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=executions))
        role = function.role
        assert role is not None
        for pattern in executions:
            acknowledge_wildcard_resource(
                role, pattern, "Executions are named after video ids, so they are granted by name pattern."
            )
