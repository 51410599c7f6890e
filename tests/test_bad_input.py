"""Bad input never shows a traceback: a Chinese message and a non-zero exit, or a 4xx."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api import create_app
from service.settings import Settings
from tests.conftest import ROOT

NIANBAO = Path(sys.executable).parent / "nianbao"
BEILUN = (ROOT.parent / "shared" / "gold" / "beilun-development-2020" / "source.txt").read_text("utf-8")
NOT_A_REPORT = ("关于召开2021年度安全生产工作会议的通知\n各科室：\n经研究，定于下周一召开会议，请准时参加。\n"
                "\t项目\t数量\n\t会议室\t3\n\t参会人数\t25\n\t材料\t40\n")
CUT_OFF = BEILUN[: BEILUN.index("（三）不予公开")]

BAD = {
    "empty": ("r.txt", b"", "文件为空"),
    "binary": ("r.txt", bytes(range(256)) * 64, "二进制"),
    "truncated-docx": ("r.docx", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64, "已损坏"),
    "unknown-extension": ("r.xyz", b"some text", "不支持的文件类型"),
    "not-a-report": ("r.txt", NOT_A_REPORT.encode(), "未识别到"),
}


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """The CLI with rules only: these tests are about input handling, not the model."""
    return subprocess.run([str(NIANBAO), *args, "--llm", "off"], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_cli_rejects_bad_input_with_a_chinese_message(case, tmp_path) -> None:
    name, data, message = BAD[case]
    path = tmp_path / name
    path.write_bytes(data)
    done = run_cli("extract", str(path))
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_cli_refuses_a_50_mb_file_without_reading_it(tmp_path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    done = run_cli("extract", str(path))
    assert done.returncode == 2 and "文件过大" in done.stderr


def test_cli_missing_file(tmp_path) -> None:
    done = run_cli("extract", str(tmp_path / "nope.txt"))
    assert done.returncode == 2 and "文件不存在" in done.stderr


def test_cli_cut_off_report_prints_the_part_it_read_and_lists_the_rest(tmp_path) -> None:
    path = tmp_path / "cut.txt"
    path.write_text(CUT_OFF, "utf-8")
    done = run_cli("extract", str(path), "--format", "flat")
    assert done.returncode == 3
    assert '"t3.new_received.total": 0' in done.stdout and "t3.granted" in done.stdout
    assert "字段未找到" in done.stderr and "t3.withheld.state_secret.natural_person" in done.stderr
    assert "t4.review.total" not in done.stdout


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("data"), max_upload_bytes=5 * 1024 * 1024)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_api_rejects_bad_input_with_4xx(case, client) -> None:
    name, data, message = BAD[case]
    response = client.post("/api/extract", files={"file": (name, data)})
    assert 400 <= response.status_code < 500
    assert message in response.json()["detail"]


def test_api_refuses_an_oversized_upload(client) -> None:
    response = client.post("/api/extract", files={"file": ("big.txt", b"0" * (6 * 1024 * 1024))})
    assert response.status_code == 413 and "文件过大" in response.json()["detail"]


def test_api_returns_partial_result_and_missing_fields_for_a_cut_off_report(client) -> None:
    response = client.post("/api/extract", files={"file": ("cut.txt", CUT_OFF.encode())})
    assert response.status_code == 422
    body = response.json()
    assert "t4.review.total" in body["missing"] and body["partial"]["fields"]["t3.carried_over.total"] == 0


def test_api_health_and_extract(client) -> None:
    assert client.get("/health").json()["status"] == "ok"
    response = client.post("/api/extract", files={"file": ("r.txt", BEILUN.encode())})
    assert response.status_code == 200
    body = response.json()
    assert body["meta"] == {"year": 2020, "agency": "发展局", "template": "2019"}
    assert body["fields"]["t2.procurement.amount"] == 560100
