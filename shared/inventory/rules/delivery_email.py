"""The e-mail of a delivery (SPEC §10, sent through SES): one notification, or a digest.

Pure. The text part is plain; the HTML part escapes everything that comes from a
notification (names are whatever the catalogue holds, `<script>` included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape

from inventory.rules.delivery_schedule import by_urgency, most_urgent
from inventory.rules.delivery_texts import (
    Explanation,
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

SUBJECT_LIMIT = 150  # a longer title is cut: mail clients show far less anyway
DIGEST_LINE_LIMIT = 120  # one title per line in a digest

_STYLE = "font-family:sans-serif;line-height:1.4"


@dataclass(frozen=True, slots=True)
class EmailContent:
    subject: str
    text: str
    html: str


def _footer(n: MessageNotification) -> str:
    return f"{priority_label(n.priority)} · {n.type.value} · {clock(n.created_at)}"


def _subject(n: MessageNotification) -> str:
    return one_line(f"{subject_label(n)}: {n.title}", SUBJECT_LIMIT)


def _text(e: Explanation, footer: str) -> str:
    parts = [e.headline, e.summary]
    if e.facts:
        parts.append("\n".join(f"{label}: {value}" for label, value in e.facts))
    if e.items:
        lines = [f"{e.items_heading}:", *(f"- {item}" for item in e.items)]
        if e.more_items:
            lines.append(f"and {e.more_items} more")
        parts.append("\n".join(lines))
    parts.append(f"What to do: {e.action}")
    if e.link:
        parts.append(f"Open the notification: {e.link}")
    parts.append(footer)
    return "\n\n".join(parts) + "\n"


def _list_html(items: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _html(e: Explanation, footer: str) -> str:
    parts = [f"<h2>{escape(e.headline)}</h2>", f"<p>{escape(e.summary)}</p>"]
    if e.facts:
        rows = "".join(
            f'<tr><th align="left">{escape(label)}</th><td>{escape(value)}</td></tr>'
            for label, value in e.facts
        )
        parts.append(f"<table>{rows}</table>")
    if e.items:
        more = [f"and {e.more_items} more"] if e.more_items else []
        parts.append(f"<p>{escape(e.items_heading)}:</p>")
        parts.append(_list_html([*(escape(i) for i in e.items), *more]))
    parts.append(f"<p><strong>What to do:</strong> {escape(e.action)}</p>")
    if e.link:
        parts.append(f'<p><a href="{escape(e.link)}">Open the notification</a></p>')
    parts.append(f'<p style="color:#666">{escape(footer)}</p>')
    return _document("".join(parts))


def _document(body: str) -> str:
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="{_STYLE}">{body}</body></html>'
    )


def notification_email(n: MessageNotification, links: Links) -> EmailContent:
    """The e-mail about one notification: what, why, the figures, what to do, a link."""
    explained = explain(n, links)
    footer = _footer(n)
    return EmailContent(_subject(n), _text(explained, footer), _html(explained, footer))


def _digest_line(n: MessageNotification) -> str:
    return f"{priority_label(n.priority)}: {one_line(n.title, DIGEST_LINE_LIMIT)}"


def _digest_html_line(n: MessageNotification, links: Links) -> str:
    title = escape(one_line(n.title, DIGEST_LINE_LIMIT))
    url = notification_url(links, n.id)
    shown = f'<a href="{escape(url)}">{title}</a>' if url else title
    return f"<strong>{escape(priority_label(n.priority))}</strong>: {shown}"


def digest_email(digest: DigestContent, links: Links) -> EmailContent:
    """The e-mail of a digest: one short line per listed notification, the most urgent first,
    then how many more it covers."""
    listed = by_urgency(digest.listed)
    more = max(0, digest.total - len(listed))
    heading = f"{counted(digest.total)} since {clock(digest.opened_at)}"
    subject = one_line(
        f"{priority_label(most_urgent(listed))}: {counted(digest.total)}", SUBJECT_LIMIT
    )
    inbox = inbox_url(links)
    lines = [f"- {_digest_line(n)}" for n in listed] + ([f"and {more} more"] if more else [])
    text = "\n\n".join(
        [heading, "\n".join(lines), *([f"All notifications: {inbox}"] if inbox else [])]
    )
    items = [_digest_html_line(n, links) for n in listed] + ([f"and {more} more"] if more else [])
    html = f"<h2>{escape(heading)}</h2>{_list_html(items)}"
    if inbox:
        html += f'<p><a href="{escape(inbox)}">All notifications</a></p>'
    return EmailContent(subject, text + "\n", _document(html))
