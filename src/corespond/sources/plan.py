"""Planning an import: which export belongs to which source system, in which format.

``corespond ingest PATH...`` names files and folders; this turns them into one :class:`Export`
per source system's export, so that ``ingest/`` only runs them and knows no format.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from corespond.sources.base import ReadOptions, SourceError
from corespond.sources.jurisdiction import FILE_NAME, load_jurisdiction
from corespond.sources.registry import adapter_class, detect


@dataclass(frozen=True)
class Export:
    """One source system's export: a path, its format and whose it is."""

    path: Path
    format: str
    source: str
    agency_key: str | None = None
    options: ReadOptions = field(default_factory=ReadOptions)


def plan_exports(
    paths: list[Path],
    *,
    format: str | None = None,
    source: str | None = None,
    options: ReadOptions | None = None,
    timezone: tzinfo | None = None,
    default_timezone: str,
) -> list[Export]:
    """Turn the paths given to ``corespond ingest`` into runs.

    A folder holding a jurisdiction file is imported as that file declares: the jurisdiction
    first, then each source system's exports under its own name and format. Any other folder
    is taken file by file (an HMIS export folder is one source). Times without an offset are
    read in ``timezone`` if given, else the jurisdiction's zone, else ``CORESPOND_TIMEZONE``.
    Raises :class:`SourceError` for a path that does not exist or whose format cannot be told.
    """
    base = options or ReadOptions()
    tasks: list[Export] = []
    for path in paths:
        if not path.exists():
            raise SourceError(f"{path}: no such file or folder")
        if format is None and path.is_dir() and (path / FILE_NAME).is_file():
            tasks.extend(_jurisdiction_tasks(path / FILE_NAME, base, timezone))
            continue
        if format is None and path.is_dir() and detect(path) is None:
            children = sorted(p for p in path.iterdir() if not p.name.startswith("."))
            tasks.extend(
                plan_exports(
                    children,
                    source=source,
                    options=options,
                    timezone=timezone,
                    default_timezone=default_timezone,
                )
            )
            continue
        name = format or detect(path)
        if name is None:
            raise SourceError(f"{path}: cannot tell the format; name it with --format")
        adapter = adapter_class(name)()
        zone = timezone or ZoneInfo(default_timezone)
        tasks.append(
            Export(
                path,
                name,
                source or adapter.default_source_name(path),
                options=replace(base, timezone=zone),
            )
        )
    return tasks


def _jurisdiction_tasks(file: Path, base: ReadOptions, timezone: tzinfo | None) -> list[Export]:
    jurisdiction = load_jurisdiction(file)
    options = replace(base, timezone=timezone or jurisdiction.zone)
    tasks = [Export(file, "jurisdiction", "jurisdiction", options=options)]
    for agency in jurisdiction.agencies:
        for declared in agency.sources:
            path = (file.parent / declared.path).resolve()
            if not path.exists():
                raise SourceError(f"{file}: source {declared.name!r} path {path} does not exist")
            adapter_class(declared.format)  # an unknown format fails here, before any import
            tasks.append(Export(path, declared.format, declared.name, agency.key, options))
    return tasks
