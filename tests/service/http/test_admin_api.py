"""``/admin/keys`` as the OpenAPI document and the 405 answer describe it."""

from __future__ import annotations

import httpx
from service_support import HTTP_TIMEOUT, Server


def test_openapi_documents_the_admin_key_body_and_201(server: Server):
    spec = httpx.get(server.url + "/openapi.json", timeout=HTTP_TIMEOUT).json()
    post = spec["paths"]["/admin/keys"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"name", "credits", "admin", "models"}
    assert schema.get("additionalProperties") is False
    assert "201" in post["responses"] and "200" not in post["responses"]
    made = post["responses"]["201"]["content"]["application/json"]["schema"]
    assert "key" in made["properties"] and "credits" in made["properties"]


def test_405_on_admin_keys_lists_every_method(server: Server):
    admin = server.create_key(admin=True)
    for method in ("PUT", "DELETE", "PATCH"):
        r = httpx.request(
            method, server.url + "/admin/keys", headers={"x-api-key": admin}, timeout=HTTP_TIMEOUT
        )
        assert r.status_code == 405
        assert r.headers["allow"] == "GET, HEAD, POST"
        assert "GET, HEAD, POST" in r.json()["error"]
    r = httpx.delete(server.url + "/health", timeout=HTTP_TIMEOUT)
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
