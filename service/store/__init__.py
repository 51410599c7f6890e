"""Store: past reports, their sections and their findings in chromadb. Public entry point: `open_store`.

Three collections, each record carrying the report's agency, region, level, year and template:
- `reports`   one record per report: the agency's name (embedded, to find an agency's own past
              reports and its neighbours) and the report's figures as flat JSON;
- `sections`  the prose sections cut into passages (embedded), metadata `section` = registry key;
- `findings`  this report's facts and checker findings, one sentence each (embedded, to find
              agencies with the same problems).
A report's id is its agency key (every place the name gives, service/agency.py) and year, so indexing
a corrected or re-formatted copy of a report replaces the old records, and a report of another body
never does (南京市 and 福州市鼓楼区人民政府 are two ids); every record of a report is deleted before it
is written again. Which stored names are one body is decided when reading (`agency.bodies` over the
names that share a stem), with the names a person keeps apart (`Store.apart`).

The store knows nothing of the environment: the rim passes a directory or a server URL.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Protocol
from urllib.parse import urlparse

from service.agency import Agency, bodies, known_name, parse_agency
from service.check import Finding
from service.report import Report, report_from_flat
from service.store.chunks import chunk

__all__ = ["IndexResult", "Passage", "PastReport", "Store", "StoreUnavailable", "open_store", "report_id"]

log = logging.getLogger(__name__)

# Sections whose text is a table: their figures live in the report's fields; embedded they are noise.
TABLE_SECTIONS = frozenset({"proactive", "requests", "review_litigation"})
PROBLEMS = "problems_and_improvements"
_CANDIDATES = 20  # nearest agencies fetched before own reports are moved to the front


class StoreUnavailable(RuntimeError):
    """The vector store cannot be opened or reached; `message` is Chinese."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message


class FactLike(Protocol):
    id: str
    kind: str
    text: str
    problem: bool


@dataclass(frozen=True)
class Passage:
    id: str
    text: str
    report_id: str
    agency: str
    year: int
    section: str
    distance: float | None = None


@dataclass(frozen=True)
class PastReport:
    report_id: str
    agency: str
    year: int
    distance: float
    own: bool  # the same agency (same agency key), not merely a similar one


@dataclass(frozen=True)
class IndexResult:
    report_id: str
    agency: str
    year: int
    passages: int
    findings: int
    replaced: bool


def _known(report: Report) -> Agency:
    """Who the report is by: its agency with the places the report prints above it (service/agency.py)."""
    return parse_agency(known_name(report.meta.agency, report.meta.region))


def report_id(report: Report) -> str:
    """Agency key and year; a content hash when either is unknown."""
    key = _known(report).key
    if key and report.meta.year:
        return f"{key}-{report.meta.year}"
    flat = json.dumps(report.flat(), ensure_ascii=False, sort_keys=True)
    return "report-" + hashlib.sha256(flat.encode()).hexdigest()[:16]


def _legacy_key(name: str | None) -> str:
    """The agency key of stores written before whole-hierarchy keys: innermost place and body only."""
    agency = parse_agency(name)
    innermost = agency.places[-1] if agency.places else ""
    return (innermost + agency.body).replace("人民政府", "政府")


def _legacy_id(report: Report) -> str:
    return f"{_legacy_key(report.meta.agency)}-{report.meta.year}"


def _known_key(meta: dict) -> str:
    """The key of the body a stored record is known to be; a record of an older store has its name only."""
    return parse_agency(meta.get("known", meta["agency"])).key


def _metadata(report: Report) -> dict[str, str | int]:
    agency = _known(report)  # "agency" is the name as printed, the rest is of the body it is known to be
    return {"report_id": report_id(report), "agency": parse_agency(report.meta.agency).name, "known": agency.name,
            "agency_key": agency.key, "stem": agency.stem,
            "region": agency.region, "level": agency.level, "kind": agency.kind,
            "year": report.meta.year or 0, "template": report.meta.template or ""}


def _profile(report: Report) -> str:
    """What the `reports` collection embeds: who wrote the report, as plainly as possible."""
    return report.meta.agency or report.meta.title or ""


class Store:
    def __init__(self, client) -> None:
        from service.store.embedding import E5Embedding

        self.apart: frozenset[str] = frozenset()  # agency names a person keeps apart (the service sets them)

        embedding = E5Embedding()
        space = {"hnsw:space": "cosine"}
        self.reports = client.get_or_create_collection("reports", embedding_function=embedding, metadata=space)
        self.sections = client.get_or_create_collection("sections", embedding_function=embedding, metadata=space)
        self.findings = client.get_or_create_collection("findings", embedding_function=embedding, metadata=space)

    # ------------------------------------------------------------------------------------- writing
    def index(self, report: Report, findings: Iterable[Finding] = (), facts: Iterable[FactLike] = ()) -> IndexResult:
        meta = _metadata(report)
        rid = str(meta["report_id"])
        replaced = bool(self.reports.get(ids=[rid])["ids"])
        self.delete(rid)
        if report.meta.year:  # this very name under an old-style id; another body's records under it stay
            self._delete_where({"$and": [{"report_id": _legacy_id(report)}, {"agency": meta["agency"]}]})
        self.reports.add(ids=[rid], documents=[_profile(report) or rid],
                         metadatas=[{**meta, "title": report.meta.title or "",
                                     "flat": json.dumps(report.flat(), ensure_ascii=False)}])
        passages = [(key, i, text) for key, body in report.sections.items()
                    if body and key not in TABLE_SECTIONS for i, text in enumerate(chunk(body))]
        if passages:
            self.sections.add(ids=[f"{rid}:{key}:{i}" for key, i, _ in passages],
                              documents=[text for _, _, text in passages],
                              metadatas=[{**meta, "section": key, "part": i} for key, i, _ in passages])
        notes = [(f"fact:{f.id}", f.kind, f.text, f.problem) for f in facts]
        notes += [(f"check:{i}", f.rule, f.message, f.severity != "info") for i, f in enumerate(findings)]
        if notes:
            self.findings.add(ids=[f"{rid}:{n}" for n, *_ in notes], documents=[text for _, _, text, _ in notes],
                              metadatas=[{**meta, "rule": rule, "problem": problem} for _, rule, _, problem in notes])
        return IndexResult(rid, str(meta["agency"]), int(meta["year"]), len(passages), len(notes), replaced)

    def delete(self, rid: str) -> None:
        self._delete_where({"report_id": rid})

    def _delete_where(self, where: dict) -> None:
        for collection in (self.reports, self.sections, self.findings):
            collection.delete(where=where)

    # ------------------------------------------------------------------------------------- reading
    def count(self) -> int:
        return self.reports.count()

    def past_reports(self, report: Report, limit: int = 5) -> list[PastReport]:
        """Earlier reports, the agency's own first (newest first), then the agencies nearest by name."""
        total = self.count()
        if not total or not _profile(report):
            return []
        where = {"year": {"$lt": report.meta.year}} if report.meta.year else None
        found = self.reports.query(query_texts=[_profile(report)], n_results=min(_CANDIDATES, total), where=where,
                                   include=["metadatas", "distances"])
        own_keys = self.own_keys(report)
        hits = [PastReport(m["report_id"], m["agency"], m["year"], d, own=_known_key(m) in own_keys)
                for m, d in zip(found["metadatas"][0], found["distances"][0]) if m["report_id"] != report_id(report)]
        return sorted(hits, key=lambda h: (not h.own, -h.year if h.own else 0, h.distance))[:limit]

    def own_keys(self, report: Report) -> set[str]:
        """The agency keys of the report's own body: among every stored name that shares its stem (or, written
        by an older store, its old key), those `agency.bodies` joins to it (a short name joins only when one
        known body fits it)."""
        agency = _known(report)
        if not agency.name:
            return set()
        where = {"$or": [{"stem": agency.stem}, {"agency_key": _legacy_key(report.meta.agency)}]}
        stored = self.reports.get(where=where, include=["metadatas"])["metadatas"]
        body_of = bodies({m.get("known", m["agency"]) for m in stored} | {agency.name}, self.apart)
        return {parse_agency(name).key for name, body in body_of.items() if body == body_of[agency.name]}

    def stored_report(self, rid: str) -> Report | None:
        got = self.reports.get(ids=[rid], include=["metadatas"])
        return report_from_flat(json.loads(got["metadatas"][0]["flat"])) if got["ids"] else None

    def section_passages(self, rid: str, section: str = PROBLEMS) -> list[Passage]:
        got = self.sections.get(where={"$and": [{"report_id": rid}, {"section": section}]},
                                include=["documents", "metadatas"])
        parts = sorted(zip(got["metadatas"], got["documents"], got["ids"]), key=lambda p: p[0]["part"])
        return [_passage(i, text, m) for m, text, i in parts]

    def similar_problems(self, report: Report, texts: list[str], limit: int = 3) -> list[Passage]:
        """Section 五 of other agencies whose facts and findings read most like `texts`."""
        if not texts or not self.findings.count():
            return []
        own = sorted(self.own_keys(report)) or [""]
        where: dict = {"$and": [{"agency_key": {"$nin": own}}, {"problem": True}]}
        if report.meta.year:
            where["$and"].append({"year": {"$lte": report.meta.year}})
        found = self.findings.query(query_texts=texts, n_results=min(10, self.findings.count()), where=where,
                                    include=["metadatas", "distances"])
        best: dict[str, float] = {}
        for metas, distances in zip(found["metadatas"], found["distances"]):
            for m, d in zip(metas, distances):
                best[m["report_id"]] = min(d, best.get(m["report_id"], d))
        out = []
        for rid in sorted(best, key=best.__getitem__):
            first = self.section_passages(rid)[:1]
            out += [Passage(p.id, p.text, p.report_id, p.agency, p.year, p.section, best[rid]) for p in first]
            if len(out) == limit:
                break
        return out


def _passage(pid: str, text: str, meta: dict, distance: float | None = None) -> Passage:
    return Passage(pid, text, meta["report_id"], meta["agency"], meta["year"], meta["section"], distance)


def open_store(path: Path | None = None, url: str | None = None, fallback: bool = False) -> tuple[Store, str | None]:
    """A chroma server when `url` is given, else the embedded store under `path`.

    When the server cannot be reached the embedded store is used only if `fallback` is set;
    the second value is then a Chinese warning saying so.
    """
    import chromadb

    if url:
        try:
            return Store(_http_client(url)), None
        except StoreUnavailable as exc:
            if not fallback or path is None:
                raise
            log.warning("chroma server %s unreachable, using embedded store: %s", url, exc)
            warning = f"{exc.message}；已按配置改用本地向量库 {path}"
    else:
        warning = None
    if path is None:
        raise StoreUnavailable("未配置向量库：需要数据目录或 NIANBAO_CHROMA_URL")
    try:
        return Store(chromadb.PersistentClient(path=str(path), settings=_settings())), warning
    except Exception as exc:  # chroma raises plain exceptions for a locked, corrupt or unwritable directory
        raise StoreUnavailable(f"无法打开本地向量库 {path}：{exc}", str(exc)) from exc


def ping(path: Path | None = None, url: str | None = None, fallback: bool = False) -> str | None:
    """Whether the store `open_store` would use answers a query, without loading the embedding
    model; raises StoreUnavailable (Chinese message) when not, else returns open_store's warning."""
    import chromadb

    warning = None
    if url:
        try:
            try:
                _http_client(url).count_collections()
            except StoreUnavailable:
                raise
            except Exception as exc:  # reachable, but it does not answer
                raise StoreUnavailable(f"向量库服务 {url} 无法查询：{exc}", str(exc)) from exc
            return None
        except StoreUnavailable as exc:
            if not fallback or path is None:
                raise
            warning = f"{exc.message}；已按配置改用本地向量库 {path}"
    if path is None:
        raise StoreUnavailable("未配置向量库：需要数据目录或 NIANBAO_CHROMA_URL")
    try:
        chromadb.PersistentClient(path=str(path), settings=_settings()).count_collections()
    except Exception as exc:
        raise StoreUnavailable(f"无法打开本地向量库 {path}：{exc}", str(exc)) from exc
    return warning


def _settings():
    """Fresh each time: chroma's client constructors write into the settings they are given."""
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)  # nothing leaves the machine


def _http_client(url: str):
    import chromadb

    parsed = urlparse(url if "://" in url else f"http://{url}")
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise StoreUnavailable(f"向量库地址无效：{url}（应为 http://主机:端口）")
    try:
        return chromadb.HttpClient(host=parsed.hostname, port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                                   ssl=parsed.scheme == "https", settings=_settings())
    except Exception as exc:  # chroma reports an unreachable server as ValueError, others as transport errors
        raise StoreUnavailable(f"无法连接向量库服务 {url}，请确认 chroma 服务已启动", str(exc)) from exc
