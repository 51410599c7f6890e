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
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.conftest import load_gold, source_path

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
    expect(page.locator(".upload-status")).to_contain_text("已提交 1 份新报告", timeout=30_000)
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


# ------------------------------------------------------------------------------------------ an auditing office
GOLD = ROOT / "eval" / "gold"
RELAYOUT = ROOT / "eval" / "gold-relayout"
RESULTS = ROOT / "eval" / "results"
# scanned: the one-page golds and five two-page ones (OCR takes a second or two a page)
SCANNED = ["changtu-qijiazi-town-2023", "district-statistics-bureau-2023", "lixian-audit-bureau-2022",
           "tangyuan-county-government-office-2022", "wuhai-industry-information-technology-2020",
           "yilong-xinzheng-town-2023", "zhuzhou-hetang-guihua-subdistrict-2019", "pingtan-administrative-approval-2020",
           "pingtan-experimental-zone-2020", "pingtan-experimental-zone-2021", "pingtan-experimental-zone-2024",
           "pingtan-experimental-zone-2025"]
PRINTED = ["pingtan-experimental-zone-2020", "changtu-qijiazi-town-2023"]  # digital PDFs of two of them
SHANGHAI = "shanghai-government-office-2019"  # table 3 printed with its 总计 column blank
ZIPPED = {"huaian-hongze-district-2023": "洪泽区2023年报告.txt", "huaian-hongze-district-2024": "洪泽区2024年报告.txt"}
SYSTEM_FILES = {"Thumbs.db": b"\x00" * 512, "desktop.ini": b"[.ShellClassInfo]\r\n", ".DS_Store": b"\x00\x00\x00\x01Bud1",
                "__MACOSX/._洪泽区2023年报告.txt": b"\x00\x05\x16\x07"}


class _GbkName(zipfile.ZipInfo):
    """A member named in GBK without the UTF-8 flag, as Chinese Windows archivers write it."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def _payload(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "application/octet-stream", "buffer": data}


@pytest.fixture(scope="session")
def scans(tmp_path_factory) -> list[dict]:
    """Twelve gold reports printed and scanned at 200 dpi, two printed as digital PDFs (eval/modalities.py)."""
    from eval import modalities

    folder = tmp_path_factory.mktemp("scans")
    out = []
    for name, modality in [(n, "scan200") for n in SCANNED] + [(n, "pdf") for n in PRINTED]:
        data, _ = modalities.render_modality(load_gold(GOLD / name), modality)
        (folder / f"{name}.{modality}.pdf").write_bytes(data)
        out.append(_payload(f"{name}.{modality}.pdf", data))
    return out


def _texts() -> list[dict]:
    """Sixteen reports as published (text, web pages, Markdown), one cut after table 2 and one whose
    tables are all missing."""
    own = [d for d in sorted(GOLD.iterdir()) if d.name not in SCANNED and (d / "gold.json").exists()]
    own += [d for d in sorted(RELAYOUT.iterdir()) if (d / "gold.json").exists() and d.name not in ZIPPED]
    own.append(SEED.parent)
    files = [_payload(f"{d.name}{source_path(d).suffix}", source_path(d).read_bytes()) for d in own]
    lines = SEED.read_text("utf-8").splitlines(keepends=True)
    sections = "".join(f"{title}\n详见附件表格。\n" for title in (
        "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "四、政府信息公开行政复议、行政诉讼情况"))
    return files + [_payload("北仑发展局-只有表二.txt", "".join(lines[:90]).encode()),
                    _payload("北仑发展局-表格另附.txt", ("".join(lines[:15]) + sections).encode())]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for folder, name in ZIPPED.items():
            text = source_path(RELAYOUT / folder).read_text("utf-8")
            if folder.endswith("2023"):  # this year's report never names its city: 洪泽区人民政府 only
                text = text.replace("淮安市", "")
            archive.writestr(_GbkName(name), text.encode())
        for name, data in SYSTEM_FILES.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _reports(server) -> list[dict]:
    return server.get("/api/reports")["reports"]


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def _agree(shown, expected, what: str, timeout: float = 30) -> None:
    """The page's rows and the server's answer agree (reports keep finishing while the list is filtered)."""
    _wait(lambda: sorted(shown()) == sorted(expected()), timeout, what)


def _shot(page, name: str, width: int) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": 900})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=RESULTS / f"page-{name}-{width}.png", full_page=True)


def _fits(page, width: int) -> None:
    """Nothing wider than the window: wide tables scroll inside their own box."""
    page.set_viewport_size({"width": width, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_an_auditing_office_uploads_thirty_reports_at_once(browser, server, scans, tmp_path) -> None:
    expect = sync_api.expect
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    page = context.new_page()
    errors: list[str] = []
    streams: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("request", lambda request: streams.append(request.url) if "/events" in request.url else None)
    page.goto(server.url + "/")

    # one upload: 18 published reports (two in a zip with GBK names and system files), a note that is
    # no report, an empty PDF, then the 12 scans and 2 digital PDFs
    texts = _texts()
    files = [*texts, _payload("淮安.zip", _zip()), _payload("会议纪要.txt", "会议纪要：今天讨论了食堂的菜单。".encode()),
             _payload("空白.pdf", b""), *scans]
    started = time.monotonic()
    page.set_input_files(".dropzone input[type=file]", files=files)
    outcomes = page.locator(".upload-outcomes")
    expect(outcomes).to_contain_text("已接收 31 个，未接收 1 个，已跳过 4 个", timeout=60_000)
    expect(outcomes.locator(".outcome.rejected")).to_contain_text("空白.pdf")
    expect(outcomes.locator(".outcome.rejected")).to_contain_text("文件为空")
    assert sorted(outcomes.locator(".outcome.skipped .name").all_inner_texts()) == sorted(
        f"淮安.zip › {Path(n).name}" for n in SYSTEM_FILES)
    expect(page.locator("tr.report-row")).to_have_count(31, timeout=5_000)  # the list shows every upload at once
    listed = time.monotonic() - started
    for name in ZIPPED.values():
        expect(page.locator("tr.report-row td.file", has_text=name)).to_have_count(1)

    # a finished report opens at once while the scans are still being read
    shanghai = page.locator("tr.report-row", has_text=SHANGHAI)
    expect(shanghai.locator(".status.done")).to_be_visible(timeout=60_000)
    busy = sum(r["status"] in ("queued", "running") for r in _reports(server))
    assert busy >= 6, busy
    opening = time.monotonic()
    shanghai.locator("td.file a").click()
    expect(page.locator("td.cell[data-key]")).to_have_count(198, timeout=2_000)
    opened = time.monotonic() - opening
    assert opened < 2.0

    # a blank 总计 column: each row's break offers that row's own sum, and one action fills them all
    report_id = page.url.rsplit("/", 1)[-1]
    detail = server.get(f"/api/reports/{report_id}")
    rows = page.locator('.finding[data-rule="t3.row_sum"]')
    expect(rows).to_have_count(11)
    totals = [f for f in detail["findings"] if f["rule"] == "t3.row_sum"]
    for i, finding in enumerate(totals):
        total, parts = finding["fields"][0], finding["fields"][1:]
        own = sum(detail["fields"][k] or 0 for k in parts)
        single = rows.nth(i).locator(".suggestion:not(.whole)")
        expect(single).to_have_count(1)
        expect(single).to_have_attribute("data-fields", total)
        expect(single).to_contain_text(f"空白 → {own}")
        expect(rows.nth(i).locator(".suggestion.whole button")).to_have_text("全部采纳（11 格）")
    page.screenshot(path=tmp_path / "blank-totals.png", full_page=True)
    rows.first.locator(".suggestion.whole button").click()
    expect(page.locator('.finding[data-rule="t3.row_sum"]')).to_have_count(0)
    key = totals[0]["fields"][0]
    expect(page.locator(f'td[data-key="{key}"]')).to_have_class(re.compile(r"\bmanual\b"))

    # undo one cell: the extracted (blank) value again, the hand mark gone, its break back
    page.locator(f'td[data-key="{key}"]').click()
    expect(page.locator(".cell-facts")).to_contain_text("已人工修改（抽取值 （空白））")
    page.locator("button.undo").click()
    expect(page.locator(f'td[data-key="{key}"]')).to_have_text("空")
    expect(page.locator(f'td[data-key="{key}"]')).not_to_have_class(re.compile(r"\bmanual\b"))
    expect(page.locator('.finding[data-rule="t3.row_sum"]')).to_have_count(1)
    assert key not in server.get(f"/api/reports/{report_id}")["corrections"]
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "report", 1400)

    # the list: status 未读出表格 / 部分读出, filters and sorting
    page.goto(server.url + "/#/")
    expect(page.locator("tr.report-row")).to_have_count(31)
    none_row = page.locator("tr.report-row", has_text="北仑发展局-表格另附")
    expect(none_row.locator(".status")).to_have_text("未读出表格")
    expect(page.locator("tr.report-row", has_text="北仑发展局-只有表二").locator(".status")).to_have_text("部分读出")
    page.select_option("select[name=status]", "none")
    expect(page.locator("tr.report-row")).to_have_count(1)
    expect(page.locator("tr.report-row")).to_contain_text("北仑发展局-表格另附")
    page.select_option("select[name=status]", "")
    rows_shown = lambda: page.locator("tr.report-row").evaluate_all("trs => trs.map(tr => tr.dataset.id)")
    page.fill("input[name=agency]", "平潭")
    _agree(rows_shown, lambda: [r["id"] for r in _reports(server) if "平潭" in (r["agency"] or "")], "agency filter")
    page.fill("input[name=agency]", "")
    page.select_option("select[name=year]", "2019")
    _agree(rows_shown, lambda: [r["id"] for r in _reports(server) if r["year"] == 2019], "year filter")
    expect(page.locator("tr.report-row td:nth-child(4)").first).to_have_text("2019")
    page.select_option("select[name=year]", "")
    page.select_option("select[name=errors]", "some")
    _agree(rows_shown, lambda: [r["id"] for r in _reports(server) if r["status"] == "done" and r["findings_count"]["error"]],
           "errors filter")
    assert rows_shown()
    page.select_option("select[name=errors]", "")
    page.locator('th[data-sort="errors"] button').click()
    page.locator('th[data-sort="errors"] button').click()  # twice: most errors first
    expect(page.locator('th[data-sort="errors"]')).to_have_attribute("aria-sort", "descending")
    shown = [int(t or 0) for t in page.locator("tr.report-row td:nth-child(6)").all_inner_texts()]
    assert shown == sorted(shown, reverse=True) and shown[0] > 0

    # upload times in the browser's time zone (Asia/Shanghai, 8 hours ahead of the stored UTC)
    first = _reports(server)[0]
    local = datetime.fromisoformat(first["created"]).astimezone(timezone(timedelta(hours=8)))
    expect(page.locator(f'tr.report-row[data-id="{first["id"]}"] td.time')).to_have_text(
        f"{local.year}/{local.month}/{local.day} {local:%H:%M:%S}")

    # select several and export them: one row per report, with its reading
    page.select_option("select[name=status]", "none")
    page.locator("tr.report-row input[type=checkbox]").check()
    page.select_option("select[name=status]", "")
    page.fill("input[name=agency]", "平潭")
    page.locator("th.pick input[type=checkbox]").check()
    page.fill("input[name=agency]", "")
    chosen = set(page.locator("tr.report-row:has(td.pick input:checked)").evaluate_all("trs => trs.map(tr => tr.dataset.id)"))
    pingtan = [r for r in _reports(server) if r["id"] in chosen and "平潭" in (r["agency"] or "")]
    assert none_row.get_attribute("data-id") in chosen and len(pingtan) == len(chosen) - 1 >= 4
    expect(page.locator(".selected-count")).to_have_text(f"已选 {len(chosen)} 份")
    with page.expect_download() as csv_download:
        page.locator('button.bulk-export[data-format="csv"]').click()
    header, *lines = list(csv.reader(io.StringIO(Path(csv_download.value.path()).read_text("utf-8-sig"))))
    assert {line[0] for line in lines} == chosen and len(lines) == len(chosen)
    by_id = {line[0]: dict(zip(header, line)) for line in lines}
    assert by_id[none_row.get_attribute("data-id")]["reading"] == "未读出表格"
    done_pingtan = next(r for r in pingtan if r["status"] == "done" and r["reading"] == "complete")
    fields = server.get(f"/api/reports/{done_pingtan['id']}")["fields"]
    assert by_id[done_pingtan["id"]]["t3.new_received.total"] == str(fields["t3.new_received.total"])
    with page.expect_download() as zip_download:
        page.locator('button.bulk-export[data-format="zip"]').click()
    with zipfile.ZipFile(zip_download.value.path()) as bundle:
        assert sorted(json.loads(bundle.read(n))["id"] for n in bundle.namelist()) == sorted(chosen)
    with page.expect_download() as xlsx_download:
        page.locator('button.bulk-export[data-format="xlsx"]').click()
    assert xlsx_download.value.suggested_filename == "reports.xlsx"
    sheet = load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes())).active
    assert sheet is not None and {c.value for c in sheet["A"][1:]} == chosen
    page.locator("th.pick input[type=checkbox]").uncheck()
    _shot(page, "list", 1400)

    # a failed row: retried, then deleted
    failed = page.locator("tr.report-row", has_text="会议纪要.txt")
    expect(failed.locator(".status.failed")).to_contain_text("未识别到政府信息公开工作年度报告")
    with page.expect_response(lambda response: response.url.endswith("/retry")) as retried:
        failed.locator("button.retry").click()
    assert retried.value.status == 202 and retried.value.json()["status"] == "queued"
    expect(page.locator("#notice")).to_contain_text("已重新排队")
    expect(failed.locator(".status.failed")).to_be_visible(timeout=120_000)  # read again: still no report
    failed.locator("button.delete").click()
    expect(page.locator("tr.report-row")).to_have_count(30)

    # a duplicate says 已存在 and links to the report it duplicates
    page.set_input_files(".dropzone input[type=file]", files=[t for t in texts if t["name"].startswith(SHANGHAI)])
    duplicate = page.locator(".upload-outcomes .outcome.duplicate")
    expect(duplicate).to_contain_text("已存在")
    expect(page.locator(".upload-status")).to_have_text("没有新的报告")
    duplicate.get_by_role("link", name="查看已有报告").click()
    expect(page).to_have_url(re.compile(f"#/report/{report_id}$"))
    expect(page.locator("td.cell[data-key]")).to_have_count(198)

    # the grid: the agency column stays in place while the years scroll
    page.goto(server.url + "/#/batch")
    expect(page.locator("table.batch tbody tr").first).to_be_visible()
    expect(page.locator(".batch-report.reading-none")).to_contain_text("未读出表格")
    _fits(page, 800)
    scroller = page.locator(".batch-scroll")
    agency = page.locator("table.batch tbody th.agency").first
    before = agency.bounding_box()["x"]
    scroller.evaluate("box => { box.scrollLeft = box.scrollWidth; }")
    assert scroller.evaluate("box => box.scrollLeft") > 200
    assert agency.bounding_box()["x"] == before
    scroller.evaluate("box => { box.scrollLeft = 0; }")
    _shot(page, "grid", 800)
    _shot(page, "grid", 1400)

    # one body across years: 洪泽区人民政府 (2023) and 淮安市洪泽区人民政府 (2024) share a row, split on demand
    hongze = [page.locator("table.batch tbody tr", has_text=name) for name in ZIPPED.values()]
    body = lambda i: hongze[i].get_attribute("data-body")
    expect(hongze[0]).to_have_count(1)
    assert body(0) == body(1)
    joined = hongze[0].locator(".joined").first
    expect(joined).to_contain_text("已合并：")
    assert sorted(joined.inner_text().removeprefix("已合并：").split("、")) == ["洪泽区人民政府", "淮安市洪泽区人民政府"]
    hongze[0].locator('button.apart[data-name="洪泽区人民政府"]').click()
    expect(page.locator("#notice")).to_contain_text("已把“洪泽区人民政府”单独列出")
    expect(hongze[0].locator("button.join")).to_be_visible()
    assert body(0) != body(1)
    hongze[0].locator("button.join").click()
    expect(hongze[0].locator("button.apart")).to_have_count(1)
    assert body(0) == body(1)

    # a scan: its cells marked by the recogniser's confidence; a cell's crop of the page beside the reading
    scanned = _wait(lambda: next((r for r in _reports(server) if r["filename"].endswith(".scan200.pdf")
                                  and r["status"] == "done"), None), 240, "a scan read")
    page.goto(server.url + f"/#/report/{scanned['id']}")
    provenance = server.get(f"/api/reports/{scanned['id']}")["provenance"]
    ocr = {k: p for k, p in provenance.items() if p["method"].startswith("ocr")}
    unsure = {k for k, p in ocr.items() if p["confidence"] < 0.85}
    assert len(unsure) < len(ocr)
    expect(page.locator("td.cell[data-key]").first).to_be_visible()
    assert set(page.locator("td.cell.low-confidence").evaluate_all("tds => tds.map(td => td.dataset.key)")) == unsure
    key, cell = next((k, p) for k, p in ocr.items() if p["location"].get("ocr", {}).get("text"))
    page.locator(f'td[data-key="{key}"]').click()
    crop = page.locator(".cell-panel img.scan-crop")
    expect(crop).to_be_visible()
    page.wait_for_function("() => document.querySelector('.cell-panel img.scan-crop')?.naturalWidth > 20")
    expect(page.locator(".cell-panel .ocr-text")).to_have_text(cell["location"]["ocr"]["text"])
    expect(page.locator(".cell-panel .source-head")).to_contain_text(f"第 {cell['location']['page']} 页")
    _shot(page, "scan", 1400)

    # 800 px: list, grid and report fit the window
    for name, path in (("list", "/#/"), ("report", f"/#/report/{report_id}")):
        page.goto(server.url + path)
        expect(page.locator("tr.report-row, td.cell[data-key]").first).to_be_visible()
        _fits(page, 800)
        _shot(page, name, 800)
    page.goto(server.url + f"/#/report/{scanned['id']}")
    page.locator(f'td[data-key="{key}"]').click()
    expect(crop).to_be_visible()
    _shot(page, "scan", 800)

    assert streams == []  # progress comes from the list, never one stream per report
    assert errors == []
    print(f"31 rows listed {listed:.1f} s after the upload started; report opened in {opened:.2f} s "
          f"with {busy} reports unfinished")
    context.close()
