"""Which agency names the service joins into one body, typed for GET /api/agencies, so a person sees
what was joined (and what was left alone as fitting several bodies) and can keep a name apart."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, Field

from service.jobs.bodies import Body


class NamedReport(BaseModel):
    id: str
    year: int | None
    agency: str = Field(description="报告中印出的机关名称（可能缺少上级地名）")


class AgencyName(BaseModel):
    name: str = Field(description="报告所属机关的名称：印出的名称，报告自己写明上级地名时补全（如“本报告由淮安市洪泽区人民政府办公室…编制”）")
    reports: list[NamedReport]


class AgencyBody(BaseModel):
    key: str = Field(description="机关的标识：已知的各级地名加机关名称（人民政府→政府、办公室→办、委员会→委）")
    name: str = Field(description="最完整的名称")
    names: list[AgencyName] = Field(description="合并为同一机关的各个名称；多于一个即为已合并")
    apart: bool = Field(description="是否已被人工单独列出（不与其他名称合并）")
    could_be: list[str] = Field(description="名称缺少上级地名、且符合不止一个已知机关时，这些机关的名称（未合并）")


class AgencyList(BaseModel):
    agencies: list[AgencyBody]


class ApartName(BaseModel):
    name: str = Field(min_length=1, max_length=255, description="要单独列出的机关名称，与 GET /api/agencies 列出的 name 一致")


def agency_list(found: Iterable[Body]) -> dict:
    return {"agencies": [
        {"key": body.key, "name": body.name, "apart": body.apart, "could_be": body.could_be,
         "names": [{"name": name, "reports": [{"id": r.id, "year": r.year, "agency": r.agency} for r in reports]}
                   for name, reports in body.names.items()]}
        for body in found]}
