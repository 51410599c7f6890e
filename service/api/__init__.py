"""HTTP rim: FastAPI app. Public entry point: `create_app`."""

from service.api.app import create_app

__all__ = ["create_app"]
