"""Where a request enters: the Litestar application and its wiring.

Routes live in registry/api/routes, rules in registry/access, storage in registry/store.
The OpenAPI document is at /schema/openapi.json and Swagger UI at /schema/swagger,
served from the swagger-ui-py wheel (Swagger UI 5, which reads OpenAPI 3.1; no CDN).
"""

from __future__ import annotations

import gc
from importlib import resources

from litestar import Litestar, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from registry.api.context import runtime_of, unit_of_work
from registry.api.openapi import describe_errors
from registry.api.problems import exception_handlers
from registry.api.rate_limits import RateLimiter
from registry.api.routes.compliance import ComplianceController
from registry.api.routes.exposure import ExposureController
from registry.api.routes.grants import GrantController
from registry.api.routes.lab_import import LabImportController
from registry.api.routes.limits import CompanyLimitController
from registry.api.routes.me import MeController
from registry.api.routes.medical import MedicalFactsController
from registry.api.routes.operator import OperatorController
from registry.api.routes.organisation import OrganisationController
from registry.api.routes.people import PeopleController
from registry.runtime import Runtime
from registry.services.signin import SignIn

__all__ = ["create_app"]

# Everything but the batch endpoint: generous for one record, small enough to refuse abuse.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
_ASSETS = "/schema/assets"


@get("/healthz", summary="Liveness: the store answers", tags=["meta"], sync_to_thread=True)
def healthz(state: State) -> dict[str, str]:
    runtime_of(state).db.healthy()
    return {"status": "ok"}


def _freeze_startup_heap() -> None:
    """Keep what start-up allocated (modules, classes, the OpenAPI document: most of the
    heap) out of the garbage collector's full collections, which would otherwise walk it all:
    a batch's objects set one off every few requests, at some 150 ms each (measured, issue 15)."""
    gc.freeze()


def _openapi() -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        path="/swagger",
        js_url=f"{_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{_ASSETS}/favicon-32x32.png'>",
    )
    return OpenAPIConfig(
        title="Blootstellingsregister API",
        version="1",
        description=(
            "Employers record exposure to hazardous substances: workers, employments, SEGs, "
            "measurements and exposure-register entries. Employers and agencies authenticate with "
            "`Authorization: Bearer <API key>`; workers, company doctors, hygienists, inspectors, researchers "
            "and operators with an OpenID Connect token (`Authorization: Bearer <JWT>`). "
            "Errors are RFC 9457 problem+json naming each bad field. POSTs accept an `Idempotency-Key` header."
        ),
        render_plugins=[swagger],
        path="/schema",
        components=Components(
            security_schemes={
                "apiKey": SecurityScheme(type="http", scheme="bearer", description="an employer's registry API key"),
                "openIdConnect": SecurityScheme(
                    type="http", scheme="bearer", bearer_format="JWT", description="an OpenID Connect token"
                ),
            }
        ),
        security=[{"apiKey": []}, {"openIdConnect": []}],
    )


def create_app(runtime: Runtime, sign_in: SignIn | None = None) -> Litestar:
    sign_in = sign_in or SignIn.from_settings(runtime.settings)
    assets = create_static_files_router(
        path=_ASSETS, directories=[str(resources.files("swagger_ui") / "static")], include_in_schema=False
    )
    return Litestar(
        route_handlers=[
            healthz,
            OrganisationController,
            MeController,
            PeopleController,
            MedicalFactsController,
            ExposureController,
            LabImportController,
            ComplianceController,
            GrantController,
            CompanyLimitController,
            OperatorController,
            assets,
        ],
        dependencies={
            "runtime": Provide(lambda: runtime, sync_to_thread=False),
            "work": Provide(unit_of_work, sync_to_thread=True),
        },
        exception_handlers=exception_handlers,
        openapi_config=_openapi(),
        request_max_body_size=DEFAULT_MAX_BODY_BYTES,
        state=State({"runtime": runtime, "sign_in": sign_in, "limiter": RateLimiter.from_settings(runtime.settings)}),
        on_startup=[describe_errors, _freeze_startup_heap],
        on_shutdown=[sign_in.close],
        debug=False,
    )
