"""Provider API keys: from Secrets Manager through Powertools Parameters on AWS, from the
environment on a laptop. Keys are never logged, stored or put in a state payload.

On AWS the function's environment names the secret (`STF_RUNWAY_SECRET_ARN`,
`STF_ANTHROPIC_SECRET_ARN`), never the key itself; Parameters caches the value for
`SECRET_MAX_AGE_SECONDS`, so a rotated key is picked up within minutes without a cold start.
Locally the SDKs' own variables are read (`RUNWAYML_API_SECRET`, `ANTHROPIC_API_KEY`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from script_to_film.domain.errors import ConfigurationError

SECRET_MAX_AGE_SECONDS = 300


def _secret(secret_env: str, key_env: str, what: str, env: Mapping[str, str]) -> str:
    secret_id = env.get(secret_env)
    if secret_id:
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(secret_id, max_age=SECRET_MAX_AGE_SECONDS)
        if not isinstance(value, str) or not value.strip():
            raise ConfigurationError(f"the {what} secret named by {secret_env} is empty")
        return value.strip()
    value = env.get(key_env, "").strip()
    if not value:
        raise ConfigurationError(f"no {what}: set {key_env}")
    return value


def runway_api_key(env: Mapping[str, str] = os.environ) -> str:
    return _secret("STF_RUNWAY_SECRET_ARN", "RUNWAYML_API_SECRET", "Runway API key", env)


def anthropic_api_key(env: Mapping[str, str] = os.environ) -> str:
    return _secret("STF_ANTHROPIC_SECRET_ARN", "ANTHROPIC_API_KEY", "Anthropic API key", env)
