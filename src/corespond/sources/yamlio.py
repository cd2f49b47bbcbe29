"""Reading a YAML file into a pydantic model, with one clear error for whatever is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from corespond.sources.base import SourceError

Model = TypeVar("Model", bound=BaseModel)


def load_yaml_model(path: Path, model: type[Model], what: str) -> Model:
    """Parse ``path`` as YAML and validate it as ``model``.

    Raises:
        SourceError: the file cannot be read, is not YAML (PyYAML's own date parsing included),
            or does not fit ``model``; the message lists each problem with its place.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SourceError(f"cannot read {what} {path}: not valid YAML: {exc}") from exc
    except (OSError, UnicodeDecodeError, ValueError, TypeError, RecursionError) as exc:
        raise SourceError(f"cannot read {what} {path}: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or what}: {error['msg']}"
            for error in exc.errors()
        )
        raise SourceError(f"{what} {path} is invalid: {problems}") from None
