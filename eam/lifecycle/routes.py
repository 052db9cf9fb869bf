from __future__ import annotations

import uuid

from litestar import Controller, post

from eam.core.context import Context
from eam.lifecycle.departures import mark_left
from eam.lifecycle.schemas import DepartureIn, DepartureOut


class DepartureController(Controller):
    path = "/v1/organisations/{organisation_id:uuid}/people/{user_id:uuid}/departure"
    tags = ["People"]

    @post(
        operation_id="markPersonLeft",
        summary="Mark a person as having left the organisation: ends their access, requests and roles there",
    )
    async def mark_left(self, ctx: Context, organisation_id: uuid.UUID, user_id: uuid.UUID, data: DepartureIn) -> DepartureOut:
        return await mark_left(ctx, organisation_id, user_id, data)
