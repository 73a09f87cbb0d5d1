"""The console at ``/console`` (``docs/console.md``): one sign-in, pages by role."""

from fastapi import APIRouter

from . import producer, routes

router = APIRouter(include_in_schema=False)
router.include_router(routes.router)
router.include_router(producer.router)

__all__ = ["router"]
