"""Places: normalised addresses shared by every fact that happened there."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from corespond.models.base import Base, utcnow


class Place(Base):
    """A normalised location. Derived, not imported: many sources' facts share one place.

    ``place_key`` is the normalised street, city and ZIP (see ``ingest.places``).
    """

    __tablename__ = "place"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_key: Mapped[str] = mapped_column(String(400), unique=True)
    street: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(40))
    zip: Mapped[str | None] = mapped_column(String(10))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    beat: Mapped[str | None] = mapped_column(String(40), index=True)
    sector: Mapped[str | None] = mapped_column(String(40))
    precinct: Mapped[str | None] = mapped_column(String(60))
    neighborhood: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
