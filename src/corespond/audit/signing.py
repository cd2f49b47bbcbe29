"""Ed25519 signing of audit checkpoints, with a key that lives in settings, not the database."""

from __future__ import annotations

import base64

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from corespond.config import get_settings


class Signer:
    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key_hex = (
            self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
        )

    @classmethod
    def from_settings(cls) -> Signer:
        return cls(base64.b64decode(get_settings().audit_signing_key))

    def sign(self, message: bytes) -> str:
        return self._key.sign(message).hex()


def verify_signature(public_key_hex: str, message: bytes, signature_hex: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True
