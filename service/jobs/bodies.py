"""Which uploaded reports are one body's: the agency names of every report read, joined by
`service.agency.bodies`, less the names a person keeps apart (table agency_apart). Last year's
report of a body is found through this, so 洪泽区人民政府 2023 meets 淮安市洪泽区人民政府 2024, and
南京市 and 福州市鼓楼区人民政府 never meet."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.agency import bodies, parse_agency
from service.jobs.db import AgencyApart, ReportJob


@dataclass
class Body:
    """One body as the reports name it: its fullest name, every name joined under it and their reports."""

    key: str
    name: str
    names: dict[str, list[tuple[str, int | None]]] = field(default_factory=dict)  # name → (report id, year)
    apart: bool = False  # a person keeps its name(s) apart
    could_be: list[str] = field(default_factory=list)  # fuller names it fits more than one of, so left alone


def apart_names(session: Session) -> set[str]:
    return set(session.scalars(select(AgencyApart.name)))


def body_of(session: Session, also: str | None = None) -> dict[str, str]:
    """Agency name → body key, over the names of every report read (and `also`, a report being recorded)."""
    names = set(session.scalars(select(ReportJob.agency).where(ReportJob.status == "done").distinct()))
    return bodies(names | {also}, apart_names(session))


def previous_report(session: Session, job: ReportJob) -> ReportJob | None:
    """The report of the year before by the same body, the first uploaded when there are several."""
    if not job.agency or not job.year:
        return None
    joined = body_of(session, job.agency)
    names = [name for name, body in joined.items() if body == joined[job.agency]]
    return session.scalar(select(ReportJob).where(ReportJob.agency.in_(names), ReportJob.year == job.year - 1,
                                                  ReportJob.status == "done").order_by(ReportJob.created))


def _named(session: Session) -> list[tuple[str, str, int | None]]:
    """(id, agency, year) of every read report that names its agency, oldest year first; not the reports
    themselves, which are large."""
    rows = session.execute(select(ReportJob.id, ReportJob.agency, ReportJob.year)
                           .where(ReportJob.status == "done", ReportJob.agency.is_not(None))
                           .order_by(ReportJob.year, ReportJob.created))
    return [(job_id, agency, year) for job_id, agency, year in rows if agency]  # an empty name is nobody's


def reports_sharing_stem(session: Session, name: str) -> list[ReportJob]:
    """Every read report whose body a split of `name` may change: those whose names share its stem."""
    stem = parse_agency(name).stem
    ids = [job_id for job_id, agency, _ in _named(session) if parse_agency(agency).stem == stem]
    return list(session.scalars(select(ReportJob).where(ReportJob.id.in_(ids))))


def listing(session: Session) -> list[Body]:
    """Every body the read reports name, fullest name first within each, bodies by name."""
    apart = apart_names(session)
    apart_keys = {parse_agency(name).key for name in apart}
    named = _named(session)
    joined = bodies({agency for _, agency, _ in named}, apart)
    found: dict[str, Body] = {}
    for name in sorted(joined, key=lambda n: (-len(parse_agency(n).places), -len(n), n)):
        body = found.setdefault(joined[name], Body(joined[name], name))
        body.names[name] = []
        body.apart = body.apart or parse_agency(name).key in apart_keys
    for job_id, agency, year in named:
        found[joined[agency]].names[agency].append((job_id, year))
    roots = [parse_agency(body.name) for body in found.values()]
    for body in found.values():
        fits = [root.name for root in roots if parse_agency(body.name).within(root) and root.key != body.key]
        body.could_be = fits if len(fits) > 1 else []
    return sorted(found.values(), key=lambda b: b.name)
