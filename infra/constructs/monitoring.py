"""Alarms on what needs a person, and one dashboard of how films are being made.

Alarms: a film execution failed or timed out, the API answered 5xx (a throttled API function
shows here too), a function that serves people (API, writer, batch) failed, and an event reached
the batch dead-letter queue. Workflow task errors are not alarmed one by one: a scene's failure
is caught inside its Map iteration by design, and shows on the dashboard and in the video's
record. The alarms have no actions; attach an SNS topic or a chat integration to them for the
account at hand.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

_PERIOD = Duration.minutes(5)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.StateMachine,
        functions: Mapping[str, lambda_.Function],
        alarmed_functions: tuple[str, ...],
        rest_api: apigw.RestApi,
        dead_letters: Mapping[str, sqs.Queue],
    ) -> None:
        super().__init__(scope, construct_id)
        self.alarms: list[cloudwatch.Alarm] = []
        self._alarm("FilmsFailed", state_machine.metric_failed(period=_PERIOD), "A film execution failed")
        self._alarm(
            "FilmsTimedOut", state_machine.metric_timed_out(period=_PERIOD), "A film execution timed out"
        )
        self._alarm("ApiServerErrors", rest_api.metric_server_error(period=_PERIOD), "The API answered 5xx")
        for name in alarmed_functions:
            function = functions[name]
            self._alarm(f"{name}Errors", function.metric_errors(period=_PERIOD), f"{name} failed")
        for name, queue in dead_letters.items():
            self._alarm(
                name,
                queue.metric_approximate_number_of_messages_visible(period=_PERIOD),
                f"An event could not be handled: it waits in the dead-letter queue ({name})",
            )

        dashboard = cloudwatch.Dashboard(self, "Dashboard")
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Films",
                left=[
                    state_machine.metric_started(period=_PERIOD),
                    state_machine.metric_succeeded(period=_PERIOD),
                    state_machine.metric_failed(period=_PERIOD),
                    state_machine.metric_timed_out(period=_PERIOD),
                ],
            ),
            cloudwatch.GraphWidget(
                title="API",
                left=[rest_api.metric_count(period=_PERIOD)],
                right=[
                    rest_api.metric_client_error(period=_PERIOD),
                    rest_api.metric_server_error(period=_PERIOD),
                ],
            ),
            cloudwatch.GraphWidget(
                title="API latency (p90)",
                left=[rest_api.metric_latency(period=_PERIOD, statistic="p90")],
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Function errors",
                left=[
                    function.metric_errors(period=_PERIOD, label=name) for name, function in functions.items()
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function duration (p90)",
                left=[
                    function.metric_duration(period=_PERIOD, statistic="p90", label=name)
                    for name, function in functions.items()
                ],
                width=12,
            ),
        )

    def _alarm(self, name: str, metric: cloudwatch.Metric, description: str) -> None:
        self.alarms.append(
            metric.create_alarm(
                self,
                name,
                alarm_description=description,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
