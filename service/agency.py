"""What an agency's name says: its place, its administrative level and a key that stays the same
when a report names the agency in full one year and shortly the next
(洪泽区人民政府 in 2023, 淮安市洪泽区人民政府 in 2024).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One place name: a few characters ending in an administrative suffix. 州 before 市/区/县 belongs to
# the name (苏州市, 通州区), and 乡 after 城 is 城乡 (住房和城乡建设局), not a township.
_PLACE = re.compile(r".{1,8}?(?:特别行政区|自治区|自治州|自治县|省|市|地区|区|县|旗|盟|街道|镇|(?<!城)乡|州(?![市区县]))")
_MUNICIPALITIES = ("北京市", "天津市", "上海市", "重庆市")
_LEVELS = (  # the suffix of the innermost place → level, longest suffixes first
    (("特别行政区", "自治区", "省"), "province"),
    (("自治州", "地区", "市", "州", "盟"), "city"),
    (("自治县", "区", "县", "旗"), "county"),
    (("街道", "镇", "乡"), "township"),
)


@dataclass(frozen=True)
class Agency:
    name: str
    places: tuple[str, ...]  # outermost first: ("淮安市", "洪泽区")
    body: str  # what follows the places: "人民政府", "发展和改革局"

    @property
    def region(self) -> str:
        return "".join(self.places)

    @property
    def level(self) -> str:
        if not self.places:
            return ""
        if self.places == (self.places[0],) and self.places[0] in _MUNICIPALITIES:
            return "province"
        for suffixes, level in _LEVELS:
            if self.places[-1].endswith(suffixes):
                return level
        return ""

    @property
    def kind(self) -> str:
        return "government" if self.body in ("", "人民政府", "政府") else "department"

    @property
    def key(self) -> str:
        """The innermost place and the body, so a name with or without its parent places matches."""
        innermost = self.places[-1] if self.places else ""
        return (innermost + self.body).replace("人民政府", "政府")


def parse_agency(name: str | None) -> Agency:
    cleaned = re.sub(r"\s+", "", name or "")
    places, at = [], 0
    while match := _PLACE.match(cleaned, at):
        places.append(match.group())
        at = match.end()
    return Agency(cleaned, tuple(places), cleaned[at:])
