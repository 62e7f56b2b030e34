"""The workflow definitions' promises, read from the ASL files themselves (RELIABILITY.md 1–3)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from script_to_film.domain.limits import EXECUTION_TIMEOUT_SECONDS, SCENE_EXECUTION_TIMEOUT_SECONDS

MACHINES = Path(__file__).resolve().parents[2] / "infra" / "statemachine"
FILM_ASL = MACHINES / "film.asl.json"
SCENE_ASL = MACHINES / "scene.asl.json"
LAMBDA_ERRORS = {
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}
FILM_FUNCTIONS = {"LoadShots", "Preflight", "AssembleFilm", "Finalize"}
SCENE_FUNCTIONS = {"SubmitScene", "CheckScene", "StoreClip", "RecordFailure"}
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
START_SCENE = "arn:aws:states:::states:startExecution.sync:2"


@pytest.fixture(scope="module")
def film() -> dict[str, Any]:
    return json.loads(FILM_ASL.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def scene() -> dict[str, Any]:
    return json.loads(SCENE_ASL.read_text(encoding="utf-8"))


def all_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from all_states(processor["States"])


def lambda_tasks(*definitions: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, state)
        for definition in definitions
        for name, state in all_states(definition["States"])
        if state["Type"] == "Task" and state["Resource"] == LAMBDA_INVOKE
    ]


def film_scene_states(film: dict[str, Any]) -> dict[str, Any]:
    return film["States"]["FilmScenes"]["ItemProcessor"]["States"]


def targets(choice: dict[str, Any]) -> set[str]:
    return {c["Next"] for c in choice["Choices"]} | {choice["Default"]}


def test_the_film_reads_well_in_the_console(film: dict[str, Any]) -> None:
    states = film["States"]
    assert film["StartAt"] == "LoadShots"
    assert states["LoadShots"]["Next"] == "Preflight"
    assert states["Preflight"]["Next"] == "CanTheAccountPay"
    assert targets(states["CanTheAccountPay"]) == {"FilmScenes", "FilmRefused"}
    assert states["FilmRefused"]["Next"] == "Finalize"
    assert states["FilmScenes"]["Next"] == "AssembleFilm"
    assert states["AssembleFilm"]["Next"] == "Finalize"
    for name, _ in all_states(states):
        assert re.fullmatch(r"[A-Z][A-Za-z]+", name), f"{name} is a readable PascalCase name"


def test_a_scene_reads_well_in_the_console(scene: dict[str, Any]) -> None:
    states = scene["States"]
    assert scene["StartAt"] == "SubmitScene"
    assert states["SubmitScene"]["Next"] == "WaitForProvider"
    assert states["WaitForProvider"] == {
        **states["WaitForProvider"],
        "Type": "Wait",
        "SecondsPath": "$.poll_seconds",
    }
    assert states["WaitForProvider"]["Next"] == "CheckScene"
    assert states["CheckScene"]["Next"] == "IsSceneDone"
    assert targets(states["IsSceneDone"]) == {"StoreClip", "WaitForProvider", "SubmitScene", "RecordFailure"}
    for name, _ in all_states(states):
        assert re.fullmatch(r"[A-Z][A-Za-z]+", name), f"{name} is a readable PascalCase name"


def test_each_scene_is_its_own_execution_named_by_the_film_and_given_ids_only(film: dict[str, Any]) -> None:
    film_scenes = film["States"]["FilmScenes"]
    assert film_scenes["ItemProcessor"]["StartAt"] == "RunScene"
    run_scene = film_scene_states(film)["RunScene"]
    assert run_scene["Resource"] == START_SCENE, "the film waits for each scene's execution to end"
    parameters = run_scene["Parameters"]
    assert parameters["StateMachineArn"] == "${SceneWorkflowArn}"
    assert parameters["Name.$"] == "$.scene.execution", "LoadShots names it video-…-s007"
    assert set(parameters["Input"]) == {
        "video_id.$",
        "scene.$",
        "provider.$",
        "poll_seconds.$",
        "max_polls.$",
        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$",
    }
    assert run_scene["ResultPath"] is None
    assert film_scenes["ResultPath"] is None, "scene results live in DynamoDB, not in the payload"


def test_every_lambda_task_retries_lambda_errors_with_backoff_jitter_and_a_cap(
    film: dict[str, Any], scene: dict[str, Any]
) -> None:
    for name, state in lambda_tasks(film, scene):
        lambda_retry = [r for r in state.get("Retry", []) if set(r["ErrorEquals"]) >= LAMBDA_ERRORS]
        assert lambda_retry, f"{name} retries Lambda service errors"
        retry = lambda_retry[0]
        assert retry["BackoffRate"] > 1, name
        assert retry["JitterStrategy"] == "FULL", name
        assert 0 < retry["MaxDelaySeconds"] <= 60, name
        assert retry["MaxAttempts"] >= 2, name


def test_every_task_has_a_timeout_and_each_execution_too(film: dict[str, Any], scene: dict[str, Any]) -> None:
    for name, state in lambda_tasks(film, scene):
        assert 0 < state["TimeoutSeconds"] <= 900, f"{name} has TimeoutSeconds within Lambda's 15 minutes"
    assert film["TimeoutSeconds"] == EXECUTION_TIMEOUT_SECONDS
    assert scene["TimeoutSeconds"] == SCENE_EXECUTION_TIMEOUT_SECONDS
    assert film_scene_states(film)["RunScene"]["TimeoutSeconds"] > scene["TimeoutSeconds"]


def test_tasks_invoke_the_functions_through_substitutions(
    film: dict[str, Any], scene: dict[str, Any]
) -> None:
    for definition, expected in ((film, FILM_FUNCTIONS), (scene, SCENE_FUNCTIONS)):
        names = set()
        for _, state in lambda_tasks(definition):
            match = re.fullmatch(r"\$\{(\w+)FunctionArn\}", state["Parameters"]["FunctionName"])
            assert match, "ARNs come in through definition substitutions"
            names.add(match.group(1))
        assert names == expected


def test_the_map_fans_out_by_what_the_preflight_allows(film: dict[str, Any]) -> None:
    film_scenes = film["States"]["FilmScenes"]
    assert film_scenes["Type"] == "Map"
    assert film_scenes["MaxConcurrencyPath"] == "$.limits.max_concurrency"
    assert film["States"]["Preflight"]["ResultPath"] == "$.limits"
    assert film_scenes["ItemProcessor"]["ProcessorConfig"]["Mode"] == "INLINE"
    assert film_scenes["ItemSelector"]["scene.$"] == "$$.Map.Item.Value"


def test_a_scene_that_does_not_finish_never_fails_the_film(film: dict[str, Any]) -> None:
    states = film_scene_states(film)
    assert states["RunScene"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "SceneNotFinished"}
    ]
    assert states["SceneNotFinished"]["Type"] == "Pass"
    assert all(s["Type"] != "Fail" for s in states.values())


def test_every_scene_task_catches_its_own_failure(scene: dict[str, Any]) -> None:
    states = scene["States"]
    for name in ("SubmitScene", "CheckScene", "StoreClip"):
        assert states[name]["Catch"] == [
            {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RecordFailure"}
        ], name
    assert states["RecordFailure"]["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    assert states[states["RecordFailure"]["Catch"][0]["Next"]]["Type"] == "Pass"
    ends = [n for n, s in states.items() if s.get("End") or s["Type"] == "Succeed"]
    assert sorted(ends) == ["FailureNotRecorded", "RecordFailure", "SceneFilmed"]
    assert all(s["Type"] != "Fail" for s in states.values()), "a scene's execution fails only if it breaks"


def test_a_clip_that_does_not_count_ends_its_scene_through_record_failure(scene: dict[str, Any]) -> None:
    states = scene["States"]
    assert states["StoreClip"]["Next"] == "IsClipStored"
    choice = states["IsClipStored"]
    assert choice["Type"] == "Choice"
    assert choice["Choices"] == [
        {"Variable": "$.task.outcome", "StringEquals": "STORED", "Next": "SceneFilmed"},
        {"Variable": "$.task.outcome", "StringEquals": "NEXT_SHOT", "Next": "SubmitScene"},
    ], "a stored shot goes on to the scene's next one; the last films the scene"
    assert choice["Default"] == "RecordFailure"


TRANSIENT = {"TransientAwsError", "TransientProviderError", "States.Timeout"} | LAMBDA_ERRORS
TRANSIENT_STARTS = {
    "StepFunctions.SdkClientException",
    "StepFunctions.ExecutionLimitExceededException",
    "StepFunctions.StepFunctionsException",
}


def test_retries_name_only_transient_errors(film: dict[str, Any], scene: dict[str, Any]) -> None:
    """A permanent failure (a download refused, an invalid clip, a rejected prompt) is never tried
    again: no Retry matches `States.TaskFailed` or `States.ALL`, only errors named as transient."""
    for name, state in lambda_tasks(film, scene):
        retried = {error for retry in state["Retry"] for error in retry["ErrorEquals"]}
        assert retried <= TRANSIENT, f"{name} retries {retried - TRANSIENT}"
        assert "TransientAwsError" in retried, f"{name} retries throttling and AWS 5xx"
    for name in ("SubmitScene", "CheckScene", "StoreClip"):
        retries = scene["States"][name]["Retry"]
        assert any(r["ErrorEquals"] == ["TransientProviderError"] for r in retries), name
    # A scene execution that ended is never started again (its name is taken): only a start
    # Step Functions refused for a passing reason is retried, which joins a child already running.
    run_scene = film_scene_states(film)["RunScene"]
    retried = {error for retry in run_scene["Retry"] for error in retry["ErrorEquals"]}
    assert retried == TRANSIENT_STARTS


@pytest.mark.parametrize("path", [FILM_ASL, SCENE_ASL], ids=["film", "scene"])
def test_jsonpath_only(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert json.loads(text).get("QueryLanguage", "JSONPath") == "JSONPath"
    assert "{%" not in text, "no JSONata expressions (moto cannot run them)"
