"""Domain errors. Each carries the data a client needs to act on it.

    OmnistockError
     ├── Unauthorized          no API key, or an unknown one                (HTTP 401)
     ├── Forbidden             the key lacks the scope, or the reach, it needs (HTTP 403)
     ├── NotFound              a referenced resource does not exist        (HTTP 404)
     ├── InvalidInput          a value breaks a business rule              (HTTP 422)
     ├── IdempotencyKeyReused  the same key was sent with another body     (HTTP 422)
     └── Conflict              the request is valid but the state forbids it (HTTP 409)
          ├── StockConflict    a movement would leave a position impossible
          ├── InsufficientStock  a hold or an order asks for more than the channel may sell
          ├── InvalidTransition  an action its status does not allow (fulfilment, transfer)
          ├── NotCancellable   more units to cancel than are still unshipped
          ├── NotReturnable    more units to return than were delivered and not returned
          ├── ReservationEnded an order names a hold that is no longer active
          └── ExternalIdReused a channel sent another order under an id it already used

The API maps them to RFC 9457 problem details in one place (`omnistock.api.problems`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omnistock.domain.stock import Position


class OmnistockError(Exception):
    """Base of every error the domain raises on purpose."""

    code: str = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extensions(self) -> dict[str, Any]:
        """Extra members for the problem details answer."""
        return {}


class Unauthorized(OmnistockError):
    code = "unauthorized"


class Forbidden(OmnistockError):
    """The key may not do this: it lacks the scope, or the request names a channel or a
    location beyond the key's reach (then `field` names where)."""

    code = "forbidden"

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field

    def extensions(self) -> dict[str, Any]:
        return {} if self.field is None else {"field": self.field}


class NotFound(OmnistockError):
    code = "not-found"

    def __init__(self, resource: str, key: str, *, field: str | None = None) -> None:
        super().__init__(f"{resource} {key!r} does not exist")
        self.resource = resource
        self.key = key
        self.field = field

    def extensions(self) -> dict[str, Any]:
        ext: dict[str, Any] = {"resource": self.resource, "key": self.key}
        if self.field:
            ext["field"] = self.field
        return ext


class InvalidInput(OmnistockError):
    """A value that breaks a business rule: answered as a request that fails validation
    (the same problem type, the same `errors` list), since to the client it is one."""

    code = "invalid-request"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.message = detail

    def extensions(self) -> dict[str, Any]:
        return {"field": self.field, "errors": [{"field": self.field, "message": self.message}]}


class Conflict(OmnistockError):
    code = "conflict"


class StockConflict(Conflict):
    """A stock change would leave the position impossible (e.g. selling units not on hand)."""

    code = "stock-conflict"

    def __init__(
        self,
        *,
        location: str,
        sku: str,
        movement_type: str,
        quantity: int,
        reason: str,
        position: Position,
    ) -> None:
        super().__init__(f"{movement_type} of {quantity} at {location}: {reason}")
        self.location = location
        self.sku = sku
        self.movement_type = movement_type
        self.quantity = quantity
        self.reason = reason
        self.position = position

    def extensions(self) -> dict[str, Any]:
        return {"location": self.location, "sku": self.sku, "position": self.position.as_dict()}


class IdempotencyKeyReused(OmnistockError):
    code = "idempotency-key-reused"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used with a different request; "
            "use a new key for a new request"
        )
        self.key = key

    def extensions(self) -> dict[str, Any]:
        return {"field": "Idempotency-Key"}


@dataclass(frozen=True, slots=True)
class ShortLine:
    sku: str
    requested: int
    available: int


class InsufficientStock(Conflict):
    """Some lines of a hold or an order cannot be served: nothing was held or reserved."""

    code = "insufficient-stock"

    def __init__(self, lines: list[ShortLine]) -> None:
        short = ", ".join(f"{s.sku}: {s.requested} asked, {s.available} available" for s in lines)
        super().__init__(f"not enough stock for every line ({short}); nothing was reserved")
        self.lines = lines

    def extensions(self) -> dict[str, Any]:
        return {
            "lines": [
                {"sku": s.sku, "requested": s.requested, "available": s.available}
                for s in self.lines
            ]
        }


class InvalidTransition(Conflict):
    """An action that the current status of a fulfilment (or a transfer) does not allow."""

    code = "invalid-transition"

    def __init__(self, *, status: str, action: str, resource: str = "fulfilment") -> None:
        super().__init__(f"cannot {action} a {resource} that is {status}")
        self.status = status
        self.action = action

    def extensions(self) -> dict[str, Any]:
        return {"current_status": self.status, "action": self.action}


class NotCancellable(Conflict):
    """More units of a line asked to be cancelled than are still unshipped."""

    code = "not-cancellable"

    def __init__(self, *, field: str, sku: str, requested: int, cancellable: int) -> None:
        super().__init__(
            f"{field}: {requested} x {sku} asked, only {cancellable} can still be cancelled; "
            "shipped or collected units come back as returns"
        )
        self.field, self.sku = field, sku
        self.requested, self.cancellable = requested, cancellable

    def extensions(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "sku": self.sku,
            "requested": self.requested,
            "cancellable": self.cancellable,
        }


class NotReturnable(Conflict):
    """More units of a sku returned than the order delivered and has not had back yet."""

    code = "not-returnable"

    def __init__(self, *, field: str, sku: str, requested: int, returnable: int) -> None:
        super().__init__(
            f"{field}: {requested} x {sku} returned, only {returnable} delivered or collected "
            "and not returned yet"
        )
        self.field, self.sku = field, sku
        self.requested, self.returnable = requested, returnable

    def extensions(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "sku": self.sku,
            "requested": self.requested,
            "returnable": self.returnable,
        }


class ReservationEnded(Conflict):
    code = "reservation-ended"

    def __init__(self, reservation_id: str) -> None:
        super().__init__(
            f"reservation {reservation_id!r} is no longer active (released, expired or "
            "already ordered): place the order without it"
        )

    def extensions(self) -> dict[str, Any]:
        return {"field": "reservation_id"}


class ExternalIdReused(Conflict):
    code = "external-id-reused"

    def __init__(self, channel: str, external_id: str, order_id: int, differs: list[str]):
        super().__init__(
            f"channel {channel!r} already sent order {external_id!r} (order {order_id}) with "
            f"another {', '.join(differs)}: send the same order again, or use a new external_id"
        )
        self.order_id = order_id
        self.differs = differs

    def extensions(self) -> dict[str, Any]:
        return {"field": "external_id", "order_id": self.order_id, "differs": self.differs}
