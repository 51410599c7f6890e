"""Issue 19 through the service: the draft endpoint drafts with the configured model and the store as the
CLI does; a correction makes the stored draft stale; exports carry the draft (words in CSV/XLSX, text and
citations as data in JSON)."""

from __future__ import annotations

import csv
import io
import json

from fastapi.testclient import TestClient
from openpyxl import load_workbook

from eval.load import free_port
from service.api import create_app
from service.settings import Settings
from tests.conftest import gold_report_dirs, source_path

SHANGHAI = next(d for d in gold_report_dirs() if d.name == "shanghai-government-office-2019")


def _upload(client: TestClient, gold_dir) -> str:
    path = source_path(gold_dir)
    response = client.post("/api/reports", files=[("files", (path.name, path.read_bytes()))])
    assert response.status_code == 202, response.text
    report_id = response.json()["ids"][0]
    for _ in range(600):
        body = client.get(f"/api/reports/{report_id}").json()
        if body["status"] in ("done", "failed"):
            assert body["status"] == "done", body["error"]
            return report_id
        import time
        time.sleep(0.05)
    raise AssertionError("not finished")


def _client(tmp_path, **settings) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path, **settings)))


def test_an_edit_makes_the_draft_stale_and_exports_carry_it(tmp_path) -> None:
    with _client(tmp_path) as client:
        report_id = _upload(client, SHANGHAI)
        body = client.post(f"/api/reports/{report_id}/draft").json()
        assert body["stale"] is False and "265 件" in body["draft"]  # 本机关不掌握: the total column is blank
        used = {f["key"]: f for f in body["figures"]}
        assert used["t3.granted.total"]["how"] == "summed" and used["t3.granted.total"]["value"] == 272
        assert client.get(f"/api/reports/{report_id}").json()["draft"]["stale"] is False

        client.patch(f"/api/reports/{report_id}/fields", json={"fields": {"t3.unavailable.not_held.total": 300}})
        saved = client.get(f"/api/reports/{report_id}").json()["draft"]
        assert saved["stale"] is True and saved["stale_keys"] == ["t3.unavailable.not_held.total"]
        numbers = next(c for c in saved["checks"] if c["name"] == "numbers_grounded")
        assert not numbers["passed"] and "已过时" in numbers["message"]  # no "✓ 数字均来自本年数据" on old figures

        rows = list(csv.reader(io.StringIO(client.get(f"/api/reports/{report_id}/export", params={"format": "csv"})
                                           .content.decode("utf-8-sig"))))
        draft_row = next(r for r in rows if r[0] == "draft.problems_and_improvements")
        assert draft_row[4].startswith("（一）存在的主要问题") and "[F" not in draft_row[4] and "过时" in draft_row[3]
        book = load_workbook(io.BytesIO(client.get(f"/api/reports/{report_id}/export", params={"format": "xlsx"}).content))
        text = [r[1] for r in book["第五部分草稿"].iter_rows(values_only=True) if r[0] == "text"]
        assert text[0] == "（一）存在的主要问题" and not any("[F" in str(t) for t in text)
        exported = client.get(f"/api/reports/{report_id}/export").json()["draft"]
        assert "[F" not in exported["text"] and exported["sentences"] and exported["citations"]
        assert {c for s in exported["sentences"] for c in s["cites"]} == {c["id"] for c in exported["citations"]}

        again = client.post(f"/api/reports/{report_id}/draft").json()
        assert again["stale"] is False and "300" in again["draft"]
        assert client.get(f"/api/reports/{report_id}").json()["draft"]["stale"] is False


def test_the_draft_endpoint_uses_the_configured_model_and_says_why_it_fell_back(tmp_path) -> None:
    down = f"http://127.0.0.1:{free_port()}/v1"
    with _client(tmp_path, llm_base_url=down, llm_model="none", llm_timeout=5) as client:
        report_id = _upload(client, SHANGHAI)
        body = client.post(f"/api/reports/{report_id}/draft").json()
    assert body["method"] == "fallback" and "大模型服务不可用" in body["label"]
    assert any("向量库" in n for n in body["notes"])  # no store in this data directory: said, not created
    assert not (tmp_path / "chroma").exists()


def test_the_draft_endpoint_searches_the_store(tmp_path) -> None:
    from service.draft.facts import collect
    from service.report import report_from_flat
    from service.store import open_store

    last = next(d for d in gold_report_dirs() if d.name == "pingtan-experimental-zone-2021")
    this = next(d for d in gold_report_dirs() if d.name == "pingtan-experimental-zone-2022")
    store, _ = open_store(tmp_path / "chroma")
    before = report_from_flat(json.loads((last / "gold.json").read_text("utf-8")))
    store.index(before, [], collect(before))
    with _client(tmp_path) as client:
        report_id = _upload(client, this)
        body = client.post(f"/api/reports/{report_id}/draft").json()
    assert any(e["kind"] == "own" and e["year"] == 2021 for e in body["examples"])
    assert next(c for c in body["checks"] if c["name"] == "overlap_previous")["value"] is not None
