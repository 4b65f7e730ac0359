"""Problem details (RFC 9457): how every error answer is shaped."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from omnistock.api.schemas.common import Model


class FieldError(Model):
    field: str
    message: str
    line: int | None = Field(
        None, description="An import's bad row: its line in the file (1: the first line)"
    )
    reason: str | None = Field(None, description="An import's bad row: why (as `message`)")


class Problem(BaseModel):
    """RFC 9457 problem details, as every error answer is shaped."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:omnistock:problem:stock-conflict"])
    title: str
    status: int
    detail: str
    code: str = Field(description="The problem's short name, the end of `type`")
    field: str | None = Field(None, description="The input at fault, where there is one")
    errors: list[FieldError] | None = Field(
        None, description="Every invalid field (422); of an import, every bad row (up to 1,000)"
    )
    error_count: int | None = Field(None, description="An import's bad rows, in all (422)")
