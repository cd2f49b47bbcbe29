"""One Jinja2 environment over every domain package's templates/ folder."""

from __future__ import annotations

from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

PACKAGES = ("corespond.web", "corespond.ingest", "corespond.calls")

environment = Environment(
    loader=ChoiceLoader([PackageLoader(package, "templates") for package in PACKAGES]),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=environment)
