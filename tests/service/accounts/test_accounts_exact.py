"""Accounts are exact: strict admin field types, finite credits >= 0 everywhere (HTTP,
CLI, both stores), credits kept as integer micro-credits so fractional prices never
lose a call, and older data dirs (REAL credits) still open."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import httpx
import pytest
from scaleout_support import RedisServer, keys_command, require_redis
from service_support import HTTP_TIMEOUT, MODEL, Server
from test_cli import keys_cli

from segswap.service.accounts.amounts import MAX_CREDITS
from segswap.service.accounts.credits import Charge, InsufficientCredits, SqliteCredits
from segswap.service.accounts.sqlite_keys import SqliteKeyStore
from segswap.service.database import Database


def h(key: str) -> dict[str, str]:
    return {"x-api-key": key}


def strict_json(text: str) -> object:
    """``text`` as JSON, refusing NaN/Infinity (which Python's parser accepts but JSON
    does not have)."""

    def refuse(constant: str) -> object:
        raise ValueError(f"invalid JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


BAD_FIELDS = [
    ({"admin": "false"}, "admin"),
    ({"admin": 1}, "admin"),
    ({"models": []}, "models"),
    ({"models": ["seg-swap", 3]}, "models"),
    ({"models": "seg-swap"}, "models"),
    ({"models": [" "]}, "models"),
    ({"name": 5}, "name"),
    ({"credits": "5"}, "credits"),
    ({"credits": True}, "credits"),
    ({"credits": -1}, "credits"),
    ({"credits": 0.1234567}, "credits"),
    ({"credits": 10**30}, "credits"),
    ({"credit": 5}, "credit"),
]


@pytest.mark.parametrize(("body", "field"), BAD_FIELDS)
def test_admin_key_fields_have_strict_types(server: Server, body, field):
    admin = server.create_key(admin=True)
    before = len(
        httpx.get(server.url + "/admin/keys", headers=h(admin), timeout=HTTP_TIMEOUT).json()["keys"]
    )
    r = httpx.post(server.url + "/admin/keys", json=body, headers=h(admin), timeout=HTTP_TIMEOUT)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(field + ":"), r.json()
    after = len(
        httpx.get(server.url + "/admin/keys", headers=h(admin), timeout=HTTP_TIMEOUT).json()["keys"]
    )
    assert after == before  # nothing was made


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-0.5"])
def test_admin_credits_must_be_finite_and_listing_stays_valid_json(server: Server, literal):
    admin = server.create_key(admin=True)
    r = httpx.post(
        server.url + "/admin/keys",
        content=b'{"credits": ' + literal.encode() + b"}",
        headers={**h(admin), "content-type": "application/json"},
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("credits:")
    listed = httpx.get(server.url + "/admin/keys", headers=h(admin), timeout=HTTP_TIMEOUT)
    assert listed.status_code == 200
    keys = strict_json(listed.text)["keys"]  # type: ignore[index]
    assert all(math.isfinite(k["credits"]) for k in keys)


def test_admin_key_with_every_field_is_made_as_asked(server: Server):
    admin = server.create_key(admin=True)
    body = {"name": "exact-one", "credits": 0.3, "admin": False, "models": [MODEL]}
    r = httpx.post(server.url + "/admin/keys", json=body, headers=h(admin), timeout=HTTP_TIMEOUT)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["credits"] == 0.3 and made["admin"] is False and made["models"] == [MODEL]
    plain = made["key"]
    assert (
        httpx.get(server.url + "/admin/keys", headers=h(plain), timeout=HTTP_TIMEOUT).status_code
        == 403
    )


def test_fractional_price_never_loses_a_call(make_server, payload):
    srv: Server = make_server({"SEGSWAP_PRICE_PER_CALL": "0.1"})
    key = srv.create_key(credits=0.3)
    codes = [
        httpx.post(
            srv.url + f"/v2/{MODEL}", json=payload, headers=h(key), timeout=HTTP_TIMEOUT
        ).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 406]
    assert srv.credits(key) == 0


def test_sqlite_store_credits_exact_and_finite(tmp_path: Path):
    db = Database(tmp_path)
    store = SqliteKeyStore(db)
    for bad in (math.nan, math.inf, -math.inf, -0.5, 1e300, 1e-7):
        with pytest.raises(ValueError, match="credits"):
            store.create(credits=bad)
    _, record = store.create(name="third", credits=0.3)
    for bad in (math.nan, math.inf, 1e300):
        with pytest.raises(ValueError, match="credits"):
            store.credit("third", bad)
    assert store.find("third").credits == 0.3
    charge = Charge.for_call(record, 0.1)
    left = []
    with db.transaction() as conn:
        for _ in range(3):
            left.append(SqliteCredits.debit(conn, charge))
        with pytest.raises(InsufficientCredits):
            SqliteCredits.debit(conn, charge)
    assert left == [0.2, 0.1, 0.0]
    with db.transaction() as conn:
        SqliteCredits.refund(conn, record.id, 0.1)
    assert store.credit("third", 0.2).credits == 0.3
    assert store.credit("third", -5).credits == 0.0
    db.close()


def test_data_dir_with_real_credits_still_works(tmp_path: Path):
    """A store written before credits were integer micro-credits: REAL credits,
    including an unlimited (inf) balance the old server accepted."""
    conn = sqlite3.connect(tmp_path / "segswap.db")
    conn.execute(
        "CREATE TABLE keys (id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, prefix TEXT"
        " NOT NULL, hash TEXT NOT NULL, credits REAL NOT NULL, admin INTEGER NOT NULL"
        " DEFAULT 0, models TEXT, created REAL NOT NULL, revoked REAL)"
    )
    conn.execute("CREATE INDEX keys_prefix ON keys(prefix)")
    rows = [("key_a", "a", 0.3), ("key_b", "b", math.inf), ("key_c", "c", 12.5)]
    for key_id, name, credits in rows:
        conn.execute(
            "INSERT INTO keys (id, name, prefix, hash, credits, created) VALUES (?,?,?,?,?,?)",
            (key_id, name, "sgs_xxxxxxxx", "0" * 64, credits, 1.0),
        )
    conn.commit()
    conn.close()
    db = Database(tmp_path)
    store = SqliteKeyStore(db)
    assert store.find("a").credits == 0.3
    assert store.find("b").credits == MAX_CREDITS  # unlimited became the cap
    assert store.find("c").credits == 12.5
    charge = Charge.for_call(store.find("a"), 0.1)
    with db.transaction() as conn2:
        left = [SqliteCredits.debit(conn2, charge) for _ in range(3)]
    assert left[-1] == 0.0
    strict_json(json.dumps([r.public() for r in store.list()]))
    db.close()
    Database(tmp_path).close()  # opening a migrated store again changes nothing


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e400", "abc"])
def test_cli_credits_one_line_error(tmp_path: Path, value: str):
    made = keys_cli(tmp_path, "create", "--name", "x", "--credits", value)
    assert made.returncode == 2, made
    assert "Traceback" not in made.stderr
    lines = made.stderr.strip().splitlines()
    assert len(lines) == 1 and "credits" in lines[0], made.stderr
    assert keys_cli(tmp_path, "create", "--name", "ok", "--credits", "1").returncode == 0
    credited = keys_cli(tmp_path, "credit", "ok", value)
    if value == "-1":  # a credit may take credits away (not below 0)
        assert credited.returncode == 0 and "now has 0 credits" in credited.stdout
        return
    assert credited.returncode == 2 and "Traceback" not in credited.stderr
    assert len(credited.stderr.strip().splitlines()) == 1, credited.stderr


@pytest.mark.redis
def test_redis_store_credits_exact_and_finite(tmp_path: Path):
    require_redis()
    from segswap.service.accounts.redis_keys import RedisKeyStore
    from segswap.service.jobs.redis_records import RedisJobStore

    redis_server = RedisServer(tmp_path / "redis").start()
    try:
        client = redis_server.client()
        store = RedisKeyStore(client)
        for bad in (math.nan, math.inf, -0.5, 1e300):
            with pytest.raises(ValueError, match="credits"):
                store.create(credits=bad)
        _, record = store.create(name="third", credits=0.3)
        for bad in (math.nan, math.inf):
            with pytest.raises(ValueError, match="credits"):
                store.credit("third", bad)
        jobs = RedisJobStore(client, 60.0)
        charge = Charge.for_call(record, 0.1)
        outcomes = [
            jobs.submit(f"job{i}", charge=charge, capacity=100, fields={"state": "QUEUED"})[0]
            for i in range(4)
        ]
        assert outcomes == ["ok", "ok", "ok", "credits"]
        assert store.find("third").credits == 0.0
        assert store.credit("third", 0.3).credits == 0.3
        strict_json(json.dumps([r.public() for r in store.list()]))
        listed = keys_command(redis_server.url, "create", "--credits", "nan")
        assert listed.returncode == 2 and "Traceback" not in listed.stderr
        # a key written by an older version: credits as a float string
        client.hset("segswap:key:" + record.id, mapping={"credits": "0.3"})
        client.hdel("segswap:key:" + record.id, "micro_credits")
        assert store.find("third").credits == 0.3
        outcomes = [
            jobs.submit(f"old{i}", charge=charge, capacity=100, fields={"state": "QUEUED"})[0]
            for i in range(4)
        ]
        assert outcomes == ["ok", "ok", "ok", "credits"]
    finally:
        redis_server.stop()
