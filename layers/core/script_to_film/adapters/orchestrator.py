"""Step Functions and asynchronous Lambda invokes: a video's film execution (named after the
video) and its scenes' executions, started, found and stopped; and the screenplay writer, started."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from script_to_film.adapters.aws import AwsClients


class Orchestrator:
    """Executions of the project's state machines, and the writer Lambda."""

    def __init__(self, aws: AwsClients) -> None:
        self.aws = aws

    def execution_arn(self, video_id: str) -> str:
        """The ARN the video's execution has or will have: executions are named after videos."""
        if not self.aws.settings.state_machine_arn:
            raise RuntimeError("STF_STATE_MACHINE_ARN is not set")
        return (
            self.aws.settings.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{video_id}"
        )

    def scene_execution_arn(self, execution_name: str) -> str | None:
        """The ARN a scene's SceneWorkflow execution has or will have, when the stack says where."""
        machine = self.aws.settings.scene_state_machine_arn
        return machine.replace(":stateMachine:", ":execution:", 1) + f":{execution_name}" if machine else None

    def start(self, video_id: str, execution_input: Mapping[str, Any]) -> str:
        """Start the film workflow and answer its execution's ARN (recording it on the video is the
        caller's); the execution is named after the video, so a repeated start of the same video
        cannot make a second run."""
        if not self.aws.settings.state_machine_arn:
            raise RuntimeError("STF_STATE_MACHINE_ARN is not set")
        response = self.aws.sfn.start_execution(
            stateMachineArn=self.aws.settings.state_machine_arn,
            name=video_id,
            input=json.dumps(execution_input),
        )
        return str(response["executionArn"])

    def find(self, video_id: str) -> str | None:
        """The ARN of the video's execution if one was started (it is named after the video)."""
        arn = self.execution_arn(video_id)
        try:
            self.aws.sfn.describe_execution(executionArn=arn)
        except self.aws.sfn.exceptions.ExecutionDoesNotExist:
            return None
        return arn

    def stop(self, execution_arn: str, cause: str) -> None:
        """Stop a running execution; one that has already ended is left as it is."""
        try:
            self.aws.sfn.stop_execution(executionArn=execution_arn, error="Cancelled", cause=cause)
        except self.aws.sfn.exceptions.ExecutionDoesNotExist:
            return

    def invoke_writer(self, event: Mapping[str, Any]) -> None:
        """Start the screenplay writer asynchronously: the caller never waits on Claude."""
        if not self.aws.settings.writer_function:
            raise RuntimeError("STF_WRITER_FUNCTION is not set")
        self.aws.lambda_client.invoke(
            FunctionName=self.aws.settings.writer_function,
            InvocationType="Event",
            Payload=json.dumps(event).encode("utf-8"),
        )
