"""FastAPI app: uploads, persistent jobs, review and corrections, drafts, exports, and the page."""

from __future__ import annotations

import asyncio
import logging
import secrets
from contextlib import asynccontextmanager
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from service import __version__, pipeline
from service.api import drafting, views
from service.api.agencies import AgencyList, ApartName, agency_list
from service.api.models import (
    ERRORS,
    EVENT_SCHEMA,
    BulkExport,
    Check,
    Corrections,
    Error,
    ErrorItem,
    FileOutcome,
    FlatReport,
    Health,
    Layout,
    ProgressEvent,
    ReportDetail,
    ReportList,
    ReportSummary,
    Source,
    Submitted,
)
from service.draft import Draft
from service.ingest import LOADERS, crop, format_of
from service.ingest.errors import IngestError
from service.jobs import Jobs, ReportJob
from service.jobs.uploads import Upload, UploadRejected, expand
from service.report import FlatInputError
from service.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
_CHUNK = 1024 * 1024
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Starlette's own English answers (a path or a method no route has), said in Chinese like ours
_ROUTING = {404: "请求的地址不存在", 405: "此地址不支持该请求方法"}
ERROR_REF = "#/components/schemas/Error"


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


async def _read_capped(upload: UploadFile, limit: int) -> bytes:
    """Read at most limit bytes; a larger upload is refused without reading it all."""
    chunks, size = [], 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, detail=f"文件过大：{upload.filename}，上限为 {limit / 1048576:.0f} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def _accept(upload: Upload, limit: int) -> Upload:
    """Refuse at once what can never be a report; what may still fail becomes a failed job."""
    if len(upload.data) > limit:
        raise HTTPException(413, detail=f"文件过大：{upload.filename}")
    if not upload.data:
        raise HTTPException(400, detail=f"文件为空：{upload.filename}")
    kind = format_of(upload.data, upload.filename)
    if kind not in LOADERS:
        raise HTTPException(415, detail=f"不支持的文件类型：{upload.filename}（支持 {' '.join(sorted(LOADERS))}）")
    return upload


def _cluster(settings: Settings):
    """Celery workers when NIANBAO_BROKER_URL is set, else None (the embedded worker)."""
    if not settings.broker_url:
        return None
    from service.jobs.cluster import Cluster

    return Cluster(settings)


def _health_checks(settings: Settings, jobs: Jobs) -> dict[str, Check]:
    """What the service needs, each tried now: the database answers a query on the jobs table, the
    broker (when one is configured) accepts a connection, the vector store opens and answers."""
    from service.store import StoreUnavailable, ping

    checks: dict[str, Check] = {}
    try:
        jobs.ping()
        checks["database"] = Check(ok=True, message="正常")
    except Exception as exc:  # whatever the driver raises: the service cannot keep its jobs
        log.warning("health: database: %s", exc)
        checks["database"] = Check(ok=False, message=f"数据库无法查询：{type(exc).__name__}")
    if jobs.cluster is not None:
        from service.jobs.cluster import BrokerUnavailable

        try:
            jobs.cluster.check()
            checks["broker"] = Check(ok=True, message="正常")
        except BrokerUnavailable as exc:
            checks["broker"] = Check(ok=False, message=exc.message)
    try:
        warning = ping(settings.chroma_dir, settings.chroma_url, settings.chroma_fallback)
        checks["store"] = Check(ok=True, message=warning or "正常")
    except StoreUnavailable as exc:
        checks["store"] = Check(ok=False, message=exc.message)
    return checks


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    jobs = Jobs(settings.data_dir, settings.database, settings.workers, llm=settings.job_llm(),
                cluster=_cluster(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await run_in_threadpool(jobs.start)  # requeues interrupted jobs: a database write
        yield
        await run_in_threadpool(jobs.stop)

    app = FastAPI(title="Nianbao", version=__version__, lifespan=lifespan,
                  description="政府信息公开工作年度报告：抽取、检查与起草")
    app.state.jobs = jobs
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"])

    bearer = HTTPBearer(auto_error=False, description="设置了 NIANBAO_API_TOKEN 时，每个 /api 请求都需要它")

    async def authorised(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if settings.api_token is None:
            return
        given = credentials.credentials if credentials else ""
        if not secrets.compare_digest(given.encode(), settings.api_token.get_secret_value().encode()):
            raise HTTPException(401, detail="需要有效的访问令牌（Authorization: Bearer …）",
                                headers={"WWW-Authenticate": "Bearer"})

    # every /api route: the token when one is set, and the one error model for every 4xx
    api = APIRouter(prefix="/api", dependencies=[Depends(authorised)], responses=ERRORS)

    def job_or_404(report_id: str) -> ReportJob:
        job = jobs.get(report_id)
        if job is None:
            raise HTTPException(404, detail="报告不存在")
        return job

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code in _ROUTING and exc.detail == HTTPStatus(exc.status_code).phrase:
            exc = StarletteHTTPException(exc.status_code, _ROUTING[exc.status_code], exc.headers)
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [ErrorItem(loc=list(e["loc"]), msg=e["msg"], type=e["type"]) for e in exc.errors()]
        where = "；".join(".".join(str(p) for p in e.loc) + "：" + e.msg for e in errors[:5])
        body = Error(detail=f"请求格式错误：{where}", errors=errors)
        return JSONResponse(status_code=422, content=body.model_dump(mode="json", exclude_none=True))

    @app.get("/health", response_model=Health, responses={503: {"model": Health, "description": "有依赖不可用"}})
    def health() -> JSONResponse:
        """Whether the service can work: the database, the broker when configured, the vector store."""
        checks = _health_checks(settings, jobs)
        ok = all(c.ok for c in checks.values())
        body = Health(status="ok" if ok else "unavailable", version=__version__,
                      jobs="celery" if jobs.cluster else "embedded", checks=checks)
        return JSONResponse(body.model_dump(mode="json"), status_code=200 if ok else 503)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @api.post("/extract", response_model=FlatReport, responses={
        422: {"model": Error, "description": "不是报告，或只读到部分字段（missing、partial）"}})
    async def extract_now(file: UploadFile = File(..., description="报告文件")) -> JSONResponse:
        """Extract one small report synchronously and return the flat gold.json shape."""
        data = await _read_capped(file, settings.max_upload_bytes)
        try:  # extraction (OCR included) runs in a worker thread, never on the event loop
            report = await run_in_threadpool(pipeline.extract_bytes, data, file.filename or "")
        except pipeline.InputError as exc:
            log.info("rejected upload %r: %s", file.filename, exc)
            raise HTTPException(422 if data else 400, detail=exc.message) from exc
        if report.missing:
            body = Error(detail=f"报告不完整，{len(report.missing)} 个字段未找到", missing=report.missing,
                         partial=report.flat())
            return JSONResponse(status_code=422, content=body.model_dump(mode="json", exclude_none=True))
        return JSONResponse(report.flat())

    def _unpack(files: list[tuple[str, bytes]]) -> tuple[list[tuple[Upload, str | None]], list[FileOutcome], list]:
        """Each upload's files, ready or refused one by one: (upload, its archive), outcomes of the
        refused and skipped ones, and the refusals as HTTP errors (the first is answered when none is ready)."""
        ready, outcomes, refusals = [], [], []
        for filename, data in files:
            archive = filename if format_of(data, filename) == ".zip" else None
            try:
                uploads, skipped = expand(filename, data, settings.max_files, settings.max_zip_bytes)
            except UploadRejected as exc:
                refusals.append(HTTPException(exc.status, detail=exc.message))
                outcomes.append(FileOutcome(filename=filename, outcome="rejected", reason=exc.message))
                continue
            outcomes += [FileOutcome(filename=name, archive=archive, outcome="skipped", reason="系统文件，已跳过")
                         for name in skipped]
            for upload in uploads:
                try:
                    ready.append((_accept(upload, settings.max_upload_bytes), archive))
                except HTTPException as exc:
                    refusals.append(exc)
                    outcomes.append(FileOutcome(filename=upload.filename, archive=archive, outcome="rejected",
                                                reason=exc.detail))
            if len(ready) > settings.max_files:
                raise HTTPException(413, detail=f"一次最多上传 {settings.max_files} 个文件")
        return ready, outcomes, refusals

    def _queue(files: list[tuple[str, bytes]]) -> dict:
        """Unzip, refuse what can never be a report, store and queue: in a worker thread. Good files
        are queued whatever else the upload holds; with none, the first refusal is the answer."""
        ready, outcomes, refusals = _unpack(files)
        if not ready:
            raise refusals[0] if refusals else HTTPException(422, detail="上传的文件中没有可读取的报告")
        known = jobs.by_content([upload.sha256 for upload, _ in ready])
        ids = jobs.submit([upload for upload, _ in ready])
        seen: set[str] = set()
        for (upload, archive), report_id in zip(ready, ids):
            before = known.get(upload.sha256)
            if before is None and report_id not in seen:
                outcomes.append(FileOutcome(filename=upload.filename, archive=archive, outcome="accepted", id=report_id))
            else:
                again = "，上次处理失败，已重新排队" if before is not None and before.status == "failed" else ""
                outcomes.append(FileOutcome(filename=upload.filename, archive=archive, outcome="duplicate",
                                            id=report_id, reason=f"已存在（{(before.filename if before else upload.filename)}）{again}"))
            seen.add(report_id)
        return {"ids": ids, "files": outcomes}

    @api.post("/reports", status_code=202, response_model=Submitted)
    async def submit(files: list[UploadFile] = File(..., description="一个或多个报告文件，或 .zip")) -> dict:
        """Queue every good file; `files` says what became of each (accepted, duplicate with the
        existing report's id, rejected or skipped, with a Chinese reason). 4xx only when none is good."""
        read = []
        for file in files:
            name = file.filename or "unnamed"
            read.append((name, await _read_capped(file, settings.max_zip_bytes if name.lower().endswith(".zip")
                                                  else settings.max_upload_bytes)))
        return await run_in_threadpool(_queue, read)

    summaries: dict[str, tuple[datetime, dict]] = {}  # report id → (its row's last change, its summary)

    @api.get("/reports", response_model=ReportList)
    def list_reports(agency: str | None = None, year: int | None = Query(None, ge=1, le=9999),
                     status: str | None = None) -> dict:
        """Every report's summary, oldest first. The page asks every second while reports are processed,
        so a summary is made again only for a report whose row changed since it was last made."""
        versions = jobs.versions(agency, year, status)
        stale = [job_id for job_id, updated in versions if summaries.get(job_id, (None, None))[0] != updated]
        for job in jobs.many(stale):
            summaries[job.id] = (job.updated, views.summary(job))
        return {"reports": [summaries[job_id][1] for job_id, _ in versions if job_id in summaries]}

    @api.get("/reports/{report_id}", response_model=ReportDetail)
    def get_report(report_id: str) -> dict:
        return views.detail(job_or_404(report_id))

    @api.get("/reports/{report_id}/events", response_class=EventStream, responses={
        200: {"description": "进度事件（server-sent events），每条 data 为 JSON：status、stage、percent、error",
              "content": {"text/event-stream": {"schema": EVENT_SCHEMA}}},
        "4XX": {**ERRORS["4XX"], "model": None, "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}})
    def events(report_id: str) -> EventStream:
        """Server-sent progress events until the job is done or failed."""
        job_or_404(report_id)  # a plain def handler: this runs in a worker thread

        async def stream():
            last = None
            for _ in range(3000):  # at most ten minutes
                job = await run_in_threadpool(jobs.get, report_id)  # the database, off the event loop
                if job is None:
                    return
                state = ProgressEvent(status=job.status, stage=job.stage, percent=job.percent, error=job.error)
                if state != last:
                    yield f"data: {state.model_dump_json()}\n\n"
                    last = state
                if job.status in ("done", "failed"):
                    return
                await asyncio.sleep(0.2)

        return EventStream(stream())

    @api.get("/reports/{report_id}/source", response_model=Source)
    def source(report_id: str) -> dict:
        """The document's text as read (never the uploaded HTML itself), for click-to-source."""
        job = job_or_404(report_id)
        return {"filename": job.filename, "text": job.document_text or ""}

    @api.patch("/reports/{report_id}/fields", response_model=ReportDetail)
    def correct(report_id: str, body: Corrections) -> dict:
        job = job_or_404(report_id)
        if job.status != "done":
            raise HTTPException(409, detail="报告尚未处理完成，暂不能修改")
        try:
            return views.detail(jobs.correct(report_id, body.fields))
        except FlatInputError as exc:
            raise HTTPException(422, detail=str(exc)) from exc

    @api.post("/reports/{report_id}/draft", response_model=Draft)
    def make_draft(report_id: str) -> dict:
        job = job_or_404(report_id)
        if job.status != "done":
            raise HTTPException(409, detail="报告尚未处理完成，暂不能起草")
        result = drafting.draft_job(job, jobs, settings)  # the configured model and the store, as the CLI
        jobs.save_draft(report_id, result)
        return result

    @api.get("/reports/{report_id}/export", response_model=ReportDetail, responses={200: {"content": {
        "text/csv": {"schema": {"type": "string"}}, _XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
    def export(report_id: str, format: str = Query("json", pattern="^(json|csv|xlsx)$")) -> Response:
        job = job_or_404(report_id)
        if job.status != "done":
            raise HTTPException(409, detail="报告尚未处理完成，暂不能导出")
        stem = Path(job.filename).stem or job.id
        if format == "csv":
            return Response(views.to_csv(job), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stem)}.csv"})
        if format == "xlsx":
            return Response(views.to_xlsx(job), media_type=_XLSX,
                            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stem)}.xlsx"})
        return JSONResponse(ReportDetail.model_validate(views.detail(job)).model_dump(mode="json"))

    @api.delete("/reports/{report_id}", status_code=204, response_class=Response)
    def delete_report(report_id: str) -> Response:
        """Forget a report (a failed upload, a wrong file); one being processed cannot be deleted (409)."""
        job_or_404(report_id)
        if not jobs.delete(report_id):
            raise HTTPException(409, detail="报告正在处理，处理完成后才能删除")
        summaries.pop(report_id, None)
        return Response(status_code=204)

    @api.post("/reports/{report_id}/retry", status_code=202, response_model=ReportSummary)
    def retry(report_id: str) -> dict:
        """Queue a failed report again (409 when it has not failed)."""
        job_or_404(report_id)
        job = jobs.retry(report_id)
        if job is None:
            raise HTTPException(409, detail="只有处理失败的报告可以重试")
        return views.summary(job)

    @api.delete("/reports/{report_id}/fields/{key}", response_model=ReportDetail)
    def undo(report_id: str, key: str) -> dict:
        """Take back a person's change of one cell: the extracted value again, the report checked again."""
        job = job_or_404(report_id)
        if key not in (job.corrections or {}):
            raise HTTPException(404, detail="此单元格没有人工修改，无需撤销")
        return views.detail(jobs.undo(report_id, key))

    @api.get("/reports/{report_id}/fields/{key}/image", response_class=Response, responses={
        200: {"description": "单元格在扫描页上的图像（PNG）", "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}}}})
    def cell_image(report_id: str, key: str) -> Response:
        """The cell cut from the page image it was recognised on (OCR cells of scans and photos)."""
        job = job_or_404(report_id)
        field = ((job.report or {}).get("fields") or {}).get(key) or {}
        where = (field.get("provenance") or {}).get("location") or {}
        if not (where.get("ocr") and where.get("page") and where.get("bbox")):
            raise HTTPException(404, detail="此单元格不是从扫描页识别的，没有页面图像")
        try:
            png = crop.cell_image(jobs.upload_bytes(job), job.filename, where["page"], tuple(where["bbox"]))
        except (ValueError, IngestError) as exc:
            log.warning("no image for %s of %s: %s", key, report_id, exc)
            raise HTTPException(404, detail="无法从原文件中取出此单元格的页面图像") from exc
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @api.post("/exports", response_class=Response, responses={200: {"description": "所选报告：每份一行的 CSV/XLSX，或 JSON 的 zip",
               "content": {"text/csv": {"schema": {"type": "string"}}, _XLSX: {"schema": {"type": "string", "format": "binary"}},
                           "application/zip": {"schema": {"type": "string", "format": "binary"}}}}})
    def export_many(body: BulkExport) -> Response:
        """Many reports at once: one row per report (state, how much was read, findings, every field), or a zip of their JSON."""
        chosen = [job_or_404(report_id) for report_id in dict.fromkeys(body.ids)]
        if body.format == "csv":
            return Response(views.reports_csv(chosen), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": "attachment; filename=reports.csv"})
        if body.format == "xlsx":
            return Response(views.reports_xlsx(chosen), media_type=_XLSX,
                            headers={"Content-Disposition": "attachment; filename=reports.xlsx"})
        render = lambda job: ReportDetail.model_validate(views.detail(job)).model_dump(mode="json")
        return Response(views.reports_zip(chosen, render), media_type="application/zip",
                        headers={"Content-Disposition": "attachment; filename=reports.zip"})

    @api.get("/agencies", response_model=AgencyList)
    def list_agencies() -> dict:
        """Every body the read reports name, the names joined under each, and names left alone as fitting several."""
        return agency_list(jobs.agencies())

    @api.put("/agencies/apart", response_model=AgencyList)
    def keep_apart(body: ApartName) -> dict:
        """Keep an agency name apart: its reports are no longer paired across years with the names it was joined to."""
        if not jobs.keep_apart(body.name):
            raise HTTPException(404, detail=f"没有已读出的报告使用机关名称“{body.name}”")
        return agency_list(jobs.agencies())

    @api.delete("/agencies/apart", response_model=AgencyList)
    def join_again(name: str = Query(..., min_length=1, max_length=255, description="已单独列出的机关名称")) -> dict:
        """Take back a split: the name is joined again as the rules of service/agency.py join it."""
        if not jobs.keep_apart(name, apart=False):
            raise HTTPException(404, detail=f"机关名称“{name}”未被单独列出")
        return agency_list(jobs.agencies())

    @api.get("/registry", response_model=Layout)
    def registry_layout() -> dict:
        return views.layout()

    app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
