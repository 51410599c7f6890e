import zipfile
import zlib


class IngestError(ValueError):
    """Input that cannot be read as a report. `message` is for people (Chinese), `detail` for logs."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message
        self.detail = detail or message


# What reading a damaged zip archive (a .zip upload, a .docx) raises in the standard library: its
# directory or a member's header broken (BadZipFile, also for a wrong CRC), a deflate stream broken
# (zlib.error) or cut short (EOFError), a garbled compression method or zip version
# (NotImplementedError), offsets pointing outside the file (ValueError: negative seek).
DAMAGED_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError)
