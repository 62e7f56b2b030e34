"""The AWS stack as synthesised: resources, their security properties, the workflow's wiring, and
cdk-nag's AwsSolutions verdict. One synth for the module (placeholder layers: no download)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk.assertions import Match, Template

from infra.app import SettingsError, build_app, settings_from_context
from infra.constants import (
    API_BURST_LIMIT,
    API_RATE_LIMIT,
    ARCHITECTURE,
    ASL_PATH,
    BY_KIND_INDEX,
    FILM_STATES,
    FUNCTIONS,
    FUNCTIONS_DIR,
    IDEMPOTENCY_TTL_ATTRIBUTE,
    INCOMING_PREFIX,
    LIBRARY_PREFIX,
    LOG_RETENTION_DAYS,
    METRICS_NAMESPACE,
    SCENE_ASL_PATH,
    SCENE_STATES,
    SERVICE_NAME,
    STACK_NAME,
    TABLE_TTL_ATTRIBUTE,
    WORKFLOW_STATES,
)
from infra.constructs.layers import LayerNotBuiltError, Layers

ROOT = Path(__file__).resolve().parents[2]
ASL_VALIDATOR = ROOT / "node_modules" / ".bin" / "asl-validator"
EVERY_FUNCTION_ENV = {
    "STF_TABLE",
    "STF_BUCKET",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
    "POWERTOOLS_TRACER_CAPTURE_ERROR",
}
RUNWAY_READERS = {"Preflight", "SubmitScene", "CheckScene", "StoreClip", "RecordFailure", "Api", "Cleanup"}
ANTHROPIC_READERS = {"ScriptWriter"}


@pytest.fixture(scope="module")
def synthesised(tmp_path_factory: pytest.TempPathFactory) -> tuple[Stack, Path]:
    """The app as `make synth` builds it, with the cdk-nag plugin: synth raises on any nag error."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, stack = build_app({"stf:layers": "placeholder"}, outdir=str(outdir))
    app.synth()
    return stack, outdir


@pytest.fixture(scope="module")
def template(synthesised: tuple[Stack, Path]) -> Template:
    return Template.from_stack(synthesised[0])


@pytest.fixture(scope="module")
def resources(template: Template) -> dict[str, Any]:
    return dict(template.to_json()["Resources"])


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: resource for name, resource in resources.items() if resource["Type"] == kind}


def functions_by_handler(resources: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Handler (`api.handler`) → (logical id, properties) for every Lambda function."""
    return {
        fn["Properties"]["Handler"]: (name, fn["Properties"])
        for name, fn in of_type(resources, "AWS::Lambda::Function").items()
    }


def function(resources: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    return functions_by_handler(resources)[FUNCTIONS[name].handler]


def statements(resources: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(policy logical id, statement) of every IAM policy in the template, inline ones included."""
    for name, resource in resources.items():
        documents = []
        if resource["Type"] == "AWS::IAM::Policy":
            documents.append(resource["Properties"]["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
        for document in documents:
            for statement in document["Statement"]:
                yield name, statement


def listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_of_role(resources: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for name, statement in statements(resources)
        if resources[name]["Type"] == "AWS::IAM::Policy"
        and {"Ref": role_id} in resources[name]["Properties"]["Roles"]
    ]


def role_of(properties: dict[str, Any]) -> str:
    return str(properties["Role"]["Fn::GetAtt"][0])


# cdk-nag -----------------------------------------------------------------------------------------


def test_cdk_nag_awssolutions_reports_no_violation(synthesised: tuple[Stack, Path]) -> None:
    report = json.loads((synthesised[1] / "validation-report.json").read_text())
    violations = [v for plugin in report["pluginReports"] for v in plugin.get("violations", [])]
    assert violations == []


def test_cdk_nag_is_on_and_would_fail_the_synth(tmp_path: Path) -> None:
    from aws_cdk import aws_s3 as s3

    app, stack = build_app({"stf:layers": "placeholder"}, outdir=str(tmp_path))
    s3.Bucket(stack, "Careless")  # no TLS policy, no access logs
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {v["ruleName"] for plugin in report["pluginReports"] for v in plugin["violations"]}
    assert {"AwsSolutions-S1", "AwsSolutions-S10"} <= rules


def test_every_acknowledgement_is_narrow_and_explained(synthesised: tuple[Stack, Path]) -> None:
    stack = synthesised[0]
    acknowledged: dict[str, dict[str, str]] = {}
    for construct in stack.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == "aws:cdk:acknowledged-rules":
                acknowledged.setdefault(construct.node.path, {}).update(entry.data)
    assert acknowledged, "the stack acknowledges some findings"
    assert stack.node.path not in acknowledged, "nothing is acknowledged for the whole stack"
    for path, rules in acknowledged.items():
        for rule, reason in rules.items():
            assert rule.startswith("AwsSolutions::AwsSolutions-"), f"{path}: {rule} is a cdk-nag finding"
            assert len(reason) > 40, f"{path} {rule} says why"
            assert "IAM5[Action::" not in rule, f"{path} acknowledges a wildcard action"
            if "IAM5" in rule:
                assert re.search(r"IAM5\[Resource::", rule), f"{path}: {rule} names the one resource pattern"


# Storage ---------------------------------------------------------------------------------------


def test_buckets_block_public_access_require_tls_and_encrypt(resources: dict[str, Any]) -> None:
    buckets = of_type(resources, "AWS::S3::Bucket")
    assert len(buckets) == 2, "films and access logs"
    policies = {
        p["Properties"]["Bucket"]["Ref"]: p["Properties"]["PolicyDocument"]["Statement"]
        for p in of_type(resources, "AWS::S3::BucketPolicy").values()
    }
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        assert props["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }, name
        encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}, name
        tls_only = [
            s
            for s in policies[name]
            if s["Effect"] == "Deny" and s["Condition"].get("Bool", {}).get("aws:SecureTransport") == "false"
        ]
        assert tls_only and tls_only[0]["Principal"] == {"AWS": "*"}, f"{name} refuses plain HTTP"
        assert tls_only[0]["Action"] == "s3:*"


def test_the_films_bucket_logs_versions_expires_and_notifies_the_batch(resources: dict[str, Any]) -> None:
    buckets = of_type(resources, "AWS::S3::Bucket")
    films = next(b["Properties"] for b in buckets.values() if "NotificationConfiguration" in b["Properties"])
    logs_bucket = next(name for name, b in buckets.items() if "LoggingConfiguration" not in b["Properties"])
    assert films["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_bucket}
    assert films["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = films["LifecycleConfiguration"]["Rules"]
    incoming = next(r for r in rules if r.get("Prefix") == "incoming/")
    assert incoming["ExpirationInDays"] > 0
    assert any(r.get("AbortIncompleteMultipartUpload") for r in rules)
    assert any(r.get("NoncurrentVersionExpiration") for r in rules if r.get("Prefix") is None)

    batch_id, _ = function(resources, "S3Batch")
    triggers = films["NotificationConfiguration"]["LambdaConfigurations"]
    filters = set()
    for trigger in triggers:
        assert trigger["Function"] == {"Fn::GetAtt": [batch_id, "Arn"]}
        assert trigger["Event"] == "s3:ObjectCreated:*"
        rule = {r["Name"]: r["Value"] for r in trigger["Filter"]["S3Key"]["Rules"]}
        filters.add((rule["prefix"], rule["suffix"]))
    assert filters == {("incoming/", ".fountain"), ("incoming/", ".json")}
    permission = next(
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "s3.amazonaws.com"
    )
    assert permission["FunctionName"] == {"Fn::GetAtt": [batch_id, "Arn"]}
    assert "SourceArn" in permission and "SourceAccount" in permission


def test_the_films_table_is_what_the_store_expects(template: Template) -> None:
    from script_to_film.adapters.dynamo import BY_KIND_INDEX as STORE_INDEX

    assert STORE_INDEX == BY_KIND_INDEX
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": TABLE_TTL_ATTRIBUTE, "Enabled": True},
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": BY_KIND_INDEX,
                    "KeySchema": [
                        {"AttributeName": "kind", "KeyType": "HASH"},
                        {"AttributeName": "created_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
            "AttributeDefinitions": Match.array_with(
                [
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                    {"AttributeName": "kind", "AttributeType": "S"},
                    {"AttributeName": "created_at", "AttributeType": "S"},
                ]
            ),
        },
    )


def test_the_idempotency_table_is_powertools_default_shape(template: Template) -> None:
    template.resource_count_is("AWS::DynamoDB::Table", 2)
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "TimeToLiveSpecification": {"AttributeName": IDEMPOTENCY_TTL_ATTRIBUTE, "Enabled": True},
        },
    )


def test_the_local_stack_runs_the_same_workflow_functions() -> None:
    from infra.local.stack import WORKFLOW_FUNCTIONS

    assert {state: module.removeprefix("functions.") for state, module in WORKFLOW_FUNCTIONS.items()} == dict(
        WORKFLOW_STATES
    )


# The workflow ----------------------------------------------------------------------------------


MACHINES = {"Film": (ASL_PATH, FILM_STATES), "Scene": (SCENE_ASL_PATH, SCENE_STATES)}


def machine(resources: dict[str, Any], kind: str) -> dict[str, Any]:
    """The film's (`Film`) or the scene's (`Scene`) state machine's properties."""
    (found,) = [
        m["Properties"]
        for m in of_type(resources, "AWS::StepFunctions::StateMachine").values()
        if m["Properties"]["StateMachineName"] == f"{STACK_NAME}-{kind}"
    ]
    return found


@pytest.mark.parametrize("kind", sorted(MACHINES))
def test_each_state_machine_runs_its_asl_file_with_every_substitution_filled(
    resources: dict[str, Any], synthesised: tuple[Stack, Path], kind: str
) -> None:
    path, states = MACHINES[kind]
    outdir = synthesised[1]
    props = machine(resources, kind)
    # DefinitionBody.from_file: the file itself travels as an asset, substitutions beside it.
    definition = (outdir / f"asset.{props['DefinitionS3Location']['Key']}").read_text(encoding="utf-8")
    assert json.loads(definition) == json.loads(path.read_text(encoding="utf-8"))
    placeholders = set(re.findall(r"\$\{(\w+)\}", definition))
    substitutions = props["DefinitionSubstitutions"]
    expected = {f"{state}FunctionArn" for state in states} | (
        {"SceneWorkflowArn"} if kind == "Film" else set()
    )
    assert placeholders == set(substitutions) == expected
    handlers = functions_by_handler(resources)
    for state, module in states.items():
        logical_id, _ = handlers[f"{module}.handler"]
        assert substitutions[f"{state}FunctionArn"] == {"Fn::GetAtt": [logical_id, "Arn"]}, state
    if kind == "Film":
        (scene,) = [
            name
            for name, m in of_type(resources, "AWS::StepFunctions::StateMachine").items()
            if m["Properties"]["StateMachineName"] == f"{STACK_NAME}-Scene"
        ]
        assert substitutions["SceneWorkflowArn"] == {"Ref": scene}


@pytest.mark.parametrize("kind", sorted(MACHINES))
def test_each_state_machine_logs_all_without_data_and_traces(resources: dict[str, Any], kind: str) -> None:
    props = machine(resources, kind)
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert resources[log_group]["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS


@pytest.mark.parametrize("kind", sorted(MACHINES))
def test_each_state_machine_may_invoke_exactly_its_own_functions(
    resources: dict[str, Any], kind: str
) -> None:
    role = machine(resources, kind)["RoleArn"]["Fn::GetAtt"][0]
    invokes = [s for s in policy_of_role(resources, role) if "lambda:InvokeFunction" in listed(s["Action"])]
    assert len(invokes) == 1
    handlers = functions_by_handler(resources)
    expected = [{"Fn::GetAtt": [handlers[f"{m}.handler"][0], "Arn"]} for m in MACHINES[kind][1].values()]
    assert sorted(map(json.dumps, listed(invokes[0]["Resource"]))) == sorted(map(json.dumps, expected))


def test_the_film_may_start_follow_and_stop_only_scene_executions(resources: dict[str, Any]) -> None:
    role = machine(resources, "Film")["RoleArn"]["Fn::GetAtt"][0]
    statements_by_action = {
        action: statement
        for statement in policy_of_role(resources, role)
        for action in listed(statement["Action"])
    }
    assert json.dumps(statements_by_action["states:StartExecution"]["Resource"]).count("Ref") == 1
    for action in ("states:DescribeExecution", "states:StopExecution"):
        assert f"{STACK_NAME}-Scene:*" in json.dumps(statements_by_action[action]["Resource"]), action
    for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
        assert "StepFunctionsGetEventsForStepFunctionsExecutionRule" in json.dumps(
            statements_by_action[action]["Resource"]
        ), action


def test_workflow_functions_time_out_with_their_task_states() -> None:
    for path, states in MACHINES.values():
        definition = json.loads(path.read_text(encoding="utf-8"))
        tasks = {name: state for name, state in definition["States"].items() if state["Type"] == "Task"}
        for state in states:
            assert FUNCTIONS[state].timeout_seconds == tasks[state]["TimeoutSeconds"], state


# Functions -------------------------------------------------------------------------------------


def test_every_function_is_made_by_the_factory_the_same_way(resources: dict[str, Any]) -> None:
    functions = of_type(resources, "AWS::Lambda::Function")
    assert len(functions) == len(FUNCTIONS) == 12
    roles = set()
    layers = {name for name in of_type(resources, "AWS::Lambda::LayerVersion")}
    assert len(layers) == 3
    for name, fn in functions.items():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.13", name
        assert props["Architectures"] == [ARCHITECTURE], name
        assert props["TracingConfig"] == {"Mode": "Active"}, name
        assert props["LoggingConfig"]["LogFormat"] == "JSON", name
        log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[log_group]["Properties"]["RetentionInDays"] == LOG_RETENTION_DAYS
        assert {layer["Ref"] for layer in props["Layers"]} <= layers
        assert len(props["Layers"]) >= 2, f"{name} has the core and the third-party layer"
        env = props["Environment"]["Variables"]
        assert set(env) >= EVERY_FUNCTION_ENV, name
        assert env["POWERTOOLS_SERVICE_NAME"] == SERVICE_NAME
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE
        assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", f"{name}: no answer in a trace"
        assert env["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false", f"{name}: no exception in a trace"
        assert not any("KEY" in var or var.endswith("SECRET") for var in env), f"{name}: no secret in env"
        roles.add(role_of(props))
    assert len(roles) == len(functions), "a role of its own for each function"


def test_the_service_name_is_the_one_the_handlers_log_under() -> None:
    from script_to_film.runtime import SERVICE

    assert SERVICE == SERVICE_NAME


def test_each_function_has_its_spec(resources: dict[str, Any]) -> None:
    for name, spec in FUNCTIONS.items():
        _, props = function(resources, name)
        assert props["Timeout"] == spec.timeout_seconds, name
        assert props["MemorySize"] == spec.memory_mb, name
        assert props["EphemeralStorage"] == {"Size": spec.ephemeral_storage_mb}, name
        env = props["Environment"]["Variables"]
        assert (env.get("IMAGEIO_FFMPEG_EXE") == "/opt/bin/ffmpeg") is spec.ffmpeg, name
        assert (len(props["Layers"]) == 3) is spec.ffmpeg, f"{name}: the ffmpeg layer only where ffmpeg runs"
        assert props.get("ReservedConcurrentExecutions") == spec.reserved_concurrency, name
    assert FUNCTIONS["AssembleFilm"].memory_mb > FUNCTIONS["LoadShots"].memory_mb
    assert FUNCTIONS["AssembleFilm"].ephemeral_storage_mb >= 4096


def test_functions_get_the_names_and_arns_they_use(resources: dict[str, Any]) -> None:
    def env(name: str) -> dict[str, Any]:
        return dict(function(resources, name)[1]["Environment"]["Variables"])

    machines = {
        m["Properties"]["StateMachineName"]: name
        for name, m in of_type(resources, "AWS::StepFunctions::StateMachine").items()
    }
    for name in ("Api", "S3Batch"):
        assert env(name)["STF_STATE_MACHINE_ARN"] == {"Ref": machines[f"{STACK_NAME}-Film"]}, name
        assert "STF_RUNWAY_CONCURRENCY" not in env(name), "unset, the account's tier decides"
    assert env("Api")["STF_SCENE_STATE_MACHINE_ARN"] == {"Ref": machines[f"{STACK_NAME}-Scene"]}
    writer_id, _ = function(resources, "ScriptWriter")
    assert env("Api")["STF_WRITER_FUNCTION"] == {"Ref": writer_id}
    assert "STF_IDEMPOTENCY_TABLE" in env("Api")
    for name in FUNCTIONS:
        assert ("STF_RUNWAY_SECRET_ARN" in env(name)) is (name in RUNWAY_READERS), name
        assert ("STF_ANTHROPIC_SECRET_ARN" in env(name)) is (name in ANTHROPIC_READERS), name


def test_handlers_exist_and_import_nothing_from_the_functions_package() -> None:
    """The asset is the `functions/` folder itself: on Lambda `functions.x` cannot be imported."""
    for name, spec in FUNCTIONS.items():
        module, _, attribute = spec.handler.partition(".")
        source = FUNCTIONS_DIR / f"{module}.py"
        assert source.is_file(), f"{name}: {source.name} is the handler module"
        tree = ast.parse(source.read_text(encoding="utf-8"))
        assert any(isinstance(n, ast.FunctionDef) and n.name == attribute for n in tree.body), name
        for node in ast.walk(tree):
            imported = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            imported += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            assert not any(m == "functions" or m.startswith("functions.") for m in imported), source.name


# IAM -------------------------------------------------------------------------------------------


def test_no_policy_grants_a_wildcard_action(resources: dict[str, Any]) -> None:
    for name, statement in statements(resources):
        if statement["Effect"] == "Deny":
            continue
        for action in listed(statement["Action"]):
            assert "*" not in action, f"{name} grants {action}"


def test_only_xray_and_log_delivery_are_granted_on_every_resource(resources: dict[str, Any]) -> None:
    for name, statement in statements(resources):
        if statement["Effect"] == "Allow" and "*" in listed(statement["Resource"]):
            services = {action.split(":")[0] for action in listed(statement["Action"])}
            assert services <= {"xray", "logs"}, f"{name}: {statement['Action']} on *"


def test_provider_secrets_are_readable_only_by_the_functions_that_call_the_provider(
    resources: dict[str, Any],
) -> None:
    secrets = of_type(resources, "AWS::SecretsManager::Secret")
    assert len(secrets) == 2
    readers: dict[str, set[str]] = {secret: set() for secret in secrets}
    role_to_function = {
        role_of(props): name for name in FUNCTIONS for props in [function(resources, name)[1]]
    }
    for policy, statement in statements(resources):
        if "secretsmanager:GetSecretValue" in listed(statement["Action"]):
            assert listed(statement["Action"]) == ["secretsmanager:GetSecretValue"]
            (role,) = resources[policy]["Properties"]["Roles"]
            for resource in listed(statement["Resource"]):
                readers[resource["Ref"]].add(role_to_function[role["Ref"]])
    assert sorted(map(sorted, readers.values())) == sorted(
        [sorted(RUNWAY_READERS), sorted(ANTHROPIC_READERS)]
    )


def test_the_batch_function_reads_only_the_uploads_and_the_library(resources: dict[str, Any]) -> None:
    """The trigger refuses manifest keys outside library/ itself; its role agrees, so a key that
    slipped through would be AccessDenied, which the trigger records as that screenplay's error."""
    from script_to_film.domain import batch_input

    assert (batch_input.INCOMING_PREFIX, batch_input.LIBRARY_PREFIX) == (INCOMING_PREFIX, LIBRARY_PREFIX)
    _, props = function(resources, "S3Batch")
    reads: dict[str, set[str]] = {}
    for statement in policy_of_role(resources, role_of(props)):
        for action in listed(statement["Action"]):
            if action.startswith("s3:Get"):
                # An object ARN is the bucket's ARN joined with "/<pattern>".
                patterns = {str(r["Fn::Join"][1][-1]).lstrip("/") for r in listed(statement["Resource"])}
                reads.setdefault(action, set()).update(patterns)
    assert reads == {
        "s3:GetObject": {f"{INCOMING_PREFIX}*", f"{LIBRARY_PREFIX}*"},
        "s3:GetObjectVersion": {f"{INCOMING_PREFIX}*"},
    }


def test_workflow_functions_reach_only_video_items(resources: dict[str, Any]) -> None:
    """Finalize also brings the batch of the video up to date (its last video writes the summary)."""
    for state in WORKFLOW_STATES:
        _, props = function(resources, state)
        for statement in policy_of_role(resources, role_of(props)):
            if any(a.startswith("dynamodb:") for a in listed(statement["Action"])):
                keys = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
                assert keys == (["VIDEO#*", "BATCH#*"] if state == "Finalize" else ["VIDEO#*"]), state


# The REST API ----------------------------------------------------------------------------------


def test_every_method_but_the_cors_preflight_is_iam_authorised_and_metered(resources: dict[str, Any]) -> None:
    methods = of_type(resources, "AWS::ApiGateway::Method")
    assert len(methods) == 4, "ANY and OPTIONS on /api/v1 and /api/v1/{proxy+}"
    for name, method in methods.items():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS":
            assert props["AuthorizationType"] == "NONE"
            assert props["Integration"]["Type"] == "MOCK", f"{name}: a preflight reaches no function"
            continue
        assert props["AuthorizationType"] == "AWS_IAM", name
        assert props["ApiKeyRequired"] is True, name
        assert props["Integration"]["Type"] == "AWS_PROXY", name
        assert "RequestValidatorId" in props, name


def test_the_api_lives_under_api_v1(resources: dict[str, Any]) -> None:
    parts = sorted(
        r["Properties"]["PathPart"] for r in of_type(resources, "AWS::ApiGateway::Resource").values()
    )
    assert parts == ["api", "v1", "{proxy+}"]


def test_the_stage_throttles_traces_and_writes_json_access_logs(resources: dict[str, Any]) -> None:
    (stage,) = of_type(resources, "AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    assert props["TracingEnabled"] is True
    (settings,) = props["MethodSettings"]
    assert settings["HttpMethod"] == "*" and settings["ResourcePath"] == "/*"
    assert settings["ThrottlingRateLimit"] == API_RATE_LIMIT
    assert settings["ThrottlingBurstLimit"] == API_BURST_LIMIT
    assert settings["LoggingLevel"] == "ERROR"
    assert settings["DataTraceEnabled"] is False
    access = props["AccessLogSetting"]
    fields = json.loads(access["Format"])
    assert {"requestId", "status", "httpMethod", "resourcePath", "user"} <= set(fields)
    log_group = access["DestinationArn"]["Fn::GetAtt"][0]
    assert resources[log_group]["Type"] == "AWS::Logs::LogGroup"


def test_a_usage_plan_meters_an_api_key(template: Template) -> None:
    template.resource_count_is("AWS::ApiGateway::UsagePlan", 1)
    template.resource_count_is("AWS::ApiGateway::ApiKey", 1)
    template.resource_count_is("AWS::ApiGateway::UsagePlanKey", 1)
    template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {
            "Throttle": {"RateLimit": Match.any_value(), "BurstLimit": Match.any_value()},
            "Quota": {"Limit": Match.any_value(), "Period": "DAY"},
            "ApiStages": [Match.object_like({"Stage": Match.any_value()})],
        },
    )


def test_the_api_function_is_invoked_only_by_its_methods(resources: dict[str, Any]) -> None:
    api_id, _ = function(resources, "Api")
    permissions = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Fn::GetAtt": [api_id, "Arn"]}
    ]
    assert len(permissions) == 2, "one per ANY method; no test-invoke permission"
    for permission in permissions:
        assert permission["Principal"] == "apigateway.amazonaws.com"
        assert "SourceArn" in permission


# Outputs, settings, layers -----------------------------------------------------------------------


def test_outputs_say_where_everything_is(template: Template) -> None:
    outputs = template.to_json()["Outputs"]
    assert {"ApiUrl", "BucketName", "StateMachineArn", "TableName", "IdempotencyTableName"} <= set(outputs)


def test_context_settings_are_checked() -> None:
    assert settings_from_context(App().node).runway_concurrency is None
    tier = settings_from_context(App(context={"stf:runway_concurrency": "5"}).node)
    assert tier.runway_concurrency == 5
    assert (
        settings_from_context(App(context={"stf:reserved_concurrency": "false"}).node).reserved_concurrency
        is False
    )
    for bad in (
        {"stf:layers": "docker"},
        {"stf:runway_concurrency": "41"},
        {"stf:runway_concurrency": "many"},
    ):
        with pytest.raises(SettingsError):
            settings_from_context(App(context=bad).node)


def test_a_missing_built_layer_stops_the_synth_with_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import infra.constructs.layers as layers

    monkeypatch.setattr(layers, "deps_layer_dir", lambda architecture: tmp_path / "not-built")
    with pytest.raises(LayerNotBuiltError, match="make layers"):
        Layers(Stack(App()), "Layers", mode="built")


# Validators --------------------------------------------------------------------------------------


def test_cfn_lint_finds_no_error_in_the_template(synthesised: tuple[Stack, Path]) -> None:
    """Errors only, as `cfn-lint --non-zero-exit-code error`: the warnings left are CDK's own
    redundant DependsOn (W3005). cfn-lint also catches a dependency cycle, which synth does not."""
    api = pytest.importorskip("cfnlint.api")
    template = synthesised[1] / f"{synthesised[0].stack_name}.template.json"
    errors = [match for match in api.lint_file(template) if match.rule.id.startswith("E")]
    assert errors == []


@pytest.mark.skipif(not ASL_VALIDATOR.exists(), reason="asl-validator is not installed (npm ci)")
def test_the_pinned_asl_validator_accepts_the_definition_and_catches_a_broken_one(tmp_path: Path) -> None:
    def validate(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ASL_VALIDATOR), "--json-path", str(path)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )

    accepted = validate(ASL_PATH)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    broken = json.loads(ASL_PATH.read_text(encoding="utf-8"))
    broken["States"]["AssembleFilm"]["Next"] = "NoSuchState"
    (tmp_path / "broken.asl.json").write_text(json.dumps(broken), encoding="utf-8")
    refused = validate(tmp_path / "broken.asl.json")
    assert refused.returncode != 0
    assert "NoSuchState" in refused.stdout + refused.stderr


# Cleanup ---------------------------------------------------------------------------------------


def test_executions_that_end_outside_the_workflow_are_sent_to_the_cleanup(resources: dict[str, Any]) -> None:
    (rule,) = of_type(resources, "AWS::Events::Rule").values()
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.states"]
    assert pattern["detail-type"] == ["Step Functions Execution Status Change"]
    assert sorted(pattern["detail"]["status"]) == ["ABORTED", "FAILED", "TIMED_OUT"]
    machines = sorted(of_type(resources, "AWS::StepFunctions::StateMachine"))
    assert sorted(ref["Ref"] for ref in pattern["detail"]["stateMachineArn"]) == machines
    (target,) = rule["Properties"]["Targets"]
    cleanup, _ = function(resources, "Cleanup")
    assert target["Arn"] == {"Fn::GetAtt": [cleanup, "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] >= 2
    assert "DeadLetterConfig" in target
    permissions = [
        p["Properties"]
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    ]
    assert [p["FunctionName"] for p in permissions] == [{"Fn::GetAtt": [cleanup, "Arn"]}]


def test_paid_claims_may_check_that_the_video_is_live(resources: dict[str, Any]) -> None:
    for state in ("SubmitScene", "CheckScene"):
        _, props = function(resources, state)
        actions = {a for s in policy_of_role(resources, role_of(props)) for a in listed(s["Action"])}
        assert {"dynamodb:PutItem", "dynamodb:ConditionCheckItem"} <= actions, state
