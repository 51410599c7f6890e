"""Validate gold reports against the registry: `python -m eval.validate_gold DIR...`.

Every gold.json must name its source file (which must exist), a known template, a year and an
agency, hold only that template's keys with numbers or null, and have notes. Keys of the template
that it leaves out are listed: a report that is cut off or leaves a table out has fewer keys, and
its notes should say why.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from service.registry import registry


def problems(report_dir: Path) -> tuple[list[str], list[str]]:
    """(problems, template keys the gold leaves out) for one <id>/ directory."""
    try:
        gold = json.loads((report_dir / "gold.json").read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return [f"gold.json unreadable: {exc}"], []
    found = []
    for name in ("id", "source", "meta", "fields", "sections", "notes"):
        if name not in gold:
            found.append(f"no '{name}'")
    meta, fields = gold.get("meta", {}), gold.get("fields", {})
    template = registry().templates.get(str(meta.get("template")))
    if template is None:
        return found + [f"unknown template {meta.get('template')!r}"], []
    if not (report_dir / str(gold.get("source"))).is_file():
        found.append(f"source file {gold.get('source')!r} missing")
    if gold.get("id") != report_dir.name:
        found.append(f"id {gold.get('id')!r} differs from the directory name")
    if not isinstance(meta.get("year"), int) or not meta.get("agency"):
        found.append("meta needs an integer year and an agency")
    found += [f"unknown key {k}" for k in fields if k not in template.fields]
    found += [f"{k} = {v!r} is not a number or null" for k, v in fields.items()
              if v is not None and (isinstance(v, bool) or not isinstance(v, int | float))]
    return found, [k for k in template.keys if k not in fields]


def main(argv: list[str]) -> int:
    directories = [Path(a) for a in argv] or [Path(__file__).parent / "gold"]
    failed = False
    for directory in directories:
        for gold in sorted(directory.glob("*/gold.json")):
            found, missing = problems(gold.parent)
            status = "FAIL" if found else "ok"
            failed |= bool(found)
            print(f"{status:4} {gold.parent.name}: {len(missing)} template keys left out" if not found else
                  f"{status:4} {gold.parent.name}: " + "; ".join(found))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
