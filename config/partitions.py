"""Time-partitioned tables on PostgreSQL: the DDL, for any table, knowing nothing of our apps.

A raw table (clicks, impressions, the inbound log) is partitioned by RANGE on its timestamp,
one partition per month or per day (`RAW_PARTITION_INTERVAL`), so that retention drops whole
partitions instead of deleting rows, and a query on a time range reads only its partitions.
Each table also has:

- a DEFAULT partition, so a row whose period has no partition yet is kept, never refused. When
  that period's partition is created, its rows are moved out of the default in the same
  transaction (detach the default, create, move, re-attach);
- after `convert_to_partitioned` (the migration of an existing database), a "legacy" partition:
  the old table itself, attached as FROM (MINVALUE) TO (the start of the period after its
  newest row), with no row rewritten.

Apps register their tables (`register`) from their `ready()`; `leads.partitions` runs the
maintenance. On SQLite (`make run`) tables stay plain and every function here does nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

MONTH = "month"
DAY = "day"
INTERVALS = (MONTH, DAY)
# Creating or dropping a partition locks the parent for a moment. Waiting longer than this for
# the lock (a long report holding it) would stall every click queued behind the waiting DDL:
# the job gives up instead and runs again an hour later.
LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class PartitionedTable:
    """A table kept partitioned by range on `key` (a timestamp with time zone)."""

    table: str
    key: str
    # Whether dropping its old partitions moves the raw horizon (the rollups cannot be
    # rebuilt for days whose raw rows are gone): clicks and impressions, not the inbound log.
    raw_traffic: bool = False


REGISTRY: dict[str, PartitionedTable] = {}


def register(table: str, key: str, *, raw_traffic: bool = False) -> None:
    REGISTRY[table] = PartitionedTable(table=table, key=key, raw_traffic=raw_traffic)


@dataclass(frozen=True)
class Partition:
    """One partition: its range, [lower, upper); None is MINVALUE (lower) or the default (both)."""

    name: str
    lower: datetime | None
    upper: datetime | None
    is_default: bool = False


def supported(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor == "postgresql"


# --- Periods ---------------------------------------------------------------------------------


def period_start(moment: datetime, interval: str) -> datetime:
    """The start (UTC) of the day or month `moment` falls in."""
    moment = moment.astimezone(UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day.replace(day=1) if interval == MONTH else day


def next_period(start: datetime, interval: str) -> datetime:
    if interval == DAY:
        return start + timedelta(days=1)
    return (start.replace(day=1) + timedelta(days=32)).replace(day=1)


def _literal(moment: datetime) -> str:
    # A timestamp we computed ourselves, never user input: safe to inline in DDL, which
    # takes no bind parameters.
    return "'" + moment.astimezone(UTC).isoformat() + "'"


def _q(connection: BaseDatabaseWrapper, name: str) -> str:
    return connection.ops.quote_name(name)


# --- Reading the catalogue -------------------------------------------------------------------


def is_partitioned(connection: BaseDatabaseWrapper, table: str) -> bool:
    if not supported(connection):
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)",
            [_q(connection, table)],
        )
        row = cursor.fetchone()
    return row is not None and row[0] == "p"


_BOUND = re.compile(r"FROM \((?P<lower>[^)]*)\) TO \((?P<upper>[^)]*)\)")


def _bound(text: str) -> datetime | None:
    text = text.strip()
    if text.upper() == "MINVALUE":
        return None
    return datetime.fromisoformat(text.strip("'")).astimezone(UTC)


def partitions(connection: BaseDatabaseWrapper, table: str) -> list[Partition]:
    """The table's partitions, ordered by lower bound (the legacy first, the default last)."""
    if not is_partitioned(connection, table):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [_q(connection, table)],
        )
        rows = cursor.fetchall()
    found = []
    for name, bound in rows:
        if bound == "DEFAULT":
            found.append(Partition(name=name, lower=None, upper=None, is_default=True))
            continue
        match = _BOUND.search(bound)
        if match is None:
            raise ValueError(f"{name}: a partition bound this module does not manage: {bound}")
        found.append(Partition(name=name, lower=_bound(match["lower"]), upper=_bound(match["upper"])))
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda p: (p.is_default, p.lower or floor))


def _columns(connection: BaseDatabaseWrapper, table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [_q(connection, table)],
        )
        return [row[0] for row in cursor.fetchall()]


# --- Creating partitions ---------------------------------------------------------------------


def partition_name(table: str, lower: datetime) -> str:
    return f"{table}_p{lower:%Y%m%d}"


def default_name(table: str) -> str:
    return f"{table}_default"


def legacy_name(table: str) -> str:
    return f"{table}_legacy"


def _gaps(lower: datetime, upper: datetime, taken: list[Partition]) -> list[tuple[datetime, datetime]]:
    """The parts of [lower, upper) no existing partition covers (after a change of interval,
    a month may be partly covered by day partitions)."""
    gaps, start = [], lower
    floor = datetime.min.replace(tzinfo=UTC)
    for part in taken:
        if part.is_default:
            continue
        p_lower, p_upper = part.lower or floor, part.upper
        if p_upper is None or p_upper <= start or p_lower >= upper:
            continue
        if p_lower > start:
            gaps.append((start, p_lower))
        start = max(start, p_upper)
    if start < upper:
        gaps.append((start, upper))
    return gaps


def create_partition(
    connection: BaseDatabaseWrapper, table: str, key: str, lower: datetime, upper: datetime
) -> str:
    """Create the partition [lower, upper) of `table`, moving into it what the default holds of it.

    The move happens in one transaction: the default is detached (PostgreSQL refuses to create
    a partition whose rows sit in the default), the partition created, the rows copied through
    the parent (so they route to it) and deleted from the default, and the default re-attached.
    """
    name = partition_name(table, lower)
    q_table, q_key, q_name = _q(connection, table), _q(connection, key), _q(connection, name)
    bounds = f"FROM ({_literal(lower)}) TO ({_literal(upper)})"
    default = default_name(table)
    q_default = _q(connection, default)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        has_default = any(p.is_default for p in partitions(connection, table))
        stranded = False
        if has_default:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {q_default} WHERE {q_key} >= %s AND {q_key} < %s)",
                [lower, upper],
            )
            stranded = cursor.fetchone()[0]
        if not stranded:
            cursor.execute(f"CREATE TABLE {q_name} PARTITION OF {q_table} FOR VALUES {bounds}")
            return name
        cursor.execute(f"ALTER TABLE {q_table} DETACH PARTITION {q_default}")
        cursor.execute(f"CREATE TABLE {q_name} PARTITION OF {q_table} FOR VALUES {bounds}")
        columns = ", ".join(_q(connection, c) for c in _columns(connection, table))
        where = f"{q_key} >= %s AND {q_key} < %s"
        cursor.execute(
            f"INSERT INTO {q_table} ({columns}) SELECT {columns} FROM {q_default} WHERE {where}",
            [lower, upper],
        )
        cursor.execute(f"DELETE FROM {q_default} WHERE {where}", [lower, upper])
        cursor.execute(f"ALTER TABLE {q_table} ATTACH PARTITION {q_default} DEFAULT")
    return name


def ensure_partitions(
    connection: BaseDatabaseWrapper,
    table: str,
    key: str,
    *,
    interval: str,
    ahead: int,
    now: datetime,
    since: datetime | None = None,
) -> list[str]:
    """Create the partitions of the current period and `ahead` periods after it (from `since`'s
    period when given), plus those of any period whose rows wait in the default; answers the
    names created. A table not (yet) partitioned is left alone."""
    if interval not in INTERVALS:
        raise ValueError(f"RAW_PARTITION_INTERVAL must be one of {INTERVALS}, not {interval!r}.")
    if not is_partitioned(connection, table):
        return []
    start = period_start(since or now, interval)
    stop = period_start(now, interval)
    for _ in range(ahead + 1):
        stop = next_period(stop, interval)
    wanted = []
    while start < stop:
        wanted.append((start, next_period(start, interval)))
        start = wanted[-1][1]
    wanted += _stranded_periods(connection, table, key, interval)
    created = []
    for lower, upper in sorted(set(wanted)):
        for gap_lower, gap_upper in _gaps(lower, upper, partitions(connection, table)):
            created.append(create_partition(connection, table, key, gap_lower, gap_upper))
    if not any(p.is_default for p in partitions(connection, table)):
        with connection.cursor() as cursor:
            q_default = _q(connection, default_name(table))
            cursor.execute(f"CREATE TABLE {q_default} PARTITION OF {_q(connection, table)} DEFAULT")
        created.append(default_name(table))
    return created


def _stranded_periods(connection: BaseDatabaseWrapper, table: str, key: str, interval: str) -> list[tuple]:
    """The periods of the rows sitting in the default partition (few: it is kept empty)."""
    if not any(p.is_default for p in partitions(connection, table)):
        return []
    trunc = "month" if interval == MONTH else "day"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('{trunc}', {_q(connection, key)} AT TIME ZONE 'UTC') "
            f"FROM {_q(connection, default_name(table))}"
        )
        starts = [row[0].replace(tzinfo=UTC) for row in cursor.fetchall()]
    return [(start, next_period(start, interval)) for start in starts]


# --- Dropping partitions ---------------------------------------------------------------------


def drop_partitions_before(
    connection: BaseDatabaseWrapper,
    table: str,
    key: str,
    cutoff: datetime,
    on_drop: Callable[[Partition], None] | None = None,
) -> list[Partition]:
    """Detach and drop every partition whose upper bound is at or before `cutoff` (no DELETE);
    the default only loses its rows (TRUNCATE) when all of them are older than `cutoff`.
    Answers what went, the default as a Partition whose upper bound is `cutoff`; `on_drop` is
    called in each drop's transaction, so a record of it commits with it or not at all."""
    dropped = []
    q_table = _q(connection, table)
    for part in partitions(connection, table):
        q_part = _q(connection, part.name)
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            if part.is_default:
                cursor.execute(f"SELECT max({_q(connection, key)}) FROM {q_part}")
                newest = cursor.fetchone()[0]
                if newest is not None and newest < cutoff:
                    cursor.execute(f"TRUNCATE {q_part}")
                    dropped.append(Partition(name=part.name, lower=None, upper=cutoff, is_default=True))
                    if on_drop:
                        on_drop(dropped[-1])
                continue
            if part.upper is not None and part.upper <= cutoff:
                cursor.execute(f"ALTER TABLE {q_table} DETACH PARTITION {q_part}")
                cursor.execute(f"DROP TABLE {q_part}")
                dropped.append(part)
                if on_drop:
                    on_drop(part)
    return dropped


# --- Converting a plain table ----------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    """What a plain table carries that its partitioned successor must carry too."""

    pk_name: str
    pk_columns: list[str]
    uniques: list[tuple[str, str]]  # (constraint name, definition)
    foreign_keys: list[tuple[str, str]]
    indexes: list[tuple[str, str]]  # (name, CREATE INDEX statement) of indexes of no constraint


def _shape(connection: BaseDatabaseWrapper, table: str, key: str) -> _Shape:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid), "
            "ARRAY(SELECT attname FROM pg_attribute WHERE attrelid = conrelid AND attnum = ANY(conkey)) "
            "FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u', 'f') "
            "ORDER BY conname",
            [_q(connection, table)],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT conname, conrelid::regclass::text FROM pg_constraint "
            "WHERE confrelid = to_regclass(%s) AND contype = 'f'",
            [_q(connection, table)],
        )
        incoming = cursor.fetchall()
        cursor.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = to_regclass(%s) AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY c.relname",
            [_q(connection, table)],
        )
        indexes = cursor.fetchall()
    if incoming:
        raise ValueError(
            f"{table} is referenced by foreign keys ({incoming}): drop them (db_constraint=False) first."
        )
    [(pk_name, pk_columns)] = [(name, cols) for name, kind, _d, cols in constraints if kind == "p"]
    uniques = [(name, d) for name, kind, d, cols in constraints if kind == "u"]
    for name, _definition in uniques:
        if key not in next(cols for n, _k, _d, cols in constraints if n == name):
            raise ValueError(f"{table}.{name}: a unique constraint must include {key} to partition by it.")
    for name, definition in indexes:
        if definition.startswith("CREATE UNIQUE") and key not in definition:
            raise ValueError(f"{table}.{name}: a unique index must include {key} to partition by it.")
    return _Shape(
        pk_name=pk_name,
        pk_columns=list(pk_columns),
        uniques=uniques,
        foreign_keys=[(name, d) for name, kind, d, _cols in constraints if kind == "f"],
        indexes=indexes,
    )


def _legacy_upper(
    connection: BaseDatabaseWrapper, table: str, key: str, interval: str, now: datetime
) -> datetime:
    """Where the legacy partition ends: after its newest row's period; the current period's
    start when it is empty (a fresh database gets a partition of its own for today)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max({_q(connection, key)}) FROM {_q(connection, table)}")
        newest = cursor.fetchone()[0]
    if newest is None:
        return period_start(now, interval)
    return next_period(period_start(newest, interval), interval)


def _free_sequence(connection: BaseDatabaseWrapper, table: str, column: str) -> str:
    """Take `column`'s id sequence away from the old table, keeping its position; answers its name.

    PostgreSQL before 17 has no identity column on a partitioned table: the parent gets a plain
    sequence default instead, the same numbers going on."""
    q_table, q_column = _q(connection, table), _q(connection, column)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [q_table, column])
        sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT last_value, is_called FROM {sequence}")
        last, called = cursor.fetchone()
        cursor.execute(
            "SELECT attidentity FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s",
            [q_table, column],
        )
        if cursor.fetchone()[0]:
            cursor.execute(f"ALTER TABLE {q_table} ALTER COLUMN {q_column} DROP IDENTITY")
            cursor.execute(f"CREATE SEQUENCE {sequence} AS bigint")
        else:
            cursor.execute(f"ALTER TABLE {q_table} ALTER COLUMN {q_column} DROP DEFAULT")
            cursor.execute(f"ALTER SEQUENCE {sequence} OWNED BY NONE")
        cursor.execute("SELECT setval(%s, %s, %s)", [sequence, last, called])
    return sequence


def convert_to_partitioned(
    connection: BaseDatabaseWrapper, table: str, key: str, *, interval: str, ahead: int, now: datetime
) -> None:
    """Turn the plain `table` into one partitioned by range on `key`, rewriting no row.

    The old table becomes the legacy partition: a CHECK constraint stating its range lets
    ATTACH skip its validating scan, its indexes of the same definition as the parent's are
    attached rather than rebuilt (only the primary key, which must now include `key`, is
    built), its foreign keys are taken over as they are, and its id sequence goes on numbering
    the parent's rows. Then the default, current and next partitions are created.
    """
    if not supported(connection) or is_partitioned(connection, table):
        return
    shape = _shape(connection, table, key)
    legacy = legacy_name(table)
    q_table, q_legacy, q_key = _q(connection, table), _q(connection, legacy), _q(connection, key)
    upper = _legacy_upper(connection, table, key, interval, now)
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        [pk_column] = shape.pk_columns
        sequence = _free_sequence(connection, table, pk_column)
        cursor.execute(f"ALTER TABLE {q_table} RENAME TO {q_legacy}")
        # Index names are per schema: the old ones step aside for the parent's.
        cursor.execute(f"ALTER TABLE {q_legacy} DROP CONSTRAINT {_q(connection, shape.pk_name)}")
        for name, _definition in shape.uniques:
            cursor.execute(f"ALTER INDEX {_q(connection, name)} RENAME TO {_q(connection, _renamed(name))}")
        for name, _definition in shape.indexes:
            cursor.execute(f"ALTER INDEX {_q(connection, name)} RENAME TO {_q(connection, _renamed(name))}")
        cursor.execute(
            f"CREATE TABLE {q_table} (LIKE {q_legacy} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            f"INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE ({q_key})"
        )
        q_pk = _q(connection, pk_column)
        cursor.execute(
            f"ALTER TABLE {q_table} ALTER COLUMN {q_pk} SET DEFAULT nextval('{sequence}'::regclass)"
        )
        cursor.execute(f"ALTER SEQUENCE {sequence} OWNED BY {q_table}.{q_pk}")
        q_pk_name = _q(connection, shape.pk_name)
        cursor.execute(f"ALTER TABLE {q_table} ADD CONSTRAINT {q_pk_name} PRIMARY KEY ({q_pk}, {q_key})")
        for name, definition in [*shape.uniques, *shape.foreign_keys]:
            cursor.execute(f"ALTER TABLE {q_table} ADD CONSTRAINT {_q(connection, name)} {definition}")
        for _name, definition in shape.indexes:
            cursor.execute(definition)
        check = _q(connection, f"{legacy}_range")
        cursor.execute(f"ALTER TABLE {q_legacy} ADD CONSTRAINT {check} CHECK ({q_key} < {_literal(upper)})")
        bounds = f"FROM (MINVALUE) TO ({_literal(upper)})"
        cursor.execute(f"ALTER TABLE {q_table} ATTACH PARTITION {q_legacy} FOR VALUES {bounds}")
        cursor.execute(f"ALTER TABLE {q_legacy} DROP CONSTRAINT {check}")
        # Rows of a gap between an old legacy and today would wait in the default, then move.
        since = max(upper, period_start(now, interval))
        ensure_partitions(connection, table, key, interval=interval, ahead=ahead, now=now, since=since)
        # Making the partitions set the job's short lock timeout: not for the rest of a migration.
        cursor.execute("SET LOCAL lock_timeout = DEFAULT")


def _renamed(name: str) -> str:
    return f"{name[:56]}_legacy"
