"""Documentation the code must keep honest."""

from __future__ import annotations

from pathlib import Path

import pytest

from corespond.config import Settings
from corespond.sources.registry import ADAPTER_PATHS

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`CORESPOND_{name.upper()}`" in (DOCS / "configuration.md").read_text()


@pytest.mark.parametrize("name", sorted(ADAPTER_PATHS))
def test_every_format_is_documented(name: str) -> None:
    assert f"`{name}`" in (DOCS / "data-formats.md").read_text()


def test_production_refuses_development_keys() -> None:
    with pytest.raises(ValueError, match="refuses the development keys"):
        Settings(mode="production")
