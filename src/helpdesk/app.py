"""The Litestar application factory."""

from __future__ import annotations

import logging

from litestar import Litestar, Router
from litestar.config.compression import CompressionConfig
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from helpdesk.admin import routes as admin_routes
from helpdesk.events import live_routes, metrics
from helpdesk.identity import routes as identity_routes
from helpdesk.notifications import routes as notification_routes
from helpdesk.tickets import api as tickets_api
from helpdesk.tickets.routes import console, portal
from helpdesk.web import routes as web_routes
from helpdesk.web.deps import provide_db, provide_form, provide_optional_viewer, provide_viewer
from helpdesk.web.errors import handle_exception
from helpdesk.web.templating import STATIC_DIR, TEMPLATE_DIR, configure


def create_app(*, db_provider: Provide | None = None) -> Litestar:
    """db_provider lets tests run every request inside their own rolled-back transaction."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    metrics.register()
    return Litestar(
        route_handlers=[
            # One Router for the HTML handlers: registering them one by one re-registers handlers
            # that share a path (GET+POST), and Litestar then wraps a sync handler twice.
            Router(
                path="/",
                route_handlers=[
                    *web_routes.routes,
                    *identity_routes.routes,
                    *portal.routes,
                    *console.routes,
                    *notification_routes.routes,
                    *admin_routes.routes,
                ],
            ),
            tickets_api.router,
            *live_routes.routes,
            create_static_files_router(
                path="/static", directories=[STATIC_DIR], include_in_schema=False, cache_control=None
            ),
        ],
        dependencies={
            "db": db_provider or Provide(provide_db),
            "viewer": Provide(provide_viewer),
            "maybe_viewer": Provide(provide_optional_viewer),
            "form": Provide(provide_form),
        },
        template_config=TemplateConfig(
            directory=TEMPLATE_DIR,
            engine=JinjaTemplateEngine,
            engine_callback=lambda engine: configure(engine.engine),
        ),
        exception_handlers={Exception: handle_exception},
        openapi_config=OpenAPIConfig(
            title="Helpdesk API",
            version="1.0.0",
            path="/schema",
            components=Components(
                security_schemes={
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="A token from `helpdesk token create EMAIL`.",
                    )
                }
            ),
            security=[{"bearer": []}],
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        request_max_body_size=26 * 1024 * 1024,
    )
