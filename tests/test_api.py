"""Every endpoint of the real app (TestClient runs its lifespan, so the worker really runs)."""

from __future__ import annotations

import csv
import io
import json
import time
import zipfile

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from service.api import create_app
from service.settings import Settings
from tests.conftest import blank_equal, gold_report_dirs, load_gold, source_path

BEILUN = next(d for d in gold_report_dirs() if d.name == "beilun-development-2020")
CITY = next(d for d in gold_report_dirs() if d.name == "huaian-city-2024")


def _client(tmp_path, **overrides) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path, **overrides)))


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with _client(tmp_path_factory.mktemp("data"), max_zip_bytes=2 * 1024 * 1024) as client:
        yield client


def upload(client, *paths, files=None) -> list[str]:
    files = files or [("files", (p.name, p.read_bytes())) for p in paths]
    response = client.post("/api/reports", files=files)
    assert response.status_code == 202, response.text
    return response.json()["ids"]


def wait(client, report_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/reports/{report_id}").json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{report_id} not finished")


@pytest.fixture(scope="module")
def city(client) -> dict:
    (report_id,) = upload(client, source_path(CITY))
    return wait(client, report_id)


def test_upload_extracts_every_field_of_a_gold_report(client, city) -> None:
    gold = load_gold(CITY)
    assert city["status"] == "done" and city["progress"] == {"stage": "done", "percent": 100}
    assert city["meta"]["agency"] == gold["meta"]["agency"]
    assert all(blank_equal(v, city["fields"][k]) for k, v in gold["fields"].items())
    assert city["provenance"]["t3.new_received.total"]["method"] == "rule"
    assert city["findings"] == [] and city["error"] is None


def test_the_same_content_twice_is_one_report(client, city) -> None:
    assert upload(client, source_path(CITY)) == [city["id"]]


def test_list_filters(client, city) -> None:
    listed = client.get("/api/reports", params={"agency": "淮安", "status": "done"}).json()["reports"]
    assert city["id"] in [r["id"] for r in listed]
    assert client.get("/api/reports", params={"year": 1999}).json()["reports"] == []


def test_zip_of_reports_with_a_path_traversal_name(client) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../etc/beilun.txt", source_path(BEILUN).read_bytes())
        archive.writestr("__MACOSX/._beilun.txt", b"junk")
    ids = upload(client, files=[("files", ("batch.zip", buffer.getvalue()))])
    assert len(ids) == 1
    done = wait(client, ids[0])
    assert done["filename"] == "beilun.txt" and done["status"] == "done"


def test_zip_bomb_is_refused(client) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.txt", b"0" * (3 * 1024 * 1024))
    response = client.post("/api/reports", files=[("files", ("bomb.zip", buffer.getvalue()))])
    assert response.status_code == 413 and "解压后过大" in response.json()["detail"]


@pytest.mark.parametrize("name, data, status, message", [
    ("empty.txt", b"", 400, "文件为空"),
    ("tool.exe", b"MZ\x90\x00" + bytes(range(256)) * 8, 415, "不支持的文件类型"),
])
def test_uploads_refused_at_once(client, name, data, status, message) -> None:
    response = client.post("/api/reports", files=[("files", (name, data))])
    assert response.status_code == status and message in response.json()["detail"]


def test_too_large_upload_is_413(tmp_path) -> None:
    with _client(tmp_path, max_upload_bytes=1024) as small:
        response = small.post("/api/reports", files=[("files", ("r.txt", b"x" * 4096))])
    assert response.status_code == 413 and "文件过大" in response.json()["detail"]


@pytest.mark.parametrize("name, data, message", [
    ("notice.txt", "关于召开会议的通知\n各科室：请准时参加。\n".encode(), "未识别到"),
    ("broken.docx", b"PK\x03\x04" + b"\x00" * 64, "已损坏"),
])
def test_a_file_that_is_no_report_becomes_a_failed_job_with_a_chinese_error(client, name, data, message) -> None:
    (report_id,) = upload(client, files=[("files", (name, data))])
    failed = wait(client, report_id)
    assert failed["status"] == "failed" and message in failed["error"] and failed["fields"] == {}


@pytest.mark.parametrize("method, path", [
    ("get", "/api/reports/nope"), ("patch", "/api/reports/nope/fields"), ("post", "/api/reports/nope/draft"),
    ("get", "/api/reports/nope/export"), ("get", "/api/reports/nope/source"),
])
def test_unknown_report_is_404(client, method, path) -> None:
    kwargs: dict = {"json": {"fields": {}}} if method == "patch" else {}
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == 404 and response.json()["detail"] == "报告不存在"


def test_corrections_recheck_and_a_suggestion_can_be_accepted(client, city) -> None:
    key = "t3.new_received.natural_person"
    original = city["fields"][key]
    broken = client.patch(f"/api/reports/{city['id']}/fields", json={"fields": {key: original + 10}}).json()
    errors = [f for f in broken["findings"] if f["severity"] == "error"]
    assert errors and broken["provenance"][key]["method"] == "manual"
    suggestion = errors[0]["suggestions"][0]["fields"]
    assert suggestion == {key: original}
    mended = client.patch(f"/api/reports/{city['id']}/fields", json={"fields": suggestion}).json()
    assert not [f for f in mended["findings"] if f["severity"] == "error"]


@pytest.mark.parametrize("body, message", [
    ({"fields": {"t9.nope": 1}}, "没有这些字段"),
    ({"fields": {"t3.total.total": "many"}}, "请求格式错误"),
    ({"nothing": 1}, "请求格式错误"),
])
def test_bad_corrections_are_422(client, city, body, message) -> None:
    response = client.patch(f"/api/reports/{city['id']}/fields", json=body)
    assert response.status_code == 422 and message in response.json()["detail"]


def test_draft_cites_its_facts(client, city) -> None:
    body = client.post(f"/api/reports/{city['id']}/draft").json()
    assert body["draft"].startswith("（一）存在的主要问题") and "[F" in body["draft"]
    assert body["method"] == "fallback" and body["findings"] and all(c["passed"] for c in body["checks"])
    assert client.get(f"/api/reports/{city['id']}").json()["draft"]["draft"] == body["draft"]


def test_exports(client, city) -> None:
    csv_text = client.get(f"/api/reports/{city['id']}/export", params={"format": "csv"}).content.decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(csv_text)))
    assert header[:5] == ["key", "table", "row", "column", "value"]
    assert len([r for r in rows if not r[0].startswith("draft.")]) == 200  # then the draft's row, once drafted
    workbook = load_workbook(io.BytesIO(client.get(f"/api/reports/{city['id']}/export",
                                                   params={"format": "xlsx"}).content))
    assert workbook["字段"].max_row == 201 and "检查结果" in workbook.sheetnames
    assert client.get(f"/api/reports/{city['id']}/export").json()["id"] == city["id"]
    assert client.get(f"/api/reports/{city['id']}/export", params={"format": "pdf"}).status_code == 422


def test_source_and_events(client, city) -> None:
    text = client.get(f"/api/reports/{city['id']}/source").json()["text"]
    where = city["provenance"]["t3.new_received.total"]
    assert text[where["location"]["start"]:where["location"]["end"]] == where["raw"]
    with client.stream("GET", f"/api/reports/{city['id']}/events") as stream:
        events = [json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:")]
    assert events[-1]["status"] == "done"


def test_registry_layout_and_page(client) -> None:
    layout = client.get("/api/registry").json()
    assert set(layout["templates"]) == {"2019", "2021"} and len(layout["table4_outcomes"]) == 5
    assert client.get("/").headers["content-type"].startswith("text/html")
    assert client.get("/openapi.json").status_code == 200


def test_token_is_required_when_configured(tmp_path) -> None:
    with _client(tmp_path, api_token="s3cret") as guarded:
        assert guarded.get("/api/reports").status_code == 401
        assert guarded.get("/api/reports", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert guarded.get("/health").status_code == 200


def test_reports_survive_a_restart(tmp_path) -> None:
    with _client(tmp_path) as first:
        (report_id,) = upload(first, source_path(BEILUN))
        wait(first, report_id)
    with _client(tmp_path) as second:
        assert second.get(f"/api/reports/{report_id}").json()["status"] == "done"


class _GbkName(zipfile.ZipInfo):
    """A member named in GBK bytes without the UTF-8 flag, as Chinese Windows archivers write it."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def _zip(members: dict[str, bytes], utf8_names: bool = True) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name) if utf8_names else _GbkName(name), data)
    return buffer.getvalue()


def test_an_upload_reports_each_file(client, city) -> None:
    beilun = source_path(BEILUN).read_bytes() + "\n（压缩包中的一份）".encode()  # new content, not a duplicate
    archive = _zip({"宁波/北仑区2020年报.txt": beilun, "Thumbs.db": b"\x00" * 64, "__MACOSX/._x.txt": b"x",
                    ".DS_Store": b"x", "desktop.ini": b"[.ShellClassInfo]", "说明.exe": b"MZ" + bytes(300)},
                   utf8_names=False)
    response = client.post("/api/reports", files=[("files", ("批量.zip", archive)), ("files", ("empty.pdf", b"")),
                                                   ("files", ("again.txt", source_path(CITY).read_bytes()))])
    assert response.status_code == 202, response.text
    outcomes = {f["filename"]: f for f in response.json()["files"]}
    assert set(outcomes) == {"北仑区2020年报.txt", "Thumbs.db", "._x.txt", ".DS_Store", "desktop.ini", "说明.exe",
                             "empty.pdf", "again.txt"}
    assert outcomes["北仑区2020年报.txt"]["outcome"] == "accepted" and outcomes["北仑区2020年报.txt"]["archive"] == "批量.zip"
    assert {n for n, f in outcomes.items() if f["outcome"] == "skipped"} == {"Thumbs.db", "._x.txt", ".DS_Store",
                                                                             "desktop.ini"}
    assert "不支持的文件类型" in outcomes["说明.exe"]["reason"] and "文件为空" in outcomes["empty.pdf"]["reason"]
    assert outcomes["again.txt"]["outcome"] == "duplicate" and outcomes["again.txt"]["id"] == city["id"]
    assert outcomes["again.txt"]["reason"].startswith("已存在")
    assert response.json()["ids"] == [outcomes["北仑区2020年报.txt"]["id"], city["id"]]


def test_an_upload_of_system_files_only_is_refused(client) -> None:
    response = client.post("/api/reports", files=[("files", ("x.zip", _zip({"Thumbs.db": b"\x00" * 8})))])
    assert response.status_code == 422 and "没有可读取的报告" in response.json()["detail"]


def test_a_failed_report_is_retried_and_deleted(client) -> None:
    (report_id,) = upload(client, files=[("files", ("notes.txt", "会议纪要：今天讨论了食堂的菜单。".encode()))])
    assert wait(client, report_id)["status"] == "failed"
    assert client.post(f"/api/reports/{report_id}/retry").json()["status"] == "queued"
    assert wait(client, report_id)["status"] == "failed"
    assert client.delete(f"/api/reports/{report_id}").status_code == 204
    assert client.get(f"/api/reports/{report_id}").status_code == 404
    assert report_id not in [r["id"] for r in client.get("/api/reports").json()["reports"]]


def test_retry_of_a_report_that_did_not_fail_is_409(client, city) -> None:
    response = client.post(f"/api/reports/{city['id']}/retry")
    assert response.status_code == 409 and "失败" in response.json()["detail"]


def test_a_correction_is_undone(client, city) -> None:
    key = "t3.new_received.total"
    extracted = city["fields"][key]
    before = client.get(f"/api/reports/{city['id']}").json()
    changed = client.patch(f"/api/reports/{city['id']}/fields", json={"fields": {key: extracted + 5}}).json()
    assert changed["provenance"][key]["method"] == "manual" and changed["extracted"][key] == extracted
    assert changed["findings"] != before["findings"]
    listed = next(r for r in client.get("/api/reports").json()["reports"] if r["id"] == city["id"])
    assert listed["findings_count"] == changed["findings_count"] != before["findings_count"]  # the list's summary made again
    undone = client.delete(f"/api/reports/{city['id']}/fields/{key}").json()
    assert undone["fields"][key] == extracted and undone["provenance"][key]["method"] == "rule"
    assert key not in undone["corrections"] and undone["findings"] == before["findings"]
    assert client.delete(f"/api/reports/{city['id']}/fields/{key}").status_code == 404


def test_times_carry_their_offset_and_reading_is_told(client, city) -> None:
    assert city["created"].endswith("+00:00") and city["reading"] == "complete" and city["incomplete"] == []
    cut = "\n".join(source_path(BEILUN).read_text("utf-8").splitlines()[:90]).encode()  # table 2 only
    (report_id,) = upload(client, files=[("files", ("cut.txt", cut))])
    partial = wait(client, report_id)
    assert partial["reading"] == "partial" and [t["table"] for t in partial["incomplete"]] == ["t3", "t4"]
    book = load_workbook(io.BytesIO(client.get(f"/api/reports/{report_id}/export", params={"format": "xlsx"}).content))
    assert [row[0] for row in book["读出情况"].values] == ["reading", "表三", "表四"]
    assert book["读出情况"]["B1"].value == "部分读出"


def test_many_reports_export_as_one_row_each(client, city) -> None:
    (other,) = upload(client, source_path(BEILUN))
    wait(client, other)
    ids = [city["id"], other]
    table = client.post("/api/exports", json={"ids": ids, "format": "csv"})
    header, *rows = csv.reader(io.StringIO(table.content.decode("utf-8-sig")))
    assert header[:6] == ["id", "filename", "agency", "year", "status", "reading"] and [r[0] for r in rows] == ids
    assert rows[0][header.index("t3.new_received.total")] == str(city["fields"]["t3.new_received.total"])
    sheet = load_workbook(io.BytesIO(client.post("/api/exports", json={"ids": ids, "format": "xlsx"}).content)).active
    assert sheet is not None and [c.value for c in sheet["A"]][1:] == ids
    bundle = zipfile.ZipFile(io.BytesIO(client.post("/api/exports", json={"ids": ids, "format": "zip"}).content))
    assert sorted(json.loads(bundle.read(n))["id"] for n in bundle.namelist()) == sorted(ids)
    assert client.post("/api/exports", json={"ids": ["nope"], "format": "csv"}).status_code == 404


def test_a_cell_that_was_not_scanned_has_no_image(client, city) -> None:
    response = client.get(f"/api/reports/{city['id']}/fields/t3.new_received.total/image")
    assert response.status_code == 404 and "扫描" in response.json()["detail"]
