"""The set-based lane for CAD calls files: DuckDB reads, checks, converts and compares the
whole file, and the store takes the result in bulk.

The row path (``sources/cad_csv`` through ``csvio`` and the batch writer) spends most of a
large CAD import on per-row Python: parsing timestamps, validating records, hashing, binding
parameters. This lane does that work set by set. DuckDB reads the file (in memory, capped;
beyond the cap it spills to a temporary folder, so memory stays flat however large the file),
checks and converts every column in SQL, turns local times into UTC with the offsets Python's
zoneinfo gives for each distinct local hour, keeps the last version of each key, computes each
record's content hash in SQL (the same HMAC over the same canonical text as
:func:`corespond.ingest.tables.fingerprint`), compares it with the store's, and hands the new
and changed rows to the database in bulk (``executemany`` on SQLite; on PostgreSQL, ``COPY``
of CSV that DuckDB writes, so that no Python runs per row). Each unit response is written with
the id of its call, which the lane knows, rather than left for ``resolve_references`` to fill
by updating every unit row after the run.

It is a lane, not a second importer. It takes only what it can convert exactly as the row path
would; every row that fails a check, *and every other row of its CAD event*, goes back to the
row path, so a rejection keeps its exact reason and verbatim text, and an event's rows are never
split between lanes. Files it cannot take whole (another encoding, a header it does not know, a
zone without an IANA name, CSV that DuckDB refuses) are read by the row path entirely.
``tests/ingest/test_cad_lane.py`` checks that both lanes store identical rows.

What the lane accepts, column by column, is the row path's grammar narrowed to the common form:
timestamps ``MM/DD/YYYY hh:mm:ss AM|PM`` (not in an hour a clock change repeats or skips: the
row path decides those as it always has), known codes, priorities 0-9 (``03`` too), plain
decimal coordinates or ``REDACTED``, values without edge whitespace other than spaces.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pyarrow
from sqlalchemy.orm import Session

from corespond.crypto import FieldCipher
from corespond.db.engine import kept_plans
from corespond.ingest import repository
from corespond.ingest.places import place_key
from corespond.ingest.repository import LATE_BOUND_IDS
from corespond.ingest.schemas import FileCounts
from corespond.ingest.tables import encode_value, place_fields
from corespond.ingest.writer import BatchWriter
from corespond.models.base import utcnow
from corespond.models.call import CallForService, UnitResponse
from corespond.sources.base import Item, ReadOptions
from corespond.sources.cad_csv import (
    CALL_COLUMNS,
    CALL_FILE_COLUMNS,
    CALL_SOURCES,
    PLACE_COLUMNS,
    REDACTED,
    RESPONDER_TYPES,
    UNIT_COLUMNS,
    CadCsvAdapter,
)
from corespond.sources.csvio import file_header
from corespond.sources.parse import BLANKS, EARLIEST, LATEST_YEAR
from corespond.sources.records import (
    CallIn,
    PlaceIn,
    ResponderType,
    UnitResponseIn,
)

MEMORY_LIMIT = "256MB"
"""DuckDB's own cap; beyond it the lane's table and sorts spill to a temporary folder."""
FETCH_ROWS = 10_000
COPY_CHUNK = 1 << 20
"""Bytes per write when PostgreSQL COPYs the CSV the lane wrote."""
UTF8 = frozenset({"utf-8", "utf-8-sig", "utf8", "utf_8", "utf_8_sig"})
CALL_CATEGORY = CallIn.default_category.value
UNIT_CATEGORY = UnitResponseIn.default_category.value

# NUL, and the characters Python's str.strip() removes but DuckDB's trim() keeps: a row holding
# one anywhere goes to the row path rather than risk stripping a value differently (one test
# over the whole row is far cheaper than one at each edge of each field).
_UNUSUAL = (
    r"[\x{00}\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
)
_TIMESTAMP = r"^\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2} [AP]M$"
_COORDINATE = r"^-?\d{1,3}(\.\d{1,15})?$"

CALL_TIMES = ("received_at", "queued_at", "dispatched_at", "first_arrival_at", "cleared_at")
UNIT_TIMES = ("dispatched_at", "en_route_at", "at_scene_at", "in_service_at")


def open_lane(path: Path, options: ReadOptions) -> Lane | None:
    """The lane loaded with a CAD calls file and converted, or None if it cannot take the file.

    Nothing is written to the store until :meth:`Lane.write`.
    """
    zone = _zone(options)
    if zone is None or options.encoding.lower() not in UTF8:
        return None
    header = file_header(path, options.encoding)
    if len(set(header)) != len(header) or not set(CALL_FILE_COLUMNS) <= set(header):
        return None
    workspace = tempfile.TemporaryDirectory(prefix="corespond-cad-lane-")
    # In memory, capped: beyond the cap DuckDB spills its tables to the temporary folder.
    connection = duckdb.connect(
        config={"memory_limit": MEMORY_LIMIT, "temp_directory": workspace.name}
    )
    # A library prints nothing: DuckDB's progress bar would land in the CLI's output.
    connection.execute("SET enable_progress_bar = false")
    try:
        _load(connection, path, header)
        _convert(connection, zone)
    except duckdb.Error:
        connection.close()
        workspace.cleanup()
        return None
    return Lane(connection, workspace, path, options)


def _zone(options: ReadOptions) -> ZoneInfo | None:
    zone = options.timezone
    return zone if isinstance(zone, ZoneInfo) else None


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _load(connection: duckdb.DuckDBPyConnection, path: Path, header: list[str]) -> None:
    """The file as a table of text, one row per data row; ``rowid`` + 1 is the row number."""
    columns = "{" + ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in header) + "}"
    connection.execute(
        f"""
        CREATE TABLE raw AS SELECT * FROM read_csv(
            {_literal(str(path))}, header = true, auto_detect = false, all_varchar = true,
            strict_mode = true, delim = ',', quote = '"', escape = '"', columns = {columns})
        """
    )


def _code_case(expression: str, codes: dict[str, str]) -> str:
    arms = " ".join(f"WHEN {_literal(key)} THEN {_literal(value)}" for key, value in codes.items())
    return f"CASE upper({expression}) {arms} END"


def _convert(connection: duckdb.DuckDBPyConnection, zone: ZoneInfo) -> None:
    """Parse and check every column into ``converted``; ``event_ok`` says the lane takes the
    row's whole event.

    Two passes over the rows. ``parsed`` strips every field as ``text()`` does (NULL for
    blanks), flags a row holding NUL or whitespace other than spaces anywhere, and reads the
    wall-clock times. ``converted`` turns those into UTC through ``zone_hours``, which Python's
    zoneinfo fills for each distinct local hour (so the offsets are the row path's own), checks
    the rest, and keeps only the stored columns.
    """
    blanks = ", ".join(_literal(word) for word in sorted(BLANKS))
    v = {column: f"v{index}" for index, column in enumerate(CALL_FILE_COLUMNS)}
    raw = {column: _identifier(column) for column in CALL_FILE_COLUMNS}
    times = [CALL_COLUMNS[name] for name in CALL_TIMES] + [
        UNIT_COLUMNS[name] for name in UNIT_TIMES
    ]
    local = {column: f"l{index}" for index, column in enumerate(times)}
    connection.execute(
        f"""
        CREATE MACRO blank_word(y) AS length(y) <= 4 AND lower(y) IN ({blanks});
        CREATE MACRO t(x) AS CASE WHEN blank_word(trim(x)) THEN NULL ELSE trim(x) END;
        CREATE TABLE parsed AS
        WITH cleaned AS (
            SELECT rowid + 1 AS n,
                {", ".join(f"t({raw[column]}) AS {v[column]}" for column in CALL_FILE_COLUMNS)},
                NOT coalesce(regexp_matches(
                    concat_ws(chr(1), {", ".join(raw[column] for column in CALL_FILE_COLUMNS)}),
                    '{_UNUSUAL}'), false) AS clean
            FROM raw)
        SELECT *,
            {", ".join(
                f"CASE WHEN regexp_matches({v[column]}, '{_TIMESTAMP}') "
                f"THEN try_strptime({v[column]}, '%m/%d/%Y %I:%M:%S %p') END AS {local[column]}"
                for column in times)}
        FROM cleaned;
        DROP TABLE raw;
        """
    )  # fmt: skip
    hours = connection.execute(
        "SELECT DISTINCT hour FROM ("
        + " UNION ALL ".join(
            f"SELECT date_trunc('hour', {local[c]}) AS hour FROM parsed" for c in times
        )
        + ") WHERE hour IS NOT NULL"
    ).fetchall()
    connection.execute(
        "CREATE TABLE zone_hours (hour TIMESTAMP, minutes INTEGER, iso VARCHAR, exact BOOLEAN)"
    )
    if hours:
        rows = [_zone_hour(hour, zone) for (hour,) in hours]
        table = pyarrow.table(
            dict(zip(("hour", "minutes", "iso", "exact"), zip(*rows, strict=True), strict=True))
        )
        connection.register("zone_hours_rows", table)
        connection.execute("INSERT INTO zone_hours SELECT * FROM zone_hours_rows")
        connection.unregister("zone_hours_rows")

    def ok(column: str) -> str:
        z = f"z{times.index(column)}"
        return (
            f"({v[column]} IS NULL OR ({local[column]} IS NOT NULL AND {z}.exact"
            f" AND year({local[column]}) BETWEEN {EARLIEST.year} AND {LATEST_YEAR}))"
        )

    def utc(column: str) -> str:
        z = f"z{times.index(column)}"
        return f"{local[column]} - to_minutes({z}.minutes)"

    call, place, unit = CALL_COLUMNS, PLACE_COLUMNS, UNIT_COLUMNS
    event, priority = v[call["source_key"]], v[call["priority"]]
    call_source = _code_case(v[call["call_source"]], CALL_SOURCES)
    responder = _code_case(v[unit["responder_type"]], RESPONDER_TYPES)
    call_sign = v[unit["call_sign"]]

    def coordinate_ok(column: str, bound: int) -> str:
        value = v[column]
        return (
            f"({value} IS NULL OR upper({value}) = {_literal(REDACTED)} OR"
            f" (regexp_matches({value}, '{_COORDINATE}')"
            f" AND abs(TRY_CAST({value} AS DOUBLE)) <= {bound}))"
        )

    def coordinate(column: str) -> str:
        value = v[column]
        return (
            f"CASE WHEN regexp_matches({value}, '{_COORDINATE}')"
            f" THEN TRY_CAST({value} AS DOUBLE) END"
        )

    checks = [
        "clean",
        f"{event} IS NOT NULL",
        f"length({event}) <= 120",
        f"({v[call['call_source']]} IS NULL OR {call_source} IS NOT NULL)",
        f"({priority} IS NULL OR (regexp_matches({priority}, '^[0-9]{{1,2}}$')"
        f" AND TRY_CAST({priority} AS INTEGER) <= 9))",
        *(ok(column) for column in times),
        coordinate_ok(place["latitude"], 90),
        coordinate_ok(place["longitude"], 180),
        f"({call_sign} IS NULL OR length({call_sign}) <= 40)",
        f"({v[unit['responder_type']]} IS NULL OR {responder} IS NOT NULL)",
    ]
    row_ok = " AND ".join(f"coalesce({check}, false)" for check in checks)
    dispatched = unit["dispatched_at"]
    unit_key = (
        f"{event} || '/' || {call_sign} || '/' || coalesce(strftime({local[dispatched]}, "
        f"'%Y-%m-%dT%H:%M:%S') || z{times.index(dispatched)}.iso, '')"
    )
    joins = " ".join(
        f"LEFT JOIN zone_hours z{index} ON z{index}.hour = date_trunc('hour', {local[column]})"
        for index, column in enumerate(times)
    )
    connection.execute(
        f"""
        CREATE TABLE converted AS
        WITH checked AS (
            SELECT p.*, {row_ok} AS row_ok,
                {", ".join(f"{utc(column)} AS u{times.index(column)}" for column in times)},
                CASE WHEN {call_sign} IS NOT NULL THEN {unit_key} END AS unit_key
            FROM parsed p {joins})
        SELECT n, bool_and(row_ok) OVER (PARTITION BY {event}) AS event_ok,
            {event} AS event,
            {call_source} AS call_source,
            TRY_CAST({priority} AS INTEGER) AS priority,
            {v[call["initial_call_type"]]} AS initial_call_type,
            {v[call["final_call_type"]]} AS final_call_type,
            {v[call["disposition"]]} AS disposition,
            {", ".join(f"u{times.index(call[name])} AS call_{name}" for name in CALL_TIMES)},
            {v[place["street"]]} AS street, {v[place["beat"]]} AS beat,
            {v[place["sector"]]} AS sector, {v[place["precinct"]]} AS precinct,
            {v[place["neighborhood"]]} AS neighborhood,
            {coordinate(place["latitude"])} AS latitude,
            {coordinate(place["longitude"])} AS longitude,
            {call_sign} AS call_sign,
            coalesce({responder}, {_literal(ResponderType.OTHER.value)}) AS responder_type,
            {", ".join(f"u{times.index(unit[name])} AS unit_{name}" for name in UNIT_TIMES)},
            unit_key
        FROM checked;
        DROP TABLE parsed;
        """
    )


def _zone_hour(hour: datetime, zone: ZoneInfo) -> tuple[datetime, int, str, bool]:
    """A local hour's UTC offset in minutes, as ISO text, and whether it is the same for every
    moment of the hour under either reading of a repeated or skipped wall-clock time."""
    start, end = hour, hour + timedelta(minutes=59, seconds=59)
    offsets = {
        moment.replace(tzinfo=zone, fold=fold).utcoffset()
        for moment in (start, end)
        for fold in (0, 1)
    }
    offset = start.replace(tzinfo=zone).utcoffset() or timedelta()
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    iso = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return hour, minutes, iso, len(offsets) == 1


class Lane:
    """One calls file loaded and converted in DuckDB, ready to be written set by set."""

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        workspace: tempfile.TemporaryDirectory[str],
        path: Path,
        options: ReadOptions,
    ) -> None:
        self.connection = connection
        self.workspace = workspace
        self.path = path
        self.options = options

    def __enter__(self) -> Lane:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()
        self.workspace.cleanup()

    def size(self) -> tuple[int, int]:
        """(rows in the file, rows the lane converts itself)."""
        total, taken = self.connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE event_ok) FROM converted"
        ).fetchone() or (0, 0)
        return int(total), int(taken)

    def handed_back(self) -> set[int]:
        """The data-row numbers the row path must read (every row of an event that failed)."""
        rows = self.connection.execute("SELECT n FROM converted WHERE NOT event_ok").fetchall()
        return {number for (number,) in rows}

    def write(self, writer: BatchWriter) -> FileCounts:
        """Insert or update the lane's calls and unit responses; count its rows.

        Within the file the last version of a key wins, as in the row path; a key the store
        has with the same content hash is left alone.
        """
        session = writer.session
        self._keys(writer.cipher)
        self._places(session)
        self._stored(session, writer.source_system_id)
        self._final()
        now = f"{utcnow():%Y-%m-%d %H:%M:%S.%f}"
        provenance = (writer.source_system_id, writer.run_id, now)
        self._insert(session, "call", CallForService, provenance)
        self._update(session, "call", CallForService, provenance)
        self._call_ids(session, writer.source_system_id, writer.run_id)
        self._insert(session, "unit", UnitResponse, provenance)
        self._update(session, "unit", UnitResponse, provenance)
        read, stored = self.connection.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE c.status <> 'same'
                                             OR coalesce(u.status, 'same') <> 'same')
            FROM converted v JOIN call c ON c.source_key = v.event
            LEFT JOIN unit u ON u.source_key = v.unit_key
            WHERE v.event_ok
            """
        ).fetchone() or (0, 0)
        file = str(self.path)
        return FileCounts(path=file, read=read, stored=stored, unchanged=read - stored)

    # -- steps ----------------------------------------------------------------------------

    def _keys(self, cipher: FieldCipher) -> None:
        """The content HMAC's inner and outer pads, so that SQL computes the row path's hash."""
        inner, outer = cipher.content_hash_pads()
        self.connection.execute("CREATE TABLE hmac_pads (inner_pad BLOB, outer_pad BLOB)")
        self.connection.execute("INSERT INTO hmac_pads VALUES (?, ?)", [inner, outer])

    def _places(self, session: Session) -> None:
        """Each distinct place of the lane's calls (their last versions), created in the store if
        new, with its id and canonical text. As in the row path, the first spelling of a place
        the store sees is the one kept."""
        columns = ", ".join(PLACE_FIELDS_IN_LANE)
        found = self.connection.execute(
            f"""
            SELECT {columns}, min(n) AS first FROM (
                SELECT * FROM converted WHERE event_ok
                QUALIFY row_number() OVER (PARTITION BY event ORDER BY n DESC) = 1)
            WHERE NOT ({" AND ".join(f"{c} IS NULL" for c in PLACE_FIELDS_IN_LANE)})
            GROUP BY ALL ORDER BY first
            """
        ).fetchall()
        places: list[tuple[tuple[Any, ...], PlaceIn, str | None]] = []
        by_key: dict[str, PlaceIn] = {}
        for row in found:
            values = row[: len(PLACE_FIELDS_IN_LANE)]
            place = PlaceIn(**dict(zip(PLACE_FIELDS_IN_LANE, values, strict=True)))
            key = place_key(place)
            if key is not None:
                by_key.setdefault(key, place)
            places.append((values, place, key))
        ids = repository.place_ids(session, by_key)
        rows = [
            (*values, ids.get(key) if key else None, encode_value(place_fields(place)))
            for values, place, key in places
        ]
        names = [*PLACE_FIELDS_IN_LANE, "place_id", "canon"]
        types = ["VARCHAR"] * 5 + ["DOUBLE", "DOUBLE", "BIGINT", "VARCHAR"]
        self.connection.execute(
            "CREATE TABLE lane_places ("
            + ", ".join(f"{n} {t}" for n, t in zip(names, types, strict=True))
            + ")"
        )
        if rows:
            table = pyarrow.table(
                {
                    name: list(column)
                    for name, column in zip(names, zip(*rows, strict=True), strict=True)
                }
            )
            self.connection.register("lane_place_rows", table)
            self.connection.execute("INSERT INTO lane_places SELECT * FROM lane_place_rows")
            self.connection.unregister("lane_place_rows")

    def _stored(self, session: Session, source_system_id: int) -> None:
        """What the store already has for this source: key, id and content hash."""
        for name, model in (("stored_call", CallForService), ("stored_unit", UnitResponse)):
            self._keyed(name, repository.keyed_rows(session, model, source_system_id))

    def _keyed(self, name: str, chunks: Iterator[list[tuple[str, int, str]]]) -> None:
        """A table ``name`` of (source_key, id, content_hash) rows read from the store."""
        self.connection.execute(
            f"CREATE TABLE {name} (source_key VARCHAR, id BIGINT, content_hash VARCHAR)"
        )
        for chunk in chunks:
            keys, ids, hashes = zip(*chunk, strict=True)
            table = pyarrow.table({"source_key": keys, "id": ids, "content_hash": hashes})
            self.connection.register("keyed_rows", table)
            self.connection.execute(f"INSERT INTO {name} SELECT * FROM keyed_rows")
            self.connection.unregister("keyed_rows")

    def _call_ids(self, session: Session, source_system_id: int, run_id: int) -> None:
        """Each unit's ``call_id``, once the calls are written: the id of its event's call in
        this source, which the lane has just written or found stored. That is what
        ``resolve_references`` would give it (a key in the same source comes first), so the
        units are stored resolved and no unit row is updated after the run."""
        written = repository.keyed_rows(session, CallForService, source_system_id, run_id=run_id)
        self._keyed("written_call", written)
        self.connection.execute(
            """
            ALTER TABLE unit ADD COLUMN call_id BIGINT;
            UPDATE unit SET call_id = coalesce(w.id, c.existing_id)
            FROM call c LEFT JOIN written_call w ON w.source_key = c.source_key
            WHERE c.source_key = unit.call_key;
            """
        )

    def _final(self) -> None:
        """The last version of each call and unit key, its hash, and whether the store has it
        (``new``), has other content (``changed``) or the same (``same``)."""
        joined = " AND ".join(f"p.{c} IS NOT DISTINCT FROM v.{c}" for c in PLACE_FIELDS_IN_LANE)
        call_canon = _canonical_sql(
            CallIn.kind,
            {
                "agency_key": "NULL",
                "call_source": "call_source",
                "data_category": _literal(CALL_CATEGORY),
                "disposition": "disposition",
                "final_call_type": "final_call_type",
                "initial_call_type": "initial_call_type",
                "notes": "NULL",
                **{name: f"call_{name}" for name in CALL_TIMES},
            },
            integers={"priority": "priority"},
            times={*CALL_TIMES},
            place="p.canon",
        )
        unit_canon = _canonical_sql(
            UnitResponseIn.kind,
            {
                "call_key": "event",
                "call_sign": "call_sign",
                "responder_type": "responder_type",
                "data_category": _literal(UNIT_CATEGORY),
                **{name: f"unit_{name}" for name in UNIT_TIMES},
            },
            times={*UNIT_TIMES},
        )
        hmac = (
            "sha256((SELECT outer_pad FROM hmac_pads) || unhex(sha256("
            "(SELECT inner_pad FROM hmac_pads) || encode({canon}))))"
        )
        call_values = ", ".join(
            [
                "event AS source_key",
                "call_source",
                "priority",
                "initial_call_type",
                "final_call_type",
                "disposition",
                *(f"{_stored_time(f'call_{name}')} AS {name}" for name in CALL_TIMES),
                "p.place_id AS place_id",
                _literal(CALL_CATEGORY) + " AS data_category",
            ]
        )
        unit_values = ", ".join(
            [
                "unit_key AS source_key",
                "event AS call_key",
                "call_sign",
                "responder_type",
                *(f"{_stored_time(f'unit_{name}')} AS {name}" for name in UNIT_TIMES),
                _literal(UNIT_CATEGORY) + " AS data_category",
            ]
        )
        # The last version of each key first, so that places are joined and hashes computed
        # once per key, not once per row.
        for name, key, values, canon, places in (
            ("call", "event", call_values, call_canon, f"LEFT JOIN lane_places p ON {joined}"),
            ("unit", "unit_key", unit_values, unit_canon, ""),
        ):
            self.connection.execute(
                f"""
                CREATE TABLE {name} AS
                WITH last AS (
                    SELECT * FROM converted WHERE event_ok AND {key} IS NOT NULL
                    QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY n DESC) = 1),
                hashed AS (
                    SELECT {values}, {hmac.format(canon=canon)} AS content_hash
                    FROM last v {places})
                SELECT f.*, s.id AS existing_id,
                    CASE WHEN s.id IS NULL THEN 'new'
                         WHEN s.content_hash <> f.content_hash THEN 'changed'
                         ELSE 'same' END AS status
                FROM hashed f LEFT JOIN stored_{name} s ON s.source_key = f.source_key
                """
            )

    def _insert(
        self, session: Session, table: str, model: Any, provenance: tuple[int, int, str]
    ) -> None:
        if not self._count(table, "new"):
            return
        names = self._columns(table)
        source_system_id, run_id, now = provenance
        rows = (
            f"SELECT {', '.join(names)}, {source_system_id}, {run_id}, {_literal(now)} "
            f"FROM {table} WHERE status = 'new'"
        )
        columns = [*names, "source_system_id", "ingest_run_id", "updated_at"]
        target = model.__tablename__
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            # Each row's foreign-key checks keep one plan (planned per row, the COPY took 2.7
            # times as long), made afresh now that the rows they look up are written.
            with kept_plans(session, fresh=True):
                self._copy(connection, target, columns, rows)
            return
        statement = (
            f"INSERT INTO {target} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        result = self.connection.execute(rows)
        while batch := result.fetchmany(FETCH_ROWS):
            connection.exec_driver_sql(statement, batch)  # type: ignore[arg-type]

    def _update(
        self, session: Session, table: str, model: Any, provenance: tuple[int, int, str]
    ) -> None:
        """Rewrite the changed rows. PostgreSQL takes them into a temporary table by COPY and
        updates them in one statement, rather than one statement per row."""
        if not self._count(table, "changed"):
            return
        names = [name for name in self._columns(table) if name != "source_key"]
        # Ids that ingest resolves after the run are emptied, to be resolved afresh, unless the
        # lane has just resolved them itself.
        late_bound = [
            name for name in LATE_BOUND_IDS.get(model.__tablename__, ()) if name not in names
        ]
        _, run_id, now = provenance
        columns = [*names, "ingest_run_id", "updated_at"]
        rows = (
            f"SELECT {', '.join(names)}, {run_id}, {_literal(now)}, existing_id "
            f"FROM {table} WHERE status = 'changed'"
        )
        target = model.__tablename__
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            stage = f"lane_{target}"
            connection.exec_driver_sql(
                f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
                f"SELECT {', '.join(columns)}, id FROM {target} WITH NO DATA"
            )
            self._copy(connection, stage, [*columns, "id"], rows)
            assignments = [f"{name} = s.{name}" for name in columns]
            assignments.extend(f"{name} = NULL" for name in late_bound)
            with kept_plans(session, fresh=True):
                connection.exec_driver_sql(
                    f"UPDATE {target} SET {', '.join(assignments)} FROM {stage} s "
                    f"WHERE {target}.id = s.id"
                )
            connection.exec_driver_sql(f"DROP TABLE {stage}")
            return
        assignments = [f"{name} = ?" for name in columns]
        assignments.extend(f"{name} = NULL" for name in late_bound)
        statement = f"UPDATE {target} SET {', '.join(assignments)} WHERE id = ?"
        result = self.connection.execute(rows)
        while batch := result.fetchmany(FETCH_ROWS):
            connection.exec_driver_sql(statement, batch)  # type: ignore[arg-type]

    def _copy(self, connection: Any, table: str, columns: list[str], rows: str) -> None:
        """COPY the rows of the DuckDB query ``rows`` into PostgreSQL's ``table``, as CSV that
        DuckDB writes to the lane's folder and PostgreSQL reads the same way (NULL unquoted and
        empty, empty text quoted): no Python runs per row."""
        path = Path(self.workspace.name) / f"{table}.csv"
        self.connection.execute(
            f"COPY ({rows}) TO {_literal(str(path))} (FORMAT csv, HEADER false)"
        )
        cursor = connection.connection.driver_connection.cursor()
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
        with path.open("rb") as handle, cursor.copy(statement) as copy:
            while chunk := handle.read(COPY_CHUNK):
                copy.write(chunk)
        path.unlink()

    def _count(self, table: str, status: str) -> int:
        found = self.connection.execute(
            f"SELECT count(*) FROM {table} WHERE status = ?", [status]
        ).fetchone()
        return int(found[0]) if found else 0

    def _columns(self, table: str) -> list[str]:
        described = self.connection.execute(f"DESCRIBE {table}").fetchall()
        return [row[0] for row in described if row[0] not in ("existing_id", "status")]


PLACE_FIELDS_IN_LANE = (
    "street",
    "beat",
    "sector",
    "precinct",
    "neighborhood",
    "latitude",
    "longitude",
)


def _encoded_string(expression: str) -> str:
    """SQL for :func:`~corespond.ingest.tables.encode_value` of a text value."""
    escaped = (
        rf"replace(replace(replace(replace(replace({expression}, '\', '\\'), "
        rf"chr(30), '\e'), chr(29), '\i'), '[', '\('), ']', '\)')"
    )
    return f"CASE WHEN {expression} IS NULL THEN '~' ELSE 's' || {escaped} END"


def _canonical_sql(
    kind: str,
    texts: dict[str, str],
    *,
    integers: dict[str, str] | None = None,
    times: set[str] | None = None,
    place: str | None = None,
) -> str:
    """SQL building :func:`~corespond.ingest.tables.canonical` for a record of ``kind``."""
    encoded: dict[str, str] = {}
    for name, expression in texts.items():
        if name in (times or set()):
            encoded[name] = (
                f"CASE WHEN {expression} IS NULL THEN '~' "
                f"ELSE 't' || strftime({expression}, '%Y-%m-%dT%H:%M:%S') END"
            )
        else:
            encoded[name] = _encoded_string(expression)
    for name, expression in (integers or {}).items():
        encoded[name] = (
            f"CASE WHEN {expression} IS NULL THEN '~' ELSE 'i' || CAST({expression} AS VARCHAR) END"
        )
    parts = [_literal(kind)]
    parts.extend(f"{_literal(name + '=')} || {encoded[name]}" for name in sorted(encoded))
    text = " || chr(30) || ".join(parts)
    if place is not None:
        text += f" || CASE WHEN {place} IS NULL THEN '' ELSE chr(30) || '@place=' || {place} END"
    return text


def _stored_time(column: str) -> str:
    """A UTC time as the store keeps it (SQLAlchemy's SQLite text form; PostgreSQL reads it)."""
    return f"strftime({column}, '%Y-%m-%d %H:%M:%S.%f')"


def read(
    path: Path,
    options: ReadOptions,
    writer: BatchWriter,
    counts: dict[str, FileCounts],
    progress: Callable[[int], None] | None = None,
) -> Iterator[Item]:
    """What ``CadCsvAdapter.read`` yields, except that each calls file the lane can take is
    written by the lane (its counts added to ``counts``) and only its handed-back rows are
    yielded, for the row path.

    Raises:
        SourceError: ``path`` does not exist.
    """
    adapter = CadCsvAdapter()
    for file_path, kind in adapter.files(path, options):
        lane = open_lane(file_path, options) if kind == "calls" else None
        if lane is None:
            if kind is None:
                yield from adapter.read(file_path, options)
            else:
                yield from adapter.read_file(file_path, kind, options)
            continue
        with lane:
            written = lane.write(writer)
            handed_back = lane.handed_back()
        file_counts = counts.setdefault(written.path, FileCounts(path=written.path))
        for name in ("read", "stored", "unchanged"):
            setattr(file_counts, name, getattr(file_counts, name) + getattr(written, name))
        if progress:
            progress(written.read)
        if handed_back:
            yield from adapter.read_file(file_path, "calls", options, only=handed_back)
