"""Result image files under ``<data_dir>/results``, named by unguessable tokens.

A token is ``secrets.token_urlsafe(24)`` (192 random bits); the file is
``<token>.<ext>`` and its capability URL ``/media/<token>.<ext>``. Files are written to
a temporary name and renamed, so a crash never leaves a half-written result in place.

:class:`MediaStore` is the interface; :class:`ResultFiles` (local files, the embedded
default) and :class:`RedisMedia` (Redis values with a TTL,
scale-out: any node can serve any result) implement it.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any, Protocol

import redis

from segswap.formats import FORMATS, mime_of_name
from segswap.service.redis_client import P, guarded

_NAME = re.compile(r"^[A-Za-z0-9_-]{32}\.(" + "|".join(FORMATS) + r")$")


def new_token() -> str:
    """A fresh media token (192 random bits, 32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def valid_name(name: str) -> bool:
    """Whether ``name`` has the shape of a media name (``<32-char token>.<ext>``)."""
    return bool(_NAME.match(name))


class MediaStore(Protocol):
    """Where encoded result images live, by their capability name."""

    def write(self, token: str, image_format: str, data: bytes) -> str:
        """Store ``data`` as ``<token>.<image_format>``; returns that name."""

    def read(self, name: str) -> bytes | None:
        """The bytes of a stored result, or None when unknown or gone."""

    def delete(self, name: str | None) -> None:
        """Remove a result (no error when it is already gone)."""


class ResultFiles:
    """The folder of result images."""

    def __init__(self, data_dir: Path) -> None:
        self.root = Path(data_dir) / "results"
        self.root.mkdir(parents=True, exist_ok=True)

    def write(self, token: str, image_format: str, data: bytes) -> str:
        """Store ``data`` as ``<token>.<image_format>``; returns that file name."""
        name = f"{token}.{image_format}"
        tmp = self.root / f".{name}.tmp"
        with open(tmp, "wb") as handle:
            handle.write(data)
        os.replace(tmp, self.root / name)
        return name

    def path(self, name: str) -> Path | None:
        """The path of a stored result named ``name``, or None when the name is not one."""
        if not _NAME.match(name):
            return None
        return self.root / name

    def read(self, name: str) -> bytes | None:
        """The bytes of a stored result, or None when it is gone."""
        path = self.path(name)
        if path is None:
            return None
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, name: str | None) -> None:
        """Remove a result file (no error when it is already gone)."""
        if not name:
            return
        path = self.path(name)
        if path is not None:
            path.unlink(missing_ok=True)

    def names(self) -> list[str]:
        """Every file in the folder (results and leftover temporaries)."""
        return [entry.name for entry in os.scandir(self.root) if entry.is_file()]

    def remove_orphans(self, keep: set[str]) -> int:
        """Delete files not in ``keep`` (temporaries, results of lost jobs); returns a count."""
        removed = 0
        for name in self.names():
            if name not in keep:
                (self.root / name).unlink(missing_ok=True)
                removed += 1
        return removed


def content_type(name: str) -> str:
    """The MIME type of a result file name."""
    return mime_of_name(name)


class RedisMedia:
    """Result images as Redis values ``media:<token>.<ext>`` expiring after ``ttl`` s."""

    def __init__(self, client: redis.Redis, ttl: float) -> None:
        self.r: Any = client  # redis-py types sync and async results as one union
        self.ttl_ms = max(1, int(ttl * 1000))

    @guarded
    def write(self, token: str, image_format: str, data: bytes) -> str:
        """Store ``data``; returns its name ``<token>.<image_format>``."""
        name = f"{token}.{image_format}"
        self.r.set(P + f"media:{name}", data, px=self.ttl_ms)
        return name

    @guarded
    def read(self, name: str) -> bytes | None:
        """The bytes of a result, or None when the name is not one or it expired."""
        if not valid_name(name):
            return None
        data = self.r.get(P + f"media:{name}")
        return bytes(data) if data is not None else None

    @guarded
    def delete(self, name: str | None) -> None:
        """Remove a result (no error when it is gone)."""
        if name:
            self.r.delete(P + f"media:{name}")
