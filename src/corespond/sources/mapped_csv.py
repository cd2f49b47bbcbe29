"""Any CSV plus a YAML mapping (``mapped-csv``): another city's export without new code.

The mapping (``ReadOptions.mapping``, the CLI's ``--mapping``) names the record kinds each row
carries, the source column (or template, or constant) of each canonical field, datetime formats,
value maps for coded fields, and a key template per record. It is validated when the adapter
reads it; a bad mapping raises :class:`SourceError` saying what is wrong and where. The format is
documented, with a worked example, in ``docs/mapped-csv.md``.

Example:
    >>> from corespond.sources.base import ReadOptions
    >>> options = ReadOptions(mapping=Path("nola-cfs.yaml"))
    >>> items = list(MappedCsvAdapter().read(Path("calls_2019.csv"), options))  # doctest: +SKIP
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from datetime import UTC, date, datetime, tzinfo
from enum import Enum
from pathlib import Path
from typing import Any, ClassVar, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from corespond.sources.base import Item, ReadOptions, SourceError
from corespond.sources.csvio import convert_rows
from corespond.sources.parse import (
    FieldError,
    blank,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_float,
    parse_int,
    text,
)
from corespond.sources.records import RECORD_TYPES, AddressIn, PlaceIn, Record
from corespond.sources.yamlio import load_yaml_model

RECORD_KINDS: dict[str, type[Record]] = {record.kind: record for record in RECORD_TYPES}
NESTED: dict[str, type[BaseModel]] = {"place": PlaceIn, "address": AddressIn}
"""Fields holding a nested model, mapped part by part as ``place.street``, ``address.zip``."""
UNMAPPABLE = frozenset({"source_key", "aliases"})
"""``source_key`` comes from ``key``; aliases are lists of names no single column holds."""
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
CATCH_ALL = "*"


def columns_of(template: str) -> list[str]:
    """The column names a ``{Column}`` template refers to."""
    return _PLACEHOLDER.findall(template)


def fill(template: str, values: dict[str, str]) -> str:
    """The template with each ``{Column}`` replaced by the row's stripped value."""
    return _PLACEHOLDER.sub(lambda match: (values.get(match.group(1)) or "").strip(), template)


class FieldMap(BaseModel):
    """Where one canonical field comes from, and how its text is turned into a value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None
    template: str | None = None
    value: str | int | float | bool | None = None
    """A constant, the same on every row."""
    formats: tuple[str, ...] = ()
    """``strptime`` formats tried first for a date or datetime field."""
    pattern: str | None = None
    """A regular expression; its first group (or the whole match) is kept. No match: blank."""
    values: dict[str, str] | None = None
    """Source value → canonical value, matched without regard to case. ``"*"`` catches the
    rest; without it an unlisted value rejects the row."""

    @model_validator(mode="after")
    def _one_source(self) -> FieldMap:
        given = [
            name for name in ("column", "template", "value") if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of column, template or value (got {given or 'none'})"
            )
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(
                    f"pattern {self.pattern!r} is not a regular expression: {exc}"
                ) from exc
        return self

    @property
    def columns(self) -> list[str]:
        if self.column is not None:
            return [self.column]
        return columns_of(self.template) if self.template is not None else []

    def raw(self, values: dict[str, str]) -> str | None:
        """The source text for this field on one row, after ``pattern`` and ``values``."""
        if self.value is not None:
            return str(self.value)
        found = (
            values.get(self.column)
            if self.column is not None
            else fill(self.template or "", values)
        )
        if blank(found):
            return None
        found = found.strip()  # type: ignore[union-attr]
        if self.pattern is not None:
            match = re.search(self.pattern, found)
            if match is None:
                return None
            found = match.group(1) if match.groups() else match.group()
        if self.values is not None:
            mapped = {key.strip().upper(): value for key, value in self.values.items()}
            if found.upper() in mapped:
                return mapped[found.upper()]
            if CATCH_ALL in mapped:
                return mapped[CATCH_ALL]
            known = ", ".join(sorted(key for key in self.values if key != CATCH_ALL))
            raise FieldError(
                self.column or "value", found, f"unknown code; expected one of {known}"
            )
        return found


def _field_type(model: type[BaseModel], name: str) -> Any:
    """The type a field holds, without ``None`` (``datetime | None`` → ``datetime``)."""
    annotation = model.model_fields[name].annotation
    if typing.get_origin(annotation) in (Union, types.UnionType):
        kinds = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        annotation = kinds[0] if len(kinds) == 1 else str
    return annotation


class RecordMap(BaseModel):
    """One canonical record built from each row."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    key: str = Field(min_length=1)
    """Template of the record's ``source_key``, e.g. ``"{NOPD_Item}/{Unit}"``."""
    when_present: str | None = None
    """A column: the record is made only on rows where it is filled (a call with no unit)."""
    fields: dict[str, str | FieldMap] = {}
    """Canonical field (``place.street`` for a nested part) → column name, or a full map."""

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        if kind not in RECORD_KINDS:
            raise ValueError(f"unknown record kind {kind!r}; known: {', '.join(RECORD_KINDS)}")
        return kind

    @model_validator(mode="after")
    def _known_fields(self) -> RecordMap:
        model = RECORD_KINDS[self.kind]
        for name in self.fields:
            owner, _, part = name.partition(".")
            if part and not (owner in NESTED and part in NESTED[owner].model_fields):
                raise ValueError(f"{self.kind}: unknown field {name!r}")
            mappable = owner in model.model_fields and owner not in {*NESTED, *UNMAPPABLE}
            if not part and not mappable:
                raise ValueError(f"{self.kind}: unknown or unmappable field {name!r}")
        required = [
            name
            for name, info in model.model_fields.items()
            if info.is_required() and name != "source_key" and name not in self.fields
        ]
        if required:
            raise ValueError(f"{self.kind}: required fields not mapped: {', '.join(required)}")
        for name in self.fields:
            if self.field(name).value is not None:  # a bad constant is a bad mapping
                self.convert(name, {}, UTC, ())  # any zone will do
        return self

    def field(self, name: str) -> FieldMap:
        spec = self.fields[name]
        return FieldMap(column=spec) if isinstance(spec, str) else spec

    @property
    def columns(self) -> set[str]:
        used = {column for name in self.fields for column in self.field(name).columns}
        return used | set(columns_of(self.key)) | ({self.when_present} - {None})  # type: ignore[operator]

    def convert(
        self, name: str, values: dict[str, str], tz: tzinfo, formats: tuple[str, ...]
    ) -> Any:
        """The canonical value of field ``name`` on one row."""
        spec = self.field(name)
        raw = spec.raw(values)
        owner, _, part = name.partition(".")
        model: type[BaseModel] = NESTED[owner] if part else RECORD_KINDS[self.kind]
        kind = _field_type(model, part or owner)
        label = spec.column or name
        if typing.get_origin(kind) is tuple:
            item = typing.get_args(kind)[0]
            return () if raw is None else (_typed(label, raw, item, tz, spec.formats or formats),)
        return None if raw is None else _typed(label, raw, kind, tz, spec.formats or formats)

    def build(self, values: dict[str, str], tz: tzinfo, mapping: Mapping) -> Record | None:
        if self.when_present is not None and blank(values.get(self.when_present)):
            return None
        missing = [column for column in columns_of(self.key) if blank(values.get(column))]
        if missing:
            raise FieldError(
                missing[0], values.get(missing[0]), f"{self.kind} key: missing required field"
            )
        data: dict[str, Any] = {"source_key": fill(self.key, values)}
        for name in self.fields:
            formats = (
                mapping.date_formats if _is_date(self.kind, name) else mapping.datetime_formats
            )
            value = self.convert(name, values, tz, formats)
            owner, _, part = name.partition(".")
            if part:
                if value is not None:
                    data.setdefault(owner, {})[part] = value
            else:
                data[owner] = value
        return RECORD_KINDS[self.kind].model_validate(data)


def _is_date(kind: str, name: str) -> bool:
    owner, _, part = name.partition(".")
    model: type[BaseModel] = NESTED[owner] if part else RECORD_KINDS[kind]
    return _field_type(model, part or owner) is date


def _typed(label: str, raw: str, kind: Any, tz: tzinfo, formats: tuple[str, ...]) -> Any:
    """``raw`` as a value of ``kind``, with an error naming the column."""
    if kind is datetime:
        return parse_datetime(label, raw, tz, formats)
    if kind is date:
        return parse_date(label, raw, formats)
    if kind is bool:
        return parse_bool(label, raw)
    if kind is int:
        return parse_int(label, raw)
    if kind is float:
        return parse_float(label, raw)
    if isinstance(kind, type) and issubclass(kind, Enum):
        known = {member.value: member for member in kind}
        if raw.lower() not in known:
            raise FieldError(label, raw, f"unknown code; expected one of {', '.join(known)}")
        return known[raw.lower()]
    return text(raw)


class Mapping(BaseModel):
    """A whole mapping file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    datetime_formats: tuple[str, ...] = ()
    """``strptime`` formats tried first for every datetime field (ISO and US forms follow)."""
    date_formats: tuple[str, ...] = ()
    records: tuple[RecordMap, ...] = Field(min_length=1)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(sorted(set().union(*(record.columns for record in self.records))))

    def row_records(self, values: dict[str, str], tz: tzinfo) -> tuple[Record, ...]:
        built = (record.build(values, tz, self) for record in self.records)
        return tuple(record for record in built if record is not None)


def load_mapping(path: Path | None) -> Mapping:
    """Read and validate a mapping file.

    Raises:
        SourceError: no mapping given, the file cannot be read, is not YAML, or is not a valid
            mapping (the message lists each problem with its place in the file).
    """
    if path is None:
        raise SourceError("mapped-csv needs a mapping: pass --mapping FILE")
    return load_yaml_model(path, Mapping, "mapping")


class MappedCsvAdapter:
    """Reads any CSV through a YAML mapping; never detected, always named."""

    name: ClassVar[str] = "mapped-csv"
    description: ClassVar[str] = "any CSV, with a YAML mapping (--mapping FILE)"

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        """Always False: a CSV's meaning is in its mapping, so this format must be named."""
        return False

    def default_source_name(self, path: Path) -> str:
        """The file's (or folder's) name."""
        return f"mapped-csv:{path.stem}"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        """Yield one item per row of ``path`` (a CSV file, or a folder's ``*.csv`` by name).

        Raises:
            SourceError: the mapping is missing or invalid, or ``path`` does not exist.
        """
        mapping = load_mapping(options.mapping)
        if path.is_dir():
            files = sorted(file for file in path.glob("*.csv") if file.is_file())
        elif path.is_file():
            files = [path]
        else:
            raise SourceError(f"{path}: no such file or folder")
        tz = options.timezone
        for file in files:
            yield from convert_rows(
                file, options, lambda row: mapping.row_records(row.values, tz), mapping.columns
            )
