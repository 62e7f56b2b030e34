"""The providers' API keys in Secrets Manager.

The stack creates each secret with a random placeholder value (CloudFormation must never see a
real key); set the real one once after the first deploy:

    aws secretsmanager put-secret-value --secret-id <RunwaySecretArn> --secret-string "$RUNWAYML_API_SECRET"
    aws secretsmanager put-secret-value --secret-id <AnthropicSecretArn> --secret-string "$ANTHROPIC_API_KEY"

The functions get the secret's ARN in STF_RUNWAY_SECRET_ARN or STF_ANTHROPIC_SECRET_ARN and read
the value with Powertools Parameters (`script_to_film.adapters.secrets`), cached for five minutes, so a
changed key is used within minutes without a deploy. Only the functions that call a provider may
read its secret.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra.constructs.nag import acknowledge

RUNWAY_SECRET_ENV = "STF_RUNWAY_SECRET_ARN"
ANTHROPIC_SECRET_ENV = "STF_ANTHROPIC_SECRET_ARN"
_NO_ROTATION = (
    "A provider API key is issued and revoked in the provider's console; no rotation Lambda can "
    "create one. Replace it with put-secret-value, and the functions pick it up within five minutes."
)


class ProviderSecrets(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.runway = self._secret("Runway", "Runway API key (RUNWAYML_API_SECRET) for the runway provider")
        self.anthropic = self._secret("Anthropic", "Anthropic API key (ANTHROPIC_API_KEY) for the writer")

    def _secret(self, name: str, description: str) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            name,
            description=f"{description}; replace the generated placeholder with put-secret-value",
            generate_secret_string=secretsmanager.SecretStringGenerator(exclude_punctuation=True),
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(secret, "AwsSolutions-SMG4", _NO_ROTATION)
        return secret

    def grant_runway(self, function: lambda_.Function) -> None:
        self._grant(function, self.runway, RUNWAY_SECRET_ENV)

    def grant_anthropic(self, function: lambda_.Function) -> None:
        self._grant(function, self.anthropic, ANTHROPIC_SECRET_ENV)

    @staticmethod
    def _grant(function: lambda_.Function, secret: secretsmanager.Secret, env: str) -> None:
        # GetSecretValue alone: Parameters never describes or lists secrets.
        function.add_to_role_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[secret.secret_arn])
        )
        function.add_environment(env, secret.secret_arn)
