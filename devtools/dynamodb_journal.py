"""moto's DynamoDB server with a journal on disk: the local cooldown table outlives a restart.

moto keeps its tables in memory, so without this every `make run` started with an empty
cooldown table beside a database that remembered every alert, and its first monitor run sent
them all again. `JournaledMotoServer` serves moto behind a journal (a WSGI middleware):

- Every request that may change something (any DynamoDB operation but the reads: `Get*`,
  `Describe*`, `List*`, `Query`, `Scan`, `BatchGetItem`, `TransactGetItems`) is handled under
  one lock and, when moto answers 2xx, appended to `journal.jsonl` and fsync'd *before* the
  answer leaves. A write a client was told succeeded is on disk, as a committed transaction is
  in PostgreSQL; a write moto refused (a failed condition) changed nothing and is not kept, nor
  are reads (health checks).
- The journal holds the applied writes in the order moto applied them (the lock), so replayed
  into an empty moto in that order each one meets the state it met the first time and has the
  same effect: conditions decide the same way (a claim's `:now` travels in its request), and
  moto deletes nothing by itself (no TTL sweeper). The lock also makes moto's conditional
  writes atomic, as DynamoDB's are (moto checks a condition and stores without a lock).
- At start the journal is replayed in-process (no HTTP) into the fresh server, then compacted
  (and again after every COMPACT_AFTER_WRITES writes of a long-lived server):
  each table's schema requests as they were sent, then its items as BatchWriteItem puts, less
  the items whose TTL attribute has passed (DynamoDB's TTL would delete them, and a reader
  must already treat them as gone), are written to a temporary file, fsync'd and
  `os.replace`d over the journal, and the folder fsync'd. A crash at any point leaves one whole
  journal, the old or the new, with the same state. A torn last line (a crash while appending:
  that request was never answered) is dropped. So the file holds the live state plus at most
  COMPACT_AFTER_WRITES writes; reads (health checks) never reach it.
- One process at a time owns the folder (an flock, released by the kernel even on SIGKILL).

Kept: tables (CreateTable, UpdateTable, UpdateTimeToLive, tags), their items, in every
region. Not kept by a compaction: what lives outside tables (backups, moto's own API).

Why not moto's Recorder (MOTO_ENABLE_RECORDING, MOTO_RECORDER_FILEPATH,
`replay_recording`)? It appends every request *before* handling it, reads and refused writes
included, from concurrent threads without a lock, so its order is the order requests arrived,
not the order moto applied them: two racing conditional puts on one key can replay with the
other winner, and the loser's later update or release then diverges. It writes without fsync,
replays over HTTP without looking at the answers, is process-global (any moto server or mock
in the process records into the same file; its settings are read when moto is imported), and
health checks and every monitor run's reads make its file grow without bound.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOURNAL_NAME = "journal.jsonl"
LOCK_NAME = "journal.lock"
TARGET_PREFIX = "DynamoDB_20120810."
DEFAULT_REGION = "us-east-1"
# Operations that change nothing; everything else is journaled (an unknown write is kept).
READ_OPERATIONS = frozenset({"Query", "Scan", "BatchGetItem", "TransactGetItems"})
READ_PREFIXES = ("Get", "Describe", "List")
# Writes of items: their effect is in the items a compaction copies, not in the schema.
ITEM_WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)
BATCH_WRITE_LIMIT = 25  # items per BatchWriteItem, DynamoDB's limit
# A long-lived server compacts after this many writes, so a start replays at most about as many
# (each costs moto a few ms) on top of the state; a warm monitor run writes a few.
COMPACT_AFTER_WRITES = 500
# DynamoDB's TTL leaves alone an item whose expiry is more than five years in the past.
TTL_HORIZON_SECONDS = 5 * 365 * 24 * 3600

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class JournalError(RuntimeError):
    """The journal cannot be used; the message says why and how to start over."""


def is_read(operation: str) -> bool:
    return operation in READ_OPERATIONS or operation.startswith(READ_PREFIXES)


@dataclass(frozen=True)
class Entry:
    """One applied write: the operation and its request body, in its region."""

    region: str
    operation: str
    request: dict[str, Any]

    def line(self) -> bytes:
        record = {"region": self.region, "operation": self.operation, "request": self.request}
        return json.dumps(record, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def parse(cls, raw: bytes) -> Entry:
        record = json.loads(raw)
        if not isinstance(record, dict) or not isinstance(record.get("request"), dict):
            raise ValueError("not a journal entry")
        return cls(str(record["region"]), str(record["operation"]), record["request"])


def read_journal(path: Path) -> tuple[list[Entry], int]:
    """The entries, and the length of a torn last line (a write that never finished)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    *lines, tail = data.split(b"\n")
    entries = []
    for number, raw in enumerate(lines, start=1):
        try:
            entries.append(Entry.parse(raw))
        except (ValueError, KeyError) as error:
            raise JournalError(
                f"{path} line {number} is not a journal entry ({error}); delete the folder "
                f"{path.parent} to start with empty tables"
            ) from None
    return entries, len(tail)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: whole or not at all, on disk when this returns."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


# -- calling moto in-process ----------------------------------------------------------------


def _authorization(region: str) -> str:
    # moto reads the region (and the service) from the credential scope; it checks no signature.
    return (
        f"AWS4-HMAC-SHA256 Credential=local/20000101/{region}/dynamodb/aws4_request, "
        "SignedHeaders=host;x-amz-target, Signature=0"
    )


def call(app: WsgiApp, region: str, operation: str, request: dict[str, Any]) -> tuple[int, Any]:
    """One DynamoDB request to the WSGI app, in this thread: (status, parsed answer)."""
    from werkzeug.test import EnvironBuilder, run_wsgi_app

    environ = EnvironBuilder(
        method="POST",
        path="/",
        data=json.dumps(request).encode(),
        headers=[
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", TARGET_PREFIX + operation),
            ("Authorization", _authorization(region)),
        ],
    ).get_environ()
    body_iter, status, _ = run_wsgi_app(app, environ, buffered=True)
    try:
        content = b"".join(body_iter)
    finally:
        close = getattr(body_iter, "close", None)
        if close is not None:
            close()
    try:
        answer = json.loads(content or b"null")
    except ValueError:
        answer = content.decode("utf-8", "replace")
    return int(status.split(" ", 1)[0]), answer


def _region_of(environ: dict[str, Any]) -> str:
    authorization = str(environ.get("HTTP_AUTHORIZATION") or "")
    try:
        return authorization.split(",")[0].split()[1].split("/")[2]
    except IndexError:
        return DEFAULT_REGION


def _operation_of(environ: dict[str, Any]) -> str | None:
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    return target.removeprefix(TARGET_PREFIX) if target.startswith(TARGET_PREFIX) else None


def _read_body(environ: dict[str, Any]) -> bytes:
    import io

    stream = environ["wsgi.input"]
    if environ.get("wsgi.input_terminated"):
        body = bytes(stream.read())
    else:
        body = bytes(stream.read(int(environ.get("CONTENT_LENGTH") or 0)))
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input_terminated"] = False
    return body


# -- restore and compaction ----------------------------------------------------------------


def _table_name(request: dict[str, Any]) -> str | None:
    name = request.get("TableName")
    if isinstance(name, str):
        return name
    arn = request.get("ResourceArn")
    if isinstance(arn, str) and ":table/" in arn:
        return arn.split(":table/", 1)[1].split("/", 1)[0]
    return None


@dataclass
class SchemaHistory:
    """Per live table, the requests that made its schema (CreateTable and what followed)."""

    tables: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)

    def record(self, entry: Entry) -> None:
        if entry.operation in ITEM_WRITES:
            return
        name = _table_name(entry.request)
        if name is None:
            return
        key = (entry.region, name)
        if entry.operation == "CreateTable":
            self.tables[key] = [entry]
        elif entry.operation == "DeleteTable":
            self.tables.pop(key, None)
        elif key in self.tables:
            self.tables[key].append(entry)


@dataclass
class Restored:
    """What a start found and kept (the start-up note, the tests, the README's figures)."""

    replayed: int = 0
    torn_bytes: int = 0
    tables: int = 0
    items: int = 0
    expired: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    seconds: float = 0.0

    def note(self, path: str) -> str:
        if not self.replayed:
            return f"cooldowns and idempotency records journaled in {path}"
        text = (
            f"cooldowns and idempotency records restored from {path}: {self.items} item(s) "
            f"in {self.tables} table(s) ({self.replayed} write(s) replayed, "
            f"{self.bytes_before} -> {self.bytes_after} bytes, {self.seconds * 1000:.0f} ms)"
        )
        if self.expired:
            text += f", {self.expired} expired item(s) dropped"
        if self.torn_bytes:
            text += ", a torn last line dropped"
        return text


def _checked(app: WsgiApp, region: str, operation: str, request: dict[str, Any]) -> Any:
    status, answer = call(app, region, operation, request)
    if not 200 <= status < 300:
        raise JournalError(f"moto refused {operation} on {region}: {status} {answer}")
    return answer


def _scan(app: WsgiApp, region: str, table: str) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {"TableName": table}
    while True:
        page = _checked(app, region, "Scan", request)
        yield from page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _ttl_attribute(app: WsgiApp, region: str, table: str) -> str | None:
    answer = _checked(app, region, "DescribeTimeToLive", {"TableName": table})
    description = answer.get("TimeToLiveDescription") or {}
    if description.get("TimeToLiveStatus") == "ENABLED":
        name = description.get("AttributeName")
        return name if isinstance(name, str) else None
    return None


def _expired(value: Any, now: float) -> bool:
    if not isinstance(value, dict) or "N" not in value:
        return False  # DynamoDB's TTL ignores an attribute that is not a number
    try:
        expires_at = float(value["N"])
    except ValueError:
        return False
    return now - TTL_HORIZON_SECONDS < expires_at < now


def _key_attributes(app: WsgiApp, region: str, table: str) -> list[str]:
    answer = _checked(app, region, "DescribeTable", {"TableName": table})
    return [str(part["AttributeName"]) for part in answer["Table"]["KeySchema"]]


def snapshot(app: WsgiApp, schema: SchemaHistory, now: float, restored: Restored) -> list[Entry]:
    """The state as journal entries: each table's schema requests, then its live items.

    Expired items are deleted from moto too, as DynamoDB's TTL would: the server and the file
    must hold the same state, or a later write (a condition on an expired item) would not
    replay the way it ran."""
    entries: list[Entry] = []
    for (region, table), history in schema.tables.items():
        entries.extend(history)
        restored.tables += 1
        ttl = _ttl_attribute(app, region, table)
        expired: list[dict[str, Any]] = []
        batch: list[dict[str, Any]] = []
        for item in _scan(app, region, table):
            if ttl is not None and _expired(item.get(ttl), now):
                expired.append(item)
                continue
            batch.append({"PutRequest": {"Item": item}})
            restored.items += 1
            if len(batch) == BATCH_WRITE_LIMIT:
                entries.append(Entry(region, "BatchWriteItem", {"RequestItems": {table: batch}}))
                batch = []
        if batch:
            entries.append(Entry(region, "BatchWriteItem", {"RequestItems": {table: batch}}))
        if expired:
            keys = _key_attributes(app, region, table)
            for item in expired:
                key = {name: item[name] for name in keys}
                _checked(app, region, "DeleteItem", {"TableName": table, "Key": key})
            restored.expired += len(expired)
    return entries


class Journal:
    """The file: replayed and compacted at start, then one line per applied write, fsync'd
    before its answer leaves; compacted again after `compact_after` writes."""

    def __init__(self, path: Path, compact_after: int = COMPACT_AFTER_WRITES) -> None:
        self.path = path
        self.compact_after = compact_after
        self.lock = threading.Lock()  # held while a write is applied and journaled
        self.failure: str | None = None  # once set, writes are refused: memory == disk
        self.schema = SchemaHistory()
        self.appended = 0  # lines since the last compaction
        self._descriptor: int | None = None

    def restore(self, app: WsgiApp, now: float) -> Restored:
        """Replay the file into `app` (an empty moto), compact it, open it for appending."""
        started = time.monotonic()
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            leftover.unlink(missing_ok=True)  # a compaction that died before its rename
        entries, torn = read_journal(self.path)
        restored = Restored(
            torn_bytes=torn, bytes_before=self.path.stat().st_size if self.path.exists() else 0
        )
        for number, entry in enumerate(entries, start=1):
            status, answer = call(app, entry.region, entry.operation, entry.request)
            if not 200 <= status < 300:
                # The replay has left the state the server had: better stop than guess.
                raise JournalError(
                    f"{self.path} line {number} ({entry.operation}) did not replay: {status} "
                    f"{answer}; delete the folder {self.path.parent} to start with empty tables"
                )
            self.schema.record(entry)
            restored.replayed += 1
        self.compact(app, now, restored)
        restored.seconds = time.monotonic() - started
        return restored

    def compact(self, app: WsgiApp, now: float, restored: Restored | None = None) -> None:
        """Replace the file with the state (writes must be held off: at start, or the lock)."""
        restored = restored or Restored()
        data = b"".join(entry.line() for entry in snapshot(app, self.schema, now, restored))
        write_atomically(self.path, data)
        restored.bytes_after = len(data)
        self.close()
        self._descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.appended = 0

    def append(self, entry: Entry) -> None:
        if self._descriptor is None:
            raise OSError("the journal is closed")
        data = memoryview(entry.line())
        while data:
            written = os.write(self._descriptor, data)
            data = data[written:]
        os.fsync(self._descriptor)
        self.schema.record(entry)
        self.appended += 1

    def close(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)
            self._descriptor = None


def _error(status: str, kind: str, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": message})
    return status, [("Content-Type", "application/x-amz-json-1.0")], body.encode()


class JournalingApp:
    """moto's WSGI app with every applied write journaled (see the module's docstring)."""

    def __init__(self, app: WsgiApp, journal: Journal) -> None:
        self.app = app
        self.journal = journal

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        operation = _operation_of(environ)
        if operation is None or is_read(operation):
            return self.app(environ, start_response)
        body = _read_body(environ)
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict):
            # Refused before moto sees it: every write moto applies has its journal line.
            status, headers, content = _error(
                "400 Bad Request", "SerializationException", "The body is not a JSON object."
            )
        else:
            status, headers, content = self._apply(environ, _region_of(environ), operation, request)
        start_response(status, headers)
        return [content]

    def _apply(
        self, environ: dict[str, Any], region: str, operation: str, request: dict[str, Any]
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        from werkzeug.test import run_wsgi_app

        with self.journal.lock:
            if self.journal.failure is not None:
                return _error(
                    "500 Internal Server Error",
                    "InternalServerError",
                    f"Writes are refused: {self.journal.failure}.",
                )
            body_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
            content = b"".join(body_iter)
            if status.startswith("2"):
                try:
                    self.journal.append(Entry(region, operation, request))
                    if self.journal.appended >= self.journal.compact_after:
                        self.journal.compact(self.app, time.time())
                except (OSError, JournalError) as error:
                    # This write may be in memory only (a failed append) or journaled (a failed
                    # compaction after it); either way every later write is refused, so what a
                    # restart restores differs from what clients saw by this write at most.
                    self.journal.failure = f"the journal failed ({type(error).__name__}: {error})"
                    return _error(
                        "500 Internal Server Error", "InternalServerError", self.journal.failure
                    )
            return status, list(headers.items()), content


# -- the server -----------------------------------------------------------------------------


class JournaledMotoServer:
    """ThreadedMotoServer's interface (start, get_host_and_port, stop), its state in `folder`."""

    def __init__(self, folder: Path, ip_address: str = "127.0.0.1", port: int = 0) -> None:
        self.folder = folder
        self.journal = Journal(folder / JOURNAL_NAME)
        self.restored: Restored | None = None
        self._address = (ip_address, port)
        self._lock_descriptor: int | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def _own_folder(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "?"
            os.close(descriptor)
            raise JournalError(
                f"{self.folder} is in use by process {holder} (another `make run`?)"
            ) from None
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        self._lock_descriptor = descriptor

    def start(self) -> Restored:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self._own_folder()
        try:
            app = DomainDispatcherApplication(create_backend_app)
            self.restored = self.journal.restore(app, time.time())
            self._server = make_server(
                *self._address,
                JournalingApp(app, self.journal),
                threaded=True,
                request_handler=MotoRequestHandler,
            )
        except BaseException:
            self.journal.close()
            self._release_folder()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},  # how long stop() waits for the loop to notice
            name="moto-dynamodb",
            daemon=True,
        )
        self._thread.start()
        return self.restored

    def get_host_and_port(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("start() first")
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        """Stop serving, close the port and the journal (a write in flight is refused)."""
        try:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
                self._server = None
            if self._thread is not None:
                self._thread.join(timeout=10)
                self._thread = None
        finally:
            with self.journal.lock:
                self.journal.failure = self.journal.failure or "the server is stopping"
                self.journal.close()
            self._release_folder()

    def _release_folder(self) -> None:
        if self._lock_descriptor is not None:
            os.close(self._lock_descriptor)  # releases the flock
            self._lock_descriptor = None
