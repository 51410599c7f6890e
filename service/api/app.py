"""FastAPI app: uploads, persistent jobs, review and corrections, drafts, exports, and the page."""

from __future__ import annotations

import asyncio
import logging
import secrets
from contextlib import asynccontextmanager
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
from service.api.models import (
    ERRORS,
    EVENT_SCHEMA,
    Check,
    Corrections,
    Error,
    ErrorItem,
    FlatReport,
    Health,
    Layout,
    ProgressEvent,
    ReportDetail,
    ReportList,
    Source,
    Submitted,
)
from service.draft import Draft
from service.ingest import LOADERS, format_of
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


def _accept(upload: Upload) -> Upload:
    """Refuse at once what can never be a report; what may still fail becomes a failed job."""
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

    def _queue(files: list[tuple[str, bytes]]) -> list[str]:
        """Unzip, refuse what can never be a report, store and queue: in a worker thread."""
        uploads: list[Upload] = []
        for filename, data in files:
            try:
                uploads += expand(filename, data, settings.max_files, settings.max_zip_bytes)
            except UploadRejected as exc:
                raise HTTPException(exc.status, detail=exc.message) from exc
            if len(uploads) > settings.max_files:
                raise HTTPException(413, detail=f"一次最多上传 {settings.max_files} 个文件")
        for upload in uploads:
            if len(upload.data) > settings.max_upload_bytes:
                raise HTTPException(413, detail=f"文件过大：{upload.filename}")
        return jobs.submit([_accept(u) for u in uploads])

    @api.post("/reports", status_code=202, response_model=Submitted)
    async def submit(files: list[UploadFile] = File(..., description="一个或多个报告文件，或 .zip")) -> dict:
        read = []
        for file in files:
            name = file.filename or "unnamed"
            read.append((name, await _read_capped(file, settings.max_zip_bytes if name.lower().endswith(".zip")
                                                  else settings.max_upload_bytes)))
        return {"ids": await run_in_threadpool(_queue, read)}

    @api.get("/reports", response_model=ReportList)
    def list_reports(agency: str | None = None, year: int | None = Query(None, ge=1, le=9999),
                     status: str | None = None) -> dict:
        return {"reports": [views.summary(job) for job in jobs.list(agency, year, status)]}

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

    @api.get("/registry", response_model=Layout)
    def registry_layout() -> dict:
        return views.layout()

    app.include_router(api)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
