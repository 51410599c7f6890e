class IngestError(ValueError):
    """Input that cannot be read as a report. `message` is for people (Chinese), `detail` for logs."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message
        self.detail = detail or message
