"""The inbox (SPEC §9): the four real handlers, fed their events/ files, against PostgreSQL.

Pages are checked against a Python oracle over the same rows: every filter selects exactly the
rows it names, in (created_at DESC, id DESC) order, and a client paging through 10,000
notifications while new ones arrive sees each exactly once.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from functions.inbox_item import app as inbox_item
from functions.inbox_list import app as inbox_list
from functions.inbox_mark_many import app as inbox_mark_many
from functions.inbox_mark_one import app as inbox_mark_one
from tests.support.events import (
    FakeLambdaContext,
    http_event,
    next_query,
    refused_fields,
    response_json,
)

PATH = "/api/notifications"
TYPES = ("package_unavailable", "package_low_stock", "package_bottleneck", "stockout_predicted")
PRIORITIES = ("urgent", "high", "normal", "low")
REFERENCES = [uuid.UUID(int=n + 1) for n in range(7)]
EPOCH = datetime(2025, 10, 1, tzinfo=UTC)

# Rows i = 0 … n-1, seven to an instant (ties the id must break), i = 0 the oldest. Which
# filters a row passes is a function of i, so the oracle below can say the same.
_BULK = """
    INSERT INTO notifications (type, priority, title, message, reference_type, reference_id,
                               data, created_at, read_at, read_by, resolved_at)
    SELECT (%(types)s::text[])[1 + i %% 4], (%(priorities)s::text[])[1 + (i / 3) %% 4],
           'Alert ' || i, 'Message ' || i, 'package', (%(references)s::uuid[])[1 + i %% 7],
           jsonb_build_object('i', i, 'stock', 0.5 + i),
           %(epoch)s::timestamptz + (i / 7) * interval '1 second',
           CASE WHEN i %% 3 = 0 THEN %(epoch)s::timestamptz + interval '100 days' END,
           CASE WHEN i %% 3 = 0 THEN 'earlier-reader' END,
           CASE WHEN i %% 5 = 0 THEN %(epoch)s::timestamptz + interval '101 days' END
    FROM generate_series(%(start)s::int, %(stop)s::int - 1) AS i
"""


def insert_bulk(db: psycopg.Connection[Any], count: int, start: int = 0) -> None:
    db.execute(
        _BULK,
        {
            "types": list(TYPES),
            "priorities": list(PRIORITIES),
            "references": REFERENCES,
            "epoch": EPOCH,
            "start": start,
            "stop": start + count,
        },
    )


def insert_new(db: psycopg.Connection[Any], count: int) -> list[str]:
    """Notifications arriving now, on top of the list."""
    rows = db.execute(
        "INSERT INTO notifications (type, priority, title, message, reference_type,"
        " reference_id) SELECT 'package_unavailable', 'urgent', 'New', 'New', 'package',"
        " gen_random_uuid() FROM generate_series(1, %s) RETURNING id",
        (count,),
    ).fetchall()
    return [str(row[0]) for row in rows]


def all_rows(db: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    with db.cursor(row_factory=psycopg.rows.dict_row) as cursor:
        return cursor.execute(
            "SELECT id, type, priority, reference_id, created_at, read_at, resolved_at"
            " FROM notifications"
        ).fetchall()


def oracle(rows: list[dict[str, Any]], query: dict[str, str]) -> list[str]:
    """The ids the list should show for `query`, in its order, computed in Python."""

    def keep(row: dict[str, Any]) -> bool:
        state = query.get("state", "all")
        if state == "open" and row["resolved_at"] is not None:
            return False
        if state == "resolved" and row["resolved_at"] is None:
            return False
        if "unread" in query and (row["read_at"] is None) != (query["unread"] == "true"):
            return False
        if "type" in query and row["type"] != query["type"]:
            return False
        if "priority" in query and row["priority"] != query["priority"]:
            return False
        if "reference_id" in query and str(row["reference_id"]) != query["reference_id"]:
            return False
        return not ("since" in query and row["created_at"] < datetime.fromisoformat(query["since"]))

    kept = sorted(filter(keep, rows), key=lambda r: (r["created_at"], r["id"]), reverse=True)
    return [str(row["id"]) for row in kept]


def cursor_of(text: str) -> str:
    """A cursor as ours are made (base64url of a JSON pair), of any content."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def get(
    context: FakeLambdaContext, query: dict[str, str], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = inbox_list.lambda_handler(
        http_event("inbox_list.json", query=query, headers=headers), context
    )
    return response


def pages(
    context: FakeLambdaContext,
    query: dict[str, str],
    between: Callable[[], None] = lambda: None,
) -> Iterator[list[dict[str, Any]]]:
    following: dict[str, str] | None = query
    while following is not None:
        response = get(context, following)
        assert response["statusCode"] == 200, response["body"]
        yield response_json(response)["data"]
        following = next_query(response, PATH)
        between()


def listed_ids(context: FakeLambdaContext, query: dict[str, str]) -> list[str]:
    return [item["id"] for page in pages(context, query) for item in page]


# Paging


def test_pages_through_10000_notifications_exactly_once_while_new_ones_arrive(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    insert_bulk(db, 10_000)
    existing = oracle(all_rows(db), {})
    arrived: list[str] = []
    took: list[float] = []

    def more_arrive() -> None:
        arrived.extend(insert_new(db, 25))

    seen: list[dict[str, Any]] = []
    started = time.perf_counter()
    for page in pages(lambda_context, {"limit": "500"}, between=more_arrive):
        took.append(time.perf_counter() - started)
        seen.extend(page)
        started = time.perf_counter()

    ids = [item["id"] for item in seen]
    assert ids == existing  # each once, in order; none of the 525 that arrived on top
    assert len(ids) == 10_000
    assert len(arrived) == 25 * 20
    assert not set(arrived) & set(ids)
    keys = [(item["created_at"], item["id"]) for item in seen]
    assert keys == sorted(keys, reverse=True)
    print(f"pages of 500 of 10,000: slowest {max(took) * 1000:.0f} ms")

    # The next pass starts with what arrived.
    first = response_json(get(lambda_context, {"limit": "500"}))["data"]
    assert {item["id"] for item in first} == set(arrived)


@pytest.mark.parametrize("limit", [1, 7, 8, 100])
def test_pages_are_exact_at_every_size_across_tied_instants(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext, limit: int
) -> None:
    insert_bulk(db, 203)  # 29 instants of seven rows

    chunks = list(pages(lambda_context, {"limit": str(limit)}))

    assert [item["id"] for page in chunks for item in page] == oracle(all_rows(db), {})
    assert all(len(page) == limit for page in chunks[:-1])
    assert 1 <= len(chunks[-1]) <= limit


def test_without_limit_the_default_page_size_applies(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    insert_bulk(db, 150)
    response = get(lambda_context, {})
    assert len(response_json(response)["data"]) == 100
    following = next_query(response, PATH)
    assert following is not None
    assert following.keys() == {"limit", "after"}
    assert following["limit"] == "100"


def test_an_empty_inbox_is_an_empty_page_without_a_link(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    response = get(lambda_context, {"state": "open"})
    assert response["statusCode"] == 200
    assert response_json(response) == {"success": True, "data": []}
    assert "Link" not in response["headers"]


# Filters

FILTERS = [
    {"state": "all"},
    {"state": "open"},
    {"state": "resolved"},
    {"unread": "true"},
    {"unread": "false"},
    *({"type": kind} for kind in TYPES),
    *({"priority": priority} for priority in PRIORITIES),
    {"reference_id": str(REFERENCES[3])},
    {"reference_id": str(uuid.UUID(int=99))},  # names nothing
    {"since": (EPOCH + timedelta(seconds=200)).isoformat()},
    {"since": "2025-10-01T02:03:20+02:00"},  # an offset: the same instant as EPOCH + 200 s
    {"since": "2025-09-30T03:45:20-20:18"},  # an offset PostgreSQL itself would refuse
    {"state": "open", "unread": "true"},
    {"state": "resolved", "unread": "false", "type": "package_low_stock"},
    {"unread": "true", "priority": "urgent", "reference_id": str(REFERENCES[1])},
    {
        "state": "open",
        "type": "stockout_predicted",
        "since": (EPOCH + timedelta(minutes=3)).isoformat(),
    },
]


@pytest.fixture
def catalogue(db: psycopg.Connection[Any]) -> list[dict[str, Any]]:
    insert_bulk(db, 2_000)
    return all_rows(db)


@pytest.mark.parametrize("query", FILTERS, ids=lambda q: "&".join(f"{k}={v}" for k, v in q.items()))
def test_every_filter_selects_exactly_its_rows_in_order(
    catalogue: list[dict[str, Any]], lambda_context: FakeLambdaContext, query: dict[str, str]
) -> None:
    expected = oracle(catalogue, query)

    assert listed_ids(lambda_context, {**query, "limit": "97"}) == expected


def test_the_next_link_keeps_the_filters(
    catalogue: list[dict[str, Any]], lambda_context: FakeLambdaContext
) -> None:
    response = get(lambda_context, {"state": "open", "type": "package_bottleneck", "limit": "5"})
    following = next_query(response, PATH)
    assert following is not None
    assert following.keys() == {"state", "type", "limit", "after"}
    assert (following["state"], following["type"], following["limit"]) == (
        "open",
        "package_bottleneck",
        "5",
    )


def test_items_have_the_contract_shape_and_exact_figures(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    db.execute(
        "INSERT INTO notifications (type, priority, title, message, reference_type,"
        " reference_id, data) VALUES ('stockout_predicted', 'high', 'Limes run out',"
        " 'Limes last 2 days', 'product', %s, %s::jsonb)",
        (
            REFERENCES[0],
            '{"days_until_stockout": 0.30000000000000000001, "big": 123456789012345678901234,'
            ' "tiny": 0.000000000000002, "nested": {"list": [1.10, 2]}, "name": "Limes"}',
        ),
    )
    response = get(lambda_context, {})
    body = response["body"]
    for digits in ("0.30000000000000000001", "123456789012345678901234", "0.000000000000002"):
        assert digits in body
    (item,) = response_json(response)["data"]
    assert set(item) == {
        "id",
        "type",
        "priority",
        "title",
        "message",
        "reference_type",
        "reference_id",
        "data",
        "created_at",
        "read_at",
        "read_by",
        "resolved_at",
        "episode_id",  # beyond SPEC §9's list: the alerts of one outage share it
    }
    assert item["episode_id"] is None  # stored by hand, outside any episode
    assert item["data"]["nested"] == {"list": [1.10, 2]}
    assert item["data"]["name"] == "Limes"
    assert item["created_at"].endswith("Z")
    assert (item["read_at"], item["read_by"], item["resolved_at"]) == (None, None, None)


# Conditional GET


def test_a_page_answers_304_until_something_on_it_changes(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    insert_bulk(db, 30)
    first = get(lambda_context, {"limit": "10"})
    etag = first["headers"]["ETag"]
    assert first["headers"]["Cache-Control"] == "no-cache"

    again = get(lambda_context, {"limit": "10"}, headers={"If-None-Match": etag})
    assert (again["statusCode"], again["headers"]["ETag"]) == (304, etag)
    assert not again.get("body")

    shown = response_json(first)["data"][3]["id"]
    db.execute("UPDATE notifications SET read_at = now(), read_by = 'x' WHERE id = %s", (shown,))
    changed = get(lambda_context, {"limit": "10"}, headers={"If-None-Match": etag})
    assert changed["statusCode"] == 200
    assert changed["headers"]["ETag"] != etag


# One notification


def test_one_notification_by_id_and_404_for_an_unknown_one(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    insert_bulk(db, 3)
    listed = response_json(get(lambda_context, {}))["data"]

    response = inbox_item.lambda_handler(
        http_event("inbox_item.json", path_parameters={"notificationId": listed[1]["id"]}),
        lambda_context,
    )
    assert response["statusCode"] == 200
    assert response_json(response)["data"] == listed[1]

    unknown = inbox_item.lambda_handler(
        http_event("inbox_item.json", path_parameters={"notificationId": str(uuid.uuid4())}),
        lambda_context,
    )
    assert unknown["statusCode"] == 404
    assert response_json(unknown)["error"]["code"] == "not_found"

    malformed = inbox_item.lambda_handler(
        http_event("inbox_item.json", path_parameters={"notificationId": "nope"}),
        lambda_context,
    )
    assert malformed["statusCode"] == 400
    assert refused_fields(response_json(malformed)["error"]) == [("path", "notificationId")]


# Marking read


def claims(event: dict[str, Any], client_id: str) -> dict[str, Any]:
    jwt = event["requestContext"]["authorizer"]["jwt"]["claims"]
    jwt["client_id"] = jwt["sub"] = client_id
    return event


def mark_one(context: FakeLambdaContext, notification_id: str, client_id: str) -> dict[str, Any]:
    event = http_event("inbox_mark_one.json", path_parameters={"notificationId": notification_id})
    response: dict[str, Any] = inbox_mark_one.lambda_handler(claims(event, client_id), context)
    return response


def mark_many(context: FakeLambdaContext, body: Any, client_id: str = "manager") -> dict[str, Any]:
    event = http_event("inbox_mark_many.json", body=body)
    response: dict[str, Any] = inbox_mark_many.lambda_handler(claims(event, client_id), context)
    return response


def test_marking_one_read_is_idempotent_and_keeps_the_first_reader(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    (notification_id,) = insert_new(db, 1)

    first = mark_one(lambda_context, notification_id, "manager-a")
    assert first["statusCode"] == 200
    marked = response_json(first)["data"]
    assert marked["id"] == notification_id
    assert marked["read_by"] == "manager-a"
    assert marked["read_at"] is not None

    second = response_json(mark_one(lambda_context, notification_id, "manager-b"))["data"]
    assert second == marked  # the first read_at and read_by stay

    shown = inbox_item.lambda_handler(
        http_event("inbox_item.json", path_parameters={"notificationId": notification_id}),
        lambda_context,
    )
    assert response_json(shown)["data"] == marked


def test_marking_an_unknown_notification_is_a_404(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    response = mark_one(lambda_context, str(uuid.uuid4()), "manager")
    assert response["statusCode"] == 404
    assert response_json(response)["error"]["code"] == "not_found"


def test_marking_many_by_ids_counts_only_the_newly_marked(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    ids = insert_new(db, 5)
    mark_one(lambda_context, ids[0], "earlier")

    response = mark_many(lambda_context, {"ids": [*ids, str(uuid.uuid4())]}, "manager")

    assert response["statusCode"] == 200
    assert response_json(response) == {"success": True, "data": {"marked": 4}}
    readers = dict(
        db.execute("SELECT id::text, read_by FROM notifications WHERE read_at IS NOT NULL")
    )
    assert readers == {ids[0]: "earlier", **dict.fromkeys(ids[1:], "manager")}
    again = mark_many(lambda_context, {"ids": ids}, "someone-else")
    assert response_json(again)["data"] == {"marked": 0}


def test_marking_many_before_an_instant_marks_only_older_unread_ones(
    db: psycopg.Connection[Any], lambda_context: FakeLambdaContext
) -> None:
    insert_bulk(db, 70)  # ten instants; i % 3 == 0 already read
    before = EPOCH + timedelta(seconds=5)  # rows 0 … 34
    expected = sum(1 for i in range(35) if i % 3 != 0)

    response = mark_many(lambda_context, {"before": before.isoformat()})

    assert response_json(response)["data"] == {"marked": expected}
    counts = db.execute(
        "SELECT count(*) FILTER (WHERE read_by = 'manager'),"
        " count(*) FILTER (WHERE read_at IS NULL AND created_at < %(b)s),"
        " count(*) FILTER (WHERE read_at IS NULL AND created_at >= %(b)s)"
        " FROM notifications",
        {"b": before},
    ).fetchone()
    assert counts == (expected, 0, sum(1 for i in range(35, 70) if i % 3 != 0))


@pytest.mark.parametrize(
    ("body", "status", "fields"),
    [
        ({}, 422, [("body", "/ids"), ("body", "/before")]),
        (
            {"ids": [str(uuid.uuid4())], "before": "2025-10-21T12:00:00Z"},
            422,
            [("body", "/ids"), ("body", "/before")],
        ),
        ({"ids": []}, 422, [("body", "/ids")]),
        ({"ids": [str(uuid.uuid4()) for _ in range(501)]}, 422, [("body", "/ids")]),
        ({"ids": ["not-a-uuid"]}, 400, [("body", "/ids/0")]),
        ({"before": "yesterday"}, 400, [("body", "/before")]),
        ({"before": 0}, 400, [("body", "/before")]),
        ({"before": "2025-10-21T12:00:00"}, 422, [("body", "/before")]),  # no offset
        ({"ids": [str(uuid.uuid4())], "everything": True}, 400, [("body", "/everything")]),
    ],
    ids=[
        "neither",
        "both",
        "no ids",
        "501 ids",
        "bad id",
        "bad before",
        "number",
        "naive",
        "unknown",
    ],
)
def test_a_refused_mark_many_body_names_the_field(
    db: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    body: dict[str, Any],
    status: int,
    fields: list[tuple[str, str]],
) -> None:
    response = mark_many(lambda_context, body)

    assert response["statusCode"] == status, response["body"]
    error = response_json(response)["error"]
    assert error["code"] == ("malformed_request" if status == 400 else "validation_error")
    assert refused_fields(error) == fields


# Refused filters


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"state": "closed"}, 422, "state"),
        ({"type": "package_overstock"}, 422, "type"),
        ({"priority": "critical"}, 422, "priority"),
        ({"unread": "maybe"}, 400, "unread"),
        ({"reference_id": "limes"}, 400, "reference_id"),
        ({"since": "last week"}, 400, "since"),
        ({"since": "0.0"}, 400, "since"),  # pydantic would read seconds since 1970
        ({"since": "0001-01-01T00:00:00+01:00"}, 422, "since"),  # before year 1 in UTC
        ({"since": "2025-10-21T12:00:00"}, 422, "since"),  # no offset: which instant?
        ({"limit": "0"}, 422, "limit"),
        ({"limit": "1001"}, 422, "limit"),
        ({"limit": "ten"}, 400, "limit"),
        ({"after": "not-a-cursor"}, 400, "after"),
        (
            {"after": cursor_of(f'["2025-10-01T00:00:00-20:18", "{uuid.UUID(int=1)}"]')},
            400,
            "after",
        ),
        ({"after": cursor_of(f'["2025-10-01T00:00:00", "{uuid.UUID(int=1)}"]')}, 400, "after"),
        ({"after": cursor_of('["2025-10-01T00:00:00Z", "not-a-uuid"]')}, 400, "after"),
        ({"unred": "true"}, 400, "unred"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_refused_filter_names_the_parameter(
    db: psycopg.Connection[Any],
    lambda_context: FakeLambdaContext,
    query: dict[str, str],
    status: int,
    field: str,
) -> None:
    response = get(lambda_context, query)

    assert response["statusCode"] == status, response["body"]
    error = response_json(response)["error"]
    assert error["code"] == ("malformed_request" if status == 400 else "validation_error")
    assert refused_fields(error) == [("query", field)]
