"""The bundled model's server never outlives the process that started it: `nianbao extract --llm auto`
killed (SIGKILL), stopped (SIGTERM) or interrupted (Ctrl-C) while the server answers, and a process
that simply exits, leave no server running and its port free; a server left behind by a process that
is gone is stopped on the next start."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from eval import drift
from service.llm import local
from tests.conftest import gold_report_dirs, load_gold

NIANBAO = Path(sys.executable).parent / "nianbao"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """One data directory for the module: the model file is assembled into it once."""
    assert local.installed(), "make test installs llama-cpp-python and the bundled model"
    return tmp_path_factory.mktemp("data")


def _environment(data_dir: Path) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_LLM_")}
    return {**environment, "NIANBAO_DATA_DIR": str(data_dir)}


def _until(condition, seconds: float, step: float = 0.1):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (value := condition()) :
            return value
        time.sleep(step)
    return None


def _server(data_dir: Path, parent: int) -> dict | None:
    """The pid file of the server `parent` started, once that server answers."""
    for record in (data_dir / "llm-servers").glob("*.json"):
        entry = json.loads(record.read_text("utf-8"))
        if entry["parent"] == parent:
            try:
                if httpx.get(f"http://127.0.0.1:{entry['port']}/v1/models", timeout=1).status_code == 200:
                    return entry
            except httpx.TransportError:
                return None
    return None


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # a zombie whose parent has not reaped it yet has ended too
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" in status.read_text()


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _assert_no_server_left(entry: dict) -> None:
    assert _until(lambda: _gone(entry["pid"]), 15), f"server {entry['pid']} still running"
    assert _until(lambda: _port_free(entry["port"]), 15), f"port {entry['port']} still taken"


@pytest.fixture(scope="module")
def drifted(tmp_path_factory) -> Path:
    """A report whose renamed rows send `--llm auto` to the bundled model."""
    gold = load_gold(next(d for d in gold_report_dirs() if d.name == "pingtan-experimental-zone-2022"))
    rendering = drift.make(gold, "drift", "html")
    path = tmp_path_factory.mktemp("report") / rendering.filename
    path.write_bytes(rendering.data)
    return path


@pytest.mark.parametrize("ending", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_ending_nianbao_extract_while_the_model_answers_leaves_no_server(data_dir, drifted, ending) -> None:
    cli = subprocess.Popen([str(NIANBAO), "extract", str(drifted), "--llm", "auto"], env=_environment(data_dir),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        entry = _until(lambda: _server(data_dir, cli.pid), 120, 0.2)
        assert entry, cli.stderr.read().decode() if cli.poll() is not None and cli.stderr else "no server started"
        assert cli.poll() is None, "extract ended before it could be interrupted"
        cli.send_signal(ending)
        cli.wait(timeout=30)
        _assert_no_server_left(entry)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()


def test_a_process_that_exits_stops_its_server(data_dir) -> None:
    driver = ("import sys, time; from pathlib import Path; from service.llm import local; "
              "process, config = local.start(Path(sys.argv[1])); print(process.pid, flush=True)")
    done = subprocess.run([sys.executable, "-c", driver, str(data_dir)], capture_output=True, text=True,
                          timeout=180, cwd=ROOT, env=_environment(data_dir))
    assert done.returncode == 0, done.stderr[-2000:]
    pid = int(done.stdout.split()[0])
    assert _until(lambda: _gone(pid), 15)
    assert not list((data_dir / "llm-servers").glob(f"{pid}.json"))


def test_a_server_left_by_a_dead_process_is_stopped_on_the_next_start(tmp_path) -> None:
    """A stand-in server (its command line names llama_cpp.server) whose recorded parent is gone."""
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "llama_cpp.server"])
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    records = tmp_path / "llm-servers"
    records.mkdir()
    (records / f"{stand_in.pid}.json").write_text(json.dumps({"pid": stand_in.pid, "parent": int(gone.stdout),
                                                              "port": 1}))
    try:
        assert local.clean_stale(tmp_path) == [stand_in.pid]
        assert stand_in.wait(timeout=10) == -signal.SIGKILL
        assert not list(records.glob("*.json"))
    finally:
        if stand_in.poll() is None:
            stand_in.kill()
            stand_in.wait()
