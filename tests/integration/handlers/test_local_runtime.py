"""`make run`'s HTTP server and `make invoke`, against the test database and moto."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg

from devtools.demo_data import load_demo, package_id, product_id
from devtools.local_api import LocalApiServer
from tests.support.local_api import CRON_TOKEN, request

ROOT = Path(__file__).resolve().parents[3]


def test_availability_route_answers_through_the_real_handler(local_api: LocalApiServer) -> None:
    status, headers, body = request(f"{local_api.url}/api/packages/availability")

    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    statuses = {item["package_name"]: item["status"] for item in body["data"]}
    assert statuses["Gin & Tonic"] == "unavailable"
    assert statuses["Tasting flight (coming soon)"] == "no_components"


def test_path_parameters_reach_the_handler(local_api: LocalApiServer) -> None:
    mojito = package_id("Mojito")

    status, _, body = request(f"{local_api.url}/api/packages/{mojito}/availability")

    assert status == 200
    assert body["data"]["package_id"] == str(mojito)
    assert body["data"]["package_name"] == "Mojito"


def test_malformed_path_parameter_is_a_400_envelope(local_api: LocalApiServer) -> None:
    status, _, body = request(f"{local_api.url}/api/inventory/package-impact/not-a-uuid")

    assert status == 400
    assert body["success"] is False
    assert body["error"]["code"] == "malformed_request"


def test_unknown_route_is_a_404_envelope(local_api: LocalApiServer) -> None:
    status, _, body = request(f"{local_api.url}/api/no/such/route")

    assert status == 404
    assert body == {
        "success": False,
        "error": {"code": "route_not_found", "message": "No such route."},
    }


def test_direct_sql_stock_update_shows_in_the_next_response(
    local_api: LocalApiServer, db: psycopg.Connection[Any]
) -> None:
    url = f"{local_api.url}/api/packages/{package_id('Gin & Tonic')}/availability"
    assert request(url)[2]["data"]["status"] == "unavailable"

    db.execute(
        "UPDATE products SET current_stock = 5000 WHERE id = %s", (product_id("London dry gin"),)
    )

    status, _, body = request(url)
    assert status == 200
    assert body["data"]["status"] != "unavailable"
    assert body["data"]["max_sellable"] > 0


def test_json_body_reaches_a_post_handler_and_bad_json_is_a_400(local_api: LocalApiServer) -> None:
    url = f"{local_api.url}/api/inventory/notifications/check"
    headers = {"Content-Type": "application/json"}
    body = json.dumps({"package_id": str(package_id("Gin & Tonic"))}).encode()

    status, _, answer = request(url, method="POST", body=body, headers=headers)
    bad_status, _, bad_answer = request(url, method="POST", body=b"{not json", headers=headers)

    assert status == 200
    assert answer["data"]["type"] == "package_check"
    assert bad_status == 400
    assert bad_answer["success"] is False


def test_cron_route_gets_the_authorization_header_and_query(local_api: LocalApiServer) -> None:
    url = f"{local_api.url}/api/cron/inventory-monitor"

    refused, _, _ = request(url)
    by_header, _, body = request(url, headers={"Authorization": f"Bearer {CRON_TOKEN}"})
    by_query, _, _ = request(f"{url}?token={CRON_TOKEN}")

    assert refused == 401
    assert by_header == 200
    assert by_query == 200
    assert body["data"]["summary"]["packages_checked"] > 0


def test_make_invoke_runs_one_function_in_a_subprocess(
    db: psycopg.Connection[Any], database_url: str, moto_endpoint: str
) -> None:
    load_demo(db)
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
    }

    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "devtools.invoke",
            "PackagesAvailabilityFunction",
            "events/packages_availability.json",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr
    response = json.loads(completed.stdout)
    assert response["statusCode"] == 200
    names = {item["package_name"] for item in json.loads(response["body"])["data"]}
    assert "Mojito" in names


def test_make_invoke_rejects_an_unknown_function() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "devtools.invoke", "NoSuchFunction", "events/x.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2
    assert "PackagesAvailabilityFunction" in completed.stderr


def test_every_curl_line_make_run_prints_succeeds(local_api: LocalApiServer) -> None:
    # `make run` prints one working command per route; a route whose rules change (the
    # cooldown clear needs a filter or ?all=true) must not leave a failing line behind.
    from devtools.run import example_commands
    from devtools.template import load_template

    failing = []
    for line in example_commands(local_api.url, CRON_TOKEN, load_template(), local_api.issuer):
        command = [*shlex.split(line), "-o", "/dev/null", "-w", "%{http_code}"]
        status = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
        if not status.startswith("2"):
            failing.append(f"{status}: {line.strip()}")
    assert failing == []


def test_make_run_reads_the_availability_table_through_the_authorizer(
    db: psycopg.Connection[Any], database_url: str, moto_endpoint: str
) -> None:
    # `make run` prints this table at start; its token must be one the local authorizer takes
    # (it was minted for a client id outside the audience, and the table silently vanished).
    from devtools.local_services import LocalServices
    from devtools.run import LocalRuntime
    from devtools.template import load_template

    load_demo(db)
    services = LocalServices(
        database_url=database_url, dynamodb_endpoint=moto_endpoint, cron_secret="x", resources={}
    )
    items = LocalRuntime(load_template(), services, log=None).availability()
    assert items is not None
    assert {"Mojito", "Cuba Libre"} <= {item["package_name"] for item in items}
