"""The formats corespond reads, and detection of a file's format."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from corespond.sources.base import Adapter, SourceError

ADAPTER_PATHS: dict[str, str] = {
    "jurisdiction": "corespond.sources.jurisdiction:JurisdictionAdapter",
    "hmis-csv": "corespond.sources.hmis:HmisCsvAdapter",
    "eido": "corespond.sources.eido:EidoAdapter",
    "fhir": "corespond.sources.fhir:FhirNdjsonAdapter",
    "nemsis": "corespond.sources.nemsis:NemsisAdapter",
    "rms-csv": "corespond.sources.rms_csv:RmsCsvAdapter",
    "cad-csv": "corespond.sources.cad_csv:CadCsvAdapter",
    "mapped-csv": "corespond.sources.mapped_csv:MappedCsvAdapter",
}
"""``--format`` name to adapter class, in detection order (most specific first)."""

NEVER_DETECTED = frozenset({"mapped-csv"})
HEAD_BYTES = 64 * 1024


def adapter_class(name: str) -> type[Adapter]:
    try:
        module_name, class_name = ADAPTER_PATHS[name].split(":")
    except KeyError:
        known = ", ".join(ADAPTER_PATHS)
        raise SourceError(f"unknown format {name!r}; known formats: {known}") from None
    return getattr(import_module(module_name), class_name)  # type: ignore[no-any-return]


def detect(path: Path) -> str | None:
    """The format name of ``path`` (a file, or a folder for HMIS), or None if none fits."""
    head = b""
    if path.is_file():
        with path.open("rb") as handle:
            head = handle.read(HEAD_BYTES)
    for name in ADAPTER_PATHS:
        if name not in NEVER_DETECTED and adapter_class(name).sniff(path, head):
            return name
    return None
