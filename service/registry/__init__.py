"""The field registry: templates, keys, labels, aliases and identities, loaded from fields.toml.

Public entry point: `registry()`. Everything else in Nianbao reads labels and keys from here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib.resources import files

from service.textnorm import normalize_label, strip_numbering

TABLES = ("t2", "t3", "t4")
TABLE_TITLES = {"t2": "表二 主动公开政府信息情况", "t3": "表三 收到和处理政府信息公开申请情况",
                "t4": "表四 政府信息公开行政复议、行政诉讼情况"}
TABLE_NAMES = {"t2": "表二", "t3": "表三", "t4": "表四"}


@dataclass(frozen=True)
class Label:
    key: str
    label: str
    aliases: tuple[str, ...] = ()
    short_name: str | None = None

    @property
    def short(self) -> str:
        """The name a message uses: the explicit short name or the label without its numbering."""
        return self.short_name or strip_numbering(self.label)

    @cached_property  # every printed label is matched against these: normalised once per label
    def names(self) -> tuple[str, ...]:
        """Normalised official label followed by normalised aliases, longest first."""
        found = {normalize_label(self.label), *(normalize_label(a) for a in self.aliases)}
        return tuple(sorted(found - {""}, key=len, reverse=True))


@dataclass(frozen=True)
class Column(Label):
    money: bool = False  # amounts may hold fractions
    signed: bool = False  # changes may be negative
    unit: str | None = None


@dataclass(frozen=True)
class Section(Label):
    keywords: tuple[str, ...] = ()

    @cached_property
    def keyword_names(self) -> tuple[str, ...]:
        """The keywords normalised as printed labels are."""
        return tuple(normalize_label(k) for k in self.keywords)


@dataclass(frozen=True)
class Table2Row(Label):
    columns: tuple[Column, ...] = ()
    item: str = ""  # 第二十条第（item）项


@dataclass(frozen=True)
class Table3Row(Label):
    group: str | None = None
    result: bool = False


@dataclass(frozen=True)
class Field:
    """One cell of the template."""

    key: str
    table: str
    row: Label
    column: Label

    @property
    def label(self) -> str:
        return f"{self.row.label} · {self.column.label}"

    @property
    def short(self) -> str:
        return f"{self.row.short}·{self.column.short}"

    @property
    def is_total(self) -> bool:
        """A printed sum: the 总计 column or row of table 3, the 总计 of table 4."""
        return self.column.key == "total" or self.row.key == "total"

    @property
    def money(self) -> bool:
        return getattr(self.column, "money", False)

    @property
    def signed(self) -> bool:
        return getattr(self.column, "signed", False)


@dataclass(frozen=True)
class Identity:
    """One concrete equation: sum(lhs) == sum(rhs)."""

    id: str
    lhs: tuple[str, ...]
    rhs: tuple[str, ...]
    scope: str  # the column, row or group it runs over, in Chinese
    rule_label: str


@dataclass(frozen=True)
class Template:
    id: str
    label: str
    first_year: int
    last_year: int | None
    anchors: tuple[str, ...]
    table2_rows: tuple[Table2Row, ...]
    table3_rows: tuple[Table3Row, ...]
    table3_groups: tuple[Label, ...]
    fields: dict[str, Field] = field(hash=False, compare=False)
    identities: tuple[Identity, ...] = ()

    @property
    def keys(self) -> list[str]:
        return list(self.fields)

    def covers_year(self, year: int) -> bool:
        return year >= self.first_year and (self.last_year is None or year <= self.last_year)


@dataclass(frozen=True)
class Registry:
    sections: tuple[Section, ...]
    templates: dict[str, Template]
    table3_columns: tuple[Label, ...]
    table3_anchors: tuple[str, ...]
    table4_groups: tuple[Label, ...]
    table4_outcomes: tuple[Label, ...]
    table4_anchors: tuple[str, ...]

    def template(self, template_id: str | None) -> Template:
        """A report's template by its meta.template, which extraction and report_from_flat always set
        (KeyError for none or an unknown one)."""
        if template_id is None:
            raise KeyError(template_id)
        return self.templates[template_id]

    def template_for_year(self, year: int) -> Template:
        for template in self.templates.values():
            if template.covers_year(year):
                return template
        return self.templates[max(self.templates)]

    def field(self, key: str) -> Field | None:
        for template in self.templates.values():
            if key in template.fields:
                return template.fields[key]
        return None


def _label(key: str, raw: dict) -> Label:
    return Label(key=key, label=raw["label"], aliases=tuple(raw.get("aliases", ())), short_name=raw.get("short"))


def _labels(raws: list[dict]) -> tuple[Label, ...]:
    return tuple(_label(r["key"], r) for r in raws)


def _applies(raw: dict, template_id: str) -> bool:
    return template_id in raw.get("templates", [template_id])


def _table2(raw: dict) -> tuple[Table2Row, ...]:
    columns = {key: Column(key=key, label=col["label"], aliases=tuple(col.get("aliases", ())),
                           money=col.get("money", False), signed=col.get("signed", False), unit=col.get("unit"))
               for key, col in raw["columns"].items()}
    return tuple(
        Table2Row(key=r["key"], label=r["label"], aliases=tuple(r.get("aliases", ())),
                  columns=tuple(columns[c] for c in r["columns"]), item=r["item"])
        for r in raw["rows"]
    )


def _table3_rows(raws: list[dict], template_id: str) -> tuple[Table3Row, ...]:
    return tuple(
        Table3Row(key=r["key"], label=r["label"], aliases=tuple(r.get("aliases", ())), short_name=r.get("short"),
                  group=r.get("group"), result=r.get("result", False))
        for r in raws if _applies(r, template_id)
    )


def _fields(t2: tuple[Table2Row, ...], t3: tuple[Table3Row, ...], t3_cols: tuple[Label, ...],
            t4_groups: tuple[Label, ...], t4_outcomes: tuple[Label, ...]) -> dict[str, Field]:
    cells: list[tuple[str, Label, Label]] = [("t2", row, col) for row in t2 for col in row.columns]
    cells += [("t3", row, col) for row in t3 for col in t3_cols]
    cells += [("t4", group, outcome) for group in t4_groups for outcome in t4_outcomes]
    return {
        f"{table}.{row.key}.{col.key}": Field(f"{table}.{row.key}.{col.key}", table, row, col)
        for table, row, col in cells
    }


def _expand_identities(raws: list[dict], t3: tuple[Table3Row, ...], t3_cols: tuple[Label, ...],
                       t4_groups: tuple[Label, ...]) -> tuple[Identity, ...]:
    results = [r.key for r in t3 if r.result]
    applicants = [c.key for c in t3_cols if c.key != "total"]

    def expand(names: list[str], universe: dict[str, list[str]]) -> list[str]:
        return [k for name in names for k in universe.get(name, [name])]

    out: list[Identity] = []
    for raw in raws:
        if raw["over"] == "t3.columns":
            for col in t3_cols:
                keys = lambda names: tuple(f"t3.{r}.{col.key}" for r in expand(names, {"@results": results}))  # noqa: B023 (called in this iteration)
                out.append(Identity(raw["id"], keys(raw["lhs"]), keys(raw["rhs"]), f"“{col.label}”列", raw["label"]))
        elif raw["over"] == "t3.rows":
            for row in t3:
                keys = lambda names: tuple(f"t3.{row.key}.{c}" for c in expand(names, {"@applicants": applicants}))  # noqa: B023 (called in this iteration)
                out.append(Identity(raw["id"], keys(raw["lhs"]), keys(raw["rhs"]), f"“{row.label}”行", raw["label"]))
        elif raw["over"] == "t4.groups":
            for group in t4_groups:
                keys = lambda names: tuple(f"t4.{group.key}.{o}" for o in names)  # noqa: B023 (called in this iteration)
                out.append(Identity(raw["id"], keys(raw["lhs"]), keys(raw["rhs"]), f"“{group.label}”", raw["label"]))
        else:
            raise ValueError(f"unknown identity scope {raw['over']!r}")
    return tuple(out)


@cache
def registry() -> Registry:
    data = tomllib.loads(files("service.registry").joinpath("fields.toml").read_text("utf-8"))
    t3_cols = _labels(data["table3"]["columns"])
    t4_groups = _labels(data["table4"]["groups"])
    t4_outcomes = _labels(data["table4"]["outcomes"])
    templates = {}
    for template_id, raw in data["templates"].items():
        t2 = _table2(raw["table2"])
        t3 = _table3_rows(data["table3"]["rows"], template_id)
        templates[template_id] = Template(
            id=template_id, label=raw["label"], first_year=raw["first_year"], last_year=raw.get("last_year"),
            anchors=tuple(normalize_label(a) for a in raw["anchors"]),
            table2_rows=t2, table3_rows=t3,
            table3_groups=_labels([g for g in data["table3"]["groups"] if _applies(g, template_id)]),
            fields=_fields(t2, t3, t3_cols, t4_groups, t4_outcomes),
            identities=_expand_identities(data["identities"], t3, t3_cols, t4_groups),
        )
    return Registry(
        sections=tuple(Section(key=s["key"], label=s["label"], keywords=tuple(s["keywords"]))
                       for s in data["sections"]),
        templates=templates,
        table3_columns=t3_cols,
        table3_anchors=tuple(normalize_label(a) for a in data["table3"]["anchors"]),
        table4_groups=t4_groups,
        table4_outcomes=t4_outcomes,
        table4_anchors=tuple(normalize_label(a) for a in data["table4"]["anchors"]),
    )
