"""Issue 17's faults, each as a test: plausibility by the body's level, partial gold through eval."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from service.check import check
from service.report import report_from_flat
from tests.conftest import gold_report_dirs, load_gold, source_path

NIANBAO = Path(sys.executable).parent / "nianbao"
LICENCES = 11_398_889  # a real city-wide count of 行政许可 decisions


def _whole_gold() -> dict:
    return load_gold(next(d for d in gold_report_dirs() if d.name == "shuyang-county-2025"))


def _with(agency: str, **fields) -> dict:
    gold = _whole_gold()
    return {**gold, "meta": {**gold["meta"], "agency": agency}, "fields": {**gold["fields"], **fields}}


@pytest.mark.parametrize("agency, warned", [
    ("深圳市人民政府", False),  # a city: eleven million licences are real
    ("上海市人民政府", False),  # a municipality, a province's level
    ("淮安市洪泽区人民政府", True),  # a district: worth a second look, never an error
    ("沭阳县人民政府", True),
    ("沭阳县发展和改革局", True),  # a county's department takes the county's bound
    ("深圳市市场监督管理局", False),  # a city's department takes the city's
])
def test_big_real_figures_are_never_an_error_and_warned_by_the_bodys_level(agency, warned) -> None:
    findings = check(report_from_flat(_with(agency, **{"t2.licensing.decisions": LICENCES})))
    about = [f for f in findings if "t2.licensing.decisions" in f.fields and f.rule.startswith("value.")]
    assert all(f.severity == "warning" and f.rule == "value.implausible" for f in about)
    assert bool(about) == warned
    assert not [f for f in findings if f.severity == "error"]


def test_requests_are_bounded_lower_than_decisions_and_impossible_values_stay_errors() -> None:
    findings = check(report_from_flat(_with("沭阳县人民政府", **{"t3.new_received.natural_person": 500_000})))
    assert [f.rule for f in findings if f.rule.startswith("value.")] == ["value.implausible"]
    findings = check(report_from_flat(_with("深圳市人民政府", **{"t2.penalty.decisions": -3})))
    assert {(f.rule, f.severity) for f in findings if f.rule.startswith("value.")} == {("value.impossible", "error")}


def test_check_cli_passes_a_city_with_eleven_million_licences(tmp_path) -> None:
    flat = tmp_path / "city.json"
    flat.write_text(json.dumps(_with("深圳市人民政府", **{"t2.licensing.decisions": LICENCES}), ensure_ascii=False), "utf-8")
    done = subprocess.run([str(NIANBAO), "check", str(flat), "--format", "json"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not [f for f in json.loads(done.stdout)["findings"] if f["severity"] == "error"]


# ------------------------------------------------------------------------------------ partial gold in eval
def _partial(gold: dict, report_id: str, keep) -> dict:
    return {**gold, "id": report_id, "fields": {k: v for k, v in gold["fields"].items() if keep(k)}}


PARTIALS = {  # how real captures leave out part of the template
    "table2-only": lambda k: k.startswith("t2."),
    "no-table4": lambda k: not k.startswith("t4."),
    "table3-total-column-left-out": lambda k: not (k.startswith("t3.") and k.endswith(".total")),
    "every-seventh-cell-left-out": lambda k: k not in _EVERY_SEVENTH,
}
_EVERY_SEVENTH: set[str] = set(sorted(_whole_gold()["fields"])[::7])


@pytest.mark.parametrize("name", PARTIALS)
def test_partial_gold_is_mutated_and_held_to_the_identities_its_keys_can_be_checked_on(name) -> None:
    from eval import mutations
    from eval.suite import checker_figures

    gold = _partial(_whole_gold(), name, PARTIALS[name])
    tally = mutations.run_report(gold, 120, 7)
    # every mutation counted as breaking an identity breaks one the checker looks at on these keys
    assert tally.detected == tally.breaking
    assert tally.mutations == (0 if name == "table2-only" else 120)
    # the whole report's identities hold, so those a whole table or column left out leaves checkable hold too
    # (a sum missing a few terms is still checked, by the checker as by eval: that partial report breaks it)
    figures = checker_figures([gold], 0, 7)
    assert figures["consistent_gold_reports"] == (name != "every-seventh-cell-left-out")
    assert figures["false_errors_on_consistent_gold"] == 0


def test_eval_cli_over_whole_and_partial_gold_writes_its_report(tmp_path) -> None:
    whole_dir = next(d for d in gold_report_dirs() if d.name == "shuyang-county-2025")
    golds = tmp_path / "gold"
    for name, keep in PARTIALS.items():
        (golds / name).mkdir(parents=True)
        (golds / name / whole_dir.joinpath("gold.json").name).write_text(
            json.dumps(_partial(_whole_gold(), name, keep), ensure_ascii=False), "utf-8")
        source = load_gold(whole_dir)["source"]
        (golds / name / source).write_bytes((whole_dir / source).read_bytes())
    partial_capture = next(d for d in gold_report_dirs() if d.name == "lixian-audit-bureau-2022")
    done = subprocess.run([str(NIANBAO), "eval", str(golds), str(partial_capture.parent), "--modalities", "source,text",
                           "--mutations", "30", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    for name in ("report.json", "report.md", "report.html"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    report = json.loads((tmp_path / "out" / "report.json").read_text("utf-8"))
    assert {"table2-only", "lixian-audit-bureau-2022", "no-table4"} <= set(report["by_report"])
    benchmark = report["checker"]["mutation_benchmark"]["per_report"]
    assert benchmark["table2-only"]["mutations"] == 0 and benchmark["no-table4"]["detection"] == 1.0
    assert report["by_report"]["table2-only"]["source"]["cells"] == len(_partial(_whole_gold(), "", PARTIALS["table2-only"])["fields"])


# ------------------------------------------------------------------------------------ the data directory
class _FakeModel(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint on 127.0.0.1 that answers every chat request with "{}" (which
    every schema the chain asks for accepts), so answers get cached where the data directory is."""
    calls = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        type(self).calls += 1
        out = json.dumps({"id": "fake", "object": "chat.completion", "created": 0, "model": body["model"],
                          "choices": [{"index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": "{}"}}],
                          "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def fake_model():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()
    server.server_close()


def test_extract_keeps_its_caches_in_the_users_cache_directory_never_the_working_one(tmp_path, fake_model) -> None:
    from eval import drift

    rendering = drift.make(_whole_gold(), "drift", "html")  # drifted row labels: the rules leave gaps
    report = tmp_path / rendering.filename
    report.write_bytes(rendering.data)
    cwd, cache = tmp_path / "anywhere", tmp_path / "xdg-cache"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "NIANBAO_DATA_DIR"}
    env.update(XDG_CACHE_HOME=str(cache), NIANBAO_LLM_BASE_URL=fake_model, NIANBAO_LLM_MODEL="fake")
    before = _FakeModel.calls
    done = subprocess.run([str(NIANBAO), "extract", str(report), "--format", "flat"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 3), done.stderr[-1000:]
    assert _FakeModel.calls > before  # the model was asked, so there was something to cache
    assert list(cwd.iterdir()) == []
    assert list((cache / "nianbao" / "llm-cache").glob("*.json"))
    # NIANBAO_DATA_DIR still says where
    chosen = tmp_path / "chosen"
    done = subprocess.run([str(NIANBAO), "extract", str(report), "--format", "flat"], cwd=cwd,
                          env={**env, "NIANBAO_DATA_DIR": str(chosen)}, capture_output=True, text=True, timeout=300)
    assert done.returncode in (0, 3) and list(cwd.iterdir()) == []
    assert list((chosen / "llm-cache").glob("*.json"))


def test_settings_default_to_the_cache_directory(monkeypatch, tmp_path) -> None:
    from service.settings import Settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NIANBAO_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert Settings().data_dir == tmp_path / "c" / "nianbao"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert Settings().data_dir == Path.home() / ".cache" / "nianbao"
    monkeypatch.setenv("NIANBAO_DATA_DIR", str(tmp_path / "d"))
    assert Settings().data_dir == tmp_path / "d"


# ------------------------------------------------------------------------------------ any flat JSON through check
def test_any_flat_json_gives_findings_or_a_clear_error() -> None:
    """Unknown keys, strings, booleans, negatives, huge numbers, NaN and infinities (json.loads reads
    them), missing tables, odd meta: `check` answers with findings or a FlatInputError, never a traceback."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from service.registry import registry
    from service.report import FlatInputError

    def weighted(*choices):  # st.one_of flattens nested one_of into equal branches: weigh them here
        return st.sampled_from([s for weight, s in choices for _ in range(weight)]).flatmap(lambda s: s)

    templates = registry().templates
    keys = sorted({k for t in templates.values() for k in t.keys})
    scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**40, 10**40), st.floats(), st.text(max_size=6))
    anything = st.one_of(scalar, st.lists(scalar, max_size=2), st.dictionaries(st.text(max_size=3), scalar, max_size=2))
    number = st.one_of(st.none(), st.integers(0, 50), st.integers(-10**40, 10**40), st.floats(-1e12, 1e12),
                       st.sampled_from([11_398_889, 10**400, -0.5]))
    not_finite = st.builds(lambda key, value: {key: value}, st.sampled_from(keys),
                           st.sampled_from([float("nan"), float("inf"), float("-inf")]))
    one_template = st.sampled_from(sorted(templates)).flatmap(  # well-formed: one template's keys, any numbers
        lambda t: st.dictionaries(st.sampled_from(sorted(templates[t].keys)), number, max_size=220))
    fields = weighted((6, one_template), (1, not_finite), (1, anything),
                      (1, st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=12)), anything, max_size=8)))
    good_meta = st.fixed_dictionaries({}, optional={
        "year": st.integers(1900, 2100),
        "agency": st.sampled_from(["深圳市人民政府", "上海市人民政府", "淮安市洪泽区人民政府", "蠡县审计局", "国家统计局", ""])})
    meta = weighted((6, good_meta), (1, anything), (1, st.fixed_dictionaries(
        {}, optional={"year": anything, "agency": anything, "template": anything})))
    well_formed = st.fixed_dictionaries({"fields": fields}, optional={"meta": meta, "sections": anything})
    document = weighted((8, well_formed), (1, anything))

    @settings(max_examples=300, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(document, document)
    def prop(data, previous) -> None:
        try:
            report = report_from_flat(data)
        except FlatInputError as exc:
            assert re.search(r"[\u4e00-\u9fff]", str(exc))
            return
        try:
            before = report_from_flat(previous)
        except FlatInputError:
            before = None
        findings = check(report, before)
        checked.append(len(findings))
        assert all(f.severity in ("error", "warning", "info") and f.message for f in findings)
        assert not [f for f in findings if f.rule == "value.implausible" and f.severity != "warning"]

    checked: list[int] = []
    prop()
    assert len(checked) > 100  # most examples reach the checker, not only the input validation


def test_check_cli_refuses_nan_as_bad_input(tmp_path) -> None:
    flat = tmp_path / "nan.json"
    flat.write_text('{"meta": {"template": "2021"}, "fields": {"t3.new_received.total": NaN}}', "utf-8")
    done = subprocess.run([str(NIANBAO), "check", str(flat)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "数字" in done.stderr


# ------------------------------------------------------------------------------------ damaged sources through extract
def _sources() -> list[tuple[str, bytes]]:
    """Every gold source as published (text, web pages, Markdown), and a few rendered as Word files."""
    from eval import render

    found = [(source_path(d).name, source_path(d).read_bytes()) for d in gold_report_dirs()]
    for report_dir in gold_report_dirs()[:4]:
        data, name = render.render(load_gold(report_dir), "docx")
        found.append((name, data))
    return found


def test_any_truncation_byte_flip_or_re_encoding_of_a_gold_source_reads_or_is_refused_clearly() -> None:
    import time

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from service import pipeline

    sources = _sources()

    @settings(max_examples=300, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.sampled_from(sources), st.sampled_from(["truncate", "flip", "re-encode"]), st.floats(0, 1),
           st.integers(0, 255), st.sampled_from(["gb18030", "utf-16", "big5", "latin-1", "utf-8-sig"]))
    def prop(source, how, where, byte, codec) -> None:
        name, data = source
        at = int(where * len(data))
        if how == "truncate":
            data = data[:at]
        elif how == "flip":
            data = data[:at] + bytes([byte]) + data[at + 1:]
        elif not name.endswith(".docx"):
            data = data.decode("utf-8", errors="replace").encode(codec, errors="replace")
        started = time.perf_counter()
        try:
            report = pipeline.extract_bytes(data, name)  # a result, maybe partial (report.missing) …
            assert report.meta.template
        except pipeline.InputError as exc:  # … or a clear Chinese refusal, never a traceback
            assert re.search(r"[\u4e00-\u9fff]", exc.message)
        assert time.perf_counter() - started < 30  # and never a hang

    prop()


def test_any_damaged_zip_upload_is_queued_or_refused_never_a_server_error(tmp_path) -> None:
    """Byte flips and truncations of a .zip of reports (and an encrypted member): 202 or a 4xx with a
    Chinese detail from POST /api/reports, never a 500 (a broken deflate stream or CRC was one)."""
    import io
    import zipfile

    from fastapi.testclient import TestClient
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from service.api import create_app
    from service.settings import Settings

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for report_dir in gold_report_dirs()[:3]:
            bundle.writestr(report_dir.name + ".txt", source_path(report_dir).read_bytes())
    data = archive.getvalue()
    encrypted = bytearray(data)  # every member marked encrypted, in its local and its central header
    for signature, flags in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = encrypted.find(signature)
        while at >= 0:
            encrypted[at + flags] |= 0x1
            at = encrypted.find(signature, at + 1)
    with TestClient(create_app(Settings(data_dir=tmp_path, workers=0))) as client:
        def post(body: bytes):
            return client.post("/api/reports", files=[("files", ("reports.zip", body))])

        assert post(bytes(encrypted)).status_code == 422

        @settings(max_examples=200, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
        @given(st.sampled_from(["flip", "truncate"]), st.integers(0, len(data) - 1), st.integers(0, 255))
        def prop(how, at, byte) -> None:
            body = data[:at] + bytes([byte]) + data[at + 1:] if how == "flip" else data[:at]
            response = post(body)
            assert response.status_code in (202, 400, 413, 415, 422), response.text
            if response.status_code != 202:
                assert re.search(r"[\u4e00-\u9fff]", response.json()["detail"])

        prop()
