"""The API describes itself: OpenAPI for integrators, and interactive docs."""

from __future__ import annotations

import re

ROUTES = [
    ("get", "/healthz"),
    ("put", "/v1/items/{sku}"),
    ("get", "/v1/items/{sku}"),
    ("get", "/v1/items"),
    ("put", "/v1/locations/{code}"),
    ("get", "/v1/locations"),
    ("get", "/v1/locations/{code}"),
    ("post", "/v1/stock/movements"),
    ("get", "/v1/stock"),
    ("get", "/v1/stock/{sku}"),
    ("get", "/v1/stock/{sku}/movements"),
    ("get", "/v1/events"),
]
WRITES = [(method, path) for method, path in ROUTES if method in ("put", "post")]


def test_openapi_lists_every_route_of_the_contract_with_its_key_and_answers(client) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    spec = response.json()
    paths = spec["paths"]
    assert set(ROUTES) <= {(method, path) for path, ops in paths.items() for method in ops}
    schemes = list(spec["components"]["securitySchemes"].values())
    assert [s["scheme"].lower() for s in schemes] == ["bearer"]
    for method, path in ROUTES:
        secured = bool(paths[path][method].get("security"))
        assert secured == path.startswith("/v1"), (method, path)
    for method, path in WRITES:
        headers = {p["name"] for p in paths[path][method]["parameters"] if p["in"] == "header"}
        assert "Idempotency-Key" in headers, (method, path)
    for path in ("/v1/items/{sku}", "/v1/locations/{code}"):
        assert {"200", "201"} <= set(paths[path]["put"]["responses"])
    assert "201" in paths["/v1/stock/movements"]["post"]["responses"]


def test_the_docs_page_serves_html(client) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "/openapi.json" in response.text


def test_the_docs_page_loads_nothing_from_another_host(client) -> None:
    page = client.get("/docs").text
    loaded = re.findall(r"""(?:src|href)=["']([^"']+)""", page)
    loaded += re.findall(r"""(?:url|Url)\s*:\s*["']([^"']+)""", page)

    assert loaded, page
    assert not [u for u in loaded if re.match(r"^(https?:)?//", u)], loaded
    for url in loaded:
        answer = client.get(url)
        assert answer.status_code == 200, url
        assert answer.content, url


def test_every_error_answer_is_documented_as_problem_details(client) -> None:
    spec = client.get("/openapi.json").json()

    assert "HTTPValidationError" not in str(spec)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            errors = {s: r for s, r in operation["responses"].items() if s.startswith("4")}
            if path != "/healthz":
                assert {"401", "403", "422"} <= set(errors), (method, path)
            for status, answer in errors.items():
                assert list(answer["content"]) == ["application/problem+json"], (path, status)


def test_a_movement_documents_its_stock_conflict_and_a_put_its_two_successes(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    assert "409" in paths["/v1/stock/movements"]["post"]["responses"]
    assert {"200", "201"} <= set(paths["/v1/items/{sku}"]["put"]["responses"])


LISTINGS = {
    "/v1/items": ({"q", "barcode", "after", "limit"}, "ItemPage"),
    "/v1/locations": ({"type", "q", "after", "limit"}, "LocationPage"),
    "/v1/stock": ({"location", "channel", "after", "limit"}, "LocationStockPage"),
    "/v1/orders": (
        {"external_id", "customer_email", "created_after", "after", "limit"},
        "OrderPage",
    ),
}


def test_each_listing_documents_its_parameters_and_its_page(client) -> None:
    paths = client.get("/openapi.json").json()["paths"]

    for path, (names, page) in LISTINGS.items():
        operation = paths[path]["get"]
        described = {p["name"]: p.get("description") for p in operation["parameters"]}
        assert names <= set(described), path
        assert all(described[name] for name in names), (path, described)
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith(f"/{page}"), path
        assert operation["description"], path
