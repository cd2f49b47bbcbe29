"""Rotating the field key re-encrypts everything, or nothing."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from corespond import models
from corespond.cli.main import app
from corespond.config import get_settings
from corespond.crypto import FieldCipher
from corespond.db.engine import session_factory, unit_of_work
from support.auth import add

NEW_KEY = base64.b64encode(b"n" * 32).decode()
SSN = b"person_record.ssn"


@pytest.fixture
def stored(store: Engine) -> str:
    """A person record with an SSN, and a user with a TOTP secret, under the current key."""
    old = get_settings().field_encryption_key
    cipher = FieldCipher.from_settings()
    with unit_of_work() as session:
        system = models.SourceSystem(name="rms")
        session.add(system)
        session.flush()
        session.add(
            models.PersonRecord(
                source_system_id=system.id,
                source_key="p1",
                content_hash="x",
                data_category="identity",
                ssn_encrypted=cipher.encrypt("123-45-6780", context=SSN),
            )
        )
    add("rota", "dispatcher")
    return old


def test_rotation_re_encrypts_under_the_new_key(
    stored: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CORESPOND_FIELD_ENCRYPTION_KEY", NEW_KEY)
    get_settings.cache_clear()
    try:
        wrong = CliRunner().invoke(app, ["keys", "rotate", "--old-field-key", NEW_KEY])
        assert wrong.exit_code == 2 and "nothing was changed" in wrong.output

        result = CliRunner().invoke(app, ["keys", "rotate", "--old-field-key", stored])
        assert result.exit_code == 0, result.output
        assert "Re-encrypted 2 values" in result.output
        with session_factory()() as session:
            blob = session.scalar(select(models.PersonRecord.ssn_encrypted))
        assert blob is not None
        assert FieldCipher.from_settings().decrypt(blob, context=SSN) == "123-45-6780"
    finally:
        get_settings.cache_clear()
