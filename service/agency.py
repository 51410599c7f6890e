"""What an agency's name says: its place, its administrative level, and which names are one body.

A body is named in full one year and shortly the next (洪泽区人民政府 in 2023, 淮安市洪泽区人民政府 in 2024),
and its body words in long or short form (人民政府/政府, 办公室/办). `Agency.key` is the whole hierarchy the
name gives, in one spelling, so those spellings meet; `bodies` joins a name that leaves out a higher
place to the one body that names it, and never joins names whose known places differ
(南京市鼓楼区人民政府, 福州市鼓楼区人民政府).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
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
# Long and short forms of the same body words, as bodies print them in their own reports (long → one
# spelling, in order: 管委会 is first made 管理委员会 so it meets 管理委员会 → 管理委): 人民政府 / 政府;
# 办公室 / 办 (政府办公室, 政府办); 委员会 / 委 (发展和改革委员会, 发展和改革委 — the official short form).
_SPELLINGS = (("人民政府", "政府"), ("办公室", "办"), ("管委会", "管理委员会"), ("委员会", "委"))
# What a place's own government is printed as besides 人民政府: nothing (昌图县七家子镇), or a 街道's
# 办事处 (荷塘区桂花街道办事处), the only administrative organ a 街道 has.
_GOVERNMENT = ("", "政府")


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
    def body_key(self) -> str:
        """The body words in one spelling: 人民政府办公室 and 政府办 are both 政府办."""
        body = self.body
        for long, short in _SPELLINGS:
            body = body.replace(long, short)
        street_office = body == "办事处" and self.places and self.places[-1].endswith("街道")
        return "政府" if self.places and (body in _GOVERNMENT or street_office) else body

    @property
    def stem(self) -> str:
        """The innermost place and the body: every name that may be this body shares it."""
        return (self.places[-1] if self.places else "") + self.body_key

    @property
    def key(self) -> str:
        """Every place the name gives and the body, in one spelling: 淮安市洪泽区政府."""
        return self.region + self.body_key

    def within(self, other: Agency) -> bool:
        """Whether this name may be `other`'s body named with fewer places: the same stem, and each of
        its places among `other`'s in order (洪泽区 within 淮安市洪泽区; 南京市鼓楼区 never within 福州市鼓楼区).
        A name with no place at all is within nothing (统计局 says nothing of whose; only the same name, by
        its key, is that body)."""
        if self.stem != other.stem or not self.places:
            return False
        rest = iter(other.places)
        return all(place in rest for place in self.places)


def known_name(name: str | None, region: str | None) -> str | None:
    """The name with the places its report prints above it (`Meta.region`: 洪泽区人民政府 whose report is
    compiled by 淮安市洪泽区人民政府办公室 is 淮安市洪泽区人民政府), when those places extend the name's own."""
    agency, places = parse_agency(name), parse_agency(region).places
    if not agency.within(Agency("", places, agency.body)) or len(places) <= len(agency.places):
        return name
    return "".join(places) + agency.body


def parse_agency(name: str | None) -> Agency:
    cleaned = re.sub(r"\s+", "", name or "")
    places, at = [], 0
    while match := _PLACE.match(cleaned, at):
        places.append(match.group())
        at = match.end()
    return Agency(cleaned, tuple(places), cleaned[at:])


def bodies(names: Iterable[str | None], apart: Collection[str] = ()) -> dict[str, str]:
    """Each name's body, as the key of the fullest name of it, among the names known together.

    The names with most places first: a name joins the one body whose fullest name it is within; when
    it is within none, or within several (鼓楼区人民政府 with both 南京市 and 福州市鼓楼区人民政府 known),
    it is a body of its own — a guess between two bodies is never made. A name whose key is in `apart`
    (a person's split) joins nothing and nothing joins it.
    """
    agencies = {name: parse_agency(name) for name in names if name}  # a report without a name is nobody's
    apart_keys = {parse_agency(name).key for name in apart}
    roots: dict[str, list[Agency]] = {}  # stem → the fullest name of each body found so far (only a stem's meet)
    body_of: dict[str, str] = {}  # agency key → body key
    for agency in sorted(agencies.values(), key=lambda a: (-len(a.places), a.key)):
        if agency.key in body_of:
            continue
        same_stem = roots.setdefault(agency.stem, [])
        fits = [] if agency.key in apart_keys else [r for r in same_stem if agency.within(r) and r.key not in apart_keys]
        if len(fits) == 1:
            body_of[agency.key] = fits[0].key
        else:
            same_stem.append(agency)
            body_of[agency.key] = agency.key
    return {name: body_of[agency.key] for name, agency in agencies.items()}


def one_body(*names: str) -> bool:
    """Whether these names, known together and nothing else, all name one body."""
    return len(set(bodies(names).values())) == 1
