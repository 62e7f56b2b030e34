"""The films bucket, its access-log bucket, the films table and the Idempotency table.

Grants go through this construct so that each function gets the DynamoDB actions and the S3 key
patterns it uses, never a whole-bucket or `dynamodb:*` grant.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constants import (
    ACCESS_LOG_EXPIRATION_DAYS,
    BY_KIND_INDEX,
    BY_KIND_PARTITION_KEY,
    BY_KIND_SORT_KEY,
    IDEMPOTENCY_PARTITION_KEY,
    IDEMPOTENCY_TTL_ATTRIBUTE,
    INCOMING_EXPIRATION_DAYS,
    INCOMING_PREFIX,
    INCOMPLETE_UPLOAD_DAYS,
    NONCURRENT_VERSION_EXPIRATION_DAYS,
    TABLE_PARTITION_KEY,
    TABLE_SORT_KEY,
    TABLE_TTL_ATTRIBUTE,
)
from infra.constructs.nag import acknowledge_wildcard_resource

_PITR = dynamodb.PointInTimeRecoverySpecification(point_in_time_recovery_enabled=True)

# The bucket's layout (`script_to_film.domain.keys`), as key patterns to grant on.
SCRIPTS = "scripts/*"
JOBS = "videos/*/jobs/*"
CLIPS = "videos/*/scene_*.mp4"
FILM = "videos/*/film.mp4"
MANIFEST = "videos/*/manifest.json"
BATCHES = "batches/*"
BATCH_SUMMARY = "batches/*/summary.json"


class Storage(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        # S3-managed keys on both buckets: access logs cannot be delivered to an SSE-KMS bucket,
        # and with no key of its own the films bucket's presigned URLs need no KMS grant either.
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(ACCESS_LOG_EXPIRATION_DAYS))],
            removal_policy=RemovalPolicy.RETAIN,
        )
        # The films bucket is named from the stack, account and region (no resource), and the
        # functions are given that name and ARN rather than a reference to the bucket: the bucket
        # refers to the batch function in its notification configuration, and the function (and
        # through the state machine every other one) referring back to the bucket would be a cycle.
        stack = Stack.of(self)
        self.bucket_name = f"{stack.stack_name.lower()}-films-{stack.account}-{stack.region}"
        self.bucket_arn = f"arn:{stack.partition}:s3:::{self.bucket_name}"
        # Versioned: an S3 batch starts once per object *version*, so dropping a corrected
        # screenplay under the same name starts it again; and an overwritten or deleted film or
        # clip can be recovered for NONCURRENT_VERSION_EXPIRATION_DAYS.
        self.bucket = s3.Bucket(
            self,
            "FilmsBucket",
            bucket_name=self.bucket_name,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="films/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="incoming",
                    prefix=INCOMING_PREFIX,
                    expiration=Duration.days(INCOMING_EXPIRATION_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                ),
                s3.LifecycleRule(
                    id="old-versions-and-unfinished-uploads",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_EXPIRATION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(INCOMPLETE_UPLOAD_DAYS),
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        films = self.bucket.node.default_child
        assert isinstance(films, s3.CfnBucket)
        self.films_bucket_resource = films

        self.table = dynamodb.Table(
            self,
            "FilmsTable",
            partition_key=dynamodb.Attribute(name=TABLE_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=TABLE_SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=_PITR,
            time_to_live_attribute=TABLE_TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=BY_KIND_INDEX,
            partition_key=dynamodb.Attribute(name=BY_KIND_PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=BY_KIND_SORT_KEY, type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # Powertools Idempotency records: short-lived, so destroyed with the stack.
        self.idempotency_table = dynamodb.Table(
            self,
            "IdempotencyTable",
            partition_key=dynamodb.Attribute(
                name=IDEMPOTENCY_PARTITION_KEY, type=dynamodb.AttributeType.STRING
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=_PITR,
            time_to_live_attribute=IDEMPOTENCY_TTL_ATTRIBUTE,
            removal_policy=RemovalPolicy.DESTROY,
        )

    # Grants ------------------------------------------------------------------------------------

    def grant_items(
        self, function: lambda_.Function, actions: Sequence[str], *, leading_keys: Sequence[str] = ()
    ) -> None:
        """DynamoDB `actions` on the films table; `leading_keys` (`VIDEO#*`) narrows the items
        to those whose partition key matches."""
        conditions = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": list(leading_keys)}}
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[f"dynamodb:{action}" for action in actions],
                resources=[self.table.table_arn],
                conditions=conditions if leading_keys else None,
            )
        )

    def grant_listing(self, function: lambda_.Function) -> None:
        """Query the `by_kind` index (lists of scripts and videos, newest first)."""
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["dynamodb:Query"], resources=[f"{self.table.table_arn}/index/{BY_KIND_INDEX}"]
            )
        )

    def grant_objects(
        self, function: lambda_.Function, actions: Sequence[str], patterns: Sequence[str], why: str
    ) -> None:
        """S3 `actions` on the keys matching `patterns` (`videos/*/scene_*.mp4`) and nothing else."""
        resources = [self.object_arn(pattern) for pattern in patterns]
        function.add_to_role_policy(iam.PolicyStatement(actions=list(actions), resources=resources))
        role = function.role
        assert role is not None
        for resource in resources:
            acknowledge_wildcard_resource(
                role, resource, f"Object keys carry generated ids, so they are granted by pattern: {why}"
            )

    def grant_bucket_listing(self, function: lambda_.Function) -> None:
        """s3:ListBucket, without which S3 answers a missing key with 403 instead of NoSuchKey."""
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[self.bucket_arn])
        )

    def object_arn(self, pattern: str) -> str:
        return f"{self.bucket_arn}/{pattern}"

    def grant_idempotency(self, function: lambda_.Function) -> None:
        """What Powertools' DynamoDBPersistenceLayer does with its records."""
        function.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                ],
                resources=[self.idempotency_table.table_arn],
            )
        )
