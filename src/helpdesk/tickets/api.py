"""JSON API for tickets under /api/v1."""

from litestar import Router

router = Router(path="/api/v1", route_handlers=[])
