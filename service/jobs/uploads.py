"""Uploaded files: archives opened safely, content stored once by its hash."""

from __future__ import annotations

import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from service.ingest import format_of
from service.ingest.errors import DAMAGED_ZIP


class UploadRejected(ValueError):
    """An upload refused before any job exists; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def expand(filename: str, data: bytes, max_files: int, max_zip_bytes: int) -> tuple[list[Upload], list[str]]:
    """The files of one upload: itself, or the members of a .zip (never written under their own names),
    and the names of the members skipped as files an operating system or archiver adds."""
    if format_of(data, filename) != ".zip":
        return [Upload(filename, data)], []
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        files = [m for m in archive.infolist() if not m.is_dir()]
    except DAMAGED_ZIP as exc:
        raise UploadRejected(422, f"压缩包已损坏：{filename}") from exc
    members = [m for m in files if not _system_file(_member_name(m))]
    skipped = [_display_name(_member_name(m)) for m in files if _system_file(_member_name(m))]
    if any(m.flag_bits & 0x1 for m in members):
        raise UploadRejected(422, f"压缩包内有加密的文件，无法读取：{filename}")
    if len(members) > max_files:
        raise UploadRejected(413, f"压缩包内文件过多（{len(members)} 个），上限为 {max_files} 个")
    if sum(m.file_size for m in members) > max_zip_bytes:
        raise UploadRejected(413, f"压缩包解压后过大，上限为 {max_zip_bytes // 1048576} MB")
    out = []
    for member in members:
        try:
            with archive.open(member) as handle:
                content = handle.read(max_zip_bytes + 1)  # the header's size may lie: read no more than allowed
        except DAMAGED_ZIP as exc:  # a member's header, compression or checksum broken
            raise UploadRejected(422, f"压缩包已损坏：{filename}（{_display_name(_member_name(member))}）") from exc
        if len(content) > max_zip_bytes:
            raise UploadRejected(413, f"压缩包解压后过大，上限为 {max_zip_bytes // 1048576} MB")
        out.append(Upload(_display_name(_member_name(member)), content))
    return out, skipped


_SYSTEM_FILES = {"thumbs.db", "ehthumbs.db", "desktop.ini"}


def _system_file(name: str) -> bool:
    """What operating systems and archivers add: macOS resource forks, dot files and folders,
    Windows thumbnail caches and folder settings."""
    path = PurePosixPath(name.replace("\\", "/"))
    return ("__MACOSX" in path.parts or any(part.startswith(".") and part not in (".", "..") for part in path.parts)
            or path.name.lower() in _SYSTEM_FILES)


def _member_name(member: zipfile.ZipInfo) -> str:
    """A member's name: UTF-8 when flagged so; else the bytes as written, which Chinese Windows
    archivers write in GBK and zipfile decodes as cp437 (UTF-8 unflagged is tried first)."""
    if member.flag_bits & 0x800:
        return member.filename
    raw = member.filename.encode("cp437")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return member.filename


def _display_name(name: str) -> str:
    """The member's own name without any directory part, so '../../x' can never mean a path."""
    return PurePosixPath(name.replace("\\", "/")).name or "unnamed"


def store(root: Path, upload: Upload) -> Path:
    """Write the bytes once under their hash; a second upload of the same content writes nothing."""
    digest = upload.sha256
    path = root / "uploads" / digest[:2] / digest
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(upload.data)
        os.replace(temporary, path)  # atomic: a crash leaves no half-written upload
    return path
