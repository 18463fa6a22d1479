"""SPEC §2: parameter names, defaults and ranges, and how bad values are reported."""

from __future__ import annotations

import numpy as np
import pytest

import segswap
from segswap.errors import InvalidParameter
from segswap.params import SwapParams, SwapRequest, parse_params, parse_request

SEED_DEFAULTS = {
    "prompt": "photo of a wooden table in center of living room",
    "steps": 30,
    "seed": 42,
    "growmask": 5,
    "fashion_strength": 1,
    "subject_strength": 1,
    "horizontal_repeat": 1,
    "vertical_repeat": 1,
    "image_format": "png",
    "image_quality": 95,
    "base64": False,
    "mode": "auto",
}

# name: (min, max, a value just below min, a value just above max)
NUMERIC = {
    "steps": (10, 100, 9, 101),
    "seed": (0, 2**32 - 1, -1, 2**32),
    "growmask": (0, 20, -1, 21),
    "fashion_strength": (0, 1, -0.01, 1.01),
    "subject_strength": (0, 1, -0.5, 1.5),
    "horizontal_repeat": (1, 10, 0, 11),
    "vertical_repeat": (1, 10, 0, 11),
    "image_quality": (10, 100, 9, 101),
}
INT_FIELDS = [name for name, spec in NUMERIC.items() if isinstance(spec[2], int)]

IMAGES = {"main_image": "aGVsbG8=", "mask_image": "aGVsbG8=", "object_image": "aGVsbG8="}


def rejected(values: dict, field: str) -> InvalidParameter:
    with pytest.raises(InvalidParameter) as info:
        parse_params(values)
    error = info.value
    assert error.field == field
    assert field in str(error)
    assert "Traceback" not in str(error)
    return error


@pytest.mark.parametrize("name", list(SEED_DEFAULTS))
def test_default_equals_the_seed(name: str) -> None:
    expected = SEED_DEFAULTS[name]
    assert getattr(SwapParams(), name) == expected
    assert getattr(parse_params({}), name) == expected
    assert getattr(parse_request(dict(IMAGES)), name) == expected
    if isinstance(expected, bool | str):
        assert type(getattr(SwapParams(), name)) is type(expected)


def test_every_parameter_is_known() -> None:
    assert set(SwapParams.model_fields) == set(SEED_DEFAULTS)
    assert set(SwapRequest.model_fields) == set(SEED_DEFAULTS) | set(IMAGES)


@pytest.mark.parametrize("name", list(NUMERIC))
def test_bounds_are_accepted(name: str) -> None:
    low, high, _, _ = NUMERIC[name]
    assert getattr(parse_params({name: low}), name) == low
    assert getattr(parse_params({name: high}), name) == high


@pytest.mark.parametrize("side", ["below", "above"])
@pytest.mark.parametrize("name", list(NUMERIC))
def test_out_of_range_names_field_and_range(name: str, side: str) -> None:
    low, high, below, above = NUMERIC[name]
    value = below if side == "below" else above
    error = rejected({name: value}, name)
    assert f"{low}-{high}" in str(error)


@pytest.mark.parametrize("name", INT_FIELDS)
@pytest.mark.parametrize("value", [True, False])
def test_bool_is_not_an_int(name: str, value: bool) -> None:
    error = rejected({name: value}, name)
    low, high, _, _ = NUMERIC[name]
    assert f"{low}-{high}" in str(error)


def test_steps_true_is_rejected() -> None:
    rejected({"steps": True}, "steps")


@pytest.mark.parametrize("name", ["fashion_strength", "subject_strength"])
def test_bool_is_not_a_number(name: str) -> None:
    rejected({name: True}, name)


@pytest.mark.parametrize("name", list(NUMERIC))
@pytest.mark.parametrize("value", ["30", "0.5", "abc", None, [1]])
def test_string_or_other_type_for_a_number(name: str, value: object) -> None:
    error = rejected({name: value}, name)
    low, high, _, _ = NUMERIC[name]
    assert f"{low}-{high}" in str(error)


def test_strict_types_elsewhere() -> None:
    rejected({"base64": "true"}, "base64")
    rejected({"base64": 1}, "base64")
    rejected({"prompt": 5}, "prompt")
    rejected({"image_format": 1}, "image_format")


@pytest.mark.parametrize("name", ["foo", "num_inference_steps", "Steps"])
def test_unknown_parameter_is_named(name: str) -> None:
    error = rejected({name: 1}, name)
    assert "unknown" in str(error).lower()


def test_unknown_parameter_in_request_is_named() -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_request({**IMAGES, "guidance_scale": 7.5})
    assert info.value.field == "guidance_scale"
    assert "guidance_scale" in str(info.value)


def test_image_format_lists_allowed_values() -> None:
    error = rejected({"image_format": "gif"}, "image_format")
    for allowed in ("jpeg", "png", "webp"):
        assert allowed in str(error)
    assert "gif" in str(error)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_image_formats_accepted(fmt: str) -> None:
    assert parse_params({"image_format": fmt}).image_format == fmt


def test_mode_extension() -> None:
    for mode in ("auto", "object", "pattern", "remove"):
        assert parse_params({"mode": mode}).mode == mode
    error = rejected({"mode": "inpaint"}, "mode")
    for allowed in ("auto", "object", "pattern", "remove"):
        assert allowed in str(error)


def test_prompt_length() -> None:
    assert parse_params({"prompt": "x" * 2000}).prompt == "x" * 2000
    assert parse_params({"prompt": ""}).prompt == ""
    error = rejected({"prompt": "x" * 2001}, "prompt")
    assert "2000" in str(error)
    assert len(str(error)) < 400, "the whole prompt must not be echoed back"


def test_seed_limits() -> None:
    assert parse_params({"seed": 2**32 - 1}).seed == 2**32 - 1
    assert parse_params({"seed": 0}).seed == 0
    rejected({"seed": 2**32}, "seed")
    rejected({"seed": -1}, "seed")


def test_strength_accepts_int_and_float() -> None:
    params = parse_params({"fashion_strength": 1, "subject_strength": 0})
    assert params.fashion_strength == 1
    assert params.subject_strength == 0
    assert parse_params({"fashion_strength": 0.25}).fashion_strength == 0.25


def test_params_are_immutable() -> None:
    params = parse_params({})
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen error type
        params.steps = 50  # type: ignore[misc]


@pytest.mark.parametrize("body", [None, [], "steps=30", 42, b"{}"])
def test_parse_request_rejects_a_non_dict(body: object) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_request(body)
    assert info.value.field == "body"
    assert "object" in str(info.value).lower()


@pytest.mark.parametrize("missing", list(IMAGES))
def test_parse_request_names_a_missing_image(missing: str) -> None:
    body = {name: value for name, value in IMAGES.items() if name != missing}
    with pytest.raises(InvalidParameter) as info:
        parse_request(body)
    assert info.value.field == missing
    assert missing in str(info.value)
    assert "required" in str(info.value)


def test_parse_request_empty_image_rejected() -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_request({**IMAGES, "main_image": ""})
    assert info.value.field == "main_image"


def test_parse_request_splits_params() -> None:
    request = parse_request({**IMAGES, "steps": 50, "growmask": 0, "image_format": "webp"})
    params = request.params()
    assert isinstance(params, SwapParams)
    assert (params.steps, params.growmask, params.image_format) == (50, 0, "webp")
    assert not hasattr(params, "main_image")


def test_swap_validates_params_before_work() -> None:
    scene = np.zeros((8, 8, 3), np.uint8)
    mask = np.full((8, 8), 255, np.uint8)
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(scene, mask, scene, steps=5)
    assert info.value.field == "steps" and "10-100" in str(info.value)
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(scene, mask, scene, colour="red")
    assert info.value.field == "colour"


def test_text_is_converted_to_the_fields_type_only() -> None:
    """One converter for CLI flags and form fields: the type here, the range later."""
    from segswap.params import SwapParams, from_text

    assert from_text(SwapParams, "growmask", " 8 ") == 8
    assert from_text(SwapParams, "fashion_strength", "0.5") == 0.5
    assert from_text(SwapParams, "base64", "yes") is True
    assert from_text(SwapParams, "base64", "off") is False
    assert from_text(SwapParams, "steps", "many") == "many"  # validation names it
    assert from_text(SwapParams, "steps", "500") == 500  # in range or not: validation says
    assert from_text(SwapParams, "prompt", " a cat ") == " a cat "
    assert from_text(SwapParams, "mode", "remov") == "remov"


def test_unknown_names_and_values_suggest_the_closest() -> None:
    error = rejected({"grow_mask": 5}, "grow_mask")
    assert str(error) == 'grow_mask: unknown parameter; did you mean "growmask"?'
    error = rejected({"mode": "Remove"}, "mode")
    assert str(error).endswith('got "Remove"; did you mean "remove"?')
    error = rejected({"qwertyuiop": 1}, "qwertyuiop")
    assert "did you mean" not in str(error) and "expected one of" in str(error)
