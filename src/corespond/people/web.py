"""What the people pages and API share (the web side: these answer with HTTP errors): the acting
user, the current person id, the Part 2 notice. Rules live in the other modules, not here."""

from __future__ import annotations

from fastapi import HTTPException
from sqlalchemy.orm import Session

from corespond import models
from corespond.access import facts

PART2_NOTICE = (
    "Records protected by 42 CFR Part 2 (substance-use treatment) are shown only to those a "
    "consent names; where none does, they are left out without a trace, because even saying "
    "they exist would disclose them."
)


def acting_user(session: Session, user_id: int) -> models.User:
    user = session.get(models.User, user_id)
    if user is None:
        raise HTTPException(401, "the user no longer exists")
    return user


def current_person(session: Session, person_id: int) -> int:
    """The person's id now (a merged person's survivor), or 404."""
    current = facts.person_exists(session, person_id)
    if current is None:
        raise HTTPException(404, f"person {person_id} does not exist")
    return current
