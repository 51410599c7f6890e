"""Settings from the environment (NIANBAO_*), read only at the rim: CLI and API."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.paths import default_data_dir


class Settings(BaseSettings):
    # env_ignore_empty: compose passes unset variables as "", which must mean "not set"
    model_config = SettingsConfigDict(env_prefix="NIANBAO_", extra="ignore", env_ignore_empty=True)

    data_dir: Path = Field(default_factory=default_data_dir)  # ~/.cache/nianbao unless NIANBAO_DATA_DIR says
    database_url: str | None = None  # default: SQLite file in the data directory
    api_token: SecretStr | None = None  # when set, every /api call needs "Authorization: Bearer <token>"
    cors_origins: list[str] = Field(default_factory=list)  # closed by default
    max_upload_bytes: int = 20 * 1024 * 1024
    max_files: int = 500  # per request, zip members included
    max_zip_bytes: int = 200 * 1024 * 1024  # uncompressed, per archive
    workers: int = 1
    # Scale-out (service/jobs/cluster.py): with a Redis URL, reports go to Celery workers instead of the
    # embedded worker; Redis is broker and result backend.
    broker_url: str | None = None
    broker_inflight: int = 200  # reports waiting in Redis at once: bounds its memory, keep above all worker processes
    task_time_limit: int = 600  # seconds one report may take on a worker before it fails as 处理超时
    visibility_timeout: int = 900  # seconds before a report a dead worker had taken is handed to another
    chroma_url: str | None = None  # a chroma server (http://host:port); default: embedded in the data directory
    chroma_fallback: bool = False  # when the server is down, use the embedded store instead of failing
    # Any OpenAI-compatible endpoint (DeepSeek, DashScope/Qwen, Zhipu, Moonshot, vLLM, llama.cpp …).
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_mode: Literal["json_schema", "json_object", "tools"] = "json_object"
    llm_schema_in_request: bool = False
    llm_timeout: float = 120.0
    llm_max_tokens: int = 1024
    llm_max_tokens_field: Literal["max_tokens", "max_completion_tokens"] = "max_tokens"
    # What one report may spend on the configured endpoint (the bundled model has its own: 60 s, 8 calls).
    llm_budget_seconds: float = Field(300.0, gt=0)
    llm_budget_calls: int = Field(60, ge=0)
    llm_capable: bool = True  # false: ask it only what the bundled small model is asked

    def llm_config(self):
        """The configured endpoint, or None; the key never leaves this object but in requests to it."""
        if not self.llm_base_url or not self.llm_model:
            return None
        from service.llm.config import LLMConfig

        return LLMConfig(base_url=self.llm_base_url, model=self.llm_model,
                         api_key=self.llm_api_key or SecretStr("not-needed"), mode=self.llm_mode,
                         schema_in_request=self.llm_schema_in_request, timeout=self.llm_timeout,
                         max_tokens=self.llm_max_tokens, max_tokens_field=self.llm_max_tokens_field,
                         budget_seconds=self.llm_budget_seconds, budget_calls=self.llm_budget_calls,
                         capable=self.llm_capable, cache_dir=self.data_dir / "llm-cache")

    def job_llm(self):
        """The model the job step may call: a configured endpoint only, never the bundled server, which
        every service and worker process would otherwise start for itself."""
        config = self.llm_config()
        if config is None:
            return None
        from service.llm.provider import factory

        return factory(config, self.data_dir, bundled=False)

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'nianbao.sqlite3').resolve()}"
