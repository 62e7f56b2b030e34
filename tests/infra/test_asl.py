"""The workflow definition's promises, read from the ASL file itself (RELIABILITY.md 1–3)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ASL = Path(__file__).resolve().parents[2] / "infra" / "statemachine" / "film.asl.json"
LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
EXPECTED_FUNCTIONS = {
    "LoadShots",
    "SubmitScene",
    "CheckScene",
    "StoreClip",
    "RecordFailure",
    "AssembleFilm",
    "Finalize",
}


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    return json.loads(ASL.read_text(encoding="utf-8"))


def all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from all_states(processor["States"])


def scene_states(definition: dict[str, Any]) -> dict[str, Any]:
    return definition["States"]["FilmScenes"]["ItemProcessor"]["States"]


def tasks(definition: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(n, s) for n, s in all_states(definition["States"]) if s["Type"] == "Task"]


def test_the_flow_reads_well_in_the_console(definition: dict[str, Any]) -> None:
    assert definition["StartAt"] == "LoadShots"
    assert definition["States"]["LoadShots"]["Next"] == "FilmScenes"
    assert definition["States"]["FilmScenes"]["Next"] == "AssembleFilm"
    assert definition["States"]["AssembleFilm"]["Next"] == "Finalize"
    scene = scene_states(definition)
    assert definition["States"]["FilmScenes"]["ItemProcessor"]["StartAt"] == "SubmitScene"
    assert scene["SubmitScene"]["Next"] == "WaitForProvider"
    assert scene["WaitForProvider"] == {
        **scene["WaitForProvider"],
        "Type": "Wait",
        "SecondsPath": "$.poll_seconds",
    }
    assert scene["WaitForProvider"]["Next"] == "CheckScene"
    assert scene["CheckScene"]["Next"] == "IsSceneDone"
    targets = {choice["Next"] for choice in scene["IsSceneDone"]["Choices"]} | {
        scene["IsSceneDone"]["Default"]
    }
    assert targets == {"StoreClip", "WaitForProvider", "SubmitScene", "RecordFailure"}
    for name, _ in all_states(definition["States"]):
        assert re.fullmatch(r"[A-Z][A-Za-z]+", name), f"{name} is a readable PascalCase name"


def test_every_task_retries_lambda_errors_with_backoff_jitter_and_a_cap(definition: dict[str, Any]) -> None:
    for name, state in tasks(definition):
        lambda_retry = [r for r in state.get("Retry", []) if set(r["ErrorEquals"]) >= LAMBDA_ERRORS]
        assert lambda_retry, f"{name} retries Lambda service errors"
        retry = lambda_retry[0]
        assert retry["BackoffRate"] > 1, name
        assert retry["JitterStrategy"] == "FULL", name
        assert 0 < retry["MaxDelaySeconds"] <= 60, name
        assert retry["MaxAttempts"] >= 2, name


def test_every_task_has_a_timeout_and_the_execution_too(definition: dict[str, Any]) -> None:
    for name, state in tasks(definition):
        assert 0 < state["TimeoutSeconds"] <= 900, f"{name} has TimeoutSeconds within Lambda's 15 minutes"
    assert 0 < definition["TimeoutSeconds"] <= 86_400


def test_tasks_invoke_the_functions_through_substitutions(definition: dict[str, Any]) -> None:
    names = set()
    for _, state in tasks(definition):
        assert state["Resource"] == "arn:aws:states:::lambda:invoke"
        match = re.fullmatch(r"\$\{(\w+)FunctionArn\}", state["Parameters"]["FunctionName"])
        assert match, "ARNs come in through definition substitutions"
        names.add(match.group(1))
    assert names == EXPECTED_FUNCTIONS


def test_the_map_fans_out_by_the_providers_concurrency(definition: dict[str, Any]) -> None:
    film_scenes = definition["States"]["FilmScenes"]
    assert film_scenes["Type"] == "Map"
    assert film_scenes["MaxConcurrencyPath"] == "$.max_concurrency"
    assert film_scenes["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE"
    assert film_scenes["ItemSelector"]["scene.$"] == "$$.Map.Item.Value"
    assert film_scenes["ResultPath"] is None, "scene results live in DynamoDB, not in the payload"


def test_every_scene_task_catches_its_own_failure(definition: dict[str, Any]) -> None:
    scene = scene_states(definition)
    for name in ("SubmitScene", "CheckScene", "StoreClip"):
        catches = scene[name]["Catch"]
        assert catches == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}
        ], name
    assert scene["RecordFailure"]["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    assert scene[scene["RecordFailure"]["Catch"][0]["Next"]]["Type"] == "Pass"
    ends = [n for n, s in scene.items() if s.get("End") or s["Type"] == "Succeed"]
    assert sorted(ends) == ["FailureNotRecorded", "RecordFailure", "SceneFilmed"]
    assert all(s["Type"] != "Fail" for s in scene.values()), "no state inside the Map fails the film"


def test_a_clip_that_does_not_count_ends_its_scene_through_record_failure(definition: dict[str, Any]) -> None:
    scene = scene_states(definition)
    assert scene["StoreClip"]["Next"] == "IsClipStored"
    choice = scene["IsClipStored"]
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [
        {"Variable": "$.task.outcome", "StringEquals": "STORED", "Next": "SceneFilmed"}
    ]
    assert choice["Default"] == "RecordFailure"


TRANSIENT = {"TransientAwsError", "TransientProviderError", "States.Timeout"} | LAMBDA_ERRORS


def test_retries_name_only_transient_errors(definition: dict[str, Any]) -> None:
    """A permanent failure (a download refused, an invalid clip, a rejected prompt) is never tried
    again: no Retry matches `States.TaskFailed` or `States.ALL`, only errors named as transient."""
    for name, state in tasks(definition):
        retried = {error for retry in state["Retry"] for error in retry["ErrorEquals"]}
        assert retried <= TRANSIENT, f"{name} retries {retried - TRANSIENT}"
        assert "TransientAwsError" in retried, f"{name} retries throttling and AWS 5xx"
    scene = scene_states(definition)
    for name in ("SubmitScene", "CheckScene", "StoreClip"):
        assert any(r["ErrorEquals"] == ["TransientProviderError"] for r in scene[name]["Retry"]), name


def test_jsonpath_only(definition: dict[str, Any]) -> None:
    text = ASL.read_text(encoding="utf-8")
    assert definition.get("QueryLanguage", "JSONPath") == "JSONPath"
    assert "{%" not in text, "no JSONata expressions (moto cannot run them)"
