"""Choosing the model for a run: the configured endpoint, else the bundled local server, else none.

The client is made on first use only, so a clean report never starts a server.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from service.llm.config import LLMConfig

log = logging.getLogger(__name__)


def factory(config: LLMConfig | None, data_dir: Path, bundled: bool = True) -> Callable[[], object | None]:
    made: dict[str, object | None] = {}

    def make():
        if "llm" not in made:
            made["llm"] = _make(config, data_dir, bundled)
        return made["llm"]

    return make


def _make(config: LLMConfig | None, data_dir: Path, bundled: bool):
    from service.llm import local
    from service.llm.client import LLM

    if config is None and bundled and local.installed():
        try:
            process, config = local.start(data_dir)
        except RuntimeError as exc:
            log.warning("bundled model unavailable: %s", exc)
            return None
        # local.start stops it when this process ends, however it ends
    return LLM(config) if config else None
