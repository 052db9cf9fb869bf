"""Writing seeded rows fast, inside the caller's transaction.

- PostgreSQL: ``COPY … FROM STDIN`` (binary) through asyncpg's ``copy_records_to_table`` on the
  session's own connection, so the rows commit or roll back with everything else. Where the
  database role may (a superuser, or ``GRANT SET ON PARAMETER session_replication_role``), the
  transaction sets ``session_replication_role = replica``: PostgreSQL then skips the row-by-row
  foreign-key triggers, which are most of the cost of loading assignments and requests. The
  generator only refers to rows it wrote before or that exist (tests check every reference);
  other roles load with the checks, more slowly. The setting ends with the transaction
  (``SET LOCAL``) and takes no lock: running workers go on reading.
- SQLite: one ``executemany`` per batch on the session's connection, values converted by the
  columns' own SQLAlchemy bind processors (UUIDs, UTC timestamps and JSON stored exactly as the
  ORM would store them).

Audit events are linked into the hash chain (:mod:`eam.core.audit_chain`) as they are prepared,
after the chain's head read when the sink opens (on PostgreSQL under the chain's lock, held
until the seed's transaction ends).

:meth:`Sink.prepare` (encoding) runs in the generator's thread, :meth:`Sink.write_all` on the
event loop.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import msgspec
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from eam.core.audit_chain import event_hash, head
from eam.models import Base
from eam.seed.generate import COLUMNS

Rows = dict[str, list[tuple[Any, ...]]]
#: Columns holding JSON, which the generator hands over as text (as ``COPY`` and SQLite store it).
JSON_COLUMNS = {"registers": ("applications",), "audit_events": ("before", "after")}


class Sink:
    """Counts what it wrote, per table, and how long writing took."""

    checks_references = True

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.written: Counter[str] = Counter()
        self.seconds = 0.0
        #: The audit chain's newest event (id, hash), moved on by :meth:`prepare`.
        self.chain_head = (0, "")

    @classmethod
    async def open(cls, session: AsyncSession) -> Sink:
        sink: Sink
        if session.get_bind().dialect.name == "postgresql":
            sink = await PostgresSink.create(session)
        else:
            sink = SQLiteSink(session)
        sink.chain_head = await session.run_sync(head)
        return sink

    def prepare(self, rows: Rows) -> Rows:
        """The rows as the driver takes them (called off the event loop, one batch after another)."""
        if rows.get("audit_events"):
            rows["audit_events"] = self._chained(rows["audit_events"])
        return rows

    def _chained(self, events: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The events with their ids and hashes (``before``/``after`` are JSON text here)."""
        fields = COLUMNS["audit_events"][:-2]
        before, after = fields.index("before"), fields.index("after")
        last_id, last_hash = self.chain_head
        chained = []
        for row in events:
            last_id += 1
            values = [last_id, *row[1 : len(fields)]]
            document = dict(zip(fields, values))
            for index in (before, after):
                if values[index] is not None:
                    document[fields[index]] = msgspec.json.decode(values[index])
            new_hash = event_hash(document, last_hash)
            chained.append((*values, last_hash, new_hash))
            last_hash = new_hash
        self.chain_head = (last_id, last_hash)
        return chained

    async def write_all(self, rows: Rows) -> None:
        """Write each table's prepared rows, in foreign-key order."""
        started = time.perf_counter()
        for table in COLUMNS:
            batch = rows.get(table)
            if batch:
                await self.write(table, batch)
                self.written[table] += len(batch)
        self.seconds += time.perf_counter() - started

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError


class PostgresSink(Sink):
    connection: Any

    @classmethod
    async def create(cls, session: AsyncSession) -> PostgresSink:
        sink = cls(session)
        savepoint = await session.begin_nested()
        try:
            await session.execute(text("SET LOCAL session_replication_role = replica"))
        except DBAPIError:  # not allowed for this role: load with the checks
            await savepoint.rollback()
        else:
            await savepoint.commit()
            sink.checks_references = False
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        sink.connection = raw.driver_connection  # the asyncpg connection, in our transaction
        return sink

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        await self.connection.copy_records_to_table(table, records=rows, columns=list(COLUMNS[table]))


class SQLiteSink(Sink):
    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        dialect = session.get_bind().dialect
        self.processors = {
            table: [
                (index, process)
                for index, column in enumerate(columns)
                if column not in JSON_COLUMNS.get(table, ())  # encoded by the generator already
                and (process := Base.metadata.tables[table].c[column].type.bind_processor(dialect))
            ]
            for table, columns in COLUMNS.items()
        }

    def prepare(self, rows: Rows) -> Rows:
        rows = super().prepare(rows)
        for table, batch in rows.items():
            active = self.processors[table]
            converted = []
            for row in batch:
                values = list(row)
                for index, process in active:
                    values[index] = process(values[index])
                converted.append(tuple(values))
            rows[table] = converted
        return rows

    async def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        columns = COLUMNS[table]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        connection = await self.session.connection()
        await connection.exec_driver_sql(sql, rows)
