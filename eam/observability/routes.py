"""``GET /metrics``: the Prometheus text format, for operators; not part of the API contract."""

from __future__ import annotations

import os

from litestar import MediaType, Response, get
from litestar.datastructures import State
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

from eam.authz.enforcer import Authorizer
from eam.observability.metrics import POLICY_RULES


@get("/metrics", include_in_schema=False)
async def metrics(state: State) -> Response[bytes]:
    authorizer: Authorizer = state.authorizer
    POLICY_RULES.set(authorizer.rules_held)
    registry = REGISTRY
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:  # set by ``eam serve`` for several workers
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    # The exact content type, set as a header: as media_type, Litestar appends a second charset to it
    # (``…; charset=utf-8; charset=utf-8``), a duplicate parameter that strict parsers refuse.
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST}, media_type=MediaType.TEXT)
