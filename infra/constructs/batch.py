"""The S3 batch trigger: a screenplay (`.fountain`) or a manifest (`.json`) dropped under
`incoming/` starts one video per screenplay.

The bucket notifies the batch function directly (`s3:ObjectCreated:*`, one filter per suffix),
set on the bucket's own NotificationConfiguration rather than through CDK's notification custom
resource, which would add a Lambda of its own with a wildcard policy. S3 invokes the function
asynchronously and at least once; the function absorbs duplicates by claiming each object
version before starting anything. An event the function still fails on after Lambda's retries
lands in a dead-letter queue that Monitoring alarms on, so a dropped screenplay is never lost
silently.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constants import INCOMING_PREFIX, INCOMING_SUFFIXES, LIBRARY_PREFIX
from infra.constructs.functions import LambdaFactory
from infra.constructs.nag import acknowledge
from infra.constructs.storage import BATCHES, JOBS, SCRIPTS, Storage
from infra.constructs.workflow import Workflow

BATCH_ITEMS = ("SCRIPT#*", "VIDEO#*", "BATCH#*")


class Batch(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        factory: LambdaFactory,
        storage: Storage,
        workflow: Workflow,
        runway_concurrency: int | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.function = factory.create(
            self,
            "S3Batch",
            {
                "STF_STATE_MACHINE_ARN": workflow.state_machine.state_machine_arn,
                **({"STF_RUNWAY_CONCURRENCY": str(runway_concurrency)} if runway_concurrency else {}),
            },
        )
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
            "This queue is itself a dead-letter queue (the on-failure destination of the batch "
            "function's asynchronous invocations); cdk-nag only recognises one behind another queue.",
        )
        self._grant(storage, workflow)
        self.function.configure_async_invoke(
            retry_attempts=2,
            max_event_age=Duration.hours(6),
            on_failure=destinations.SqsDestination(self.dead_letters),
        )
        self._notify(storage)

    def _grant(self, storage: Storage, workflow: Workflow) -> None:
        fn = self.function
        storage.grant_items(
            fn, ["GetItem", "PutItem", "UpdateItem", "Query", "BatchWriteItem"], leading_keys=BATCH_ITEMS
        )
        # GetObjectVersion: the batch reads exactly the version its event announced.
        storage.grant_objects(
            fn,
            ["s3:GetObject", "s3:GetObjectVersion"],
            [f"{INCOMING_PREFIX}*"],
            "it reads the screenplays and manifests dropped there",
        )
        storage.grant_objects(
            fn, ["s3:GetObject"], [f"{LIBRARY_PREFIX}*"], "it reads the screenplays a manifest lists by key"
        )
        storage.grant_bucket_listing(fn)
        storage.grant_objects(
            fn,
            ["s3:PutObject"],
            [SCRIPTS, JOBS, BATCHES],
            "it stores each screenplay, its video's scene jobs, and the batch's record and summary",
        )
        workflow.grant_start(fn)
        # A delivery resuming a batch checks whether a video's execution was already started.
        workflow.grant_executions(fn, ["states:DescribeExecution"])

    def _notify(self, storage: Storage) -> None:
        stack = Stack.of(self)
        # S3 checks that it may invoke the function when the notification is set: permission first.
        permission = lambda_.CfnPermission(
            self,
            "InvokeFromBucket",
            action="lambda:InvokeFunction",
            function_name=self.function.function_arn,
            principal="s3.amazonaws.com",
            source_arn=storage.bucket_arn,
            source_account=stack.account,
        )
        bucket = storage.films_bucket_resource
        bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            lambda_configurations=[
                s3.CfnBucket.LambdaConfigurationProperty(
                    event="s3:ObjectCreated:*",
                    function=self.function.function_arn,
                    filter=s3.CfnBucket.NotificationFilterProperty(
                        s3_key=s3.CfnBucket.S3KeyFilterProperty(
                            rules=[
                                s3.CfnBucket.FilterRuleProperty(name="prefix", value=INCOMING_PREFIX),
                                s3.CfnBucket.FilterRuleProperty(name="suffix", value=suffix),
                            ]
                        )
                    ),
                )
                for suffix in INCOMING_SUFFIXES
            ]
        )
        bucket.add_resource_dependency(permission)
