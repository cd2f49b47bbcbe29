"""The jurisdiction file: agencies and their source systems, the beat map, and programs.

Format in docs/data-formats.md. It is reference data like any other import, so it goes through
ingest with provenance; ``load_jurisdiction`` also tells ``corespond ingest FOLDER`` which source
system each export in the folder belongs to.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from corespond.sources.base import Item, ReadOptions, Rejection, SourceError, SourceRow
from corespond.sources.records import AgencyIn, AgencyKind, BeatIn, ProgramIn, Record
from corespond.sources.yamlio import load_yaml_model

FILE_NAME = "jurisdiction.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceDeclaration(_Strict):
    name: str = Field(min_length=1)
    format: str = Field(min_length=1)
    path: str = Field(min_length=1)


class AgencyDeclaration(_Strict):
    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    kind: AgencyKind
    ori: str | None = None
    criminal_justice: bool | None = None
    sources: list[SourceDeclaration] = []


class BeatDeclaration(_Strict):
    beat: str = Field(min_length=1)
    sector: str | None = None
    precinct: str | None = None
    neighborhood: str | None = None


class ProgramDeclaration(_Strict):
    key: str = Field(min_length=1)
    name: str = Field(min_length=1)
    agency: str | None = None
    type: str = Field(min_length=1)
    start_date: date | None = None
    end_date: date | None = None
    beats: list[str] = []
    hours: tuple[int, int] | None = None


class Jurisdiction(_Strict):
    jurisdiction: str = Field(min_length=1)
    timezone: str = "UTC"
    agencies: list[AgencyDeclaration] = []
    beats: list[BeatDeclaration] = []
    programs: list[ProgramDeclaration] = []

    @field_validator("timezone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def load_jurisdiction(path: Path) -> Jurisdiction:
    """Parse and validate a jurisdiction file; :class:`SourceError` says what is wrong."""
    return load_yaml_model(path, Jurisdiction, "jurisdiction file")


class JurisdictionAdapter:
    name: ClassVar[str] = "jurisdiction"
    description: ClassVar[str] = "agencies, source systems, beats and programs (YAML)"

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return path.name == FILE_NAME or (path.is_dir() and (path / FILE_NAME).is_file())

    def default_source_name(self, path: Path) -> str:
        return "jurisdiction"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        if path.is_dir():
            path = path / FILE_NAME
        try:
            jurisdiction = load_jurisdiction(path)
        except SourceError as exc:
            raw = (
                path.read_text(encoding="utf-8", errors="backslashreplace")
                if path.is_file()
                else ""
            )
            yield Rejection(str(path), "file", str(exc), raw)
            return
        for index, agency in enumerate(jurisdiction.agencies):
            yield self._row(
                path,
                f"agencies[{index}]",
                AgencyIn(
                    source_key=agency.key,
                    name=agency.name,
                    agency_kind=agency.kind,
                    ori=agency.ori,
                    criminal_justice=agency.criminal_justice,
                ),
            )
        for index, beat in enumerate(jurisdiction.beats):
            yield self._row(
                path,
                f"beats[{index}]",
                BeatIn(
                    source_key=beat.beat,
                    sector=beat.sector,
                    precinct=beat.precinct,
                    neighborhood=beat.neighborhood,
                ),
            )
        for index, program in enumerate(jurisdiction.programs):
            hours = program.hours or (None, None)
            yield self._row(
                path,
                f"programs[{index}]",
                ProgramIn(
                    source_key=program.key,
                    name=program.name,
                    agency_key=program.agency,
                    program_type=program.type,
                    start_date=program.start_date,
                    end_date=program.end_date,
                    beats=tuple(program.beats),
                    hours_start=hours[0],
                    hours_end=hours[1],
                ),
            )

    @staticmethod
    def _row(path: Path, locator: str, record: Record) -> SourceRow:
        return SourceRow(str(path), locator, (record,))
