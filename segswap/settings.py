"""Runtime settings, read from ``SEGSWAP_*`` environment variables.

Every setting is also a ``segswap serve`` flag (``--max-pixels`` for
``SEGSWAP_MAX_PIXELS`` and so on).
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """All knobs of segswap, with their defaults."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Field(Path(".segswap"), description="where the embedded default writes")
    max_pixels: int = Field(40_000_000, ge=1, description="cap on decoded pixels per image")
    allow_private_urls: bool = Field(False, description="allow URL inputs on private addresses")
    fetch_max_bytes: int = Field(50 * 1024 * 1024, ge=1, description="cap on a URL input, bytes")
    fetch_timeout: float = Field(20.0, gt=0, description="timeout of a URL fetch, seconds")
    fetch_max_redirects: int = Field(5, ge=0, description="redirects followed per URL input")
    engine: str = Field("composite", description="engine name: composite or diffusion")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``SEGSWAP_<NAME>`` variables, then ``overrides`` on top."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(f"SEGSWAP_{name.upper()}")
            if raw is not None:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)
