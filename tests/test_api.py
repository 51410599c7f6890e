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
    kwargs = {"json": {"fields": {}}} if method == "patch" else {}
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
