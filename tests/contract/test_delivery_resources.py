"""template.yaml's notification delivery (SPEC §10): the queue and its dead letters, the topic,
the delivery function and what may send where. Read from the template itself, so a permission
widened or a timeout raised without its queue fails here instead of in production."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any
from uuid import UUID

from devtools.template import ROOT, load_template, load_yaml

DELIVERY_FUNCTION = "NotificationDeliveryFunction"
QUEUE = "NotificationDeliveryQueue"
DEAD_LETTER_QUEUE = "NotificationDeliveryDeadLetterQueue"
TOPIC = "NotificationTopic"
# The functions whose statements insert notifications, then dispatch their deliveries.
WRITERS = {"InventoryMonitorFunction", "NotificationsCheckFunction"}
QUEUE_ARN = {"Fn::GetAtt": [QUEUE, "Arn"]}
TOPIC_ARN = {"Ref": TOPIC}
SES_IDENTITY_ARN = {
    "Fn::Sub": [
        "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${Identity}",
        {
            "Identity": {
                "Fn::If": [
                    "HasNotificationSenderIdentity",
                    {"Ref": "NotificationSenderIdentity"},
                    {"Ref": "NotificationSenderEmail"},
                ]
            }
        },
    ]
}
SERVICES_WITH_RESOURCES = ("ses:", "sns:", "sqs:")


def _raw() -> dict[str, Any]:
    return load_yaml(ROOT / "template.yaml")


def _resource(logical_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = _raw()["Resources"][logical_id]
    return resource


def _properties(logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = _resource(logical_id)["Properties"]
    return properties


def _policies(logical_id: str) -> list[Any]:
    policies: list[Any] = _properties(logical_id).get("Policies") or []
    return policies


def _statements(policies: list[Any]) -> list[dict[str, Any]]:
    """Every inline statement, those of a conditional policy (!If) included."""
    found: list[dict[str, Any]] = []
    for entry in policies:
        branches = entry["Fn::If"][1:] if isinstance(entry, dict) and "Fn::If" in entry else [entry]
        for policy in branches:
            if isinstance(policy, dict) and "Statement" in policy:
                found += policy["Statement"]
    return found


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def _functions() -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in _raw()["Resources"].items()
        if resource.get("Type") == "AWS::Serverless::Function"
    }


def _alarms() -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in _raw()["Resources"].items()
        if resource.get("Type") == "AWS::CloudWatch::Alarm"
    }


def _delivery_event() -> dict[str, Any]:
    (event,) = [
        event
        for event in (_properties(DELIVERY_FUNCTION).get("Events") or {}).values()
        if event["Type"] == "SQS"
    ]
    properties: dict[str, Any] = event["Properties"]
    return properties


# --- The queues ----------------------------------------------------------------------


def test_delivery_queues_are_encrypted_and_dead_letters_outlive_the_messages() -> None:
    queue = _properties(QUEUE)
    dead_letters = _properties(DEAD_LETTER_QUEUE)

    assert queue["SqsManagedSseEnabled"] is True
    assert dead_letters["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 4 * 24 * 3600
    # SQS keeps a message's first enqueue time when it moves it to the dead-letter queue.
    assert dead_letters["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_visibility_timeout_covers_six_times_the_delivery_timeout() -> None:
    timeout = load_template().functions[DELIVERY_FUNCTION].timeout_seconds
    window = _delivery_event().get("MaximumBatchingWindowInSeconds", 0)

    assert _properties(QUEUE)["VisibilityTimeout"] >= 6 * timeout + window


def test_a_message_the_function_keeps_failing_goes_to_the_dead_letter_queue() -> None:
    redrive = _properties(QUEUE)["RedrivePolicy"]

    assert redrive == {
        "deadLetterTargetArn": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "Arn"]},
        "maxReceiveCount": 5,
    }


def test_both_delivery_queues_refuse_requests_without_tls() -> None:
    policies = [
        resource["Properties"]
        for resource in _raw()["Resources"].values()
        if resource.get("Type") == "AWS::SQS::QueuePolicy"
    ]
    covered = {
        queue["Ref"]
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for queue in policy["Queues"]
    }

    assert {QUEUE, DEAD_LETTER_QUEUE} <= covered


# --- The topic -----------------------------------------------------------------------


def test_notification_topic_is_encrypted_and_refuses_publishing_without_tls() -> None:
    (policy,) = [
        resource["Properties"]
        for resource in _raw()["Resources"].values()
        if resource.get("Type") == "AWS::SNS::TopicPolicy"
        and resource["Properties"]["Topics"] == [TOPIC_ARN]
    ]
    (statement,) = policy["PolicyDocument"]["Statement"]

    assert _resource(TOPIC)["Type"] == "AWS::SNS::Topic"
    assert _properties(TOPIC)["KmsMasterKeyId"] == "alias/aws/sns"
    assert statement["Effect"] == "Deny"
    assert statement["Action"] == "sns:Publish"
    assert statement["Resource"] == TOPIC_ARN
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_outputs_name_the_topic_and_the_queues() -> None:
    outputs = _raw()["Outputs"]

    assert outputs["NotificationTopicArn"]["Value"] == TOPIC_ARN
    assert outputs["NotificationDeliveryQueueUrl"]["Value"] == {"Ref": QUEUE}
    assert outputs["NotificationDeliveryDeadLetterQueueUrl"]["Value"] == {"Ref": DEAD_LETTER_QUEUE}


# --- The delivery function -----------------------------------------------------------


def test_delivery_function_reads_the_queue_in_small_batches_reporting_item_failures() -> None:
    event = _delivery_event()

    assert event["Queue"] == QUEUE_ARN
    assert event["BatchSize"] == 5
    assert event["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    # At most this many batches, so as many database connections, whatever the backlog.
    assert event["ScalingConfig"] == {"MaximumConcurrency": 5}


def test_a_batch_whose_every_webhook_times_out_still_fits_in_the_function_timeout() -> None:
    spec = load_template().functions[DELIVERY_FUNCTION]
    environment = load_template().local_environment(spec, {})
    webhook_seconds = int(environment["WEBHOOK_TIMEOUT_SECONDS"])
    deadline_seconds = float(environment["DB_DEADLINE_SECONDS"])

    assert _delivery_event()["BatchSize"] * webhook_seconds + deadline_seconds < (
        spec.timeout_seconds
    )


def test_delivery_function_code_and_environment() -> None:
    spec = load_template().functions[DELIVERY_FUNCTION]

    assert spec.code_dir == (ROOT / "functions" / "notification_delivery").resolve()
    assert (spec.handler_module, spec.handler_function) == ("app", "lambda_handler")
    assert spec.timeout_seconds == 120
    assert spec.memory_mb == 512
    assert {
        name: spec.environment[name]
        for name in (
            "DELIVERY_QUEUE_URL",
            "NOTIFICATION_TOPIC_ARN",
            "NOTIFICATION_SENDER_EMAIL",
            "WEBHOOK_TIMEOUT_SECONDS",
            "SUBSCRIPTION_SECRET_KEY_ARN",
            "DATABASE_SECRET_ARN",
            "DELIVERY_STORM_THRESHOLD",
        )
    } == {
        "DELIVERY_QUEUE_URL": {"Ref": QUEUE},
        "NOTIFICATION_TOPIC_ARN": TOPIC_ARN,
        "NOTIFICATION_SENDER_EMAIL": {"Ref": "NotificationSenderEmail"},
        "WEBHOOK_TIMEOUT_SECONDS": "15",
        "SUBSCRIPTION_SECRET_KEY_ARN": {"Ref": "SubscriptionSecretKey"},
        "DATABASE_SECRET_ARN": {"Ref": "DatabaseSecretArn"},
        "DELIVERY_STORM_THRESHOLD": {"Ref": "DeliveryStormThreshold"},
    }
    # The links in messages: the API's own URL, as the ApiUrl output gives it.
    assert spec.environment["PUBLIC_API_URL"] == _raw()["Outputs"]["ApiUrl"]["Value"]


def test_delivery_function_reads_exactly_the_database_and_the_subscription_key_secrets() -> None:
    secrets = [
        policy["AWSSecretsManagerGetSecretValuePolicy"]["SecretArn"]
        for policy in _policies(DELIVERY_FUNCTION)
        if isinstance(policy, dict) and "AWSSecretsManagerGetSecretValuePolicy" in policy
    ]

    assert sorted(secrets, key=repr) == sorted(
        [{"Ref": "DatabaseSecretArn"}, {"Ref": "SubscriptionSecretKey"}], key=repr
    )


def test_delivery_function_statements_are_exactly_least_privilege() -> None:
    statements = _statements(_policies(DELIVERY_FUNCTION))

    assert sorted(statements, key=repr) == sorted(
        [
            {"Effect": "Allow", "Action": "sns:Publish", "Resource": TOPIC_ARN},
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": QUEUE_ARN},
            # The e-mail goes raw (SES v2 SendEmail, Content.Raw): IAM checks SendRawEmail too.
            {
                "Effect": "Allow",
                "Action": ["ses:SendEmail", "ses:SendRawEmail"],
                "Resource": SES_IDENTITY_ARN,
            },
        ],
        key=repr,
    )


def test_ses_permission_exists_only_with_a_sender_address() -> None:
    (conditional,) = [
        policy["Fn::If"]
        for policy in _policies(DELIVERY_FUNCTION)
        if isinstance(policy, dict) and "Fn::If" in policy
    ]
    condition, with_sender, without_sender = conditional
    (statement,) = with_sender["Statement"]
    conditions = _raw()["Conditions"]

    assert condition == "HasNotificationSender"
    assert conditions["HasNotificationSender"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "NotificationSenderEmail"}, ""]}]
    }
    assert conditions["HasNotificationSenderIdentity"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "NotificationSenderIdentity"}, ""]}]
    }
    assert statement["Action"] == ["ses:SendEmail", "ses:SendRawEmail"]
    assert without_sender == {"Ref": "AWS::NoValue"}


def test_sender_parameters_default_to_no_e_mail() -> None:
    parameters = _raw()["Parameters"]

    assert parameters["NotificationSenderEmail"]["Default"] == ""
    assert parameters["NotificationSenderIdentity"]["Default"] == ""
    pattern = parameters["NotificationSenderIdentity"]["AllowedPattern"]
    for identity in ("", "alerts@example.com", "example.com", "mail.example.co.uk"):
        assert re.fullmatch(pattern, identity), identity
    assert not re.fullmatch(pattern, "arn:aws:ses:us-east-1:123456789012:identity/example.com")


# --- Who may send where --------------------------------------------------------------


def test_writer_functions_are_told_where_to_dispatch() -> None:
    functions = load_template().functions

    for logical_id in WRITERS:
        environment = functions[logical_id].environment
        assert environment["DELIVERY_QUEUE_URL"] == {"Ref": QUEUE}, logical_id
        assert environment["NOTIFICATION_TOPIC_ARN"] == TOPIC_ARN, logical_id
        assert environment["DELIVERY_STORM_THRESHOLD"] == {"Ref": "DeliveryStormThreshold"}


def test_every_function_gets_the_stacks_storm_threshold() -> None:
    """The deliveries trigger reads it from the connection, so one place sets it for all."""
    parameter = _raw()["Parameters"]["DeliveryStormThreshold"]
    variables = _raw()["Globals"]["Function"]["Environment"]["Variables"]

    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 20, 1)
    assert variables["DELIVERY_STORM_THRESHOLD"] == {"Ref": "DeliveryStormThreshold"}


def test_only_the_writers_and_the_delivery_function_send_to_the_queue_and_only_send() -> None:
    senders = {}
    for logical_id, resource in _functions().items():
        for statement in _statements(resource["Properties"].get("Policies") or []):
            if any(action.startswith("sqs:") for action in _actions(statement)):
                senders[logical_id] = (statement["Action"], statement["Resource"])

    assert senders == dict.fromkeys(WRITERS | {DELIVERY_FUNCTION}, ("sqs:SendMessage", QUEUE_ARN))


def test_only_the_delivery_function_publishes_or_sends_e_mail() -> None:
    users = {
        logical_id
        for logical_id, resource in _functions().items()
        for statement in _statements(resource["Properties"].get("Policies") or [])
        if any(action.startswith(("sns:", "ses:")) for action in _actions(statement))
    }

    assert users == {DELIVERY_FUNCTION}


def test_no_ses_sns_or_sqs_permission_names_a_wildcard() -> None:
    for logical_id, resource in _functions().items():
        for statement in _statements(resource["Properties"].get("Policies") or []):
            actions = _actions(statement)
            if not any(action.startswith(SERVICES_WITH_RESOURCES) for action in actions):
                continue
            assert all("*" not in action for action in actions), logical_id
            assert "*" not in json.dumps(statement["Resource"]), logical_id


# --- Alarms and dashboard ------------------------------------------------------------


def test_dead_letters_and_function_errors_alarm_to_the_alarm_topic() -> None:
    alarms = _alarms()
    dead_letters = alarms["NotificationDeliveryDeadLetterAlarm"]
    errors = alarms["NotificationDeliveryErrorsAlarm"]

    assert (dead_letters["Namespace"], dead_letters["MetricName"]) == (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
    )
    assert dead_letters["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [DEAD_LETTER_QUEUE, "QueueName"]}}
    ]
    # Any message at all: ">= 1" of a count.
    assert (dead_letters["ComparisonOperator"], dead_letters["Threshold"]) == (
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")
    assert errors["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": DELIVERY_FUNCTION}}]
    for alarm in (dead_letters, errors):
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
        assert alarm["OKActions"] == [{"Ref": "AlarmTopic"}]


def test_delivery_metric_alarms_use_the_namespace_and_dimension_of_the_monitors() -> None:
    alarms = _alarms()
    monitor = alarms["MonitorRunFailedAlarm"]
    by_metric = {alarm["MetricName"]: alarm for alarm in alarms.values()}
    dead = by_metric["DeliveriesDead"]
    failed = by_metric["DeliveryAttemptsFailed"]

    for alarm in (dead, failed):
        assert alarm["Namespace"] == monitor["Namespace"]
        assert alarm["Dimensions"] == monitor["Dimensions"]
        assert alarm["Statistic"] == "Sum"
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]
    # One dead delivery is a message lost; failed attempts are retried, so only many alarm.
    assert (dead["ComparisonOperator"], dead["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert failed["ComparisonOperator"] == "GreaterThanThreshold"
    assert failed["Threshold"] > 1


def test_dashboard_shows_deliveries_and_the_delivery_queue() -> None:
    (dashboard,) = [
        resource["Properties"]
        for resource in _raw()["Resources"].values()
        if resource.get("Type") == "AWS::CloudWatch::Dashboard"
    ]
    # ${Queue.QueueName} read as the text Queue.QueueName, so the lines name what they show.
    body = re.sub(r"\$\{([^}]+)\}", r"\1", dashboard["DashboardBody"]["Fn::Sub"])
    widgets = json.loads(body)["widgets"]
    shown = {
        (item[1], item[3])
        for widget in widgets
        for item in widget["properties"].get("metrics", [])
        if len(item) > 3
    }
    alarms = {alarm for widget in widgets for alarm in widget["properties"].get("alarms", [])}

    assert {
        ("DeliveriesSent", "inventory-automation"),
        ("DeliveryAttemptsFailed", "inventory-automation"),
        ("DeliveriesDead", "inventory-automation"),
        ("ApproximateNumberOfMessagesVisible", f"{QUEUE}.QueueName"),
        ("ApproximateAgeOfOldestMessage", f"{QUEUE}.QueueName"),
        ("ApproximateNumberOfMessagesVisible", f"{DEAD_LETTER_QUEUE}.QueueName"),
    } <= shown
    assert {f"{logical_id}.Arn" for logical_id in _alarms() if "Deliver" in logical_id} <= alarms


# --- The event file ------------------------------------------------------------------


def test_event_file_is_an_sqs_message_of_one_delivery_from_the_queue() -> None:
    event = json.loads((ROOT / "events" / "notification_delivery.json").read_text())
    (record,) = event["Records"]
    body = json.loads(record["body"])

    assert record["eventSource"] == "aws:sqs"
    assert f"-{QUEUE}-" in record["eventSourceARN"].rsplit(":", 1)[-1]
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
    assert list(body) == ["delivery_ids"]
    assert [str(UUID(delivery_id)) for delivery_id in body["delivery_ids"]] == body["delivery_ids"]
