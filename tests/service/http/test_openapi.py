"""The OpenAPI document tells the truth: a bounded schemathesis run against a served
app finds no 5xx and no answer outside the document (status, content type, body), and
the document has the fixed model paths, the ``{"error"}`` schema and the key schemes,
every ``$ref`` in it resolves and it validates as OpenAPI 3.1 (openapi-spec-validator).
``/docs`` loads only files of this server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_support import HTTP_TIMEOUT, Server

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed(make_server) -> Server:
    """A server whose limits the fuzzer does not hit at once (it may still hit them)."""
    return make_server({"SEGSWAP_RATE_LIMIT": "1000", "SEGSWAP_RATE_BURST": "1000"})


@pytest.fixture(scope="module")
def fuzz_key(fuzzed: Server) -> str:
    return fuzzed.create_key(admin=True, credits=1_000_000)


def _labels() -> list[str]:
    """Every documented operation, as ``METHOD /path``, from the app's own document."""
    from types import SimpleNamespace

    from segswap.service.http.app import create_app
    from segswap.service.http.metrics import Metrics
    from segswap.settings import Settings

    app = create_app(SimpleNamespace(settings=Settings(), metrics=Metrics()))  # type: ignore[arg-type]
    paths = app.openapi()["paths"]
    return [f"{method.upper()} {path}" for path, ops in paths.items() for method in ops]


OPERATIONS = _labels()
EXAMPLES = 25
"""Generated requests per operation (deterministic: derandomized, no example database)."""


@pytest.fixture(scope="module")
def api_schema(fuzzed: Server):
    spec = httpx.get(fuzzed.url + "/openapi.json", timeout=HTTP_TIMEOUT).json()
    return schemathesis.openapi.from_dict(spec)


@pytest.mark.parametrize("label", OPERATIONS)
def test_every_answer_is_documented(api_schema, fuzzed: Server, fuzz_key: str, label: str) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None
    statuses: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        response = case.call_and_validate(
            base_url=fuzzed.url, headers={"x-api-key": fuzz_key}, checks=CHECKS
        )
        statuses.append(response.status_code)

    run()
    assert statuses and max(statuses) < 500, statuses
    print(label, len(statuses), "requests, statuses", sorted(set(statuses)))


def test_the_document(server: Server) -> None:
    spec = httpx.get(server.url + "/openapi.json", timeout=HTTP_TIMEOUT).json()
    paths = spec["paths"]
    assert "/v1/seg-swap" in paths and "/v2/seg-swap" in paths
    assert not [p for p in paths if "{model}" in p]
    assert spec["components"]["schemas"]["Error"]["required"] == ["error"]
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    schemes = spec["components"]["securitySchemes"]
    assert {"type": "apiKey", "in": "header", "name": "x-api-key"} in schemes.values()
    assert any(s.get("scheme") == "bearer" for s in schemes.values())
    v1 = paths["/v1/seg-swap"]["post"]
    assert v1["security"] and sorted(v1["responses"]) == [
        "200", "400", "401", "403", "406", "408", "413", "429", "500", "502", "503", "504"
    ]  # fmt: skip
    assert {"image/png", "image/jpeg", "image/webp", "application/json"} == set(
        v1["responses"]["200"]["content"]
    )
    for path, operations in paths.items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                assert status != "422" or "/v2/requests/" in path, (method, path)
                if status >= "400" and status != "422" and path != "/health":
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert ref.endswith("/Error"), (method, path, status)
    assert "security" not in paths["/health"]["get"]


def _references(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """Every ``$ref`` under ``node``, with the JSON pointer of the object holding it."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "$ref" and isinstance(value, str):
                yield where, value
            else:
                yield from _references(value, f"{where}/{name}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _references(value, f"{where}/{index}")


def _resolves(document: dict[str, Any], ref: str) -> bool:
    node: Any = document
    if not ref.startswith("#/"):
        return False
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_every_reference_resolves_and_the_document_validates(server: Server) -> None:
    spec = httpx.get(server.url + "/openapi.json", timeout=HTTP_TIMEOUT).json()
    references = list(_references(spec))
    assert len(references) > 20  # the errors' and the bodies' schemas, at least
    assert [(where, ref) for where, ref in references if not _resolves(spec, ref)] == []
    # a keys listing's items are the key records, defined once in components
    keys = spec["paths"]["/admin/keys"]["get"]["responses"]["200"]["content"]
    items = keys["application/json"]["schema"]["properties"]["keys"]["items"]
    assert items == {"$ref": "#/components/schemas/KeyView"}
    assert "$defs" not in json.dumps(spec)
    validate(spec)  # openapi-spec-validator: raises on any violation of OpenAPI 3.1


def test_other_slugs_still_404(server: Server, key: str) -> None:
    for version in ("v1", "v2"):
        r = httpx.post(
            f"{server.url}/{version}/other-model",
            json={},
            headers={"x-api-key": key},
            timeout=HTTP_TIMEOUT,
        )
        assert r.status_code == 404
        assert r.json() == {"error": "model 'other-model' not found"}
        r = httpx.post(f"{server.url}/{version}/other-model", json={}, timeout=HTTP_TIMEOUT)
        assert r.status_code == 401 and "error" in r.json()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_files(server: Server, page: str) -> None:
    r = httpx.get(server.url + page, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", r.text)
    urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", r.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert not re.search(r"""(?:src|href|url)\s*[=:]\s*["']https?://""", r.text)
    for url in urls:
        asset = httpx.get(server.url + url, timeout=HTTP_TIMEOUT)
        assert asset.status_code == 200, url
        if url.endswith(".js"):
            assert asset.headers["content-type"].startswith("text/javascript")
            assert len(asset.content) > 100_000
        elif url.endswith(".css"):
            assert asset.headers["content-type"].startswith("text/css")
        elif url == "/openapi.json":
            assert asset.json()["openapi"].startswith("3.")
