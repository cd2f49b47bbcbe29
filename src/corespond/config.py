"""The one place corespond reads its environment; docs/configuration.md documents each setting."""

from __future__ import annotations

import base64
from datetime import date
from enum import StrEnum
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Mode(StrEnum):
    DEVELOPMENT = "development"
    DEMO = "demo"
    PRODUCTION = "production"


# Development-only keys: public, and refused in production (see ``Settings.refuse_dev_keys``).
DEV_FIELD_KEY = base64.b64encode(b"corespond-dev-field-key-32bytes!").decode()
DEV_BLIND_INDEX_KEY = base64.b64encode(b"corespond-dev-blind-index-key-32").decode()
DEV_AUDIT_SIGNING_KEY = base64.b64encode(b"corespond-dev-audit-signing-key!").decode()


DEFAULT_MFA_METHODS = ("mfa", "otp", "hwk", "swk", "sc")
"""RFC 8176 ``amr`` values taken as a second factor unless a provider names its own."""


class OidcProvider(BaseModel):
    """An agency's own OpenID Connect identity provider (one entry of
    ``CORESPOND_OIDC_PROVIDERS``, keyed by the agency's key)."""

    model_config = {"extra": "forbid", "frozen": True}

    issuer: str
    """The issuer exactly as the provider writes it in ``iss``; its discovery document is
    ``<issuer>/.well-known/openid-configuration``."""
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    name: str = ""
    """What the sign-in button says after "Sign in with"; the agency's name if empty."""
    mfa_methods: tuple[str, ...] = Field(default=DEFAULT_MFA_METHODS, min_length=1)
    """``amr`` values of which the ID token must carry at least one (CJIS IA-2 multi-factor)."""
    redirect_uri: str | None = None
    """The callback registered at the provider, when the address corespond sees differs
    (behind a proxy that does not forward the scheme and host)."""

    @field_validator("issuer")
    @classmethod
    def issuer_is_a_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query:
            raise ValueError(f"the issuer {value!r} is not an http(s) URL")
        return value

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    @field_validator("client_secret")
    @classmethod
    def secret_given(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value():
            raise ValueError("an identity provider needs its client secret")
        return value


class Settings(BaseSettings):
    """corespond settings, from ``CORESPOND_*`` environment variables (or a ``.env`` file)."""

    model_config = SettingsConfigDict(env_prefix="CORESPOND_", env_file=".env", extra="ignore")

    mode: Mode = Mode.DEVELOPMENT
    """``development``, ``demo`` or ``production``; production refuses development keys."""
    database_url: str = "sqlite:///var/corespond.db"
    """SQLAlchemy URL. SQLite by default; ``postgresql+psycopg://user@host/db`` in production."""
    timezone: str = "America/Los_Angeles"
    """IANA zone of imported wall-clock times without offset, unless the jurisdiction names one."""
    field_encryption_key: str = DEV_FIELD_KEY
    """Base64 of 32 bytes: AES-256-GCM key that encrypts SSNs and other sensitive fields at rest."""
    blind_index_key: str = DEV_BLIND_INDEX_KEY
    """Base64 of 32 bytes: HMAC-SHA256 key of the blind indexes used to match SSNs exactly."""
    ingest_batch_size: int = Field(default=2000, ge=1, le=100_000)
    """Rows written per batch during ingest; memory grows with this, not with the file."""
    ingest_set_lane: bool = True
    """Read CAD calls files through the set-based DuckDB lane (rows it cannot convert exactly
    still take the row path); false reads every row through the row path."""
    sqlite_busy_timeout_ms: int = Field(default=15_000, ge=0)
    """How long a SQLite writer waits for a lock before failing."""
    link_threshold: float = Field(default=0.5, gt=0, lt=1)
    """Match probability at or above which two person records are linked into one person."""
    review_threshold: float = Field(default=0.2, gt=0, lt=1)
    """Pairs scoring from here up to the link threshold go to a data steward's review queue."""
    outcome_definitions: str | None = None
    """A YAML file of outcome definitions (eligible calls, frequent utilizers, margins) to use
    instead of the packaged ones (docs/metrics.md)."""
    warm_matcher: bool = True
    """Build the online matcher's in-memory index when the app starts (in the background), so
    that the first 911 lookups and live incidents do not wait on it or read the store."""
    audit_signing_key: str = DEV_AUDIT_SIGNING_KEY
    """Base64 of a 32-byte Ed25519 seed that signs audit checkpoints; keep it off the database
    host (a secret store). ``openssl rand -base64 32`` makes one."""
    audit_checkpoint_every: int = Field(default=1000, ge=0)
    """Sign the audit chain's head every this many events (0: only on demand)."""
    oidc_providers: dict[str, OidcProvider] = {}
    """Agencies that sign their users in through their own OpenID Connect provider, as JSON
    ``{agency_key: {issuer, client_id, client_secret, ...}}``; holds secrets (a secret store)."""
    as_of: date | None = None
    """The day the person pages and worklists count "recent" from (the last 12 months of
    contacts, treatment in the last 90 days, the caseload): today when unset. Set it only for
    a demo or training store whose data ends in the past (``make demo`` sets the city's last
    day); deadlines such as a referral's due date always count from today."""
    spark_master: str = "local[2]"
    """Where ``--backend spark`` linkage runs: ``local[N]``, or a cluster's ``spark://host:7077``."""

    @field_validator("timezone")
    @classmethod
    def known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"CORESPOND_TIMEZONE {value!r} is not an IANA time zone") from None
        return value

    @model_validator(mode="after")
    def review_band(self) -> Settings:
        if self.review_threshold >= self.link_threshold:
            raise ValueError(
                "CORESPOND_REVIEW_THRESHOLD must be below CORESPOND_LINK_THRESHOLD "
                f"({self.review_threshold} >= {self.link_threshold})"
            )
        return self

    @model_validator(mode="after")
    def refuse_dev_keys(self) -> Settings:
        if self.mode is Mode.PRODUCTION and (
            self.field_encryption_key == DEV_FIELD_KEY
            or self.blind_index_key == DEV_BLIND_INDEX_KEY
            or self.audit_signing_key == DEV_AUDIT_SIGNING_KEY
        ):
            raise ValueError(
                "production mode refuses the development keys: set "
                "CORESPOND_FIELD_ENCRYPTION_KEY, CORESPOND_BLIND_INDEX_KEY and "
                "CORESPOND_AUDIT_SIGNING_KEY "
                "(base64 of 32 random bytes each, e.g. `openssl rand -base64 32`)"
            )
        for key, provider in self.oidc_providers.items():
            if self.mode is Mode.PRODUCTION and urlsplit(provider.issuer).scheme != "https":
                raise ValueError(
                    f"production mode refuses the identity provider of {key!r} over plain HTTP"
                )
        for name in ("field_encryption_key", "blind_index_key", "audit_signing_key"):
            try:
                raw = base64.b64decode(getattr(self, name), validate=True)
            except ValueError:
                raise ValueError(f"CORESPOND_{name.upper()} is not valid base64") from None
            if len(raw) != 32:
                raise ValueError(f"CORESPOND_{name.upper()} must decode to 32 bytes")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
