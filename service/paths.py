"""Where Nianbao keeps what it makes for itself, when no data directory is given: never the working
directory. Light on purpose: the command line reads it before anything else is imported."""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """The user's cache directory (XDG: $XDG_CACHE_HOME/nianbao, else ~/.cache/nianbao)."""
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "nianbao"
