"""Every route of the local API through the client openapi-python-client generates, unpatched.

Run by tests/contract/test_generated_clients.py in the OpenAPI toolchain's throwaway venv, with
the generated `inventory_client` package on sys.path:

    python drive_python_client.py <base url> <cron token> <access token>

The access token (every scope) goes with each call the JWT authorizer guards, as the
generated `AuthenticatedClient` sends it; health goes without one.

Each call goes through the generated function and its parsed model (never raw JSON); a failed
expectation is an AssertionError, an undocumented status an UnexpectedStatus. Prints one line
per call. Against the demo bar (devtools/demo_data.py): some packages are sold out.
"""

from __future__ import annotations

import datetime
import sys
import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlparse

from inventory_client import AuthenticatedClient, Client
from inventory_client.api.availability import (
    get_package_availability,
    get_package_impact,
    list_package_availability,
)
from inventory_client.api.health import get_health
from inventory_client.api.inbox import (
    get_notification,
    list_notification_deliveries,
    list_notifications,
    mark_notification_read,
    mark_notifications_read,
)
from inventory_client.api.monitor import run_inventory_monitor
from inventory_client.api.notifications import (
    clear_cooldowns,
    get_cooldown_stats,
    run_notification_check,
)
from inventory_client.api.pos import record_sale, validate_cart
from inventory_client.api.stock import list_stock_movements, record_stock_movement
from inventory_client.api.subscriptions import (
    change_subscription,
    create_subscription,
    delete_subscription,
    get_subscription,
    list_subscriptions,
    rotate_subscription_secret,
)
from inventory_client.models import (
    BottleneckCheck,
    CartRequest,
    CartValidationEnvelope,
    Channel,
    CooldownsClearedEnvelope,
    CooldownStatsEnvelope,
    DeliveryListEnvelope,
    ErrorEnvelope,
    FullCheck,
    HealthStatusEnvelope,
    InboxItemEnvelope,
    InboxListEnvelope,
    InboxState,
    InsufficientStockEnvelope,
    MarkedReadEnvelope,
    MarkReadRequest,
    MonitorResultEnvelope,
    MovementKind,
    NotificationCheckEnvelope,
    NotificationCheckRequest,
    PackageAvailabilityEnvelope,
    PackageAvailabilityListEnvelope,
    PackageCheck,
    PackageImpactEnvelope,
    PackageLine,
    ProductLine,
    SaleEnvelope,
    SaleRequest,
    SecretRotatedEnvelope,
    Status,
    StockMovementEnvelope,
    StockMovementListEnvelope,
    StockMovementRequest,
    StockMovementRequestKind,
    SubscriptionChange,
    SubscriptionCreatedEnvelope,
    SubscriptionDeletedEnvelope,
    SubscriptionEnvelope,
    SubscriptionListEnvelope,
    SubscriptionRequest,
)
from inventory_client.types import Response


def expect(response: Response[Any], status: HTTPStatus, model: type[Any] | None) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:300])
    if model is not None:
        assert isinstance(response.parsed, model), type(response.parsed)
    return response.parsed


def after_cursor(link: str) -> str:
    """The `after` of a `Link: </api/…?limit=N&after=…>; rel="next"` header."""
    target = link.split(";", 1)[0].strip().strip("<>")
    return parse_qs(urlparse(target).query)["after"][0]


def drive(base_url: str, cron_token: str, access_token: str) -> list[str]:
    seen: list[str] = []
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True, timeout=30)
    client = AuthenticatedClient(
        base_url=base_url, token=access_token, raise_on_unexpected_status=True, timeout=30
    )

    health = expect(get_health.sync_detailed(client=anonymous), HTTPStatus.OK, HealthStatusEnvelope)
    assert health.success is True
    seen.append(f"getHealth: {health.data.status}")

    # Availability: the whole list, a conditional GET, pages, one package, an unknown one.
    listed = list_package_availability.sync_detailed(client=client)
    packages = expect(listed, HTTPStatus.OK, PackageAvailabilityListEnvelope).data
    etag = listed.headers["ETag"]
    again = list_package_availability.sync_detailed(client=client, if_none_match=etag)
    expect(again, HTTPStatus.NOT_MODIFIED, None)
    seen.append(f"listPackageAvailability: {len(packages)} packages, 304 with If-None-Match")

    first_page = list_package_availability.sync_detailed(client=client, limit=2)
    page = expect(first_page, HTTPStatus.OK, PackageAvailabilityListEnvelope).data
    second_page = list_package_availability.sync_detailed(
        client=client, limit=2, after=after_cursor(first_page.headers["Link"])
    )
    following = expect(second_page, HTTPStatus.OK, PackageAvailabilityListEnvelope).data
    assert [p.package_id for p in page + following] == [p.package_id for p in packages[:4]]
    seen.append("listPackageAvailability: two pages of 2 follow the Link header")

    sold_out = next(p for p in packages if p.status == Status.UNAVAILABLE)
    sellable = next(
        p
        for p in packages
        if p.status == Status.AVAILABLE and (p.max_sellable or 0) >= 2 and p.bottleneck
    )
    one = get_package_availability.sync_detailed(sold_out.package_id, client=client)
    item = expect(one, HTTPStatus.OK, PackageAvailabilityEnvelope).data
    assert item.max_sellable == 0
    assert item.bottleneck is not None
    unknown = get_package_availability.sync_detailed(uuid.uuid4(), client=client)
    assert expect(unknown, HTTPStatus.NOT_FOUND, ErrorEnvelope).success is False
    seen.append(f"getPackageAvailability: {item.package_name} sold out; unknown id 404")

    bottleneck = item.bottleneck
    impact_response = get_package_impact.sync_detailed(bottleneck.product_id, client=client)
    impact = expect(impact_response, HTTPStatus.OK, PackageImpactEnvelope).data
    assert any(usage.is_limiting for usage in impact.packages)
    seen.append(f"getPackageImpact: {impact.product.name} feeds {len(impact.packages)} packages")

    # The cart: a sold-out package falls short; a sellable one with a product line passes.
    refused = validate_cart.sync_detailed(
        client=client,
        body=CartRequest(items=[PackageLine(package_id=sold_out.package_id, quantity=1)]),
    )
    shortfall = expect(refused, HTTPStatus.OK, CartValidationEnvelope).data
    assert shortfall.valid is False
    assert shortfall.shortages
    # One package and, on top, as much of its limiting product as one more package needs.
    limit = sellable.bottleneck
    assert limit is not None
    accepted = validate_cart.sync_detailed(
        client=client,
        body=CartRequest(
            items=[
                PackageLine(package_id=sellable.package_id, quantity=1),
                ProductLine(product_id=limit.product_id, quantity=limit.quantity_per_package),
            ]
        ),
    )
    assert expect(accepted, HTTPStatus.OK, CartValidationEnvelope).data.valid is True
    seen.append("validateCart: sold-out cart refused, sellable cart valid")

    # A sale, its retry under the same key (the same sale), and a short cart (409, shortages).
    key = str(uuid.uuid4())
    sale_body = SaleRequest(items=[PackageLine(package_id=sellable.package_id, quantity=1)])
    sold = expect(
        record_sale.sync_detailed(client=client, body=sale_body, idempotency_key=key),
        HTTPStatus.CREATED,
        SaleEnvelope,
    ).data
    assert sold.deducted
    retried = record_sale.sync_detailed(client=client, body=sale_body, idempotency_key=key)
    assert expect(retried, HTTPStatus.CREATED, SaleEnvelope).data.sale_id == sold.sale_id
    short = record_sale.sync_detailed(
        client=client,
        body=SaleRequest(items=[PackageLine(package_id=sold_out.package_id, quantity=1)]),
        idempotency_key=str(uuid.uuid4()),
    )
    assert expect(short, HTTPStatus.CONFLICT, InsufficientStockEnvelope).error.shortages
    seen.append(f"recordSale: sold, retried as sale {sold.sale_id}, short cart refused")

    # Stock: a receipt of the sold package's limiting product, its retry under the same key,
    # a count that finds the level on record; the ledger in pages of 2, an unknown product.
    stocked = limit.product_id
    receipt = StockMovementRequest(
        product_id=stocked,
        kind=StockMovementRequestKind.RECEIPT,
        quantity=24,
        reason="delivery note 4711",
    )
    key = str(uuid.uuid4())
    received = expect(
        record_stock_movement.sync_detailed(client=client, body=receipt, idempotency_key=key),
        HTTPStatus.CREATED,
        StockMovementEnvelope,
    ).data
    assert received.kind == MovementKind.RECEIPT
    assert received.quantity_delta == 24
    repeated = record_stock_movement.sync_detailed(client=client, body=receipt, idempotency_key=key)
    assert expect(repeated, HTTPStatus.CREATED, StockMovementEnvelope).data.id == received.id
    count = StockMovementRequest(
        product_id=stocked, kind=StockMovementRequestKind.COUNT, quantity=received.stock_after
    )
    counted = expect(
        record_stock_movement.sync_detailed(
            client=client, body=count, idempotency_key=str(uuid.uuid4())
        ),
        HTTPStatus.CREATED,
        StockMovementEnvelope,
    ).data
    assert counted.quantity_delta == 0
    assert counted.version > received.version
    seen.append(
        f"recordStockMovement: received 24 (stock {received.stock_after}), retried, counted"
    )

    newest_moves = list_stock_movements.sync_detailed(stocked, client=client, limit=2)
    moves = expect(newest_moves, HTTPStatus.OK, StockMovementListEnvelope).data
    assert [m.id for m in moves] == [counted.id, received.id]
    older_moves = list_stock_movements.sync_detailed(
        stocked, client=client, limit=2, after=after_cursor(newest_moves.headers["Link"])
    )
    earlier = expect(older_moves, HTTPStatus.OK, StockMovementListEnvelope).data
    assert [m.kind for m in earlier] == [MovementKind.SALE, MovementKind.EXTERNAL]
    nowhere = list_stock_movements.sync_detailed(uuid.uuid4(), client=client)
    assert expect(nowhere, HTTPStatus.NOT_FOUND, ErrorEnvelope).success is False
    seen.append("listStockMovements: newest first, two pages of 2; unknown product 404")

    # The manual check: no body at all, one package, the bottlenecks.
    full = run_notification_check.sync_detailed(client=client)
    data = expect(full, HTTPStatus.OK, NotificationCheckEnvelope).data
    assert isinstance(data, FullCheck), type(data)
    assert isinstance(data.timestamp, datetime.datetime)
    assert data.timestamp.tzinfo is not None
    package_check = run_notification_check.sync_detailed(
        client=client, body=NotificationCheckRequest(package_id=sold_out.package_id)
    )
    assert isinstance(expect(package_check, HTTPStatus.OK, None).data, PackageCheck)
    bottlenecks = run_notification_check.sync_detailed(
        client=client, body=NotificationCheckRequest(check_bottlenecks=True)
    )
    assert isinstance(expect(bottlenecks, HTTPStatus.OK, None).data, BottleneckCheck)
    seen.append(
        f"runNotificationCheck: no body -> full_check ({data.summary.notifications_sent} sent), "
        "package_check, bottleneck_check"
    )

    # The inbox: what the checks stored, a page and the next, 304, one, mark one, mark many.
    listed_inbox = list_notifications.sync_detailed(client=client, state=InboxState.OPEN)
    inbox = expect(listed_inbox, HTTPStatus.OK, InboxListEnvelope).data
    assert inbox
    assert all(n.resolved_at is None for n in inbox)
    unchanged = list_notifications.sync_detailed(
        client=client, state=InboxState.OPEN, if_none_match=listed_inbox.headers["ETag"]
    )
    expect(unchanged, HTTPStatus.NOT_MODIFIED, None)
    newest = list_notifications.sync_detailed(client=client, state=InboxState.OPEN, limit=1)
    after = after_cursor(newest.headers["Link"])
    older = list_notifications.sync_detailed(
        client=client, state=InboxState.OPEN, limit=1, after=after
    )
    paged = [n.id for n in expect(newest, HTTPStatus.OK, InboxListEnvelope).data]
    paged += [n.id for n in expect(older, HTTPStatus.OK, InboxListEnvelope).data]
    assert paged == [n.id for n in inbox[:2]]
    seen.append(f"listNotifications: {len(inbox)} open, 304 with If-None-Match, pages of 1")

    first = inbox[0]
    fetched = expect(
        get_notification.sync_detailed(first.id, client=client), HTTPStatus.OK, InboxItemEnvelope
    ).data
    assert fetched.title == first.title
    missing = get_notification.sync_detailed(uuid.uuid4(), client=client)
    assert expect(missing, HTTPStatus.NOT_FOUND, ErrorEnvelope).success is False
    seen.append(f"getNotification: {fetched.type_}; unknown id 404")

    owed = list_notification_deliveries.sync_detailed(first.id, client=client)
    deliveries = expect(owed, HTTPStatus.OK, DeliveryListEnvelope).data
    # Nobody here is owed it: no subscription, and no topic configured.
    assert deliveries == []
    unknown = list_notification_deliveries.sync_detailed(uuid.uuid4(), client=client)
    assert expect(unknown, HTTPStatus.NOT_FOUND, ErrorEnvelope).success is False
    seen.append(f"listNotificationDeliveries: {len(deliveries)} owed; unknown id 404")

    read = mark_notification_read.sync_detailed(first.id, client=client)
    marked = expect(read, HTTPStatus.OK, InboxItemEnvelope).data
    assert isinstance(marked.read_at, datetime.datetime)
    again_read = mark_notification_read.sync_detailed(first.id, client=client)
    assert expect(again_read, HTTPStatus.OK, InboxItemEnvelope).data.read_at == marked.read_at
    seen.append(f"markNotificationRead: read by {marked.read_by}, the first read_at stays")

    by_ids = mark_notifications_read.sync_detailed(
        client=client, body=MarkReadRequest(ids=[n.id for n in inbox])
    )
    count = expect(by_ids, HTTPStatus.OK, MarkedReadEnvelope).data.marked
    assert count == len(inbox) - 1
    seen.append(f"markNotificationsRead: {count} newly marked")

    # Subscriptions: a webhook (the local API allows private targets), its secret shown once,
    # pages, one, a change, a rotation, the deletion.
    made = create_subscription.sync_detailed(
        client=client,
        body=SubscriptionRequest(channel=Channel.WEBHOOK, target="https://127.0.0.1:9/hook"),
    )
    subscription = expect(made, HTTPStatus.CREATED, SubscriptionCreatedEnvelope).data
    assert subscription.secret.startswith("whsec_")
    seen.append(f"createSubscription: {subscription.channel} with a secret shown once")
    created_email = create_subscription.sync_detailed(
        client=client,
        body=SubscriptionRequest(channel=Channel.EMAIL, target="manager@example.com"),
    )
    expect(created_email, HTTPStatus.CREATED, SubscriptionCreatedEnvelope)
    first_subscriptions = list_subscriptions.sync_detailed(client=client, limit=1)
    listed_subscriptions = expect(first_subscriptions, HTTPStatus.OK, SubscriptionListEnvelope).data
    assert [s.id for s in listed_subscriptions] == [subscription.id]
    second_subscriptions = list_subscriptions.sync_detailed(
        client=client, limit=1, after=after_cursor(first_subscriptions.headers["Link"])
    )
    assert expect(second_subscriptions, HTTPStatus.OK, SubscriptionListEnvelope).data
    seen.append("listSubscriptions: two pages of 1 follow the Link header")
    fetched_subscription = expect(
        get_subscription.sync_detailed(subscription.id, client=client),
        HTTPStatus.OK,
        SubscriptionEnvelope,
    ).data
    assert fetched_subscription.has_secret is True
    seen.append("getSubscription: has_secret, no secret")
    changed = change_subscription.sync_detailed(
        subscription.id, client=client, body=SubscriptionChange(send_resolved=False)
    )
    assert expect(changed, HTTPStatus.OK, SubscriptionEnvelope).data.send_resolved is False
    seen.append("changeSubscription: send_resolved false")
    rotated = expect(
        rotate_subscription_secret.sync_detailed(subscription.id, client=client),
        HTTPStatus.OK,
        SecretRotatedEnvelope,
    ).data
    assert rotated.secret != subscription.secret
    seen.append("rotateSubscriptionSecret: a new secret, the old one for 24 h")
    deleted = delete_subscription.sync_detailed(subscription.id, client=client)
    expect(deleted, HTTPStatus.OK, SubscriptionDeletedEnvelope)
    gone = get_subscription.sync_detailed(subscription.id, client=client)
    assert expect(gone, HTTPStatus.NOT_FOUND, ErrorEnvelope).success is False
    seen.append("deleteSubscription: deleted, then 404")

    stats = expect(
        get_cooldown_stats.sync_detailed(client=client), HTTPStatus.OK, CooldownStatsEnvelope
    ).data
    assert stats.total_entries > 0
    seen.append(f"getCooldownStats: {stats.total_entries} live entries")

    cleared = expect(
        clear_cooldowns.sync_detailed(client=client, all_=True),
        HTTPStatus.OK,
        CooldownsClearedEnvelope,
    ).data
    assert cleared.cleared == stats.total_entries
    seen.append(f"clearCooldowns: {cleared.cleared} cleared")

    # The cron route: the bearer scheme, a wrong token, and the query scheme instead.
    cron = AuthenticatedClient(
        base_url=base_url, token=cron_token, raise_on_unexpected_status=True, timeout=30
    )
    result = expect(
        run_inventory_monitor.sync_detailed(client=cron), HTTPStatus.OK, MonitorResultEnvelope
    ).data
    assert result.success is True
    assert isinstance(result.timestamp, datetime.datetime)
    wrong = AuthenticatedClient(base_url=base_url, token="wrong", raise_on_unexpected_status=True)
    refused_run = run_inventory_monitor.sync_detailed(client=wrong)
    assert expect(refused_run, HTTPStatus.UNAUTHORIZED, ErrorEnvelope).success is False
    by_query = AuthenticatedClient(
        base_url=base_url,
        token="wrong",
        httpx_args={"params": {"token": cron_token}},
        raise_on_unexpected_status=True,
        timeout=30,
    )
    expect(run_inventory_monitor.sync_detailed(client=by_query), HTTPStatus.OK, None)
    seen.append(
        f"runInventoryMonitor: {result.summary.packages_checked} packages checked; "
        "wrong token 401; ?token= accepted"
    )
    return seen


if __name__ == "__main__":
    for line in drive(sys.argv[1], sys.argv[2], sys.argv[3]):
        print(line)
