"""Who is calling, and what they may do."""

from __future__ import annotations

from dataclasses import dataclass

ADMIN_SCOPES = ("*",)


@dataclass(frozen=True, slots=True)
class Principal:
    """The owner of an API key and the scopes the key grants (`*` grants every scope)."""

    id: str
    scopes: tuple[str, ...]

    def allows(self, scope: str) -> bool:
        return "*" in self.scopes or scope in self.scopes
