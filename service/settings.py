"""Settings from the environment (NIANBAO_*), read only at the rim: CLI and API."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NIANBAO_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None  # default: SQLite file in the data directory
    api_token: SecretStr | None = None  # when set, every /api call needs "Authorization: Bearer <token>"
    cors_origins: list[str] = Field(default_factory=list)  # closed by default
    max_upload_bytes: int = 20 * 1024 * 1024
    max_files: int = 500  # per request, zip members included
    max_zip_bytes: int = 200 * 1024 * 1024  # uncompressed, per archive
    workers: int = 1
    chroma_url: str | None = None  # a chroma server (http://host:port); default: embedded in the data directory
    chroma_fallback: bool = False  # when the server is down, use the embedded store instead of failing

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'nianbao.sqlite3').resolve()}"
