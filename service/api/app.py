"""FastAPI app: uploads, persistent jobs, review and corrections, drafts, exports, and the page."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI, File, HTTPException, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from service import __version__, pipeline
from service.api import views
from service.check import Finding
from service.draft import draft
from service.ingest import LOADERS, format_of
from service.jobs import Jobs, ReportJob, effective_report
from service.jobs.uploads import Upload, UploadRejected, expand
from service.report import FlatInputError
from service.settings import Settings

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
_CHUNK = 1024 * 1024


class Corrections(BaseModel):
    fields: dict[str, int | float | None]


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


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    jobs = Jobs(settings.data_dir, settings.database, settings.workers, llm=settings.job_llm(),
                cluster=_cluster(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        jobs.start()
        yield
        jobs.stop()

    app = FastAPI(title="Nianbao", version=__version__, lifespan=lifespan,
                  description="政府信息公开工作年度报告：抽取、检查与起草")
    app.state.jobs = jobs
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"],
                           allow_headers=["*"])

    def authorised(request: Request) -> None:
        if settings.api_token is None:
            return
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not secrets.compare_digest(given, settings.api_token.get_secret_value()):
            raise HTTPException(401, detail="需要有效的访问令牌（Authorization: Bearer …）")

    def job_or_404(report_id: str) -> ReportJob:
        job = jobs.get(report_id)
        if job is None:
            raise HTTPException(404, detail="报告不存在")
        return job

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        where = "；".join(".".join(str(p) for p in e["loc"]) + "：" + e["msg"] for e in exc.errors()[:5])
        return JSONResponse(status_code=422, content={"detail": f"请求格式错误：{where}"})

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "version": __version__, "jobs": "celery" if jobs.cluster else "embedded"}

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.post("/api/extract", dependencies=[Depends(authorised)])
    async def extract_now(file: UploadFile = File(..., description="报告文件")) -> JSONResponse:
        """Extract one small report synchronously and return the flat gold.json shape."""
        data = await _read_capped(file, settings.max_upload_bytes)
        try:
            report = pipeline.extract_bytes(data, file.filename or "")
        except pipeline.InputError as exc:
            log.info("rejected upload %r: %s", file.filename, exc)
            raise HTTPException(422 if data else 400, detail=exc.message) from exc
        if report.missing:
            return JSONResponse(status_code=422, content={
                "detail": f"报告不完整，{len(report.missing)} 个字段未找到",
                "missing": report.missing, "partial": report.flat()})
        return JSONResponse(report.flat())

    @app.post("/api/reports", status_code=202, dependencies=[Depends(authorised)])
    async def submit(files: list[UploadFile] = File(..., description="一个或多个报告文件，或 .zip")) -> dict:
        uploads: list[Upload] = []
        for file in files:
            data = await _read_capped(file, settings.max_zip_bytes if (file.filename or "").lower().endswith(".zip")
                                      else settings.max_upload_bytes)
            try:
                uploads += expand(file.filename or "unnamed", data, settings.max_files, settings.max_zip_bytes)
            except UploadRejected as exc:
                raise HTTPException(exc.status, detail=exc.message) from exc
            if len(uploads) > settings.max_files:
                raise HTTPException(413, detail=f"一次最多上传 {settings.max_files} 个文件")
        for upload in uploads:
            if len(upload.data) > settings.max_upload_bytes:
                raise HTTPException(413, detail=f"文件过大：{upload.filename}")
        return {"ids": jobs.submit([_accept(u) for u in uploads])}

    @app.get("/api/reports", dependencies=[Depends(authorised)])
    def list_reports(agency: str | None = None, year: int | None = None, status: str | None = None) -> dict:
        return {"reports": [views.summary(job) for job in jobs.list(agency, year, status)]}

    @app.get("/api/reports/{report_id}", dependencies=[Depends(authorised)])
    def get_report(report_id: str) -> dict:
        return views.detail(job_or_404(report_id))

    @app.get("/api/reports/{report_id}/events", dependencies=[Depends(authorised)])
    async def events(report_id: str) -> StreamingResponse:
        """Server-sent progress events until the job is done or failed."""
        job_or_404(report_id)

        async def stream():
            last = None
            for _ in range(3000):  # at most ten minutes
                job = jobs.get(report_id)
                state = {"status": job.status, "stage": job.stage, "percent": job.percent, "error": job.error}
                if state != last:
                    yield f"data: {json.dumps(state, ensure_ascii=False)}\n\n"
                    last = state
                if job.status in ("done", "failed"):
                    return
                await asyncio.sleep(0.2)

        return StreamingResponse(stream(), media_type="text/event-stream")

    @app.get("/api/reports/{report_id}/source", dependencies=[Depends(authorised)])
    def source(report_id: str) -> dict:
        """The document's text as read (never the uploaded HTML itself), for click-to-source."""
        job = job_or_404(report_id)
        return {"filename": job.filename, "text": job.document_text or ""}

    @app.patch("/api/reports/{report_id}/fields", dependencies=[Depends(authorised)])
    def correct(report_id: str, body: Corrections) -> dict:
        job = job_or_404(report_id)
        if job.status != "done":
            raise HTTPException(409, detail="报告尚未处理完成，暂不能修改")
        try:
            return views.detail(jobs.correct(report_id, body.fields))
        except FlatInputError as exc:
            raise HTTPException(422, detail=str(exc)) from exc

    @app.post("/api/reports/{report_id}/draft", dependencies=[Depends(authorised)])
    def make_draft(report_id: str) -> dict:
        job = job_or_404(report_id)
        if job.status != "done":
            raise HTTPException(409, detail="报告尚未处理完成，暂不能起草")
        previous = jobs.previous_year(job)
        result = draft(effective_report(job), effective_report(previous) if previous else None,
                       [Finding.model_validate(f) for f in job.findings or []]).model_dump()
        jobs.save_draft(report_id, result)
        return result

    @app.get("/api/reports/{report_id}/export", dependencies=[Depends(authorised)])
    def export(report_id: str, format: str = Query("json", pattern="^(json|csv|xlsx)$")) -> Response:
        job = job_or_404(report_id)
        if job.status != "done":
            raise HTTPException(409, detail="报告尚未处理完成，暂不能导出")
        stem = Path(job.filename).stem or job.id
        if format == "csv":
            return Response(views.to_csv(job), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stem)}.csv"})
        if format == "xlsx":
            return Response(views.to_xlsx(job),
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stem)}.xlsx"})
        return JSONResponse(views.detail(job))

    @app.get("/api/registry")
    def registry_layout() -> dict:
        return views.layout()

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app

