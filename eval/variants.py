"""Generated reports for retrieval tests and benchmarks: gold reports given other agencies' names and years.

These are NOT real reports. Each generated agency gets two consecutive years, each copied from a
different gold report (figures and section 五 of that report, its agency's name replaced by the new
one and its year shifted), so the agency's own earlier report does not read like its later one and
retrieval has to go by the agency. Half of the agencies are named in full one year and shortly the
next (淮安市洪泽区人民政府 / 洪泽区人民政府), as real reports do; neighbouring agencies with similar
names (宿城区 / 宿豫区) are there to be confused with.
"""

from __future__ import annotations

import copy
import re

# (parent place, agency): fictitious pairs of real place names; none of them is a gold agency
AGENCIES = (
    ("宿迁市", "宿城区人民政府"),
    ("宿迁市", "宿豫区人民政府"),
    ("淮安市", "清江浦区人民政府"),
    ("淮安市", "淮阴区人民政府"),
    ("盐城市", "亭湖区人民政府"),
    ("盐城市", "盐都区人民政府"),
    ("福州市", "长乐区发展和改革局"),
    ("福州市", "长乐区财政局"),
    ("南京市", "鼓楼区人民政府办公室"),
    ("南京市", "玄武区人民政府办公室"),
)
FIRST_YEAR = 2021  # generated pairs report for 2021/2022 … so the 2021 template applies


def _renamed(gold: dict, agency: str, year: int, variant_id: str) -> dict:
    out = copy.deepcopy(gold)
    old_agency, old_year = gold["meta"]["agency"], gold["meta"]["year"]
    out.update(id=variant_id, source=None, notes=f"generated from {gold['id']}: agency and year replaced")
    out["meta"] = {**gold["meta"], "agency": agency, "year": year}
    text = (gold.get("sections") or {}).get("problems_and_improvements")
    if text:
        text = text.replace(old_agency, agency)
        text = re.sub(rf"{old_year}(\s*年)", rf"{year}\1", text)
        text = re.sub(rf"{old_year + 1}(\s*年)", rf"{year + 1}\1", text)
        out["sections"] = {**out.get("sections", {}), "problems_and_improvements": text}
    return out


def generate(golds: list[dict], count: int = len(AGENCIES)) -> list[dict]:
    """`count` agencies × 2 years, from gold reports of the 2021 template that have a section 五."""
    sources = [g for g in golds if g["meta"]["template"] == "2021" and (g.get("sections") or {}).get("problems_and_improvements")]
    if len(sources) < 2:
        raise ValueError("need at least two gold reports of the 2021 template with section 五")
    out = []
    for n, (parent, name) in enumerate(AGENCIES[:count]):
        year = FIRST_YEAR + n % 3
        first, second = sources[n % len(sources)], sources[(n + len(sources) // 2) % len(sources)]
        full = parent + name
        later_name = name if n % 2 else full  # every other agency drops its parent place in the later year
        out.append(_renamed(first, full, year, f"generated-{n:02d}-{year}"))
        out.append(_renamed(second, later_name, year + 1, f"generated-{n:02d}-{year + 1}"))
    return out
