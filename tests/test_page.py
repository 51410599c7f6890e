"""The web page in a real browser: Debian's chromium driven by Playwright against a real uvicorn.

Scenario of issue 8: upload the seed report, wait for done, all 198 fields in the tables, click a cell
and see its source span, change a value and accept the suggestion, draft with citations, export CSV,
the batch view, the token prompt. Screenshots land in the test's tmp_path (one also in /tmp).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SEED = Path(__file__).parents[1].parent / "shared" / "gold" / "beilun-development-2020" / "source.txt"
SECOND = ROOT / "eval" / "gold-relayout" / "huaian-hongze-district-2023" / "source.txt"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium "
                                                             "(make test installs it with apt-get)")
sync_api = pytest.importorskip("playwright.sync_api")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The real app under uvicorn in a subprocess, its data in a temporary directory."""

    def __init__(self, data_dir: Path, token: str | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.token = token
        env = {**os.environ, "NIANBAO_DATA_DIR": str(data_dir)}
        env.pop("NIANBAO_API_TOKEN", None)
        if token:
            env["NIANBAO_API_TOKEN"] = token
        self.log = open(data_dir / "server.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.api:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("uvicorn did not answer /health in 30 s")

    def get(self, path: str) -> dict:
        request = urllib.request.Request(self.url + path)
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server(tmp_path):
    (tmp_path / "data").mkdir()
    running = Server(tmp_path / "data")
    yield running
    running.stop()


def _page(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, accept_downloads=True,
                                  locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/")
    return page, errors


def _drop(page, name: str, text: str) -> None:
    """Drag a file onto the drop zone, as a person does from the file manager."""
    transfer = page.evaluate_handle("""([name, text]) => {
        const transfer = new DataTransfer();
        transfer.items.add(new File([text], name, {type: 'text/plain'}));
        return transfer;
    }""", [name, text])
    page.dispatch_event(".dropzone", "drop", {"dataTransfer": transfer})


def test_review_a_report_in_the_browser(browser, server, tmp_path) -> None:
    page, errors = _page(browser, server, tmp_path)
    expect = sync_api.expect

    # upload through the file picker; the row follows the job until it is done
    page.set_input_files(".dropzone input[type=file]", str(SEED))
    expect(page.locator(".upload-status")).to_contain_text("已提交 1 份报告", timeout=30_000)
    expect(page.locator("tr.report-row.status-done")).to_have_count(1, timeout=60_000)
    expect(page.locator("tr.report-row .badge.sev-error")).to_be_visible()
    page.screenshot(path=tmp_path / "1-list.png", full_page=True)

    # the report view: every field of the 2019 template is a value cell
    page.locator("tr.report-row a").first.click()
    report_id = page.url.rsplit("/", 1)[-1]
    detail = server.get(f"/api/reports/{report_id}")
    cells = page.locator("td.cell[data-key]")
    expect(cells).to_have_count(198)
    assert set(cells.evaluate_all("tds => tds.map(td => td.dataset.key)")) == set(detail["fields"]) \
        and len(detail["fields"]) == 198
    assert page.locator("td.cell.missing").count() == 0
    blanks = sum(v is None for v in detail["fields"].values())
    expect(page.locator("td.cell.blank")).to_have_count(blanks)
    assert page.locator(".table-block h3").all_inner_texts()[:3] == list(
        server.get("/api/registry")["table_titles"].values())

    # click a cell: its source is shown with the span highlighted and in view
    key = "t3.new_received.natural_person"
    where = detail["provenance"][key]["location"]
    source_text = server.get(f"/api/reports/{report_id}/source")["text"]
    page.locator(f'td[data-key="{key}"]').click()
    mark = page.locator(".cell-panel pre.source mark")
    expect(mark).to_have_text(source_text[where["start"]:where["end"]])
    expect(page.locator(".cell-panel pre.source")).to_contain_text(source_text[where["start"] - 30:where["start"]])
    box, pre = mark.bounding_box(), page.locator(".cell-panel pre.source").bounding_box()
    assert pre["y"] <= box["y"] and box["y"] + box["height"] <= pre["y"] + pre["height"]
    expect(page.locator(".cell-panel .cell-name")).to_contain_text("自然人")

    # a bad value is refused in Chinese before it is sent
    page.locator(".cell-panel form.edit input").fill("很多")
    page.locator(".cell-panel form.edit button").click()
    expect(page.locator("#notice")).to_contain_text("请输入数字")

    # change a value in the cell itself: an error finding appears and the cell turns red at once
    page.locator(f'td[data-key="{key}"]').dblclick()
    page.locator(f'td[data-key="{key}"] input').fill("10")
    page.locator(f'td[data-key="{key}"] input').press("Enter")
    balance = page.locator('.finding.sev-error[data-rule="t3.balance"]')
    expect(balance).to_have_count(1)
    expect(page.locator(f'td[data-key="{key}"]')).to_have_class(re.compile(r"\bsev-error\b.*\bmanual\b"))
    expect(page.locator(f'td[data-key="{key}"]')).to_have_text("10")
    page.screenshot(path=tmp_path / "2-finding.png", full_page=True)

    # accept its suggestion in one click: the errors are gone and the value is back
    balance.locator("button.accept").first.click()
    expect(page.locator(".finding.sev-error")).to_have_count(0)
    expect(page.locator(f'td[data-key="{key}"]')).to_have_text("0")
    assert server.get(f"/api/reports/{report_id}")["fields"][key] == 0

    # draft of section 五: text with citations linked to the facts
    page.get_by_role("button", name="生成第五部分草稿").click()
    cite = page.locator(".draft-text button.cite").first
    expect(cite).to_be_visible()
    expect(page.locator(".draft-text")).to_contain_text("（一）存在的主要问题")
    expect(page.locator(".draft-label")).to_contain_text("离线草稿")
    fact = cite.get_attribute("data-fact")
    cite.hover()
    expect(cite.locator(".tip")).to_be_visible()
    cite.click()
    expect(page.locator(f'.fact-list li[data-fact="{fact}"]')).to_have_class(re.compile(r"\bactive\b"))
    cite.hover()
    page.locator(".draft-panel").screenshot(path=tmp_path / "3-draft.png")

    # a figure the draft read is corrected: the draft says it is stale and offers to draft again
    received = "t3.new_received.total"
    expect(page.locator(".draft-figures")).to_contain_text(received)
    page.locator(f'td[data-key="{received}"]').dblclick()
    page.locator(f'td[data-key="{received}"] input').fill(str((detail["fields"][received] or 0) + 7))
    page.locator(f'td[data-key="{received}"] input').press("Enter")
    expect(page.locator(".draft-stale")).to_contain_text(received)
    page.get_by_role("button", name="重新生成草稿").click()
    expect(page.locator(".draft-stale")).to_have_count(0)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=tmp_path / "3-report.png", full_page=True)
    shutil.copy(tmp_path / "3-report.png", "/tmp/nianbao-page.png")

    # the server's own 422 reaches a person as its Chinese detail
    refused = page.evaluate("""async (path) => {
        const {api} = await import('/static/js/api.js');
        try { await api(path, 'PATCH', {fields: {'t9.nope': 1}}); } catch (error) { return [error.status, error.message]; }
    }""", f"/api/reports/{report_id}/fields")
    assert refused[0] == 422 and "没有这些字段" in refused[1]

    # export CSV: a real download with every field
    with page.expect_download() as download:
        page.locator('button.export[data-format="csv"]').click()
    csv_path = tmp_path / "export.csv"
    download.value.save_as(csv_path)
    assert download.value.suggested_filename == "source.csv"
    header, *rows = list(csv.reader(io.StringIO(csv_path.read_text("utf-8-sig"))))
    assert header[:5] == ["key", "table", "row", "column", "value"]
    assert len(rows) == 198 + 1 and rows[-1][0] == "draft.problems_and_improvements"  # the fields, then the draft
    assert rows[-1][4].startswith("（一）存在的主要问题") and "[F" not in rows[-1][4]

    # a second report by drag and drop, its file name full of markup that must stay text
    page.get_by_role("link", name="按机关和年度").click()
    hostile = "<img src=x onerror=window.__owned=1>洪泽2023.txt"  # quotes would be %22-escaped by the browser
    _drop(page, hostile, SECOND.read_text("utf-8"))
    expect(page.locator("table.batch tbody tr")).to_have_count(2, timeout=60_000)
    expect(page.locator(".batch-report.status-done")).to_have_count(2, timeout=60_000)
    expect(page.locator("table.batch")).to_contain_text(hostile)
    assert page.evaluate("window.__owned") is None
    page.screenshot(path=tmp_path / "4-batch.png", full_page=True)

    # its tables show the cells the report lacks as missing
    page.locator(".batch-report", has_text="洪泽2023").click()
    lacking = server.get(f"/api/reports/{page.url.rsplit('/', 1)[-1]}")["missing"]
    assert lacking  # the 2023 table 3 prints the 2019 row （六）其他处理 instead of the three 2021 rows
    expect(page.locator("td.cell.missing")).to_have_count(len(lacking))
    page.screenshot(path=tmp_path / "5-missing.png", full_page=True)
    assert errors == []


def test_the_token_is_asked_once_and_kept(browser, tmp_path) -> None:
    (tmp_path / "data").mkdir()
    server = Server(tmp_path / "data", token="s3cret")
    try:
        page, errors = _page(browser, server, tmp_path)
        dialog = page.locator("#token-dialog")
        expect = sync_api.expect
        expect(dialog).to_be_visible()
        dialog.locator("input").fill("s3cret")
        dialog.get_by_role("button", name="确定").click()
        expect(page.locator(".list-panel h2")).to_have_text("报告列表（0）")
        assert page.evaluate("localStorage.getItem('nianbao.token')") == "s3cret"
        page.reload()
        expect(page.locator(".list-panel h2")).to_have_text("报告列表（0）")
        expect(dialog).to_be_hidden()
        assert errors == []
    finally:
        server.stop()
