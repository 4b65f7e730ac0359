"""OpenAPI links: how the answer of a write leads to the routes that read or change what it made.

An integrator (or a stateful fuzzer) follows them: the id of a new order opens `GET
/v1/orders/{id}`, its first fulfilment the warehouse's actions, and so on. Each link names its
target by `operationId`, looked up in the document itself, so renaming a route cannot leave a
link pointing nowhere (`add_links` raises instead).
"""

from __future__ import annotations

from typing import Any

#: (method, path of the target, parameters: name -> runtime expression)
Target = tuple[str, str, dict[str, str]]

_ID = {"id": "$response.body#/id"}
_FIRST_FULFILMENT = {"id": "$response.body#/fulfillments/0/id"}
_SKU = {"sku": "$request.path.sku"}


def _fulfilment_steps(*actions: str) -> dict[str, Target]:
    """From a fulfilment's answer: read it, its order, and the actions that may follow."""
    steps: dict[str, Target] = {
        "GetFulfillment": ("get", "/v1/fulfillments/{id}", _ID),
        "GetOrder": ("get", "/v1/orders/{id}", {"id": "$response.body#/order_id"}),
    }
    for action in actions:
        steps[action.capitalize()] = ("post", f"/v1/fulfillments/{{id}}/{action}", _ID)
    return steps


def _transfer_steps(*actions: str) -> dict[str, Target]:
    steps: dict[str, Target] = {"GetTransfer": ("get", "/v1/transfers/{id}", _ID)}
    for action in actions:
        steps[action.capitalize()] = ("post", f"/v1/transfers/{{id}}/{action}", _ID)
    return steps


#: (method, path of the source) -> link name -> target.
LINKS: dict[tuple[str, str], dict[str, Target]] = {
    ("put", "/v1/items/{sku}"): {
        "GetItem": ("get", "/v1/items/{sku}", _SKU),
        "GetStock": ("get", "/v1/stock/{sku}", _SKU),
        "GetLedger": ("get", "/v1/stock/{sku}/movements", _SKU),
    },
    ("put", "/v1/locations/{code}"): {
        "GetLocation": ("get", "/v1/locations/{code}", {"code": "$request.path.code"}),
    },
    ("put", "/v1/channels/{code}"): {
        "GetChannel": ("get", "/v1/channels/{code}", {"code": "$request.path.code"}),
        "GetAvailability": ("get", "/v1/availability", {"channel": "$request.path.code"}),
    },
    ("post", "/v1/buffer-rules"): {
        "GetBufferRule": ("get", "/v1/buffer-rules/{id}", _ID),
        "DeleteBufferRule": ("delete", "/v1/buffer-rules/{id}", _ID),
    },
    ("post", "/v1/stock/movements"): {
        "GetStock": ("get", "/v1/stock/{sku}", {"sku": "$response.body#/movement/sku"}),
        "GetLedger": (
            "get",
            "/v1/stock/{sku}/movements",
            {
                "sku": "$response.body#/movement/sku",
                "location": "$response.body#/movement/location",
            },
        ),
    },
    ("post", "/v1/reservations"): {
        "GetReservation": ("get", "/v1/reservations/{id}", _ID),
        "ReleaseReservation": ("delete", "/v1/reservations/{id}", _ID),
    },
    ("post", "/v1/orders"): {
        "GetOrder": ("get", "/v1/orders/{id}", _ID),
        "GetSourcing": ("get", "/v1/orders/{id}/sourcing", _ID),
        "CancelOrder": ("post", "/v1/orders/{id}/cancel", _ID),
        "GetFulfillment": ("get", "/v1/fulfillments/{id}", _FIRST_FULFILMENT),
        "Pick": ("post", "/v1/fulfillments/{id}/pick", _FIRST_FULFILMENT),
        "Reject": ("post", "/v1/fulfillments/{id}/reject", _FIRST_FULFILMENT),
        "CancelFulfillment": ("post", "/v1/fulfillments/{id}/cancel", _FIRST_FULFILMENT),
    },
    ("post", "/v1/orders/{id}/cancel"): {"GetOrder": ("get", "/v1/orders/{id}", _ID)},
    ("post", "/v1/fulfillments/{id}/pick"): _fulfilment_steps("pack", "ready", "reject"),
    ("post", "/v1/fulfillments/{id}/pack"): _fulfilment_steps("ship"),
    ("post", "/v1/fulfillments/{id}/ship"): _fulfilment_steps("deliver"),
    ("post", "/v1/fulfillments/{id}/ready"): _fulfilment_steps("collect"),
    ("post", "/v1/fulfillments/{id}/reject"): _fulfilment_steps(),
    ("post", "/v1/fulfillments/{id}/cancel"): _fulfilment_steps(),
    ("post", "/v1/fulfillments/{id}/deliver"): _fulfilment_steps(),
    ("post", "/v1/fulfillments/{id}/collect"): _fulfilment_steps(),
    ("post", "/v1/returns"): {"GetReturn": ("get", "/v1/returns/{id}", _ID)},
    ("post", "/v1/transfers"): _transfer_steps("ship", "receive", "cancel"),
    ("post", "/v1/transfers/{id}/ship"): _transfer_steps("receive"),
    ("post", "/v1/transfers/{id}/receive"): _transfer_steps(),
    ("post", "/v1/transfers/{id}/cancel"): _transfer_steps(),
}


def add_links(spec: dict[str, Any]) -> None:
    """Put `LINKS` on every success answer (2xx) of their source operations in `spec`."""
    paths = spec["paths"]
    for (method, path), targets in LINKS.items():
        links = {
            name: {
                "operationId": paths[target_path][target_method]["operationId"],
                "parameters": dict(parameters),
            }
            for name, (target_method, target_path, parameters) in targets.items()
        }
        for status, answer in paths[path][method]["responses"].items():
            if status.startswith("2"):
                answer["links"] = links
