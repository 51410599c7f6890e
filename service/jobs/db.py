"""Relational store of uploads and report jobs (SQLAlchemy; SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, Integer, String, Text, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class ReportJob(Base):
    """One uploaded file and everything learnt from it."""

    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True, unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    stage: Mapped[str] = mapped_column(String(32), default="queued")
    percent: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    agency: Mapped[str | None] = mapped_column(String(255), index=True, nullable=True)
    year: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    report: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # Report as extracted
    corrections: Mapped[dict] = mapped_column(JSON, default=dict)  # key → value typed by a person
    findings: Mapped[list | None] = mapped_column(JSON, nullable=True)
    document_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    draft: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, onupdate=_now)


class AgencyApart(Base):
    """An agency name a person keeps apart from the names it would be joined with (service/agency.py)."""

    __tablename__ = "agency_apart"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


def connect(url: str) -> sessionmaker:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}
                           if url.startswith("sqlite") else {})
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_pragmas(connection, _record) -> None:
    """WAL lets the page read while the worker writes; a busy timeout instead of 'database is locked'."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


__all__ = ["AgencyApart", "Base", "Engine", "ReportJob", "connect"]
