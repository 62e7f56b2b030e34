"""The Script-to-Film stack: wires the constructs together and says what it made. Nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.constants import ARCHITECTURE, Architecture, LayerMode
from infra.constructs.api import Api
from infra.constructs.batch import Batch
from infra.constructs.cleanup import Cleanup
from infra.constructs.functions import LambdaFactory
from infra.constructs.layers import Layers
from infra.constructs.monitoring import Monitoring
from infra.constructs.secrets import ProviderSecrets
from infra.constructs.storage import Storage
from infra.constructs.workflow import Workflow


@dataclass(frozen=True)
class StackSettings:
    """What may differ between two deployments (read from the CDK context by `infra.app`)."""

    layers: LayerMode = "built"
    architecture: Architecture = ARCHITECTURE
    runway_concurrency: int | None = None
    """A cap on Runway scenes at once below the account's tier; None: the account's tier decides."""
    reserved_concurrency: bool = True


class ScriptToFilmStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: StackSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        storage = Storage(self, "Storage")
        secrets = ProviderSecrets(self, "Secrets")
        layers = Layers(self, "Layers", mode=settings.layers, architecture=settings.architecture)
        factory = LambdaFactory(
            self,
            "Functions",
            layers=layers,
            environment={"STF_TABLE": storage.table.table_name, "STF_BUCKET": storage.bucket_name},
            reserved_concurrency=settings.reserved_concurrency,
        )
        workflow = Workflow(self, "Workflow", factory=factory, storage=storage, secrets=secrets)
        api = Api(
            self,
            "Api",
            factory=factory,
            storage=storage,
            secrets=secrets,
            workflow=workflow,
            runway_concurrency=settings.runway_concurrency,
        )
        batch = Batch(
            self,
            "Batch",
            factory=factory,
            storage=storage,
            workflow=workflow,
            runway_concurrency=settings.runway_concurrency,
        )
        cleanup = Cleanup(
            self, "Cleanup", factory=factory, storage=storage, secrets=secrets, workflow=workflow
        )
        Monitoring(
            self,
            "Monitoring",
            state_machine=workflow.state_machine,
            functions=factory.functions,
            alarmed_functions=("Api", "ScriptWriter", "S3Batch", "Cleanup"),
            rest_api=api.rest_api,
            dead_letters={"BatchDeadLetters": batch.dead_letters, "CleanupDeadLetters": cleanup.dead_letters},
        )

        outputs = {
            "ApiUrl": (api.url, "Base URL of the REST API (requests are SigV4-signed and carry the API key)"),
            "ApiKeyId": (api.api_key.key_id, "aws apigateway get-api-key --api-key <id> --include-value"),
            "BucketName": (storage.bucket_name, "Films bucket; drop screenplays under incoming/"),
            "StateMachineArn": (workflow.state_machine.state_machine_arn, "The film workflow"),
            "TableName": (storage.table.table_name, "Scripts, videos and scenes"),
            "IdempotencyTableName": (storage.idempotency_table.table_name, "Idempotency-Key records"),
            "RunwaySecretArn": (secrets.runway.secret_arn, "Set the Runway API key here"),
            "AnthropicSecretArn": (secrets.anthropic.secret_arn, "Set the Anthropic API key here"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
