"""`nianbao batch` on local processes: outputs, resuming after a kill, bad input."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import time

import pytest

from eval.load import CLI, distinct_reports, free_port, write_reports
from eval.scaleout import LineCounter
from service.jobs.task import process
from service.registry import registry

LOCAL = {**os.environ, "NIANBAO_BROKER_URL": ""}


def batch(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(CLI), "batch", *args], capture_output=True, text=True, timeout=300, env=env or LOCAL)


def results(out) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text("utf-8").splitlines()]


def test_batch_writes_results_fields_and_findings(tmp_path) -> None:
    reports = distinct_reports(12)
    write_reports(tmp_path / "in", reports)
    (tmp_path / "in" / "copy-of-first.html").write_bytes(reports[0][1])  # same content: read once
    (tmp_path / "in" / "broken.txt").write_text("这不是一份报告", encoding="utf-8")
    (tmp_path / "in" / "notes.xyz").write_text("not a report format")  # not a format: not picked up
    done = batch(str(tmp_path / "in"), "--workers", "2", "--out", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    assert "本次处理 13 份，跳过 1 份" in done.stderr and "12 份成功，1 份失败" in done.stderr
    records = {r["path"].rsplit("/", 1)[-1]: r for r in results(tmp_path / "out")}
    assert len(records) == 13 and records["broken.txt"]["status"] == "failed" and "报告" in records["broken.txt"]["error"]
    name, data = reports[5]
    expected = process(data, name)
    assert records[name]["report"]["fields"] == expected["report"]["fields"]
    assert records[name]["findings"] == expected["findings"]
    with (tmp_path / "out" / "fields.csv").open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    every_key = {key for template in registry().templates.values() for key in template.keys}
    assert len(rows) == 13 and every_key <= set(rows[0])
    row = next(r for r in rows if r["path"].endswith(name))
    assert row["t3.new_received.total"] == str(expected["report"]["fields"]["t3.new_received.total"]["value"])
    with (tmp_path / "out" / "findings.csv").open(encoding="utf-8-sig") as handle:
        findings = list(csv.DictReader(handle))
    crossyear = [f for f in findings if f["rule"].startswith("crossyear.")]  # Pingtan 2019–2025 are in the batch
    assert crossyear and {f["agency"] for f in crossyear} == {"平潭综合实验区"}
    assert len(findings) - len(crossyear) == sum(len(r["findings"]) for r in records.values())


def test_resume_after_a_kill_redoes_nothing_finished(tmp_path) -> None:
    write_reports(tmp_path / "in", distinct_reports(40))
    out = tmp_path / "out"
    first = subprocess.Popen([str(CLI), "batch", str(tmp_path / "in"), "--workers", "1", "--out", str(out)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=LOCAL, start_new_session=True)
    written, deadline = LineCounter(out / "results.jsonl"), time.monotonic() + 120
    while written.count() < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(first.pid, 9)
    first.wait(timeout=30)
    with (out / "results.jsonl").open("a", encoding="utf-8") as sink:
        sink.write('{"path": "cut off mid-')  # as if killed while writing a line
    before = (out / "results.jsonl").read_text("utf-8")
    finished = before.count("\n")
    assert 5 <= finished < 40, "the kill should land mid-batch"
    again = batch(str(tmp_path / "in"), "--workers", "2", "--resume", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert f"本次处理 {40 - finished} 份，跳过 {finished} 份" in again.stderr
    after = (out / "results.jsonl").read_text("utf-8")
    assert after.startswith(before[: before.rindex("\n") + 1])  # finished records kept as they were
    hashes = [r["sha256"] for r in results(out)]
    assert len(hashes) == len(set(hashes)) == 40


@pytest.mark.parametrize("args, env, code, message", [
    (["{tmp}/missing"], {}, 2, "不存在"),
    (["{tmp}", "--workers", "0"], {}, 2, "--workers 须为正整数"),
    (["{tmp}"], {}, 2, "没有找到可处理的报告文件"),
    (["{reports}"], {"NIANBAO_BROKER_URL": "redis://127.0.0.1:{port}/0"}, 4, "无法连接任务队列"),
    (["{reports}"], {"NIANBAO_BROKER_URL": "redis://127.0.0.1:{port}/0", "NIANBAO_VISIBILITY_TIMEOUT": "60"}, 2,
     "NIANBAO_VISIBILITY_TIMEOUT"),
], ids=["missing-path", "no-workers", "no-reports", "redis-down", "visibility-too-short"])
def test_bad_input_gets_a_chinese_message(tmp_path, args, env, code, message) -> None:
    write_reports(tmp_path / "reports", distinct_reports(1))
    (tmp_path / "empty").mkdir()
    values = {"tmp": tmp_path / "empty", "reports": tmp_path / "reports", "port": free_port()}
    done = batch(*[a.format(**values) for a in args], "--out", str(tmp_path / "out"),
                 env={**LOCAL, **{k: v.format(**values) for k, v in env.items()}})
    assert done.returncode == code and message in done.stderr and "Traceback" not in done.stderr


def test_existing_results_need_resume(tmp_path) -> None:
    write_reports(tmp_path / "in", distinct_reports(2))
    assert batch(str(tmp_path / "in"), "--out", str(tmp_path / "out")).returncode == 0
    done = batch(str(tmp_path / "in"), "--out", str(tmp_path / "out"))
    assert done.returncode == 2 and "--resume" in done.stderr


def test_apart_is_an_option_of_the_command(tmp_path) -> None:
    """`--apart` is one of batch's options (mypy found it once left in the function's body, where it was
    a tuple holding Typer's OptionInfo: no such option, and every batch ended in a TypeError)."""
    write_reports(tmp_path / "in", distinct_reports(2))
    done = batch(str(tmp_path / "in"), "--workers", "1", "--out", str(tmp_path / "out"), "--apart", "洪泽区人民政府")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "findings.csv").exists()
