"""`make run`: the whole system on this machine, no Docker, no cloud, no root.

Starts embedded PostgreSQL (data in .local/pgdata) and moto's DynamoDB server (its tables
journaled in .local/dynamodb), both kept between runs, creates the tables template.yaml
declares, applies migrations, loads the demo bar into an empty database, serves the HTTP API on
127.0.0.1:$PORT (3000) through the real handlers, sells the demo's carts through it as a POS
would (devtools.demo_sales: once, whatever the restarts), runs the monitor once and prints what
it found, then runs the monitor every $MONITOR_INTERVAL_SECONDS (600) as EventBridge would.
One Ctrl-C or SIGTERM stops everything, PostgreSQL included (devtools.stop_signals).

DATABASE_URL and AWS_ENDPOINT_URL_DYNAMODB point it at real services instead;
CORS_ALLOWED_ORIGINS replaces the template's CorsAllowedOrigins (a POS dev server's origin);
INVENTORY_LOCAL_DIR keeps the state somewhere else than .local/.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from devtools.apigw import scheduled_event
from devtools.lambda_runtime import InProcessFunctions
from devtools.local_api import LocalApiServer, serve_in_thread
from devtools.local_delivery import LocalDelivery, outbox_dir
from devtools.local_issuer import LOCAL_CLIENTS, LocalIssuer
from devtools.local_services import LocalServices, start_services
from devtools.local_state import local_dir, shown
from devtools.stop_signals import StopSignals
from devtools.template import FunctionSpec, Template, load_template
from devtools.terminal_tables import (
    availability_table,
    inbox_table,
    monitor_summary_line,
    notifications_table,
)

AVAILABILITY_ROUTE = "GET /api/packages/availability"
INBOX_PATH = "/api/notifications"
INBOX_ROUTE = f"GET {INBOX_PATH}"
INBOX_SHOWN = 12  # the newest open notifications shown at start-up
# How long the stop waits for a monitor run in progress to commit what it claimed.
MONITOR_STOP_WAIT_SECONDS = 30


def function_log() -> Path:
    return local_dir() / "functions.log"


def _body(result: Any) -> Any:
    """The payload of a handler result: an HTTP response's JSON body, or the value itself."""
    if isinstance(result, dict) and "statusCode" in result:
        return json.loads(result.get("body") or "null")
    return result


class LocalRuntime:
    """The template's functions, wired to local services, invoked in this process."""

    def __init__(self, template: Template, services: LocalServices, log: IO[str] | None) -> None:
        self.template = template
        self.services = services
        self.functions = InProcessFunctions(self.environment_for, log_stream=log)

    def environment_for(self, spec: FunctionSpec) -> dict[str, str]:
        return {
            **self.template.local_environment(spec, self.services.resources),
            **self.services.environment(self.template),
        }

    def run_monitors(self) -> list[dict[str, Any]]:
        """Every scheduled function, invoked with the EventBridge event its rule would send."""
        results = []
        for spec in self.template.scheduled_functions:
            for schedule in spec.schedules:
                result = _body(self.functions.invoke(spec, scheduled_event(schedule.rule_arn)))
                results.append(result.get("data", result) if isinstance(result, dict) else {})
        return results

    def availability(self) -> list[dict[str, Any]] | None:
        return self.get(AVAILABILITY_ROUTE)

    def inbox(self, query: str) -> list[dict[str, Any]] | None:
        return self.get(INBOX_ROUTE, query)

    def get(self, route_key: str, query: str = "") -> list[dict[str, Any]] | None:
        """A GET route's `data` through the local API (a token of the local client holding
        its scopes); None when the template has no such route or it does not answer 200."""
        status, payload = self.request(route_key, query=query)
        data: list[dict[str, Any]] | None = payload.get("data") if status == 200 else None
        return data

    def request(
        self, route_key: str, *, query: str = "", body: Any = None
    ) -> tuple[int, dict[str, Any]]:
        """One request to a route through the local API, as a local client holding its
        scopes; its status and JSON body (404 when the template has no such route)."""
        if route_key not in self.template.routes:
            return 404, {}
        method, path = route_key.split(" ", 1)
        server = LocalApiServer(("127.0.0.1", 0), self.template, self.functions.invoke)
        route = next(r for r in self.template.http_routes if r.route_key == route_key)
        token = _client_token(server.issuer, route.scopes)
        headers = [("Authorization", f"Bearer {token}")]
        data = b""
        if body is not None:
            headers.append(("Content-Type", "application/json"))
            data = json.dumps(body).encode()
        try:
            status, _, answer = server.respond(method, path + query, headers, data)
        finally:
            server.server_close()
        payload: dict[str, Any] = json.loads(answer or b"{}")
        return status, payload

    def deliver(self, name: str, quantity: Any) -> None:
        import psycopg

        from devtools.demo_data import deliver

        with psycopg.connect(self.services.database_url, autocommit=True) as connection:
            deliver(connection, name, quantity)

    def holds_packages(self, names: list[str]) -> bool:
        import psycopg

        from devtools.demo_data import holds_packages

        with psycopg.connect(self.services.database_url, autocommit=True) as connection:
            return holds_packages(connection, names)

    def notifications_since(self, since: datetime) -> list[dict[str, Any]]:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(self.services.database_url, row_factory=dict_row) as connection:
            return connection.execute(
                "SELECT type, priority, title FROM notifications WHERE created_at >= %s",
                (since,),
            ).fetchall()


def _print(text: str = "", stream: IO[str] = sys.stdout) -> None:
    try:
        stream.write(text + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass  # the terminal is gone (SIGHUP): the stop goes on without it


def show_monitor_run(runtime: LocalRuntime, out: IO[str]) -> None:
    if not runtime.template.scheduled_functions:
        _print("No scheduled (monitor) function in template.yaml yet: skipping the monitor.", out)
        return
    started = datetime.now(UTC)
    for result in runtime.run_monitors():
        _print(monitor_summary_line(result), out)
    created = runtime.notifications_since(started)
    if created:
        _print(f"\nNotifications created by this run ({len(created)}):\n", out)
        _print(notifications_table(created), out)
    else:
        _print("No new notifications (nothing due, or held back by the cooldown).", out)


def show_demo_delivery(runtime: LocalRuntime, out: IO[str]) -> None:
    """On the demo bar's first start: its gin arrives and the monitor runs again, which ends
    the episodes the gin outage opened (alert_resolved notifications, cooldowns re-armed)."""
    from devtools.demo_data import DELIVERY

    name, quantity, unit = DELIVERY
    _print(f"\nA delivery arrives: {quantity:,} {unit} of {name}. The monitor runs again:", out)
    runtime.deliver(name, quantity)
    show_monitor_run(runtime, out)


SALES_ROUTE = "POST /api/pos/sales"


def show_demo_sales(runtime: LocalRuntime, api_url: str, out: IO[str]) -> None:
    """The demo bar's sales, sold through the API at `api_url` as a POS terminal sells them
    (devtools.demo_sales): sold on the first start, answered from their records on every
    later one. Before the first monitor run, so that it judges the stock the sales left, as
    every later run does: a restart's run then finds that same stock and sends nothing."""
    from devtools.demo_data import PACKAGE_NAMES, SALES
    from devtools.demo_sales import sell_demo

    if SALES_ROUTE not in runtime.template.routes:
        return
    sold = [name for _, lines in SALES for name, _ in lines if name in PACKAGE_NAMES]
    if not runtime.holds_packages(sold):
        _print("\nDemo sales: skipped (the database does not hold the demo bar).", out)
        return
    _print(
        f"\nSales (as a POS terminal sells: {SALES_ROUTE}, a token of local-pos-terminal, "
        "an Idempotency-Key each):",
        out,
    )
    for line in sell_demo(api_url):
        _print(f"  {line}", out)


def show_inbox(runtime: LocalRuntime, out: IO[str]) -> None:
    items = runtime.inbox(f"?state=open&limit={INBOX_SHOWN}")
    if items is None:
        return
    _print(f"\nInbox: open notifications, newest first (GET {INBOX_PATH}?state=open):\n", out)
    _print(inbox_table(items) if items else "  (none open)", out)


def _example_body(path: str) -> str:
    from devtools.demo_data import package_id, product_id

    if path.endswith("/cart/validate"):
        # Each line alone is sellable; together they need 9.5 limes of the 9 in stock.
        cart = {
            "items": [
                {"package_id": str(package_id("Mojito")), "quantity": 12},
                {"package_id": str(package_id("Cuba Libre")), "quantity": 14},
            ]
        }
        return json.dumps(cart)
    if path == "/api/pos/sales":  # a Mojito, under the Idempotency-Key of its curl line
        return json.dumps({"items": [{"package_id": str(package_id("Mojito")), "quantity": 1}]})
    if path == "/api/inventory/stock-movements":  # a case of 24 limes received
        return json.dumps(
            {"product_id": str(product_id("Limes")), "kind": "receipt", "quantity": 24}
        )
    if path == "/api/notifications/read":  # everything stored until now
        return json.dumps({"before": datetime.now(UTC).isoformat(timespec="seconds")})
    if path == "/api/notification-subscriptions":  # a manager's address, high and urgent only
        return json.dumps(
            {"channel": "email", "target": "manager@example.com", "min_priority": "high"}
        )
    return "{}"


# Write routes that take an Idempotency-Key (SPEC §11): their curl lines send one.
IDEMPOTENT_ROUTES = frozenset({SALES_ROUTE, "POST /api/inventory/stock-movements"})

# Routes that refuse to run without a query: the clear deletes everything only when told so.
_EXAMPLE_QUERIES = {"/api/inventory/notifications/cooldowns": "?type=package_unavailable"}


# Tokens printed in curl lines last a working day; `make token` prints a fresh one.
EXAMPLE_TOKEN_LIFETIME_SECONDS = 12 * 3600


def example_commands(
    url: str, cron_token: str, template: Template, issuer: LocalIssuer
) -> list[str]:
    """A working curl line per route, with ids from the demo bar and, on the routes behind
    the authorizer, a token of the local client that has the route's scope."""
    from devtools.demo_data import package_id, product_id

    values = {"packageId": str(package_id("Mojito")), "productId": str(product_id("Limes"))}
    lines = []
    routes = sorted((route.path, route.method, route) for route in template.http_routes)
    tokens: dict[tuple[str, ...], str] = {}
    for path, method, route in routes:
        concrete = path
        for name, value in values.items():
            concrete = concrete.replace("{" + name + "}", value)
        if "{" in concrete:
            continue  # a parameter the demo has no value for
        command = "curl -s"
        if method in ("POST", "PUT", "PATCH"):
            body = _example_body(path)
            command += f" -X {method} -H 'content-type: application/json' -d '{body}'"
            if route.route_key in IDEMPOTENT_ROUTES:  # a new key each start: run it twice
                command += f" -H 'Idempotency-Key: {uuid.uuid4()}'"
        elif method != "GET":
            command += f" -X {method}"
        if path.startswith("/api/cron/"):
            command += f" -H 'Authorization: Bearer {cron_token}'"
        elif route.authorizer is not None:
            if route.scopes not in tokens:
                tokens[route.scopes] = _client_token(issuer, route.scopes)
            command += f" -H 'Authorization: Bearer {tokens[route.scopes]}'"
        lines.append(f"  {command} {url}{concrete}{_EXAMPLE_QUERIES.get(path, '')}")
    return lines


def _client_token(issuer: LocalIssuer, scopes: tuple[str, ...]) -> str:
    """A token as the local client holding these scopes would get it from /oauth2/token."""
    client = next(
        (c for c in LOCAL_CLIENTS.values() if set(scopes) & set(c.scopes)),
        None,
    )
    if client is None:  # no local client holds them: the POS terminal's token, then a 403
        return issuer.mint(scopes, lifetime=EXAMPLE_TOKEN_LIFETIME_SECONDS)
    return issuer.mint(
        client.scopes, client_id=client.client_id, lifetime=EXAMPLE_TOKEN_LIFETIME_SECONDS
    )


def _monitor_loop(
    runtime: LocalRuntime, interval: float, stop: threading.Event, out: IO[str]
) -> None:
    while not stop.wait(interval):
        try:
            stamp = datetime.now().strftime("%H:%M:%S")
            for result in runtime.run_monitors():
                _print(f"[{stamp}] {monitor_summary_line(result)}", out)
        except Exception as error:  # noqa: BLE001 (one failed run must not end the loop)
            _print(f"monitor run failed: {type(error).__name__}: {error}", out)


def local_parameters(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Template parameters `make run` takes from the environment instead of their defaults:
    `CORS_ALLOWED_ORIGINS` (comma-separated) for `CorsAllowedOrigins`, e.g. a POS dev server's
    origin."""
    origins = environ.get("CORS_ALLOWED_ORIGINS")
    return {"CorsAllowedOrigins": origins} if origins else {}


@dataclass
class _Running:
    """What the stop must end, filled in as start-up creates it."""

    started: float = field(default_factory=time.monotonic)
    stop_monitor: threading.Event = field(default_factory=threading.Event)
    server: LocalApiServer | None = None
    serving: threading.Thread | None = None
    monitor: threading.Thread | None = None
    delivery: Any = None  # devtools.local_delivery.LocalDelivery


def _serve(
    template: Template,
    services: LocalServices,
    log: IO[str],
    signals: StopSignals,
    out: IO[str],
    running: _Running,
) -> None:
    """Start-up after the services, then serve until a stop signal. What must be stopped goes
    into `running` as soon as it exists; a signal during start-up ends it at the next step."""
    port = int(os.environ.get("PORT", "3000"))
    interval = float(os.environ.get("MONITOR_INTERVAL_SECONDS", "600"))
    for note in services.notes:
        _print(f"  {note}", out)
    runtime = LocalRuntime(template, services, log)
    delivery = _start_delivery(runtime, services, out)
    running.delivery = delivery
    # Serving from here on: the demo's sales go to it over HTTP, as a POS's would.
    server = LocalApiServer(
        ("127.0.0.1", port), template, runtime.functions.invoke, parameters=local_parameters()
    )
    running.server = server
    running.serving = serve_in_thread(server)
    show_demo_sales(runtime, server.url, out)
    if signals.requested:
        return
    _print("\nMonitor (as the EventBridge rule runs it):", out)
    show_monitor_run(runtime, out)
    _show_deliveries(delivery, out)
    if signals.requested:
        return
    if services.demo_loaded and runtime.template.scheduled_functions:
        show_demo_delivery(runtime, out)
        _show_deliveries(delivery, out)
        if signals.requested:
            return
    show_inbox(runtime, out)
    items = runtime.availability()
    if items is not None:
        _print(f"\nPackage availability ({len(items)} packages):\n", out)
        _print(availability_table(items), out)
    services.write_state()
    _print(f"\nHTTP API on {server.url} ({len(template.routes)} routes from template.yaml):")
    for line in example_commands(server.url, services.cron_secret, template, server.issuer):
        _print(line, out)
    _print(
        f'\n  Tokens: make token SCOPES="inventory/availability.read ...", or POST '
        f"{server.url}/oauth2/token as a local client (devtools/local_issuer.py):",
        out,
    )
    for client in LOCAL_CLIENTS.values():
        _print(
            f"    curl -s -u {client.client_id}:{client.client_secret} "
            f"-d grant_type=client_credentials {server.url}/oauth2/token"
            f"   # {client.description}: {' '.join(client.scopes)}",
            out,
        )
    _print(f"\n  PostgreSQL: psql {services.database_url}", out)
    token_file = shown(local_dir() / "cron_token")
    _print(f"  Cron token (kept in {token_file}): {services.cron_secret}", out)
    _print(f"  Function logs: {shown(function_log())}", out)
    _print(f"  State (database, cooldowns, keys): {shown(local_dir())}/", out)
    if server.cors is not None:
        origins = ", ".join(server.cors.allow_origins) or "none"
        _print(f"  CORS origins (CORS_ALLOWED_ORIGINS): {origins}", out)
    if template.scheduled_functions:
        _print(f"  Monitor runs every {interval:g} s (MONITOR_INTERVAL_SECONDS).", out)
        monitor = threading.Thread(
            target=_monitor_loop,
            args=(runtime, interval, running.stop_monitor, out),
            name="monitor-schedule",
            daemon=True,
        )
        monitor.start()
        running.monitor = monitor
    if delivery is not None:
        _print(
            f"  Deliveries: e-mails in {shown(outbox_dir())}/, webhooks to "
            f"{delivery.receiver.url('<name>')} (README: Delivery)",
            out,
        )
        delivery.poller.start()
    _print(f"\nUp in {time.monotonic() - running.started:.1f} s. Ctrl-C stops everything.", out)
    signals.wait()


def _start_delivery(runtime: LocalRuntime, services: LocalServices, out: IO[str]) -> Any:
    """The queue's event source, the webhook receiver and the demo's subscriptions."""
    if not services.local_aws:
        return None
    delivery = LocalDelivery.start(
        runtime.template,
        services.resources,
        services.dynamodb_endpoint,
        runtime.functions.invoke,
        lambda line: _print(line, out),
    )
    if delivery is None:
        return None
    _print("\nDelivery:", out)
    for line in delivery.subscribe_demo(runtime.request, first_start=services.demo_loaded):
        _print(f"  {line}", out)
    return delivery


def _show_deliveries(delivery: Any, out: IO[str]) -> None:
    """Send what the run put on the queue now, so its e-mails and webhooks print here."""
    if delivery is not None and delivery.drain():
        _print(
            f"  (webhooks verified: {len(delivery.receiver.deliveries())}, "
            f"refused signatures: {delivery.receiver.rejected})",
            out,
        )


def _shut_down(services: LocalServices, running: _Running, out: IO[str]) -> None:
    """Stop in order, each step whatever the previous one did: the API (no new requests),
    the schedule (a run in progress commits first), then moto and PostgreSQL."""
    running.stop_monitor.set()
    try:
        if running.server is not None:
            if running.serving is not None:
                running.server.shutdown()
            running.server.server_close()
        if running.monitor is not None:
            running.monitor.join(timeout=0.5)
            if running.monitor.is_alive():
                _print("  waiting for the monitor run in progress...", out)
                running.monitor.join(timeout=MONITOR_STOP_WAIT_SECONDS)
        if running.delivery is not None:
            running.delivery.stop()
    finally:
        services.stop()


def main() -> int:
    # First: a signal from here on requests the stop instead of ending the process half way.
    signals = StopSignals().install()
    out = sys.stdout
    running = _Running()
    template = load_template()
    _print("Starting the local inventory service...", out)
    services = start_services(template, attach=False)  # stops what it started if it fails
    log: IO[str] | None = None
    try:
        function_log().parent.mkdir(parents=True, exist_ok=True)
        log = function_log().open("a", encoding="utf-8")
        if not signals.requested:
            _serve(template, services, log, signals, out, running)
    finally:
        # Signals keep being recorded, never raised: this runs to its end.
        _print(f"\nStopping ({', '.join(signals.received) or 'start-up failed'})...", out)
        try:
            _shut_down(services, running, out)
        finally:
            if log is not None:
                log.close()
    _print("Stopped: API closed, moto and PostgreSQL stopped.", out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
