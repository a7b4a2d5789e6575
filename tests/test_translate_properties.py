"""Property tests of the translation over arbitrary keys and unicode values.

Examples, seeds and replay come from the hypothesis profile in ``conftest.py``
(``dev`` by default, ``ci`` with at least 2,000 examples when ``CI=true``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ValueType
from hydra.errors import HydraException
from hypothesis import assume, given
from hypothesis import strategies as st
from omegaconf import OmegaConf

from vertex_hydra import TranslationError, to_hydra_args
from vertex_hydra.study_env import ValueType as ParameterType
from vertex_hydra.translate import _HYDRA_FLAGS, _PLAIN_VALUE, _SIMPLE_KEY

pytestmark = pytest.mark.translation

PARSER = OverridesParser.create()

hydra_keys = st.from_regex(
    r"[A-Za-z_][A-Za-z0-9_\-]{0,6}(\.[A-Za-z_][A-Za-z0-9_]{0,6}){0,3}", fullmatch=True
)
# NUL cannot travel in argv; everything else may arrive from a CATEGORICAL value.
values = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=30
)
numbers = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
)


def _config_value(override: str) -> Any:
    parsed = PARSER.parse_override(override)
    assert parsed.value_type is ValueType.ELEMENT, f"{override!r} is a sweep"
    cfg = OmegaConf.create({})
    OmegaConf.update(cfg, parsed.key_or_group, parsed.value(), merge=True)
    value = OmegaConf.select(cfg, parsed.key_or_group)
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


def _check_promise(key: str, value: str, token_value: str) -> None:
    """Either the config gets the exact text, or Hydra's own reading of a plain value."""
    [override] = to_hydra_args([f"--{key}={value}"], coerce_integral_floats=False)
    parsed = PARSER.parse_override(override)
    assert parsed.key_or_group == key
    received = _config_value(override)
    if isinstance(received, str):
        assert received == token_value, (value, override, received)
    else:
        # A non-string means the text was handed over verbatim and Hydra read
        # it as one number / bool / null / list / dict.
        assert override == f"{key}={value}", (value, override, received)


@given(key=hydra_keys, value=values)
def test_any_unicode_value_reaches_the_config_exactly(key: str, value: str) -> None:
    _check_promise(key, value, value)


@given(key=hydra_keys, value=numbers)
def test_numbers_keep_their_meaning(key: str, value: str) -> None:
    [override] = to_hydra_args([f"--{key}={value}"], coerce_integral_floats=False)
    assert override == f"{key}={value}"
    assert _config_value(override) == float(value)


@given(key=hydra_keys, value=st.floats(-1e12, 1e12).filter(lambda v: v == int(v)))
def test_integral_floats_become_ints(key: str, value: float) -> None:
    [override] = to_hydra_args([f"--{key}={value!r}"])
    received = _config_value(override)
    assert type(received) is int and received == int(value)


def _without_prefix(key: str) -> str:
    """The Hydra key a parameter id sets: one leading ``++``, ``+`` or ``~`` is an operator."""
    for prefix in ("++", "+", "~"):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


@given(
    key=st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00="),
        min_size=1,
        max_size=12,
    )
)
def test_arbitrary_keys_translate_or_fail_cleanly(key: str) -> None:
    assume(f"--{key}" not in _HYDRA_FLAGS)
    try:
        [override] = to_hydra_args([f"--{key}=1"])
    except TranslationError as error:
        # The message names the parameter id as received ('+~' stays '+~', not '').
        message = str(error)
        assert f"parameter id {key!r}" in message or "no parameter name" in message, message
        assert "Fix: " in message
        return
    parsed = PARSER.parse_override(override)
    assert parsed.key_or_group == _without_prefix(key) or key.startswith("@")


@pytest.mark.parametrize("key", ["A@", "model.lr@"])
def test_a_key_with_an_empty_package_is_refused(key: str) -> None:
    """Found by the property above: Hydra reads ``A@=1`` as key ``A``, not the id ``A@``."""
    with pytest.raises(TranslationError, match=rf"parameter id {re.escape(repr(key))} .* Fix: "):
        to_hydra_args([f"--{key}=1"])


@pytest.mark.parametrize("key", ["+~", "~~", "++~"])
def test_operator_only_keys_fail_cleanly(key: str) -> None:
    with pytest.raises(TranslationError, match=rf"parameter id {re.escape(repr(key))} .* Fix: "):
        to_hydra_args([f"--{key}=1"])


@given(value=st.from_regex(_PLAIN_VALUE, fullmatch=True))
def test_fast_path_agrees_with_hydras_parser(value: str) -> None:
    parsed = PARSER.parse_override(f"x={value}")
    assert parsed.value_type is ValueType.ELEMENT
    assert not isinstance(parsed.value(), str) or parsed.value() == value


@given(key=st.from_regex(_SIMPLE_KEY, fullmatch=True))
def test_fast_path_keys_are_hydra_keys(key: str) -> None:
    try:
        parsed = PARSER.parse_override(f"{key}=1")
    except HydraException as error:  # pragma: no cover - would be a bug
        raise AssertionError(f"Hydra rejects key {key!r}: {error}") from None
    assert parsed.key_or_group == key


tokens = st.one_of(
    st.builds(lambda k, v: f"--{k}={v}", hydra_keys, values),
    st.builds(lambda k, v: f"--{k}={v}", hydra_keys, numbers),
    st.builds(lambda k, v: [f"--{k}", v], hydra_keys, numbers),
    st.builds(lambda k, v: f"{k}={v}", hydra_keys, numbers),
    st.builds(lambda k: f"+{k}=1", hydra_keys),
    st.builds(lambda k: f"~{k}", hydra_keys),
    st.builds(lambda k: f"--{k}", hydra_keys),
    st.sampled_from(["--cfg=job", ["--cfg", "all"], "-m", "--resolve", "--info", ["-cn", "alt"]]),
)


def _flatten(parts: list[Any]) -> list[str]:
    out: list[str] = []
    for part in parts:
        out += part if isinstance(part, list) else [part]
    return out


@given(parts=st.lists(tokens, max_size=8))
def test_translation_is_idempotent(parts: list[Any]) -> None:
    argv = _flatten(parts)
    try:
        once = to_hydra_args(argv)
    except TranslationError:
        return
    assert to_hydra_args(once) == once


single_tokens = st.one_of(
    st.builds(lambda k, v: f"--{k}={v}", hydra_keys, values),
    st.builds(lambda k, v: f"{k}={v}", hydra_keys, numbers),
    st.builds(lambda k: f"~{k}", hydra_keys),
    st.sampled_from(["--cfg=job", "-m", "--resolve", "--config-name=alt"]),
)


@given(argv=st.lists(single_tokens, max_size=8))
def test_flags_first_and_overrides_keep_order(argv: list[str]) -> None:
    flags = [t for t in argv if t in {"--cfg=job", "-m", "--resolve", "--config-name=alt"}]
    overrides = [t for t in argv if t not in flags]
    expected = flags + [out for t in overrides for out in to_hydra_args([t])]
    assert to_hydra_args(argv) == expected


# --- the rules with the study's parameter types ---------------------------------------------

integral_numbers = st.one_of(
    st.integers(-(10**9), 10**9).map(str),
    st.integers(-(10**9), 10**9).map(lambda n: f"{float(n)!r}"),
    st.integers(-(10**6), 10**6).map(lambda n: f"{n:e}"),
    st.integers(0, 10**6).map(lambda n: f"00{n}.0"),
)
any_numbers = st.one_of(
    numbers,
    integral_numbers,
    st.floats(allow_nan=False, allow_infinity=False).map(lambda v: f"{v:e}"),
)


def _typed(key: str, value: str, value_type: ParameterType) -> Any:
    [override] = to_hydra_args([f"--{key}={value}"], value_types={key: value_type})
    assert PARSER.parse_override(override).key_or_group == key
    return _config_value(override)


@given(key=hydra_keys, value=any_numbers)
def test_double_always_reaches_the_config_as_a_float(key: str, value: str) -> None:
    received = _typed(key, value, "float")
    assert type(received) is float and received == float(value), (value, received)


@given(key=hydra_keys, value=integral_numbers)
def test_integer_always_reaches_the_config_as_an_int(key: str, value: str) -> None:
    received = _typed(key, value, "int")
    assert type(received) is int and received == int(float(value)), (value, received)


@given(key=hydra_keys, value=st.one_of(values, any_numbers, st.from_regex(r"0[0-9]{1,4}")))
def test_categorical_is_hydras_reading_without_rewrite(key: str, value: str) -> None:
    [typed] = to_hydra_args([f"--{key}={value}"], value_types={key: "text"})
    [plain] = to_hydra_args([f"--{key}={value}"], coerce_integral_floats=False)
    assert typed == plain
    _check_promise(key, value, value)
    if re.fullmatch(r"0[0-9]+", value):
        assert _config_value(typed) == value  # '007' stays '007'


@given(
    key=hydra_keys, value=st.one_of(values, any_numbers).filter(lambda v: not set(v) & set(".eE"))
)
def test_untyped_text_without_point_or_exponent_is_not_rewritten(key: str, value: str) -> None:
    [untyped] = to_hydra_args([f"--{key}={value}"])
    [plain] = to_hydra_args([f"--{key}={value}"], coerce_integral_floats=False)
    assert untyped == plain


@given(key=hydra_keys, value=st.text(max_size=12), other=hydra_keys)
def test_types_of_other_parameters_change_nothing(key: str, value: str, other: str) -> None:
    assume(other != key)
    types: dict[str, ParameterType] = {other: "float"}
    try:
        expected = to_hydra_args([f"--{key}={value}"])
    except TranslationError:
        return
    assert to_hydra_args([f"--{key}={value}"], value_types=types) == expected
