"""Choosing the model for a run: the configured endpoint, else the bundled local server, else none.

The client is made on first use only, so a clean report never starts a server. One rule for every
caller: the command line's `extract` (and `eval --llm-only`) may start the bundled server; `draft`,
the service's jobs, Celery workers and `nianbao batch` use a configured endpoint only (each of their
processes would otherwise start a server of its own).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from service.llm.config import LLMConfig

log = logging.getLogger(__name__)

NOT_CONFIGURED = "未配置大模型端点（NIANBAO_LLM_*）"


class Factory:
    """Makes the model once, on first call; `why` says, in Chinese, why there is none."""

    def __init__(self, config: LLMConfig | None, data_dir: Path, bundled: bool,
                 listener: Callable[[str], None] | None = None) -> None:
        self.config, self.data_dir, self.bundled, self.listener = config, data_dir, bundled, listener
        self.why: str | None = None
        self._made: list = []

    def __call__(self):
        if not self._made:
            self._made.append(self._make())
        return self._made[0]

    @property
    def capable(self) -> bool:
        """Whether the model it makes may be asked for prose tables (the bundled one may not)."""
        return self.config.capable if self.config is not None else False

    def _make(self):
        from service.llm import local
        from service.llm.client import LLM

        config = self.config
        if config is None and not self.bundled:
            self.why = NOT_CONFIGURED
            return None
        if config is None and not local.installed():
            self.why = f"{NOT_CONFIGURED}，也未安装本地模型"
            return None
        if config is None:
            if self.listener:
                self.listener(f"启动本地模型（{local.MODEL_ALIAS}，未配置大模型端点）…")
            try:
                _process, config = local.start(self.data_dir)  # stopped when this process ends
            except RuntimeError as exc:
                log.warning("bundled model unavailable: %s", exc)
                self.why = f"本地模型启动失败（{exc}）"
                return None
        llm = LLM(config)
        llm.listener = self.listener
        return llm


def factory(config: LLMConfig | None, data_dir: Path, bundled: bool = True,
            listener: Callable[[str], None] | None = None) -> Factory:
    return Factory(config, data_dir, bundled, listener)


class Deferred:
    """A Factory made on first use (the command line reads its settings only when a report needs a model)."""

    def __init__(self, make: Callable[[], Factory]) -> None:
        self._make = make
        self._factory: Factory | None = None

    def _get(self) -> Factory:
        if self._factory is None:
            self._factory = self._make()
        return self._factory

    def __call__(self):
        return self._get()()

    @property
    def capable(self) -> bool:
        return self._get().capable

    @property
    def why(self) -> str | None:
        return self._factory.why if self._factory else None
