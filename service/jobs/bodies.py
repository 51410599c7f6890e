"""Which uploaded reports are one body's: the name each report is known by (its agency, with the places
the report prints above it: service/agency.known_name), joined by `service.agency.bodies`, less the
names a person keeps apart (table agency_apart). Last year's report of a body is found through this,
so 洪泽区人民政府 2023 meets 淮安市洪泽区人民政府 2024, and 南京市 and 福州市鼓楼区人民政府 never meet."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.agency import bodies, known_name, parse_agency
from service.jobs.db import AgencyApart, ReportJob


class Named(NamedTuple):
    """A read report and who it is by: its agency as printed and the name it is known by."""

    id: str
    agency: str
    name: str
    year: int | None


@dataclass
class Body:
    """One body as the reports are known: its fullest name, every name joined under it and their reports."""

    key: str
    name: str
    names: dict[str, list[Named]] = field(default_factory=dict)  # name known by → its reports
    apart: bool = False  # a person keeps its name(s) apart
    could_be: list[str] = field(default_factory=list)  # fuller names it fits more than one of, so left alone


def apart_names(session: Session) -> set[str]:
    return set(session.scalars(select(AgencyApart.name)))


def known(job: ReportJob) -> str | None:
    return known_name(job.agency, ((job.report or {}).get("meta") or {}).get("region"))


def _named(session: Session) -> list[Named]:
    """Every read report that names its agency, oldest year first; read from the columns and the
    report's meta.region, not the reports themselves, which are large."""
    region = ReportJob.report["meta"]["region"].as_string()
    rows = session.execute(select(ReportJob.id, ReportJob.agency, region, ReportJob.year)
                           .where(ReportJob.status == "done", ReportJob.agency.is_not(None))
                           .order_by(ReportJob.year, ReportJob.created))
    return [Named(job_id, agency, name, year) for job_id, agency, places, year in rows
            if agency and (name := known_name(agency, places))]  # an empty name is nobody's


def previous_report(session: Session, job: ReportJob) -> ReportJob | None:
    """The report of the year before by the same body, the first uploaded when there are several."""
    mine = known(job)
    if not mine or not job.year:
        return None
    named = _named(session)
    joined = bodies({r.name for r in named} | {mine}, apart_names(session))
    before = [r.id for r in named if r.year == job.year - 1 and joined[r.name] == joined[mine]]
    return session.get(ReportJob, before[0]) if before else None


def is_named(session: Session, name: str) -> bool:
    """Whether a read report is known by this name."""
    return any(r.name == name for r in _named(session))


def reports_sharing_stem(session: Session, name: str) -> list[ReportJob]:
    """Every read report whose body a split of `name` may change: those whose names share its stem."""
    stem = parse_agency(name).stem
    ids = [r.id for r in _named(session) if parse_agency(r.name).stem == stem]
    return list(session.scalars(select(ReportJob).where(ReportJob.id.in_(ids))))


def listing(session: Session) -> list[Body]:
    """Every body the read reports are known as, fullest name first within each, bodies by name."""
    apart = apart_names(session)
    apart_keys = {parse_agency(name).key for name in apart}
    named = _named(session)
    joined = bodies({r.name for r in named}, apart)
    found: dict[str, Body] = {}
    for name in sorted(joined, key=lambda n: (-len(parse_agency(n).places), -len(n), n)):
        body = found.setdefault(joined[name], Body(joined[name], name))
        body.names[name] = []
        body.apart = body.apart or parse_agency(name).key in apart_keys
    for report in named:
        found[joined[report.name]].names[report.name].append(report)
    roots = [parse_agency(body.name) for body in found.values()]
    for body in found.values():
        fits = [root.name for root in roots if parse_agency(body.name).within(root) and root.key != body.key]
        body.could_be = fits if len(fits) > 1 else []
    return sorted(found.values(), key=lambda b: b.name)
