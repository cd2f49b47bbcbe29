"""One Jinja2 environment over every domain package's templates/ folder."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from corespond.config import get_settings

PACKAGES = (
    "corespond.web", "corespond.access", "corespond.audit", "corespond.ingest", "corespond.calls",
    "corespond.linkage", "corespond.people", "corespond.dispatch", "corespond.outcomes",
)  # fmt: skip

environment = Environment(
    loader=ChoiceLoader([PackageLoader(package, "templates") for package in PACKAGES]),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time as wall-clock time in the jurisdiction's zone."""
    if value is None:
        return ""
    zone = ZoneInfo(get_settings().timezone)
    return value.replace(tzinfo=UTC).astimezone(zone).strftime(fmt)


environment.filters["local"] = local_time
environment.globals["timezone"] = lambda: get_settings().timezone
templates = Jinja2Templates(env=environment)
