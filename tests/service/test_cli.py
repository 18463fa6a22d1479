"""``segswap keys ...`` and ``segswap serve`` start-up behaviour."""

from __future__ import annotations

import json
import os
import subprocess
import time

import httpx
from service_support import (
    HTTP_TIMEOUT,
    MODEL,
    ROOT,
    Server,
    run_cli,
    segswap_command,
    wait_until,
)


def keys_cli(data_dir, *args: str, process: bool = False) -> subprocess.CompletedProcess[str]:
    """``segswap keys ... --data-dir data_dir``: in this process (:func:`run_cli`), or
    with ``process`` through the console script in a process of its own."""
    if not process:
        return run_cli("keys", *args, "--data-dir", str(data_dir))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*segswap_command(), "keys", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=HTTP_TIMEOUT,
    )


def test_keys_create_list_credit_revoke(make_server, payload):
    srv: Server = make_server()
    made = keys_cli(srv.data_dir, "create", "--name", "alice", "--credits", "2", process=True)
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert made.stdout == secret + "\n"  # the key alone on stdout
    assert secret.startswith("sgs_") and len(secret) >= 40
    r = httpx.post(
        srv.url + f"/v1/{MODEL}", json=payload, headers={"x-api-key": secret}, timeout=HTTP_TIMEOUT
    )
    assert r.status_code == 200 and r.headers["X-Remaining-Credits"] == "1"

    listed = keys_cli(srv.data_dir, "list")
    assert listed.returncode == 0 and "alice" in listed.stdout
    assert secret not in listed.stdout and secret[:12] in listed.stdout
    as_json = json.loads(keys_cli(srv.data_dir, "list", "--json").stdout)
    alice = next(k for k in as_json if k["name"] == "alice")
    assert alice["credits"] == 1 and alice["revoked"] is None and "hash" not in alice

    assert keys_cli(srv.data_dir, "credit", "alice", "10").returncode == 0
    assert srv.credits(secret) == 11
    assert keys_cli(srv.data_dir, "revoke", alice["id"]).returncode == 0
    # The server re-reads a key it has seen within 1 s; an empty body is a 400 (not run,
    # not charged) until the revocation is seen, then a 401.
    wait_until(
        lambda: (
            httpx.post(
                srv.url + f"/v1/{MODEL}",
                json={},
                headers={"x-api-key": secret},
                timeout=HTTP_TIMEOUT,
            ).status_code
            == 401
        ),
        "the revoked key to be refused",
    )
    assert keys_cli(srv.data_dir, "revoke", "nobody").returncode == 1

    restricted = keys_cli(srv.data_dir, "create", "--models", "other", "--admin").stdout.strip()
    r = httpx.post(
        srv.url + f"/v1/{MODEL}",
        json=payload,
        headers={"x-api-key": restricted},
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 403
    default = keys_cli(srv.data_dir, "create").stdout.strip()
    assert srv.credits(default) == 1000  # the documented default


def test_keys_are_stored_hashed(server: Server):
    secret = server.create_key(name="hashed")
    raw = (server.data_dir / "segswap.db").read_bytes()
    assert secret.encode() not in raw
    assert secret not in server.log()


def test_serve_without_keys_says_how_to_make_one(server: Server):
    assert "segswap keys create" in server.log()


def test_serve_and_keys_have_a_flag_per_setting():
    from segswap.cli import build_parser
    from segswap.settings import Settings

    parser = build_parser()
    args = parser.parse_args(["serve", "--port", "9", "--no-auth", "--result-ttl", "5"])
    assert args.port == 9 and args.no_auth is True and args.result_ttl == 5.0
    assert callable(args.func)
    serve_help = parser._subparsers._group_actions[0].choices["serve"].format_help()  # type: ignore[union-attr]
    for name in Settings.model_fields:
        assert "--" + name.replace("_", "-") in serve_help
    args = parser.parse_args(["keys", "credit", "bob", "5"])
    assert args.amount == "5" and callable(args.func)  # parsed exactly by the command


def test_serve_says_where_it_is_in_its_first_log_lines(tmp_path) -> None:
    """One line with the page's URL, /docs, the data folder, the engine and the fill."""
    import signal
    import sys
    import threading

    from service_support import free_port

    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SEGSWAP_BROKER_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "segswap", "serve", "--port", str(port), "--workers", "1"]
        + ["--data-dir", str(tmp_path / "data")],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stderr or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60  # bounds a hang only
        while len(lines) < 3 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = lines[:3]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    url = f"http://127.0.0.1:{port}/"
    (line,) = [line for line in lines if url in line]
    assert f"{url}docs" in line
    assert f"data folder {(tmp_path / 'data').resolve()}" in line
    assert "engine composite" in line and "fill " in line


def test_the_start_line_names_a_clickable_address_and_no_password() -> None:
    from segswap.cli.serve import page_url, where_it_serves
    from segswap.settings import Settings

    assert page_url("0.0.0.0", 8000) == "http://127.0.0.1:8000/"
    assert page_url("::", 8000) == "http://[::1]:8000/"
    assert page_url("10.1.2.3", 80) == "http://10.1.2.3:80/"
    line = where_it_serves(
        Settings(broker_url="redis://:s3cret@10.0.0.5:6379/0", host="0.0.0.0"), 8123
    )
    assert "http://127.0.0.1:8123/ and the API docs on http://127.0.0.1:8123/docs" in line
    assert "store redis://10.0.0.5:6379/0 (scale-out)" in line and "s3cret" not in line
