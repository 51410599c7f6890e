"""The API against its own published schema: the token on every /api route, answers typed and
conforming (schemathesis over /openapi.json of a real `nianbao serve`), blocking work off the event
loop, /health that looks at what the service needs."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import httpx
import jsonschema
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text

from service import pipeline
from service.api import app as app_module
from service.api import create_app
from service.settings import Settings
from tests.conftest import app_of, gold_report_dirs, source_path

NIANBAO = Path(sys.executable).parent / "nianbao"
BEILUN = next(d for d in gold_report_dirs() if d.name == "beilun-development-2020")
TOKEN = "s3cret-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _closed_port() -> int:
    return _free_port()  # nothing listens there once the probe is closed


def _client(tmp_path, **overrides) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path, **overrides)))


def _wait_done(client, report_id: str, headers=None, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/reports/{report_id}", headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"{report_id} not finished")


def _validator(openapi: dict, ref: str) -> jsonschema.Validator:
    """A validator for one component of the published schema, its $refs resolved inside it."""
    return jsonschema.Draft202012Validator({"$ref": ref, "components": openapi["components"]})


# ------------------------------------------------------------------------------------------ the token
def _routes(routes):
    """Every APIRoute, also inside included routers (FastAPI keeps those as one entry of app.routes)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        inner = getattr(route, "original_router", None)
        yield from _routes(inner.routes if inner is not None else getattr(route, "routes", None) or [])


def _api_requests(app) -> list[tuple[str, str]]:
    """Every (method, path) of every /api route of the app, path parameters filled in."""
    return [(method, re.sub(r"\{[^}]+\}", "x", route.path)) for route in _routes(app.routes)
            if route.path.startswith("/api") for method in sorted(route.methods)]


def test_every_api_route_needs_the_token_and_the_schema_says_so(tmp_path) -> None:
    with _client(tmp_path, api_token=TOKEN) as client:
        requests = _api_requests(client.app)
        assert len(requests) >= 10 and ("GET", "/api/registry") in requests
        for method, path in requests:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
                response = client.request(method, path, headers=headers)
                assert response.status_code == 401, (method, path, headers, response.text)
                assert "令牌" in response.json()["detail"] and response.headers["www-authenticate"] == "Bearer"
            authorised = client.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert authorised.status_code != 401, (method, path)
        assert client.get("/health").status_code == 200 and client.get("/").status_code == 200
        openapi = client.get("/openapi.json").json()
    assert openapi["components"]["securitySchemes"]["HTTPBearer"] == {
        "type": "http", "scheme": "bearer", "description": openapi["components"]["securitySchemes"]["HTTPBearer"]["description"]}
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            assert (operation.get("security") == [{"HTTPBearer": []}]) == path.startswith("/api"), (method, path)


# ------------------------------------------------------------------------------------------ 4xx answers
@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with _client(tmp_path_factory.mktemp("data")) as client:
        response = client.post("/api/reports", files=[("files", (BEILUN.name + ".txt", source_path(BEILUN).read_bytes()))])
        done = _wait_done(client, response.json()["ids"][0])
        assert done["status"] == "done"
        yield client, done["id"], client.get("/openapi.json").json()


@pytest.mark.parametrize("method, path, kwargs", [  # the five operations the fuzzer found
    ("GET", "/api/reports", {"params": {"year": "二〇二三"}}),
    ("GET", "/api/reports/{id}/export", {"params": {"format": ""}}),
    ("PATCH", "/api/reports/{id}/fields", {"json": {"fields": {"t3.total.total": "many"}}}),
    ("PATCH", "/api/reports/{id}/fields", {"json": {"fields": {"t9.nope": 1}}}),  # the handler's own 422
    ("POST", "/api/extract", {}),
    ("POST", "/api/reports", {}),
])
def test_422_answers_match_the_published_schema(served, method, path, kwargs) -> None:
    client, report_id, openapi = served
    response = client.request(method, path.replace("{id}", report_id), **kwargs)
    assert response.status_code == 422
    body = response.json()
    assert isinstance(body["detail"], str) and re.search(r"[\u4e00-\u9fff]", body["detail"])
    documented = openapi["paths"][path.replace("{id}", "{report_id}")][method.lower()]["responses"]
    schema = (documented.get("422") or documented["4XX"])["content"]["application/json"]["schema"]
    _validator(openapi, schema["$ref"]).validate(body)
    assert "HTTPValidationError" not in json.dumps(openapi)  # one error model, not FastAPI's second one


def test_routing_errors_are_in_chinese_too(served) -> None:
    client, report_id, _ = served
    for method, path, status in (("GET", "/api/nowhere", 404), ("DELETE", "/api/registry", 405),
                                 ("GET", "/api/reports/nope", 404)):
        response = client.request(method, path)
        assert response.status_code == status and re.search(r"[\u4e00-\u9fff]", response.json()["detail"])


def test_main_answers_are_typed_in_the_schema(served) -> None:
    client, report_id, openapi = served
    paths = openapi["paths"]
    typed = {("/api/reports/{report_id}", "get"): "ReportDetail", ("/api/reports", "get"): "ReportList",
             ("/api/registry", "get"): "Layout", ("/health", "get"): "Health", ("/api/reports", "post"): "Submitted",
             ("/api/reports/{report_id}/source", "get"): "Source", ("/api/extract", "post"): "FlatReport",
             ("/api/reports/{report_id}/fields", "patch"): "ReportDetail"}
    for (path, method), model in typed.items():
        response = next(r for code, r in paths[path][method]["responses"].items() if code.startswith("2"))
        assert response["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
    for path, model in ((f"/api/reports/{report_id}", "ReportDetail"), ("/api/reports", "ReportList"),
                        ("/api/registry", "Layout"), ("/health", "Health")):
        _validator(openapi, f"#/components/schemas/{model}").validate(client.get(path).json())


# ------------------------------------------------------------------------------------------ the event loop
def test_blocking_work_runs_off_the_event_loop(tmp_path, monkeypatch) -> None:
    """Extraction, unzipping, database writes and the progress stream's reads each run where no
    event loop runs (a worker thread), so one slow upload cannot stall the other clients."""
    on_loop: list[str] = []

    def off_loop(name, function):
        def wrapper(*args, **kwargs):
            try:
                asyncio.get_running_loop()
                on_loop.append(name)
            except RuntimeError:
                pass
            return function(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(pipeline, "extract_bytes", off_loop("extract", pipeline.extract_bytes))
    monkeypatch.setattr(app_module, "expand", off_loop("unzip", app_module.expand))
    with _client(tmp_path) as client:
        jobs = app_of(client).state.jobs
        jobs.submit = off_loop("database write", jobs.submit)
        jobs.get = off_loop("database read", jobs.get)
        report = source_path(BEILUN).read_bytes()
        assert client.post("/api/extract", files={"file": ("r.txt", report)}).status_code == 200
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as bundle:
            bundle.writestr("r.txt", report)
        (report_id,) = client.post("/api/reports", files=[("files", ("r.zip", archive.getvalue()))]).json()["ids"]
        with client.stream("GET", f"/api/reports/{report_id}/events") as stream:
            events = [json.loads(line[5:]) for line in stream.iter_lines() if line.startswith("data:")]
    assert events[-1]["status"] == "done"
    assert on_loop == []


def test_a_slow_extraction_does_not_stall_health(tmp_path, monkeypatch) -> None:
    real = pipeline.extract_bytes

    def slow(*args, **kwargs):
        time.sleep(3.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "extract_bytes", slow)
    with _client(tmp_path) as client:
        client.get("/health")  # the store opened once
        slow_call = threading.Thread(
            target=client.post, args=("/api/extract",), kwargs={"files": {"file": ("r.txt", source_path(BEILUN).read_bytes())}})
        slow_call.start()
        time.sleep(0.3)
        started = time.monotonic()
        assert client.get("/health").status_code == 200
        waited = time.monotonic() - started
        slow_call.join()
    assert waited < 2.0, waited  # on the event loop it would wait for the extraction's 3 s


# ------------------------------------------------------------------------------------------ /health
def test_health_looks_at_the_database_and_the_store(tmp_path) -> None:
    with _client(tmp_path) as client:
        body = client.get("/health").json()
        assert body["status"] == "ok" and body["jobs"] == "embedded"
        assert {k: v["ok"] for k, v in body["checks"].items()} == {"database": True, "store": True}
        jobs = app_of(client).state.jobs
        jobs.stop()  # the embedded worker would trip over the missing table too
        with jobs.sessions.begin() as session:
            session.execute(text("DROP TABLE reports"))
        response = client.get("/health")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable" and not response.json()["checks"]["database"]["ok"]


def test_health_is_503_naming_a_broker_and_a_store_that_are_down(tmp_path) -> None:
    settings = dict(broker_url=f"redis://127.0.0.1:{_closed_port()}/0", chroma_url=f"http://127.0.0.1:{_closed_port()}")
    with _client(tmp_path, **settings) as client:
        response = client.get("/health")
    body = response.json()
    assert response.status_code == 503 and body["status"] == "unavailable" and body["jobs"] == "celery"
    assert body["checks"]["database"]["ok"] and not body["checks"]["broker"]["ok"] and not body["checks"]["store"]["ok"]
    assert "Redis" in body["checks"]["broker"]["message"] and "向量库" in body["checks"]["store"]["message"]
    with _client(tmp_path / "fallback", chroma_url=settings["chroma_url"], chroma_fallback=True) as client:
        body = client.get("/health").json()  # the configured fallback is what the service would use
    assert body["status"] == "ok" and "本地向量库" in body["checks"]["store"]["message"]


# ------------------------------------------------------------------------------------------ the fuzzer
EXAMPLES = 25  # per operation and phase
SEED = 20261217


def test_schemathesis_finds_nothing_on_a_real_server(tmp_path) -> None:
    """A real `nianbao serve` on 127.0.0.1 with a token and one report read; schemathesis over its
    /openapi.json, every operation (the report's id given for {report_id}, so they reach their logic)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    env.update(NIANBAO_DATA_DIR=str(tmp_path / "data"), NIANBAO_API_TOKEN=TOKEN)
    server = subprocess.Popen([str(NIANBAO), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=(tmp_path / "serve.log").open("wb"))
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        with httpx.Client(base_url=base, headers=auth, timeout=60) as http:
            (report_id,) = http.post("/api/reports", files=[("files", ("r.txt", source_path(BEILUN).read_bytes()))]).json()["ids"]
            _wait_done(http, report_id)
        config = tmp_path / "schemathesis.toml"
        config.write_text(f'[parameters]\n"path.report_id" = "{report_id}"\n', "utf-8")
        report = tmp_path / "st.json"
        done = subprocess.run(
            [str(Path(sys.executable).parent / "st"), "--config-file", str(config), "run", f"{base}/openapi.json",
             "--checks", "not_a_server_error,response_schema_conformance,content_type_conformance",
             "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--generation-database", "none",
             "--workers", "1", "--no-color", "--header", f"Authorization: Bearer {TOKEN}",
             "--report", "ndjson", "--report-ndjson-path", str(report)],
            capture_output=True, text=True, timeout=300, env=env)
    finally:
        server.terminate()
        server.wait(timeout=30)
    summary = done.stdout[done.stdout.rfind("SUMMARY"):]
    assert done.returncode == 0, done.stdout[-6000:]
    tested = re.search(r"Tested: (\d+)", summary)
    assert tested and int(tested.group(1)) == 19, summary
    assert "no issues found" in summary or "0 failures" in summary or "Failures" not in summary, summary
    assert "Traceback" not in (tmp_path / "serve.log").read_text()
    cases = re.search(r"(\d+) generated", summary)
    print(f"schemathesis: {tested.group(1)} operations, {cases.group(1) if cases else '?'} test cases, no failure")
