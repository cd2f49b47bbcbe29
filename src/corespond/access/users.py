"""Users: adding them, signing them in with a password and a TOTP code or through their
agency's identity provider, locking them out.

CJIS AC-7: five failed attempts within 15 minutes lock the account until an administrator
unlocks it. Every attempt, success or failure, and every administrative change is audited in
the same transaction (CJIS AU-2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyotp
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from corespond import models
from corespond.access.passwords import check_policy, hash_password, needs_rehash, verify_password
from corespond.access.roles import Role, parse_roles
from corespond.audit.chain import record
from corespond.config import OidcProvider, get_settings
from corespond.crypto import FieldCipher
from corespond.models.base import utcnow

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
TOTP_CONTEXT = b"app_user.totp"
ISSUER = "corespond"
_DUMMY_HASH = hash_password("not-a-real-password-at-all")
"""Verified against when the username is unknown, so that timing does not reveal which exist."""


class UserError(Exception):
    """The change cannot be made; the message says why."""


class SignInFailed(Exception):
    """Sign-in refused. The message is safe to show: it never says which part was wrong."""


@dataclass
class NewUser:
    user: models.User
    totp_secret: str
    """Shown once, to enrol an authenticator app; stored only encrypted."""

    def provisioning_uri(self) -> str:
        return pyotp.TOTP(self.totp_secret).provisioning_uri(
            name=self.user.username, issuer_name=ISSUER
        )


def add_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    roles: str,
    password: str,
    agency_id: int | None,
    by: str = "system",
    totp_secret: str | None = None,
) -> NewUser:
    """Create a user with an Argon2id password hash and a fresh TOTP secret."""
    username = username.strip().lower()
    if not username or len(username) > 100:
        raise UserError("a username is 1 to 100 characters")
    if session.scalar(select(models.User.id).where(models.User.username == username)):
        raise UserError(f"user {username!r} already exists")
    try:
        role_set = parse_roles(roles)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    check_policy(password, username=username)
    if agency_id is not None and session.get(models.Agency, agency_id) is None:
        raise UserError(f"agency {agency_id} does not exist")
    secret = totp_secret or pyotp.random_base32()
    user = models.User(
        username=username,
        display_name=display_name.strip() or username,
        agency_id=agency_id,
        roles=" ".join(sorted(role_set)),
        password_hash=hash_password(password),
        totp_secret_encrypted=FieldCipher.from_settings().encrypt(secret, context=TOTP_CONTEXT),
    )
    session.add(user)
    session.flush()
    record(
        session, action="admin.user_added", actor=by, agency_id=agency_id,
        detail={"user_id": user.id, "username": username, "roles": user.roles},
    )  # fmt: skip
    return NewUser(user, secret)


def get_user(session: Session, username: str) -> models.User:
    user = session.scalar(
        select(models.User).where(models.User.username == username.strip().lower())
    )
    if user is None:
        raise UserError(f"no user {username!r}")
    return user


def lock(
    session: Session, username: str, *, by: str, reason: str = "locked by administrator"
) -> None:
    user = get_user(session, username)
    user.locked_at = utcnow()
    user.lock_reason = reason
    record(
        session, action="admin.user_locked", actor=by, agency_id=user.agency_id,
        detail={"user_id": user.id, "reason": reason},
    )  # fmt: skip


def unlock(session: Session, username: str, *, by: str) -> None:
    user = get_user(session, username)
    user.locked_at = None
    user.lock_reason = None
    # A fresh window: the failures before the unlock no longer count.
    session.add(
        models.SignInAttempt(
            user_id=user.id, username=user.username, success=True, reason="unlocked"
        )
    )
    record(
        session, action="admin.user_unlocked", actor=by, agency_id=user.agency_id,
        detail={"user_id": user.id},
    )  # fmt: skip


def reset_mfa(session: Session, username: str, *, by: str) -> NewUser:
    """A new TOTP secret (the old authenticator stops working at once)."""
    user = get_user(session, username)
    secret = pyotp.random_base32()
    user.totp_secret_encrypted = FieldCipher.from_settings().encrypt(secret, context=TOTP_CONTEXT)
    record(
        session, action="admin.mfa_reset", actor=by, agency_id=user.agency_id,
        detail={"user_id": user.id},
    )  # fmt: skip
    return NewUser(user, secret)


def check_password(session: Session, username: str, password: str) -> models.User:
    """First step of sign-in. Raises ``SignInFailed`` (and counts the failure)."""
    user = session.scalar(
        select(models.User).where(models.User.username == username.strip().lower())
    )
    if user is None:
        verify_password(_DUMMY_HASH, password)
        _failed(session, None, username, "unknown user")
        raise SignInFailed("the username, password or code is not right")
    if user.locked_at is not None:
        _failed(session, user, username, "account locked")
        raise SignInFailed(
            "this account is locked after repeated failed sign-ins; ask your agency administrator"
        )
    if not verify_password(user.password_hash, password):
        _failed(session, user, username, "wrong password")
        raise SignInFailed("the username, password or code is not right")
    if user.oidc_subject is not None:
        # Checked after the password, so that it tells nothing to someone who lacks it.
        _failed(session, user, username, "signs in through the identity provider")
        raise SignInFailed(
            "this account signs in through your agency's identity provider: use its button"
        )
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def check_totp(session: Session, user: models.User, code: str) -> None:
    """Second step of sign-in: the current TOTP code (one step of clock drift allowed)."""
    if user.locked_at is not None:
        _failed(session, user, user.username, "account locked")
        raise SignInFailed(
            "this account is locked after repeated failed sign-ins; ask your agency administrator"
        )
    secret = (
        FieldCipher.from_settings().decrypt(user.totp_secret_encrypted, context=TOTP_CONTEXT)
        if user.totp_secret_encrypted
        else None
    )
    if secret is None or not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        _failed(session, user, user.username, "wrong code")
        raise SignInFailed("the username, password or code is not right")
    _signed_in(session, user)


def link_oidc(session: Session, username: str, *, subject: str | None, by: str) -> models.User:
    """Link a user to their ``subject`` at their agency's identity provider (``None`` unlinks).

    A linked user signs in only through that provider; corespond keeps their roles.
    """
    user = get_user(session, username)
    if subject is None:
        user.oidc_issuer = user.oidc_subject = None
        record(
            session, action="admin.user_oidc_unlinked", actor=by, agency_id=user.agency_id,
            detail={"user_id": user.id},
        )  # fmt: skip
        return user
    subject = subject.strip()
    if not subject or len(subject) > 255:
        raise UserError("a subject is 1 to 255 characters")
    agency = session.get(models.Agency, user.agency_id) if user.agency_id else None
    provider = get_settings().oidc_providers.get(agency.source_key) if agency else None
    if agency is None or provider is None:
        raise UserError(
            f"{user.username}'s agency has no identity provider in CORESPOND_OIDC_PROVIDERS"
        )
    taken = session.scalar(
        select(models.User.username).where(
            models.User.oidc_issuer == provider.issuer,
            models.User.oidc_subject == subject,
            models.User.id != user.id,
        )
    )
    if taken:
        raise UserError(f"that subject is already linked to {taken!r}")
    user.oidc_issuer, user.oidc_subject = provider.issuer, subject
    record(
        session, action="admin.user_oidc_linked", actor=by, agency_id=user.agency_id,
        detail={"user_id": user.id, "issuer": provider.issuer},
    )  # fmt: skip
    return user


def check_oidc(
    session: Session,
    *,
    agency: models.Agency,
    provider: OidcProvider,
    claims: Mapping[str, Any],
) -> models.User:
    """Sign-in through an agency's identity provider, from an ID token Authlib has validated.

    The token names a user an administrator linked, of that agency, not locked, and says the
    provider checked a second factor (``amr``). Raises ``SignInFailed`` (and counts it).
    """
    subject = str(claims.get("sub", ""))
    user = session.scalar(
        select(models.User).where(
            models.User.oidc_issuer == provider.issuer, models.User.oidc_subject == subject
        )
    )
    if user is None or user.agency_id != agency.id:
        refuse_oidc(session, agency=agency, reason="subject not linked to a user")
        raise SignInFailed(
            f"your {agency.name} account is not linked to a corespond user; "
            "ask your agency administrator"
        )
    if user.locked_at is not None:
        _failed(session, user, user.username, "account locked", via=agency.source_key)
        raise SignInFailed(
            "this account is locked after repeated failed sign-ins; ask your agency administrator"
        )
    methods = claims.get("amr") or []
    if not isinstance(methods, list) or not set(methods) & set(provider.mfa_methods):
        _failed(session, user, user.username, "no second factor", via=agency.source_key)
        raise SignInFailed(
            "your identity provider did not confirm a second factor for this sign-in, and "
            "corespond needs one: sign in there with multi-factor, or ask your agency "
            "administrator"
        )
    _signed_in(session, user, via=agency.source_key)
    return user


def refuse_oidc(session: Session, *, agency: models.Agency, reason: str) -> None:
    """Record a failed sign-in through ``agency``'s identity provider before any user is known
    (a forged or stale response, an unlinked subject)."""
    _failed(session, None, f"oidc:{agency.source_key}", reason, agency_id=agency.id)


def current_code(user: models.User) -> str:
    """The user's TOTP code now (for the demo city's printed credentials only)."""
    assert user.totp_secret_encrypted is not None
    secret = FieldCipher.from_settings().decrypt(user.totp_secret_encrypted, context=TOTP_CONTEXT)
    return pyotp.TOTP(secret).now()


def roles_of(user: models.User) -> frozenset[Role]:
    return frozenset(Role(word) for word in user.roles.split())


def _signed_in(session: Session, user: models.User, *, via: str | None = None) -> None:
    session.add(
        models.SignInAttempt(
            user_id=user.id, username=user.username, success=True, reason="signed in"
        )
    )
    record(
        session, action="auth.sign_in", actor=f"user:{user.id}", agency_id=user.agency_id,
        detail={"via": via} if via else None,
    )  # fmt: skip


def _failed(
    session: Session,
    user: models.User | None,
    username: str,
    reason: str,
    *,
    via: str | None = None,
    agency_id: int | None = None,
) -> None:
    now = utcnow()
    session.add(
        models.SignInAttempt(
            user_id=user.id if user else None, username=username[:100], success=False, reason=reason
        )
    )
    record(
        session, action="auth.sign_in", outcome="failure",
        actor=f"user:{user.id}" if user else "anonymous",
        agency_id=user.agency_id if user else agency_id,
        detail={"reason": reason} | ({"via": via} if via else {}),
    )  # fmt: skip
    if user is None or user.locked_at is not None:
        return
    session.flush()
    attempt = models.SignInAttempt
    since = now - FAILURE_WINDOW
    last_success = session.scalar(
        select(func.max(attempt.at)).where(attempt.user_id == user.id, attempt.success.is_(True))
    )
    window_start = max(since, last_success) if last_success else since
    failures = session.scalar(
        select(func.count()).where(
            attempt.user_id == user.id, attempt.success.is_(False), attempt.at > window_start
        )
    )
    if failures and failures >= MAX_FAILURES:
        user.locked_at = now
        user.lock_reason = f"{failures} failed sign-ins within 15 minutes"
        record(
            session, action="auth.account_locked", actor="system", agency_id=user.agency_id,
            detail={"user_id": user.id, "failures": failures},
        )  # fmt: skip
