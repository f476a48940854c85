"""The cooldown journal (devtools/dynamodb_journal.py) in this process: a restart restores
exactly the state clients were told about, the file stays small, and a crash at any point of
an append or a compaction leaves a journal that restores.

moto's state is process-global, so these tests use a region of their own (the other tests'
moto is in us-east-1) and empty it to play a fresh process; each restart is `restart()`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devtools.dynamodb_journal import (
    JOURNAL_NAME,
    JournaledMotoServer,
    JournalError,
    Restored,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

REGION = "eu-west-3"
TABLE = "cooldowns"


def forget_moto_state() -> None:
    """What a new process starts with: no tables in this region."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].reset()


def client_for(server: JournaledMotoServer) -> DynamoDBClient:
    import boto3

    host, port = server.get_host_and_port()
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://{host}:{port}",
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


class Servers:
    """One journal folder, and the server over it now; `restart()` plays a new process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.server: JournaledMotoServer | None = None
        self.restored = Restored()

    @property
    def journal(self) -> Path:
        return self.folder / JOURNAL_NAME

    def start(self, compact_after: int | None = None) -> DynamoDBClient:
        forget_moto_state()
        self.server = JournaledMotoServer(self.folder)
        if compact_after is not None:
            self.server.journal.compact_after = compact_after
        self.restored = self.server.start()
        return client_for(self.server)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def restart(self) -> DynamoDBClient:
        self.stop()
        return self.start()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    servers = Servers(tmp_path / "dynamodb")
    yield servers
    servers.stop()
    forget_moto_state()


def create_table(client: DynamoDBClient) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=TABLE, TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True}
    )


def entry(key: str, expires_at: float, **more: Any) -> dict[str, Any]:
    return {"pk": {"S": key}, "expires_at": {"N": str(int(expires_at))}, **more}


def claim(client: DynamoDBClient, key: str, token: str, now: float) -> bool:
    """The cooldown store's claim: a conditional put that wins over no or an expired entry."""
    try:
        client.put_item(
            TableName=TABLE,
            Item=entry(key, now + 3600, token={"S": token}),
            ConditionExpression="attribute_not_exists(pk) OR expires_at <= :now",
            ExpressionAttributeValues={":now": {"N": str(int(now))}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def items(client: DynamoDBClient) -> dict[str, dict[str, Any]]:
    found = client.scan(TableName=TABLE)["Items"]
    return {str(item["pk"]["S"]): dict(item) for item in found}


def test_a_restart_restores_every_table_item_and_setting(servers: Servers) -> None:
    client = servers.start()
    create_table(client)
    now = time.time()
    for number in range(60):
        client.put_item(TableName=TABLE, Item=entry(f"k{number}", now + 600, blob={"B": b"\0\1"}))
    client.delete_item(TableName=TABLE, Key={"pk": {"S": "k0"}})
    client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "k1"}},
        UpdateExpression="SET note = :note",
        ExpressionAttributeValues={":note": {"S": "changed"}},
    )
    before = items(client)

    client = servers.restart()

    assert items(client) == before
    assert len(before) == 59
    ttl = client.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert servers.restored.items == 59
    # The compacted journal: the two schema requests and the items 25 to a line.
    assert len(servers.journal.read_text().splitlines()) == 2 + 3


def test_a_refused_write_and_reads_leave_the_journal_alone(servers: Servers) -> None:
    client = servers.start()
    create_table(client)
    now = time.time()
    assert claim(client, "package_unavailable#1", "first", now)
    size = servers.journal.stat().st_size

    assert not claim(client, "package_unavailable#1", "second", now)  # a live entry holds it
    for _ in range(20):  # health checks, monitor runs' reads
        client.describe_table(TableName=TABLE)
        client.get_item(TableName=TABLE, Key={"pk": {"S": "package_unavailable#1"}})
        client.scan(TableName=TABLE)

    assert servers.journal.stat().st_size == size
    client = servers.restart()
    assert items(client)["package_unavailable#1"]["token"] == {"S": "first"}


def test_racing_claims_have_one_winner_and_the_restart_keeps_that_one(servers: Servers) -> None:
    # Journaled in the order moto applied them (moto's Recorder logs arrivals instead, so a
    # replay could crown another winner and then diverge on the winner's later writes).
    client = servers.start()
    create_table(client)
    now = time.time()
    assert servers.server is not None
    clients = [client_for(servers.server) for _ in range(16)]  # boto3 builds none in threads
    start = threading.Barrier(len(clients))
    won: list[str] = []

    def race(own: DynamoDBClient, token: str) -> None:
        start.wait()
        if claim(own, "package_bottleneck#7", token, now):
            won.append(token)

    threads = [
        threading.Thread(target=race, args=(own, f"run-{number}"))
        for number, own in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(won) == 1
    client = servers.restart()
    assert items(client)["package_bottleneck#7"]["token"] == {"S": won[0]}


def test_the_compaction_drops_expired_entries_from_the_file_and_the_server(
    servers: Servers,
) -> None:
    client = servers.start()
    create_table(client)
    now = time.time()
    client.put_item(TableName=TABLE, Item=entry("live", now + 600))
    client.put_item(TableName=TABLE, Item=entry("expired", now - 1))
    client.put_item(TableName=TABLE, Item={"pk": {"S": "#digest"}, "generation": {"N": "3"}})

    client = servers.restart()

    assert set(items(client)) == {"live", "#digest"}
    assert servers.restored.expired == 1
    assert "expired" not in servers.journal.read_text()
    # A write that met the expired entry replays the same way: the server forgot it too.
    assert claim(client, "expired", "new", now)
    client = servers.restart()
    assert items(client)["expired"]["token"] == {"S": "new"}


def test_a_long_lived_server_compacts_its_journal(servers: Servers) -> None:
    client = servers.start(compact_after=10)
    create_table(client)
    now = time.time()
    for round_ in range(10):
        client.put_item(TableName=TABLE, Item=entry("digest", now + 600, round={"N": str(round_)}))

    lines = servers.journal.read_text().splitlines()
    assert len(lines) < 10  # compacted: schema + one item + the writes since
    client = servers.restart()
    assert items(client)["digest"]["round"] == {"N": "9"}


def test_a_torn_last_line_is_dropped(servers: Servers) -> None:
    client = servers.start()
    create_table(client)
    client.put_item(TableName=TABLE, Item=entry("kept", time.time() + 600))
    servers.stop()
    with servers.journal.open("ab") as journal:
        journal.write(b'{"region":"eu-west-3","operation":"PutItem","request":{"TableName":"coo')

    client = servers.start()

    assert set(items(client)) == {"kept"}
    assert servers.restored.torn_bytes > 0
    assert servers.journal.read_bytes().endswith(b"\n")


def test_a_compaction_that_died_before_its_rename_leaves_the_old_journal(
    servers: Servers,
) -> None:
    client = servers.start()
    create_table(client)
    client.put_item(TableName=TABLE, Item=entry("kept", time.time() + 600))
    servers.stop()
    leftover = servers.folder / f".{JOURNAL_NAME}.12345.tmp"
    leftover.write_bytes(b'{"half a snapshot')

    client = servers.start()

    assert set(items(client)) == {"kept"}
    assert not leftover.exists()


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda path: path.write_bytes(b"not json\n" + path.read_bytes()), "line 1"),
        (lambda path: path.write_bytes(path.read_bytes().replace(b'"S"', b'"X"', 1)), "replay"),
    ],
    ids=["unparseable_line", "write_moto_refuses"],
)
def test_a_journal_that_does_not_restore_is_refused_with_the_way_out(
    servers: Servers, damage: Callable[[Path], Any], message: str
) -> None:
    client = servers.start()
    create_table(client)
    client.put_item(TableName=TABLE, Item=entry("kept", time.time() + 600))
    servers.stop()
    damage(servers.journal)
    intact = servers.journal.read_bytes()

    with pytest.raises(JournalError, match=message) as refused:
        servers.start()

    assert "delete the folder" in str(refused.value)
    assert servers.journal.read_bytes() == intact  # nothing rewritten over it


def test_one_process_at_a_time_owns_the_folder(servers: Servers) -> None:
    servers.start()

    with pytest.raises(JournalError, match="in use by process"):
        JournaledMotoServer(servers.folder).start()
