"""The regulator console at ``/console`` (``docs/console.md``)."""

from .routes import router

__all__ = ["router"]
