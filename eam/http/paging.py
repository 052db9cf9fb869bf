"""The paging query parameters every list endpoint takes (pages themselves: :mod:`eam.core.paging`)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Parameter

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size (1–200).")]
Cursor = Annotated[
    str | None, Parameter(max_length=512, description="The `next_cursor` of the previous page.")
]
