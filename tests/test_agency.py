"""One body across years, different bodies kept apart (service/agency.py): names in long and short
forms meet, names whose known places differ never do, a short name joins only the one body it fits,
and a person's split holds — in the store (real embedded chroma), the service's jobs and the batch."""

from __future__ import annotations

import csv
import json
import time

import pytest
from fastapi.testclient import TestClient

from service.agency import bodies, known_name, parse_agency
from service.api import create_app
from service.batch import RESULTS, write_tables
from service.check import check
from service.pipeline import extract_bytes
from service.report import Report, report_from_flat
from service.settings import Settings
from service.store import open_store, report_id
from tests.conftest import app_of, gold_report_dirs, load_gold, source_path

GOLD = {d.name: d for d in gold_report_dirs()}
HONGZE_2023, HONGZE_2024 = GOLD["huaian-hongze-district-2023"], GOLD["huaian-hongze-district-2024"]
GULOU = ("南京市鼓楼区人民政府", "福州市鼓楼区人民政府", "徐州市鼓楼区人民政府")


def renamed(gold_dir, agency: str, year: int | None = None) -> Report:
    gold = load_gold(gold_dir)
    return report_from_flat({**gold, "meta": {**gold["meta"], "agency": agency, "year": year or gold["meta"]["year"]}})


# ------------------------------------------------------------------------------------------ the names
@pytest.mark.parametrize("short, full", [
    ("洪泽区人民政府", "淮安市洪泽区人民政府"),
    ("洪泽区政府", "淮安市洪泽区人民政府"),
    ("洪泽区政府办", "淮安市洪泽区人民政府办公室"),
    ("淮安市洪泽区政府办公室", "江苏省淮安市洪泽区人民政府办公室"),
    ("淮安市发展和改革委", "淮安市发展和改革委员会"),
    ("平潭综合实验区管委会", "平潭综合实验区管理委员会"),
    ("桂花街道", "株洲市荷塘区桂花街道办事处"),
    ("昌图县七家子镇", "昌图县七家子镇人民政府"),
])
def test_long_and_short_forms_are_one_body(short, full) -> None:
    assert bodies([short, full]) == {short: parse_agency(full).key, full: parse_agency(full).key}


@pytest.mark.parametrize("one, other", [
    ("南京市鼓楼区人民政府", "福州市鼓楼区人民政府"),
    ("淮安市洪泽区人民政府", "淮安市洪泽区人民政府办公室"),  # the government is not its office
    ("江苏省鼓楼区人民政府", "南京市鼓楼区人民政府"),  # neither names all of the other's places
    ("统计局", "淮安市统计局"),  # no place at all: says nothing of whose
])
def test_different_bodies_stay_apart(one, other) -> None:
    joined = bodies([one, other])
    assert joined[one] != joined[other]


def test_a_short_name_joins_only_the_one_body_it_fits() -> None:
    assert len(set(bodies(GULOU).values())) == 3
    alone = bodies([*GULOU, "鼓楼区人民政府"])
    assert alone["鼓楼区人民政府"] == "鼓楼区政府" and len(set(alone.values())) == 4
    assert bodies(["南京市鼓楼区人民政府", "鼓楼区人民政府"])["鼓楼区人民政府"] == "南京市鼓楼区政府"
    kept = bodies(["南京市鼓楼区人民政府", "鼓楼区人民政府", "鼓楼区政府"], apart=["鼓楼区人民政府"])
    assert kept["鼓楼区人民政府"] == kept["鼓楼区政府"] == "鼓楼区政府"  # a split keeps the name in every spelling


def test_the_places_a_report_prints_above_its_body_are_read() -> None:
    """洪泽区人民政府's report says 本报告由淮安市洪泽区人民政府办公室…编制: it is 淮安市's 洪泽区."""
    read = {d.name: extract_bytes(source_path(d).read_bytes(), "r.txt").meta for d in (HONGZE_2023, HONGZE_2024)}
    assert (read[HONGZE_2023.name].agency, read[HONGZE_2023.name].region) == ("洪泽区人民政府", "淮安市洪泽区")
    assert read[HONGZE_2024.name].region is None  # its name gives every place already
    other = source_path(HONGZE_2023).read_text("utf-8").replace("洪泽区人民政府", "盱眙县人民政府", 1)
    assert extract_bytes(other.encode(), "r.txt").meta.region is None  # the compiling office is another place's
    assert known_name("洪泽区人民政府", "淮安市洪泽区") == "淮安市洪泽区人民政府"
    assert known_name("徐州市洪泽区人民政府", "淮安市洪泽区") == "徐州市洪泽区人民政府"


# ------------------------------------------------------------------------------------------ the store
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store, _ = open_store(tmp_path_factory.mktemp("chroma"))
    for gold_dir, agency in zip(("pingtan-experimental-zone-2023", "shuyang-development-reform-2023",
                                 "pingtan-experimental-zone-2022"), GULOU):
        report = renamed(GOLD[gold_dir], agency, 2023)
        store.index(report, check(report))
    store.index(renamed(HONGZE_2023, "洪泽区人民政府"), [])
    return store


def test_three_gulou_bodies_are_three_in_the_store_and_reindexing_keeps_the_others(store) -> None:
    ids = {report_id(renamed(HONGZE_2023, name, 2023)) for name in GULOU}
    assert len(ids) == 3 and set(store.reports.get(ids=sorted(ids))["ids"]) == ids
    others = {rid: (len(store.sections.get(where={"report_id": rid})["ids"]),
                    len(store.findings.get(where={"report_id": rid})["ids"])) for rid in ids}
    nanjing = renamed(GOLD["pingtan-experimental-zone-2023"], GULOU[0], 2023)
    assert store.index(nanjing, check(nanjing)).replaced
    assert {rid: (len(store.sections.get(where={"report_id": rid})["ids"]),
                  len(store.findings.get(where={"report_id": rid})["ids"])) for rid in ids} == others
    assert all(sections for sections, _ in others.values())


def test_the_store_finds_only_the_bodys_own_past_reports(store) -> None:
    fuzhou = store.past_reports(renamed(HONGZE_2024, GULOU[1], 2024))
    assert [h.agency for h in fuzhou if h.own] == [GULOU[1]]
    short = store.past_reports(renamed(HONGZE_2024, "鼓楼区人民政府", 2024))
    assert not [h for h in short if h.own]  # fits three known bodies: none is guessed
    hongze = store.past_reports(renamed(HONGZE_2024, "淮安市洪泽区人民政府"))
    assert [(h.agency, h.year) for h in hongze if h.own] == [("洪泽区人民政府", 2023)]
    store.apart = frozenset({"洪泽区人民政府"})
    try:
        assert not [h for h in store.past_reports(renamed(HONGZE_2024, "淮安市洪泽区人民政府")) if h.own]
    finally:
        store.apart = frozenset()


def test_a_report_that_prints_its_parent_places_is_stored_as_that_body(store) -> None:
    xuyi = renamed(HONGZE_2023, "盱眙县人民政府", 2022)
    xuyi.meta.region = "淮安市盱眙县"  # 本报告由淮安市盱眙县人民政府办公室…编制
    store.index(xuyi, [])
    store.index(renamed(HONGZE_2023, "宿迁市盱眙县人民政府", 2022), [])  # a homonym the short name would also fit
    assert report_id(xuyi) == "淮安市盱眙县政府-2022"
    later = store.past_reports(renamed(HONGZE_2024, "淮安市盱眙县人民政府", 2023))
    assert [(h.agency, h.year) for h in later if h.own] == [("盱眙县人民政府", 2022)]


def _old_record(store, name: str, year: int) -> str:
    """A record as stores wrote it before whole-hierarchy keys: id and key of the innermost place and body."""
    key = parse_agency(name).places[-1] + "政府"
    store.reports.add(ids=[f"{key}-{year}"], documents=[name], metadatas=[
        {"report_id": f"{key}-{year}", "agency": name, "agency_key": key, "year": year, "template": "2021"}])
    return f"{key}-{year}"


def test_a_store_written_with_old_ids(store) -> None:
    """An older store's records are still a body's own, a short name too, and are replaced by a report of
    that very name only, never by another body's that had the same old id."""
    _old_record(store, "泉山区人民政府", 2020)
    later = store.past_reports(renamed(HONGZE_2024, "徐州市泉山区人民政府", 2021))
    assert [(h.agency, h.year) for h in later if h.own] == [("泉山区人民政府", 2020)]
    old_id = _old_record(store, "南通市云龙区人民政府", 2021)
    other, same = (renamed(HONGZE_2023, name, 2021) for name in ("徐州市云龙区人民政府", "南通市云龙区人民政府"))
    store.index(other, [])
    assert store.reports.get(ids=[old_id])["ids"] == [old_id]
    store.index(same, [])
    assert store.reports.get(ids=[old_id])["ids"] == [] and store.reports.get(ids=[report_id(same)])["ids"]


# ------------------------------------------------------------------------------------------ the batch
def _record(report: Report, name: str) -> dict:
    return {"path": name, "sha256": name, "status": "done", "error": None,
            "report": report.model_dump(mode="json"), "findings": []}


def _crossyear(tmp_path, reports: dict[str, Report], apart=()) -> set[str]:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / RESULTS).write_text("".join(json.dumps(_record(r, name), ensure_ascii=False) + "\n"
                                            for name, r in reports.items()), "utf-8")
    write_tables(tmp_path, apart)
    with (tmp_path / "findings.csv").open(encoding="utf-8-sig") as handle:
        return {row["path"] for row in csv.DictReader(handle) if row["rule"].startswith("crossyear.")}


def test_batch_pairs_one_body_across_years_and_never_two(tmp_path) -> None:
    """Each 2024 report is a different report from its 2023 one, so a pairing always gives crossyear findings."""
    later = GOLD["pingtan-experimental-zone-2024"]
    assert check(renamed(later, "x"), renamed(HONGZE_2023, "x")) != check(renamed(later, "x"))
    pairs = {"hongze-2023": renamed(HONGZE_2023, "洪泽区人民政府"), "hongze-2024": renamed(later, "淮安市洪泽区人民政府", 2024),
             "office-2023": renamed(HONGZE_2023, "涟水县政府办"), "office-2024": renamed(later, "淮安市涟水县人民政府办公室", 2024),
             "nanjing-2023": renamed(HONGZE_2023, GULOU[0], 2023), "fuzhou-2024": renamed(later, GULOU[1], 2024),
             "xuzhou-2024": renamed(later, GULOU[2], 2024)}
    assert _crossyear(tmp_path / "a", pairs) == {"hongze-2024", "office-2024"}
    assert _crossyear(tmp_path / "b", pairs, apart=["洪泽区人民政府"]) == {"office-2024"}
    short = {"gulou-2023": renamed(HONGZE_2023, "鼓楼区人民政府"), "nanjing-2024": renamed(later, GULOU[0], 2024)}
    assert _crossyear(tmp_path / "c", short) == {"nanjing-2024"}  # one known body fits the short name
    assert _crossyear(tmp_path / "d", {**short, "fuzhou-2024": renamed(later, GULOU[1], 2024)}) == set()
    short["gulou-2023"].meta.region = "南京市鼓楼区"  # as its report prints it
    assert _crossyear(tmp_path / "e", {**short, "fuzhou-2024": renamed(later, GULOU[1], 2024)}) == {"nanjing-2024"}


# ------------------------------------------------------------------------------------------ the service
def _upload(client, name: str, text: str) -> str:
    (job_id,) = client.post("/api/reports", files=[("files", (name, text.encode()))]).json()["ids"]
    return job_id


def _wait(client, ids: list[str]) -> None:
    deadline = time.monotonic() + 120
    while any(client.get(f"/api/reports/{i}").json()["status"] not in ("done", "failed") for i in ids):
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_the_service_pairs_one_body_lists_the_names_joined_and_a_split_holds(tmp_path) -> None:
    text_2023, text_2024 = (source_path(d).read_text("utf-8") for d in (HONGZE_2023, HONGZE_2024))
    named = lambda text, old, new: text.replace(old, new, 1)  # the title names the agency
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        ids = {"hongze-2023": _upload(client, "a.txt", text_2023),
               "hongze-2024": _upload(client, "b.txt", text_2024),
               "office-2023": _upload(client, "c.txt", named(text_2023, "洪泽区人民政府", "金湖县政府办")),
               "office-2024": _upload(client, "d.txt", named(text_2024, "淮安市洪泽区人民政府", "淮安市金湖县人民政府办公室")),
               "nanjing-2024": _upload(client, "e.txt", named(text_2024, "淮安市洪泽区人民政府", GULOU[0])),
               "fuzhou-2023": _upload(client, "f.txt", named(text_2023, "洪泽区人民政府", GULOU[1])),
               "gulou-2023": _upload(client, "g.txt", named(text_2023, "洪泽区人民政府", "鼓楼区人民政府")),
               "homonym-2023": _upload(client, "h.txt", named(text_2023, "洪泽区人民政府", "徐州市洪泽区人民政府"))}
        _wait(client, list(ids.values()))
        jobs = app_of(client).state.jobs
        previous = lambda name: getattr(jobs.previous_year(jobs.get(ids[name])), "id", None)
        # 洪泽区人民政府 2023 would fit 淮安市 and 徐州市洪泽区; its report says it is compiled by 淮安市洪泽区's office
        assert previous("hongze-2024") == ids["hongze-2023"] and previous("office-2024") == ids["office-2023"]
        assert previous("nanjing-2024") is None  # 鼓楼区人民政府 2023 fits 南京市 and 福州市: no guess
        listed = {b["name"]: b for b in client.get("/api/agencies").json()["agencies"]}
        assert [(r["year"], r["agency"]) for n in listed["淮安市洪泽区人民政府"]["names"] for r in n["reports"]] == [
            (2023, "洪泽区人民政府"), (2024, "淮安市洪泽区人民政府")]
        assert [n["name"] for n in listed["淮安市金湖县人民政府办公室"]["names"]] == ["淮安市金湖县人民政府办公室", "金湖县政府办"]
        assert len(listed[GULOU[0]]["names"]) == len(listed[GULOU[1]]["names"]) == 1
        assert sorted(listed["鼓楼区人民政府"]["could_be"]) == sorted(GULOU[:2])

        split = client.put("/api/agencies/apart", json={"name": "金湖县政府办"})
        assert split.status_code == 200 and {b["name"]: b["apart"] for b in split.json()["agencies"]}["金湖县政府办"]
        assert previous("office-2024") is None
        with TestClient(create_app(Settings(data_dir=tmp_path))) as again:  # the split is stored
            assert app_of(again).state.jobs.previous_year(jobs.get(ids["office-2024"])) is None
        joined = client.delete("/api/agencies/apart", params={"name": "金湖县政府办"})
        assert joined.status_code == 200 and previous("office-2024") == ids["office-2023"]

        unknown = client.put("/api/agencies/apart", json={"name": "无此机关"})
        assert unknown.status_code == 404 and "无此机关" in unknown.json()["detail"]
        assert client.delete("/api/agencies/apart", params={"name": "金湖县政府办"}).status_code == 404


def test_a_report_read_before_last_years_is_checked_again_when_that_arrives(tmp_path) -> None:
    """Uploaded in any order: the 2024 report gets its cross-year findings once the 2023 one is read."""
    later = GOLD["pingtan-experimental-zone-2024-relayout"]
    text_2024 = source_path(later).read_text("utf-8").replace("平潭综合实验区", "淮安市涟水县人民政府", 1)
    text_2023 = source_path(HONGZE_2023).read_text("utf-8").replace("洪泽区人民政府", "涟水县人民政府", 1)
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        crossyear = lambda job_id: [f["rule"] for f in client.get(f"/api/reports/{job_id}").json()["findings"]
                                    if f["rule"].startswith("crossyear.")]
        first = _upload(client, "2024.txt", text_2024)
        _wait(client, [first])
        assert crossyear(first) == []
        _wait(client, [_upload(client, "2023.txt", text_2023)])
        assert crossyear(first)
