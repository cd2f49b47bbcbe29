"""Who may sign in: users of an agency with roles, their sessions, sign-in attempts and tokens."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, utcnow


class User(Base):
    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("oidc_issuer", "oidc_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id"), index=True)
    roles: Mapped[str] = mapped_column(String(400))
    """Space-separated roles (``access.roles.Role``)."""
    password_hash: Mapped[str] = mapped_column(String(200))
    """Argon2id, with its parameters (PHC string)."""
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    """The TOTP secret, AES-GCM encrypted; None until multi-factor is (re)enrolled."""
    locked_at: Mapped[datetime | None] = mapped_column(DateTime)
    """Set after 5 failed sign-ins in 15 minutes; only an administrator clears it."""
    lock_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    oidc_issuer: Mapped[str | None] = mapped_column(String(500))
    """The agency identity provider this user signs in through (its issuer URL), if any."""
    oidc_subject: Mapped[str | None] = mapped_column(String(255))
    """The user's ``sub`` at that provider, linked by an administrator."""


class SignInAttempt(Base):
    """Every sign-in attempt, for lockout (the audit log has them too)."""

    __tablename__ = "sign_in_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    username: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(100))


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; the table holds its hash."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    """None while only the password step is done (``pending_user_id`` then holds the user)."""
    pending_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    purpose: Mapped[str | None] = mapped_column(String(40))
    """The purpose of use the user is working under."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    authenticated_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class ApiToken(Base):
    """A scoped token for an API client acting for a user."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(400))
    """Space-separated, such as ``calls:read linkage:review``."""
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    uses: Mapped[int] = mapped_column(Integer, default=0)


class SharingAgreement(Base):
    """An agreement between two agencies, of one of two kinds.

    ``minimal_view``: an information-sharing agreement (a memorandum of understanding); under
    it, each sees the other's minimal shared view (identity, cautions).
    ``dispatch``: agency A, a dispatch centre, dispatches for agency B (an interlocal or
    dispatch-services agreement); under it, B's users see A's call data. One way only.
    """

    __tablename__ = "sharing_agreement"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(
        String(20), default="minimal_view", server_default="minimal_view"
    )
    """``minimal_view`` or ``dispatch``."""
    agency_a_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    """For a dispatch agreement: the dispatch centre."""
    agency_b_id: Mapped[int] = mapped_column(ForeignKey("agency.id"), index=True)
    """For a dispatch agreement: the agency it dispatches for."""
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class EmergencyAccess(Base):
    """Break-the-glass or serious-threat access: one user, one person, a reason, a short expiry,
    flagged until the agency's auditor reviews it."""

    __tablename__ = "emergency_access"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    """``break_glass`` or ``serious_threat``."""
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
