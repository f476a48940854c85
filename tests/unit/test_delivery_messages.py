"""What deliveries say: e-mails, webhook bodies, Slack messages and the topic's message, made
from the notifications the real rules write."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest

from inventory.rules.alert_types import NotificationDraft, NotificationType, Priority, ReferenceType
from inventory.rules.alerts import ProductFigures, RuleSettings, evaluate
from inventory.rules.delivery_email import digest_email, notification_email
from inventory.rules.delivery_payloads import slack_body, topic_message, webhook_body
from inventory.rules.delivery_schedule import most_urgent
from inventory.rules.delivery_texts import figure
from inventory.rules.delivery_types import DigestContent, Links, MessageNotification
from inventory.rules.episodes import ResolvableEpisode, resolution_draft
from tests.support.availability_reference import evaluate_package
from tests.support.catalog import component, package

NOW = datetime(2026, 3, 8, 14, 5, tzinfo=UTC)
API = Links("https://api.example.com/")
NO_LINKS = Links()
SETTINGS = RuleSettings(
    package_low_stock_threshold=Decimal("0.2"),
    bottleneck_min_packages=2,
    stockout_prediction_days=Decimal(7),
    stockout_lookback_days=28,
)
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def stored(draft: NotificationDraft, created_at: datetime = NOW) -> MessageNotification:
    """A draft as the sender reads it back: with an id and a time."""
    return MessageNotification(
        id=uuid.uuid5(uuid.NAMESPACE_OID, f"{draft.type}:{draft.reference_id}"),
        type=draft.type,
        priority=draft.priority,
        title=draft.title,
        message=draft.message,
        reference_type=draft.reference_type,
        reference_id=draft.reference_id,
        data=draft.data,
        created_at=created_at,
    )


def drafts(
    *, beer: str = "Corona", bucket: str = "Bucket"
) -> dict[NotificationType, NotificationDraft]:
    """One draft of each alerting type, from the rules."""
    specs = [
        package(bucket, [component(beer, 5, 3)], normal=20),
        package("Tower", [component(beer, 10, 3)], normal=20),
        package("Mojito", [component("Mint", 1, 3)], normal=20),
    ]
    tonic = ProductFigures(
        uuid.uuid5(uuid.NAMESPACE_OID, "Tonic"), "Tonic", Decimal(10), Decimal(280)
    )
    snapshot = [evaluate_package(s, SETTINGS.package_low_stock_threshold) for s in specs]
    evaluation = evaluate(snapshot, [tonic], SETTINGS, NOW)
    found: dict[NotificationType, NotificationDraft] = {}
    for alert in evaluation.alerts:
        found.setdefault(alert.key.type, alert.draft())
    return found


def notification(kind: NotificationType, **names: str) -> MessageNotification:
    return stored(drafts(**names)[kind])


def resolved() -> MessageNotification:
    first = notification(NotificationType.PACKAGE_UNAVAILABLE)
    episode = ResolvableEpisode(
        episode_id=uuid.uuid4(),
        type=first.type,
        reference_type=first.reference_type,
        reference_id=first.reference_id,
        opened_at=NOW,
        clear_since=NOW + timedelta(hours=2, minutes=15),
        first_notification_id=first.id,
        first_title=first.title,
        first_data=first.data,
    )
    return stored(resolution_draft(episode), NOW + timedelta(hours=2, minutes=20))


# --- e-mail of one notification -------------------------------------------------------------


def test_an_unavailable_package_s_email_says_what_why_and_what_to_do() -> None:
    n = notification(NotificationType.PACKAGE_UNAVAILABLE)

    email = notification_email(n, API)

    assert email.subject == "Urgent: Bucket cannot be sold"
    assert "Bucket cannot be sold: Corona has 3 in stock, 5 needed per package." in email.text
    assert "Can be sold: 0 (normally 20)" in email.text
    assert "Limiting product: Corona: 3 in stock, 5 needed per package" in email.text
    assert "What to do: Restock Corona so Bucket can be sold again." in email.text
    assert f"https://api.example.com/api/notifications/{n.id}" in email.text
    assert f'href="https://api.example.com/api/notifications/{n.id}"' in email.html
    assert "<" not in email.text


def test_without_a_base_url_there_is_no_link() -> None:
    email = notification_email(notification(NotificationType.PACKAGE_UNAVAILABLE), NO_LINKS)

    assert "http" not in email.text
    assert "href" not in email.html


def test_a_low_stock_email_gives_the_limit_and_the_component() -> None:
    email = notification_email(notification(NotificationType.PACKAGE_LOW_STOCK), API)

    assert email.subject == "High: Mojito is running low"
    assert "Can be sold: 3 (normally 20)" in email.text
    assert "Low-stock limit: 4 (20% of normal)" in email.text
    assert "What to do: Restock Mint before Mojito runs out." in email.text


def test_a_bottleneck_email_lists_the_packages_it_limits() -> None:
    email = notification_email(notification(NotificationType.PACKAGE_BOTTLENECK), API)

    assert email.subject == "Urgent: Corona is limiting 2 packages"
    assert "Packages limited: 2" in email.text
    assert "- Bucket: unavailable, 0 sellable (normally 20)" in email.text
    assert "- Tower: unavailable, 0 sellable (normally 20)" in email.text
    assert "Restock Corona: it limits 2 packages" in email.text


def test_a_bottleneck_of_many_packages_lists_ten_and_counts_the_rest() -> None:
    n = notification(NotificationType.PACKAGE_BOTTLENECK)
    many = [{"package_name": f"P{i}", "status": "low_stock", "max_sellable": 1} for i in range(14)]
    n = stored_with(n, affected_packages=many, affected_package_count=14)

    email = notification_email(n, API)

    assert "- P9: low stock, 1 sellable" in email.text
    assert "P10" not in email.text
    assert "and 4 more" in email.text
    assert email.html.count("<li>") == 11


def stored_with(n: MessageNotification, **data: Any) -> MessageNotification:
    return MessageNotification(**{**_fields(n), "data": {**n.data, **data}})


def _fields(n: MessageNotification) -> dict[str, Any]:
    return {name: getattr(n, name) for name in MessageNotification.__slots__}


def test_a_stockout_email_says_when_and_to_reorder() -> None:
    email = notification_email(notification(NotificationType.STOCKOUT_PREDICTED), API)

    assert email.subject == "High: Tonic runs out in about 1 day"
    assert "In stock: 10" in email.text
    assert "Used per day: 10 (last 28 days)" in email.text
    assert "Runs out in: about 1 day" in email.text
    assert "Predicted stockout: 2026-03-09" in email.text
    assert "What to do: Reorder Tonic before 2026-03-09." in email.text


def test_a_resolution_email_says_it_is_back_and_how_long_it_lasted() -> None:
    email = notification_email(resolved(), API)

    assert email.subject == "Resolved: Bucket can be sold again"
    assert "Resolved alert: package unavailable" in email.text
    assert "Lasted: 2 h 15 min" in email.text
    assert "Started: 2026-03-08 14:05 UTC" in email.text
    assert "Clear since: 2026-03-08 16:20 UTC" in email.text
    assert "Nothing to do" in email.text


def test_hostile_names_are_escaped_in_html_and_kept_in_text() -> None:
    hostile = "<script>alert('x')</script>"
    n = notification(NotificationType.PACKAGE_UNAVAILABLE, bucket=hostile, beer='Bad & "Co" <b>')

    email = notification_email(n, API)

    assert "<script" not in email.html
    assert "<b>" not in email.html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in email.html
    assert "Bad &amp; &quot;Co&quot; &lt;b&gt;" in email.html
    assert f'Restock Bad & "Co" <b> so {hostile} can be sold again.' in email.text


def test_a_subject_is_one_line_however_the_title_is_written() -> None:
    n = stored_with(notification(NotificationType.PACKAGE_UNAVAILABLE), package_name="x")
    n = MessageNotification(**{**_fields(n), "title": "Bucket\r\nBcc: everyone\tcannot be sold"})

    assert notification_email(n, API).subject == "Urgent: Bucket Bcc: everyone cannot be sold"


def test_figures_missing_from_data_are_left_out() -> None:
    n = notification(NotificationType.PACKAGE_UNAVAILABLE)
    n = MessageNotification(**{**_fields(n), "data": {}})

    email = notification_email(n, API)

    assert "Can be sold" not in email.text
    assert "What to do: Check the stock of the components of the package." in email.text


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (3, "3"),
        (2.5, "2.5"),
        (2.0, "2"),
        (0.3571, "0.3571"),
        (1e16, "10000000000000000"),
        (Decimal("2.50"), "2.5"),
        (Decimal("1E+2"), "100"),
        ("12", "12"),
        (None, None),
        ([1], None),
        ({"a": 1}, None),
    ],
)
def test_figures_are_shown_as_plain_numbers(value: Any, shown: str | None) -> None:
    assert figure(value) == shown


def test_amounts_show_their_unit_unless_it_is_the_generic_one() -> None:
    n = notification(NotificationType.STOCKOUT_PREDICTED)
    n = stored_with(n, unit="ml", current_stock=350, avg_daily_usage=87.5)

    text = notification_email(n, API).text

    assert "In stock: 350 ml" in text
    assert "Used per day: 87.5 ml (last 28 days)" in text


def test_odd_figures_in_a_resolution_are_shown_as_they_are_or_left_out() -> None:
    n = stored_with(
        resolved(),
        started_at="yesterday",
        cleared_at="2026-03-08T16:20:00",
        duration_seconds="long",
    )

    text = notification_email(n, API).text

    assert "Started: yesterday" in text
    assert "Clear since: 2026-03-08T16:20:00" in text  # no zone: not read as UTC
    assert "Lasted" not in text
    epoch = stored_with(resolved(), started_at=1772978700, duration_seconds=float("nan"))
    text = notification_email(epoch, API).text
    assert "Started: 1772978700" in text
    assert "Lasted" not in text


def test_a_bottleneck_without_its_package_list_still_renders() -> None:
    n = stored_with(notification(NotificationType.PACKAGE_BOTTLENECK), affected_packages="?")

    email = notification_email(n, API)

    assert "Packages it limits" not in email.text
    assert "Packages limited: 2" in email.text


# --- e-mail of a digest ---------------------------------------------------------------------


def digest(total: int | None = None) -> DigestContent:
    by_type = drafts()
    listed = (
        stored(by_type[NotificationType.STOCKOUT_PREDICTED]),
        resolved(),
        stored(by_type[NotificationType.PACKAGE_BOTTLENECK]),
        stored(by_type[NotificationType.PACKAGE_LOW_STOCK]),
    )
    return DigestContent(listed=listed, total=total or len(listed), opened_at=NOW)


def test_a_digest_email_lists_the_most_urgent_first_and_counts_the_rest() -> None:
    email = digest_email(digest(total=9), API)

    assert email.subject == "Urgent: 9 inventory notifications"
    lines = email.text.splitlines()
    assert lines[0] == "9 inventory notifications since 2026-03-08 14:05 UTC"
    assert lines[2:7] == [
        "- Urgent: Corona is limiting 2 packages",
        "- High: Tonic runs out in about 1 day",
        "- High: Mojito is running low",
        "- Low: Bucket can be sold again",
        "and 5 more",
    ]
    assert "All notifications: https://api.example.com/api/notifications" in email.text
    assert "and 5 more" in email.html


def test_a_digest_listing_everything_has_no_more_line() -> None:
    email = digest_email(digest(), NO_LINKS)

    assert email.subject == "Urgent: 4 inventory notifications"
    assert "more" not in email.text
    assert "more" not in email.html
    assert "http" not in email.text


def test_a_digest_escapes_titles_in_html() -> None:
    n = notification(NotificationType.PACKAGE_UNAVAILABLE, bucket="<img src=x onerror=alert(1)>")

    email = digest_email(DigestContent((n,), 1, NOW), API)

    assert "<img" not in email.html
    assert email.subject == "Urgent: 1 inventory notification"
    assert json.loads(slack_body(DigestContent((n,), 1, NOW), API))["text"] == (
        "1 inventory notification"
    )


def test_the_most_urgent_priority_of_a_digest() -> None:
    assert most_urgent(digest().listed) is Priority.URGENT
    assert most_urgent([resolved()]) is Priority.LOW
    assert most_urgent([]) is Priority.LOW


# --- webhook bodies -------------------------------------------------------------------------


def test_a_webhook_body_carries_the_notification_and_its_figures() -> None:
    n = notification(NotificationType.PACKAGE_UNAVAILABLE)

    body = json.loads(webhook_body(n, API))

    assert body["type"] == "notification.created"
    assert body["timestamp"] == "2026-03-08T14:05:00.000Z"
    assert body["data"] == {
        "id": str(n.id),
        "type": "package_unavailable",
        "priority": "urgent",
        "title": n.title,
        "message": n.message,
        "reference": {"type": "package", "id": str(n.reference_id)},
        "figures": dict(n.data),
        "created_at": "2026-03-08T14:05:00.000Z",
        "links": {"notification": f"https://api.example.com/api/notifications/{n.id}"},
    }


def test_a_resolution_is_notification_resolved() -> None:
    body = json.loads(webhook_body(resolved(), NO_LINKS))

    assert body["type"] == "notification.resolved"
    assert body["data"]["figures"]["duration_seconds"] == 8100
    assert body["data"]["links"] == {}


def test_a_webhook_body_is_compact_and_the_same_on_every_retry() -> None:
    n = notification(NotificationType.STOCKOUT_PREDICTED)

    body = webhook_body(n, API)

    assert body == webhook_body(n, API)
    assert body == json.dumps(json.loads(body), separators=(",", ":")).encode()
    assert body.isascii()


def test_a_digest_webhook_body_counts_lists_and_says_how_many_more() -> None:
    body = json.loads(webhook_body(digest(total=9), API))

    assert body["type"] == "notification.digest"
    assert ISO_MS.fullmatch(body["timestamp"])
    data = body["data"]
    assert (data["count"], data["more"]) == (9, 5)
    assert [item["priority"] for item in data["listed"]] == ["urgent", "high", "high", "low"]
    assert all(ISO_MS.fullmatch(item["created_at"]) for item in data["listed"])


def test_timestamps_are_utc_whatever_zone_they_come_in() -> None:
    n = notification(NotificationType.PACKAGE_LOW_STOCK)
    n = MessageNotification(
        **{**_fields(n), "created_at": datetime.fromisoformat("2026-03-08T15:05:00.123456+01:00")}
    )

    assert json.loads(webhook_body(n, API))["timestamp"] == "2026-03-08T14:05:00.123Z"


def test_figures_read_back_as_other_types_are_written_as_json() -> None:
    n = notification(NotificationType.PACKAGE_LOW_STOCK)
    odd = {
        "ratio": Decimal("0.25"),
        "whole": Decimal(4),
        "id": n.id,
        "at": NOW,
        "nested": MappingProxyType({"a": 1}),
    }
    n = MessageNotification(**{**_fields(n), "data": MappingProxyType(odd)})

    figures = json.loads(webhook_body(n, API))["data"]["figures"]

    assert figures == {
        "ratio": 0.25,
        "whole": 4,
        "id": str(n.id),
        "at": NOW.isoformat(),
        "nested": {"a": 1},
    }


def test_a_figure_json_cannot_write_is_an_error() -> None:
    n = MessageNotification(
        **{**_fields(notification(NotificationType.PACKAGE_LOW_STOCK)), "data": {"x": object()}}
    )

    with pytest.raises(TypeError, match="not JSON"):
        webhook_body(n, API)


# --- Slack ----------------------------------------------------------------------------------


def test_a_slack_message_has_a_fallback_and_blocks() -> None:
    n = notification(NotificationType.PACKAGE_UNAVAILABLE)

    body = json.loads(slack_body(n, API))

    assert body["text"] == "Urgent: Bucket cannot be sold"
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds == ["header", "section", "section", "section", "context"]
    assert body["blocks"][0]["text"] == {"type": "plain_text", "text": n.title, "emoji": False}
    assert "*What to do:* Restock Corona" in body["blocks"][3]["text"]["text"]
    context = body["blocks"][-1]["elements"][0]["text"]
    assert f"<https://api.example.com/api/notifications/{n.id}|Open>" in context


def mrkdwn_texts(value: Any) -> list[str]:
    """Every mrkdwn text of a Slack body, wherever it sits."""
    if isinstance(value, list):
        return [text for item in value for text in mrkdwn_texts(item)]
    if not isinstance(value, dict):
        return []
    own = [value["text"]] if value.get("type") == "mrkdwn" else []
    return own + [text for item in value.values() for text in mrkdwn_texts(item)]


def test_slack_escapes_names_so_they_cannot_mention_or_link() -> None:
    n = notification(NotificationType.PACKAGE_BOTTLENECK, beer="<!channel> & <http://evil|x>")

    body = json.loads(slack_body(n, NO_LINKS))

    texts = [body["text"], *mrkdwn_texts(body["blocks"])]
    assert len(texts) == 6
    assert not any("<" in text or ">" in text for text in texts)
    assert body["text"].startswith("Urgent: &lt;!channel&gt; &amp; &lt;http://evil|x&gt;")
    # The header is plain text: Slack shows it as written.
    assert body["blocks"][0]["text"]["text"].startswith("<!channel> & <http://evil|x>")
    assert any("*Packages it limits:*" in text for text in texts)


def test_a_slack_digest_lists_the_most_urgent_first_and_counts_the_rest() -> None:
    body = json.loads(slack_body(digest(total=9), API))

    assert body["text"] == "9 inventory notifications"
    listing = body["blocks"][1]["text"]["text"].splitlines()
    assert listing[0].startswith("• *Urgent* <https://api.example.com/api/notifications/")
    assert listing[0].endswith("|Corona is limiting 2 packages>")
    assert body["blocks"][2]["text"]["text"] == "and 5 more"
    assert (
        "<https://api.example.com/api/notifications|All notifications>"
        in (body["blocks"][-1]["elements"][0]["text"])
    )


def test_a_huge_slack_digest_stays_within_slack_s_limits_and_counts_what_it_leaves_out() -> None:
    n = notification(NotificationType.PACKAGE_LOW_STOCK)
    many = tuple(
        MessageNotification(**{**_fields(n), "title": f"{i} " + "x" * 200}) for i in range(2000)
    )

    body = json.loads(slack_body(DigestContent(many, 2500, NOW), API))

    assert len(body["blocks"]) <= 50
    sections = [b["text"]["text"] for b in body["blocks"] if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    shown = sum(text.count("• ") for text in sections)
    assert sections[-1] == f"and {2500 - shown} more"


# --- the SNS topic --------------------------------------------------------------------------


def test_a_topic_message_has_a_short_subject_the_webhook_json_and_filter_attributes() -> None:
    n = notification(NotificationType.STOCKOUT_PREDICTED)

    subject, message, attributes = topic_message(n, API)

    assert subject == "High: Tonic runs out in about 1 day"
    assert message.encode() == webhook_body(n, API)
    assert attributes == {
        "type": "stockout_predicted",
        "priority": "high",
        "reference_type": "product",
    }


def test_a_long_title_makes_a_subject_under_100_characters_on_one_line() -> None:
    n = notification(NotificationType.PACKAGE_UNAVAILABLE, bucket="Bucket\n" + "y" * 300)

    subject, _, attributes = topic_message(n)

    assert len(subject) < 100
    assert "\n" not in subject
    assert subject.endswith("…")
    assert attributes["reference_type"] == ReferenceType.PACKAGE.value
