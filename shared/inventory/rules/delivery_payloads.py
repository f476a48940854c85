"""The machine-read bodies of a delivery (SPEC §10): the webhook's JSON, the Slack message, the
SNS topic's message and attributes.

Pure and deterministic: the same notification gives the same bytes on every retry (the
signature covers them with each attempt's timestamp). JSON is compact and ASCII (anything
else escaped), keys in the order written here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from inventory.models.numbers import json_number
from inventory.rules.alert_types import NotificationType
from inventory.rules.delivery_schedule import by_urgency
from inventory.rules.delivery_texts import (
    clock,
    counted,
    explain,
    inbox_url,
    notification_url,
    one_line,
    priority_label,
    subject_label,
)
from inventory.rules.delivery_types import DigestContent, Links, MessageNotification

CREATED = "notification.created"
RESOLVED = "notification.resolved"
DIGEST = "notification.digest"

TOPIC_SUBJECT_LIMIT = 99  # SNS: "less than 100 characters", one line
SLACK_HEADER_LIMIT = 150  # Slack's limit for a header block's text
SLACK_TEXT_LIMIT = 3000  # … and for a section's
SLACK_DIGEST_SECTIONS = 45  # Slack allows 50 blocks; the rest are the header and context


def utc_timestamp(moment: datetime) -> str:
    """'2026-03-08T14:05:00.000Z': ISO 8601 in UTC, milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """What json cannot write by itself, as `data` may hold it when read back."""
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=_plain).encode()


def _item(n: MessageNotification, links: Links) -> dict[str, Any]:
    url = notification_url(links, n.id)
    return {
        "id": str(n.id),
        "type": n.type.value,
        "priority": n.priority.value,
        "title": n.title,
        "message": n.message,
        "reference": {"type": n.reference_type.value, "id": str(n.reference_id)},
        "figures": n.data,
        "created_at": utc_timestamp(n.created_at),
        "links": {"notification": url} if url else {},
    }


def event_type(n: MessageNotification) -> str:
    return RESOLVED if n.type is NotificationType.ALERT_RESOLVED else CREATED


def webhook_body(content: MessageNotification | DigestContent, links: Links) -> bytes:
    """`{"type", "timestamp", "data"}`: one notification (timestamp: when it was created), or
    a digest (timestamp: when it opened; data `{count, listed, more}`, the most urgent
    first)."""
    if isinstance(content, MessageNotification):
        envelope = {
            "type": event_type(content),
            "timestamp": utc_timestamp(content.created_at),
            "data": _item(content, links),
        }
    else:
        listed = by_urgency(content.listed)
        envelope = {
            "type": DIGEST,
            "timestamp": utc_timestamp(content.opened_at),
            "data": {
                "count": content.total,
                "listed": [_item(n, links) for n in listed],
                "more": max(0, content.total - len(listed)),
            },
        }
    return _json(envelope)


def slack_escape(text: str) -> str:
    """Slack's mrkdwn escapes: no link, mention or `<!channel>` from a name."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _header(text: str) -> dict[str, Any]:
    shown = one_line(text, SLACK_HEADER_LIMIT)
    return {"type": "header", "text": {"type": "plain_text", "text": shown, "emoji": False}}


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(mrkdwn, SLACK_TEXT_LIMIT)}}


def _context(mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def _link(url: str | None, label: str) -> str:
    return f" · <{slack_escape(url)}|{label}>" if url else ""


def _notification_blocks(n: MessageNotification, links: Links) -> list[dict[str, Any]]:
    e = explain(n, links)
    blocks = [_header(e.headline), _section(slack_escape(e.summary))]
    if e.facts:
        facts = "\n".join(f"*{slack_escape(k)}:* {slack_escape(v)}" for k, v in e.facts)
        blocks.append(_section(facts))
    if e.items:
        more = [f"and {e.more_items} more"] if e.more_items else []
        lines = [f"• {slack_escape(item)}" for item in e.items] + more
        blocks.append(_section(f"*{slack_escape(e.items_heading)}:*\n" + "\n".join(lines)))
    blocks.append(_section(f"*What to do:* {slack_escape(e.action)}"))
    about = f"{priority_label(n.priority)} · {n.type.value} · {clock(n.created_at)}"
    blocks.append(_context(slack_escape(about) + _link(e.link, "Open")))
    return blocks


def _packed(lines: list[str]) -> tuple[list[str], int]:
    """The lines packed into section texts within Slack's limits, and how many did not fit."""
    texts: list[str] = []
    for index, line in enumerate(lines):
        line = _clip(line, SLACK_TEXT_LIMIT)
        if texts and len(texts[-1]) + 1 + len(line) <= SLACK_TEXT_LIMIT:
            texts[-1] += "\n" + line
        elif len(texts) < SLACK_DIGEST_SECTIONS:
            texts.append(line)
        else:
            return texts, len(lines) - index
    return texts, 0


def _digest_blocks(digest: DigestContent, links: Links) -> list[dict[str, Any]]:
    listed = by_urgency(digest.listed)
    lines = []
    for n in listed:
        title = slack_escape(one_line(n.title, SLACK_HEADER_LIMIT))
        url = notification_url(links, n.id)
        shown = f"<{slack_escape(url)}|{title}>" if url else title
        lines.append(f"• *{priority_label(n.priority)}* {shown}")
    texts, unfit = _packed(lines)
    more = max(0, digest.total - len(listed)) + unfit
    if more:
        texts.append(f"and {more} more")
    about = f"since {clock(digest.opened_at)}" + _link(inbox_url(links), "All notifications")
    return [
        _header(counted(digest.total)),
        *(_section(text) for text in texts),
        _context(about),
    ]


def slack_body(content: MessageNotification | DigestContent, links: Links) -> bytes:
    """A Slack incoming-webhook message: `text` (the fallback of notifications) and `blocks`."""
    if isinstance(content, MessageNotification):
        fallback = f"{subject_label(content)}: {content.title}"
        blocks = _notification_blocks(content, links)
    else:
        fallback = counted(content.total)
        blocks = _digest_blocks(content, links)
    return _json({"text": slack_escape(one_line(fallback, SLACK_TEXT_LIMIT)), "blocks": blocks})


def topic_message(
    n: MessageNotification, links: Links | None = None
) -> tuple[str, str, dict[str, str]]:
    """What the SNS topic gets: a subject (one line, under 100 characters), the webhook's JSON
    as the message, and the attributes subscribers filter on (`type`, `priority`,
    `reference_type`, as plain strings)."""
    subject = one_line(f"{subject_label(n)}: {n.title}", TOPIC_SUBJECT_LIMIT)
    message = webhook_body(n, links or Links()).decode()
    attributes = {
        "type": n.type.value,
        "priority": n.priority.value,
        "reference_type": n.reference_type.value,
    }
    return subject, message, attributes
