"""Runtime settings, read from ``SEGSWAP_*`` environment variables.

Every setting is also a ``segswap serve`` flag (``--max-pixels`` for
``SEGSWAP_MAX_PIXELS`` and so on).
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from segswap.errors import InvalidParameter, shown
from segswap.suggest import did_you_mean

ENGINE_SETTING: dict[str, Any] = {"engine_setting": True}
"""Marks a setting that configures the engine (``json_schema_extra``): each such setting
is a flag of ``segswap swap`` and ``segswap worker`` too (:func:`engine_settings`)."""


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

    # --- the fill behind removal and under placed objects (see docs/removal.md) ---
    fill: str = Field(
        "exemplar",
        description="the fill behind removal and under a placed object: exemplar (no"
        " weights), lama or migan (local model files, the learned extra; docs/learned-fills.md)",
        json_schema_extra=ENGINE_SETTING,
    )
    fill_model: Path | None = Field(
        None,
        description="lama/migan: the model file (default: IOPaint's big-lama.pt,"
        " lama_fp32.onnx or migan_traced.pt in $TORCH_HOME/hub/checkpoints)",
        json_schema_extra=ENGINE_SETTING,
    )
    fill_max_side: int = Field(
        1024,
        ge=64,
        le=8192,
        description="lama (TorchScript): longest side, pixels, of the crop the network sees"
        " (larger crops are shrunk; MI-GAN and the LaMa ONNX export take 512)",
        json_schema_extra=ENGINE_SETTING,
    )
    fill_threads: int = Field(
        0,
        ge=0,
        description="lama/migan: CPU threads per engine process (0: the cores divided among"
        " SEGSWAP_WORKERS, at least 1)",
        json_schema_extra=ENGINE_SETTING,
    )

    # --- diffusion engine (optional extra; see docs/diffusion.md) ---
    model_dir: Path | None = Field(
        None,
        description="diffusion engine: folder of a diffusers-format SD/SDXL inpainting model",
        json_schema_extra=ENGINE_SETTING,
    )
    ip_adapter_dir: Path | None = Field(
        None,
        description="diffusion engine: IP-Adapter weights file or folder (with image_encoder/)",
        json_schema_extra=ENGINE_SETTING,
    )
    device: str = Field(
        "auto",
        description="diffusion engine and lama/migan fills: auto, cpu, cuda, cuda:N or mps",
        json_schema_extra=ENGINE_SETTING,
    )
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = Field(
        "auto",
        description="diffusion engine: weights dtype (auto: float16 on GPU, float32 on CPU)",
        json_schema_extra=ENGINE_SETTING,
    )
    compile: bool = Field(
        False,
        description="diffusion engine: torch.compile the UNet",
        json_schema_extra=ENGINE_SETTING,
    )

    # --- HTTP service (``segswap serve``; see docs/http-api.md) ---
    host: str = Field("127.0.0.1", description="address the HTTP server listens on")
    port: int = Field(8000, ge=0, le=65535, description="TCP port the HTTP server listens on")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=0,
        description="workers running jobs, each in an engine process of its own"
        " (0: accept no work, 502)",
    )
    queue_capacity: int = Field(1000, ge=1, description="most jobs waiting in the queue")
    sync_timeout: float = Field(120.0, gt=0, description="deadline of a v1 call, seconds (504)")
    result_ttl: float = Field(3600.0, gt=0, description="seconds a finished job is kept")
    sweep_interval: float = Field(30.0, gt=0, description="seconds between expiry sweeps")
    price_per_call: float = Field(
        1.0,
        ge=0,
        le=1e9,
        allow_inf_nan=False,
        description="credits debited per accepted call (at most 6 decimals)",
    )
    default_credits: float = Field(
        1000.0,
        ge=0,
        le=1e9,
        allow_inf_nan=False,
        description="credits of a new key by default (at most 6 decimals)",
    )
    rate_limit: float = Field(50.0, ge=0, description="submissions per second per key (0: off)")
    rate_burst: int = Field(100, ge=1, description="submissions a key may make at once")
    max_body_bytes: int = Field(128 * 1024 * 1024, ge=1, description="cap on a request body")
    header_timeout: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="seconds a connection may take to send a request's headers, counted from"
        " when it opens or its previous response ends (408 and closed past it)",
    )
    body_timeout: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="seconds the server waits for the next piece of a request body it is"
        " reading (408 and closed past it)",
    )
    body_deadline: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="seconds a request body may take in all, plus one second per MB"
        " (1,000,000 bytes) its Content-Length announces (408 and closed past it)",
    )
    large_body_bytes: int = Field(
        1024 * 1024,
        ge=1,
        description="bodies above this many bytes (or of unknown length) count as large",
    )
    large_body_concurrency: int = Field(
        2,
        ge=1,
        description="large bodies read and parsed at once; others wait their turn (bounds"
        " memory to about this many times SEGSWAP_MAX_BODY_BYTES x 3)",
    )
    no_auth: bool = Field(False, description="serve without API keys (trusted networks only)")
    webhook_secret: str | None = Field(
        None,
        description="whsec_<base64> key signing webhook deliveries (default: generated at"
        " first start and kept in the store; `segswap webhooks secret` prints it)",
    )
    public_url: str | None = Field(
        None, description="base URL for status/result/media links (default: from the request)"
    )
    drain_timeout: float = Field(
        30.0, ge=0, description="on SIGTERM, seconds to wait for running v1 calls before exiting"
    )

    # --- scale-out (``segswap serve`` / ``segswap worker`` on Redis; see docs/scaling.md) ---
    broker_url: str | None = Field(
        None,
        description="redis://host:port/db: run scale-out (Celery workers, shared Redis store)"
        " instead of the embedded default",
    )
    celery_queue: str = Field("segswap", description="scale-out: Celery queue jobs are sent to")
    visibility_timeout: float = Field(
        3600.0,
        gt=0,
        description="scale-out: seconds before the broker delivers an unacknowledged message"
        " again (a backstop: a dead worker's job is re-sent once its 10 s lease lapses);"
        " keep it above the longest job",
    )
    job_lease: float = Field(
        10.0,
        gt=0,
        description="scale-out: seconds a running job's lease lasts without a heartbeat"
        " (renewed every lease / 4 s); a dead worker's job is sent again about two leases"
        " after its death, reapers look every lease / 2 s and a job its API node stored but"
        " never sent is sent after two leases",
    )
    max_attempts: int = Field(
        3,
        ge=1,
        description="runs of a job cut off by a dead worker or engine process (crash, out"
        " of memory) before it FAILS",
    )

    @field_validator("price_per_call", "default_credits")
    @classmethod
    def _whole_micro_credits(cls, value: float) -> float:
        """Credits are kept as whole micro-credits: at most 6 decimals."""
        exponent = Decimal(repr(value)).as_tuple().exponent
        if isinstance(exponent, int) and exponent < -6:
            raise ValueError("at most 6 decimal places (credits are whole micro-credits)")
        return value

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from ``SEGSWAP_<NAME>`` variables, then ``overrides`` on top.

        Raises:
            InvalidParameter: (a ``ValueError``) the first bad value, naming the setting.
        """
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = env.get(f"SEGSWAP_{name.upper()}")
            if raw is not None:
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise _invalid_setting(error) from None


def engine_settings() -> tuple[str, ...]:
    """The names of the settings that configure the engine (declared with
    :data:`ENGINE_SETTING`), in declaration order."""
    return tuple(
        name
        for name, info in Settings.model_fields.items()
        if isinstance(info.json_schema_extra, dict)
        and info.json_schema_extra.get("engine_setting") is True
    )


def _invalid_setting(error: ValidationError) -> InvalidParameter:
    """A settings error as one line naming the setting, with the closest valid value
    where the setting has a fixed set (``dtype: Input should be ...; did you mean
    "float16"?``) or the closest setting name."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "settings"
    if first["type"] == "extra_forbidden":
        return InvalidParameter(
            field, "unknown setting" + did_you_mean(field, Settings.model_fields)
        )
    got = first.get("input")
    info = Settings.model_fields.get(field)
    hint = ""
    if isinstance(got, str) and info is not None and get_origin(info.annotation) is Literal:
        hint = did_you_mean(got, [str(value) for value in get_args(info.annotation)])
    return InvalidParameter(field, f"{first['msg']}, got {shown(got)}{hint}")
