"""The cleanup after an execution that ended outside the workflow's own paths.

An execution stopped from outside (StopExecution, the console), timed out after 24 h, or failed
(a history overflow, a Finalize that failed) never reaches Finalize, so nothing would end its
video or cancel the provider tasks its scenes still have running. EventBridge delivers the state
machine's "Step Functions Execution Status Change" events for FAILED, TIMED_OUT and ABORTED to
the Cleanup function (`functions/cleanup.py`), which ends the video and its scenes, cancels
their live tasks and writes the manifest. EventBridge retries a delivery that fails; one it
still cannot deliver lands in a dead-letter queue that Monitoring alarms on.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.functions import LambdaFactory
from infra.constructs.nag import acknowledge
from infra.constructs.secrets import ProviderSecrets
from infra.constructs.storage import BATCH_SUMMARY, MANIFEST, Storage
from infra.constructs.workflow import VIDEO_ITEMS, Workflow

ENDED_OUTSIDE_THE_WORKFLOW = ["FAILED", "TIMED_OUT", "ABORTED"]


class Cleanup(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: LambdaFactory,
        storage: Storage,
        secrets: ProviderSecrets,
        workflow: Workflow,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = factory.create(self, "Cleanup")
        fn = self.function
        storage.grant_items(fn, ["GetItem", "Query", "UpdateItem"], leading_keys=(*VIDEO_ITEMS, "BATCH#*"))
        storage.grant_objects(
            fn,
            ["s3:PutObject"],
            [MANIFEST, BATCH_SUMMARY],
            "it writes the ended video's manifest and, last of a batch, the batch's summary",
        )
        secrets.grant_runway(fn)  # it cancels the tasks still running at the provider
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue (of the cleanup rule's target); cdk-nag only "
            "recognises one behind another queue.",
        )
        self.rule = events.Rule(
            self,
            "ExecutionEnded",
            description="A film execution ended FAILED, TIMED_OUT or ABORTED: end its video and its tasks",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={
                    "status": ENDED_OUTSIDE_THE_WORKFLOW,
                    "stateMachineArn": [
                        workflow.state_machine.state_machine_arn,
                        workflow.scene_state_machine.state_machine_arn,
                    ],
                },
            ),
            targets=[
                targets.LambdaFunction(
                    fn,
                    retry_attempts=8,
                    max_event_age=Duration.hours(6),
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )
