"""Field encryption (AES-256-GCM) and keyed blind indexes (HMAC-SHA256).

A sensitive value is stored as ``key id (1 byte) | nonce (12) | ciphertext+tag``; the key id lets
``corespond keys rotate`` re-encrypt under a new key. A blind index is an HMAC of a normalised
value under a separate key, so equal values can be matched without storing or revealing them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from corespond.config import Settings, get_settings

KEY_ID = 1
NONCE_BYTES = 12


class DecryptionError(Exception):
    """Ciphertext that this key cannot open (tampered, or another key)."""


@dataclass(frozen=True)
class FieldCipher:
    key: bytes
    index_key: bytes

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> FieldCipher:
        settings = settings or get_settings()
        return cls(
            base64.b64decode(settings.field_encryption_key),
            base64.b64decode(settings.blind_index_key),
        )

    def encrypt(self, plaintext: str, *, context: bytes) -> bytes:
        """Encrypt; ``context`` (e.g. the column name) is bound as associated data."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.key).encrypt(nonce, plaintext.encode(), context)
        return bytes([KEY_ID]) + nonce + sealed

    def decrypt(self, blob: bytes, *, context: bytes) -> str:
        if len(blob) < 1 + NONCE_BYTES + 16 or blob[0] != KEY_ID:
            raise DecryptionError("unknown key id or truncated value")
        nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
        try:
            return AESGCM(self.key).decrypt(nonce, sealed, context).decode()
        except Exception as exc:
            raise DecryptionError("value does not decrypt under this key") from exc

    def blind_index(self, value: str, *, context: bytes) -> str:
        return hmac.new(
            self.index_key, context + b"\x00" + value.encode(), hashlib.sha256
        ).hexdigest()

    def content_hash(self, canonical: bytes) -> str:
        """Keyed hash of a record's canonical form: detects change, reveals nothing."""
        digest = _content_base(self.index_key).copy()
        digest.update(canonical)
        return digest.hexdigest()

    def content_hash_pads(self) -> tuple[bytes, bytes]:
        """HMAC-SHA256's inner block (with the content prefix) and outer block for the content
        hash, for code that computes the same hash elsewhere (the CAD lane does it in SQL):
        ``sha256(outer + sha256(inner + canonical))`` equals :meth:`content_hash`."""
        block = self.index_key.ljust(64, b"\x00")
        inner = bytes(byte ^ 0x36 for byte in block) + b"content\x00"
        outer = bytes(byte ^ 0x5C for byte in block)
        return inner, outer


@lru_cache(maxsize=4)
def _content_base(index_key: bytes) -> hmac.HMAC:
    """The content HMAC keyed and primed once: copying it is a third of the cost of a new one."""
    return hmac.new(index_key, b"content\x00", hashlib.sha256)


JUNK_SSNS = frozenset({"123456789", "987654321", "078051120", "219099999"})


def ssn_status(digits: str | None) -> str | None:
    """``valid``, ``junk`` or ``malformed`` for an SSN's digits (None when there is none).

    Junk values are the placeholders real systems are full of: all one digit, 123456789, area
    000, 666 or 900-999 (never issued), group 00 or serial 0000.
    """
    if not digits:
        return None
    if len(digits) != 9:
        return "malformed"
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if (
        digits in JUNK_SSNS
        or len(set(digits)) == 1
        or area in {"000", "666"}
        or area >= "900"
        or group == "00"
        or serial == "0000"
    ):
        return "junk"
    return "valid"
