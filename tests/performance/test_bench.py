"""`make bench` end to end at a tiny size, and the shape of the catalogues it generates.

Nothing here looks at a time: the benchmark reports figures, it does not pass or fail on them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from devtools import bench
from devtools.bench_data import CatalogueSize, bench_id, generate_catalogue
from devtools.bench_monitor import WARM_RUNS


def test_generated_catalogue_has_the_issue_shape(db: psycopg.Connection[Any]) -> None:
    now = datetime(2025, 10, 21, 12, tzinfo=UTC)

    counts = generate_catalogue(db, CatalogueSize(200), now)

    assert counts["products"] == 50  # packages / 4
    assert counts["order_items"] == 2_000  # 10 x packages
    active = db.execute("SELECT count(*) FROM packages WHERE is_active").fetchone()
    assert active is not None
    assert active[0] == 200
    sizes = [
        row[0]
        for row in db.execute("SELECT count(*) FROM package_items GROUP BY package_id").fetchall()
    ]
    assert min(sizes) >= 2
    assert max(sizes) <= 6
    assert 3.5 <= sum(sizes) / len(sizes) <= 4.5
    oldest, newest = db.execute(
        "SELECT min(created_at), max(created_at) FROM order_items"
    ).fetchone() or (None, None)
    assert oldest is not None
    assert newest is not None
    assert now - timedelta(days=28) <= oldest
    assert newest <= now
    decimals = db.execute(
        "SELECT count(*) FROM order_items WHERE quantity <> trunc(quantity)"
    ).fetchone()
    assert decimals is not None
    assert decimals[0] > 0
    unsellable = db.execute(
        "SELECT count(*) FROM products WHERE current_stock <= 0 OR NOT is_active"
    ).fetchone()
    assert unsellable is not None
    assert unsellable[0] > 0


def test_generation_replaces_the_previous_catalogue(db: psycopg.Connection[Any]) -> None:
    now = datetime(2025, 10, 21, 12, tzinfo=UTC)
    generate_catalogue(db, CatalogueSize(400), now)

    counts = generate_catalogue(db, CatalogueSize(40), now)

    assert counts["packages"] == 40 + 40 // 50
    assert counts["order_items"] == 400


def test_bench_ids_match_the_generated_ids(db: psycopg.Connection[Any]) -> None:
    generate_catalogue(db, CatalogueSize(40), datetime.now(UTC))

    row = db.execute(
        "SELECT name FROM packages WHERE id = %s", (bench_id("package", 1),)
    ).fetchone()

    assert row is not None
    assert row[0] == "Package 0000001"


@pytest.mark.slow
def test_bench_runs_end_to_end_at_a_tiny_size(tmp_path: Path) -> None:
    output = tmp_path / "results.json"

    # 200 packages: small, yet with alerts for the warm run to find in its cooldown.
    status = bench.main(
        [
            "--sizes",
            "200",
            "--repeat",
            "1",
            "--output",
            str(output),
            "--sales-count",
            "20",
            "--sales-seconds",
            "1",
        ]
    )

    assert status == 0
    (result,) = json.loads(output.read_text())
    assert result["packages"] == 200
    assert result["cpu_count"] >= 1
    assert result["python_version"]
    monitor = result["monitor"]
    assert monitor["cold_errors"] == 0
    assert monitor["warm_errors"] == 0
    assert monitor["cold_notifications_sent"] > 0
    # Warm: every alert the cold run sent is now inside its cooldown.
    assert monitor["summary"]["notifications_sent"] == 0
    assert monitor["summary"]["notifications_suppressed"] == monitor["cold_notifications_sent"]
    # Each connection: BEGIN, its snapshot, its reads (the reader's two), COMMIT; the episode
    # sweep. No insert, and the usage base the cold run built is fresh, so no rebuild.
    assert monitor["warm_sql_statements"] == 4 + 5 + 1
    assert monitor["cold_sql_statements"] > monitor["warm_sql_statements"] + 1
    # Warm, the cooldown digest names every live entry: its header and its chunk, nothing else.
    assert monitor["warm_dynamodb_requests"] == 2
    # Each warm run is paired with a bare SQL run measured right before it.
    assert len(monitor["warm_runs_ms"]) == len(monitor["paired_bare_sql_ms"]) == WARM_RUNS
    assert monitor["ratio_to_paired_bare_sql"] > 0
    # Every alert the cold run sent opened an episode; a restock resolved some of them.
    episodes = monitor["episodes"]
    assert episodes["open_episodes"] == monitor["cold_notifications_sent"]
    assert episodes["resolving_errors"] == []
    assert episodes["resolved"] > 0
    assert episodes["open_after"] == episodes["open_episodes"] - episodes["resolved"]
    # The sweep, the resolution, the release mark and the warm run's own 4 + 5.
    assert episodes["resolving_sql_statements"] == 4 + 5 + 3
    # The digest outlived the release: the next warm run reads it alone again (or nothing, when
    # the restock left no alert at all).
    assert episodes["next_warm_dynamodb_requests"] == (2 if episodes["open_after"] else 0)
    assert result["bare_sql_with_usage"]["median_ms"] > 0
    assert result["availability_handler"]["first_status"] == 200
    after_a_change = result["availability_handler"]["after_a_change"]
    assert after_a_change["status"] == 200
    assert after_a_change["ms"] > 0
    assert after_a_change["statements"] >= 1
    page = result["availability_handler"]["page"]
    assert (page["status"], page["not_modified_status"]) == (200, 304)
    assert page["every_page_ms"] > 0
    assert page["after_a_change_ms"] > 0
    assert result["cold_starts"], "every template function is started"
    assert all("error" not in figures for figures in result["cold_starts"].values())
    assert result["monitor_peak_rss_mb"] > 0
    assert result["availability_peak_rss_mb"] > 0
    delivery = json.loads((tmp_path / bench.DELIVERY_OUTPUT_NAME).read_text())
    # 200 notifications to two subscribers and the topic, every one sent; a storm is one
    # webhook message.
    assert delivery["steady"]["deliveries"] == delivery["steady"]["sent"] == 600
    assert delivery["steady"]["webhooks_verified"] == 200
    assert delivery["storm_10000"]["webhook_messages"] == 1
    sales = json.loads((tmp_path / bench.SALES_OUTPUT_NAME).read_text())
    # Every sale recorded, the ledger still the stock, the same statements a sale.
    assert sales["one_client"]["count"] == 20
    assert sales["eight_clients_shared"]["sales"] > 0
    assert sales["eight_clients_one_hot_product"]["sales"] > 0
    assert sales["ledger_mismatches"] == 0
    assert sales["statements_per_sale"] == 8


@pytest.mark.slow
def test_bench_mechanisms_mode_switches_each_mechanism_without_changing_the_answer(
    tmp_path: Path,
) -> None:
    from devtools.bench_mechanism_pairs import PAIRS
    from devtools.bench_mechanisms import MECHANISMS

    output = tmp_path / "mechanisms.json"

    status = bench.main(["--mechanisms", "--sizes", "200", "--output", str(output)])

    assert status == 0
    (result,) = json.loads(output.read_text())
    assert result["problems"] == []
    assert result["cpu_count"] >= 1
    assert result["warm_summary"]["notifications_sent"] == 0
    assert result["warm_summary"]["notifications_suppressed"] == result["cold_notifications_sent"]
    figures = result["mechanisms"]
    assert list(figures) == [mechanism.name for mechanism in MECHANISMS]
    for name, mechanism in figures.items():
        for side in ("with", "without"):
            assert len(mechanism[side]["runs_ms"]) == PAIRS, (name, side)
        assert mechanism["paired_ratio"] > 0
    # With the digest: its header and one chunk. Without: one read unit per live entry.
    digest = figures["digest"]
    assert digest["with"]["dynamodb_requests"] == 2
    assert digest["with"]["read_units"] == 2
    assert digest["without"]["read_units"] == result["cold_notifications_sent"]
    assert "GetItem" not in digest["without"]["dynamodb_operations"]
    # Read one after the other, the reader connection's BEGIN, snapshot and COMMIT are gone.
    parallel = figures["parallel-reads"]
    assert parallel["without"]["sql_statements"] == parallel["with"]["sql_statements"] - 4
