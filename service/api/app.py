"""FastAPI app: health and synchronous extraction. The full job service is a later issue."""

from __future__ import annotations

import logging

from fastapi import FastAPI, File, HTTPException, UploadFile
from fastapi.responses import JSONResponse

from service import __version__, pipeline
from service.ingest import MAX_BYTES

log = logging.getLogger(__name__)
_CHUNK = 1024 * 1024


async def _read_capped(upload: UploadFile, limit: int) -> bytes:
    """Read at most limit bytes; a larger upload is refused without reading it all."""
    chunks, size = [], 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, detail=f"文件过大，上限为 {limit / 1048576:.0f} MB")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(max_bytes: int = MAX_BYTES) -> FastAPI:
    app = FastAPI(title="Nianbao", version=__version__,
                  description="政府信息公开工作年度报告：抽取、检查与起草")

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok", "version": __version__}

    @app.post("/api/extract")
    async def extract(file: UploadFile = File(..., description="报告文件：.txt .html .htm .docx .md")) -> JSONResponse:
        """Extract one small report synchronously and return the flat gold.json shape."""
        data = await _read_capped(file, max_bytes)
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

    return app
