"""The pure translation, judged by Hydra's own override parser and OmegaConf."""

from __future__ import annotations

from typing import Any

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import OverrideType, ValueType
from omegaconf import OmegaConf

from vertex_hydra import TranslationError, VertexHydraError, to_hydra_args
from vertex_hydra.translate import format_value, quote_value

pytestmark = pytest.mark.translation

PARSER = OverridesParser.create()


def config_value(override: str) -> Any:
    """What the config holds for ``override``, applied the way Hydra applies it."""
    parsed = PARSER.parse_override(override)
    assert parsed.value_type is ValueType.ELEMENT, override
    cfg = OmegaConf.create({})
    OmegaConf.update(cfg, parsed.key_or_group, parsed.value(), merge=True)
    value = OmegaConf.select(cfg, parsed.key_or_group)
    return OmegaConf.to_container(value) if OmegaConf.is_config(value) else value


# argv -> exact Hydra argv
TABLE = [
    # Vertex's two forms, dots kept
    (["--model.optimizer.lr=0.0012"], ["model.optimizer.lr=0.0012"]),
    (["--model.optimizer.lr", "0.0012"], ["model.optimizer.lr=0.0012"]),
    # integral floats (INTEGER/DISCRETE arrive as doubles)
    (["--data.batch_size=64.0"], ["data.batch_size=64"]),
    (["--data.batch_size", "128.0"], ["data.batch_size=128"]),
    (["--x=1e3"], ["x=1000"]),
    (["--x=-2.0"], ["x=-2"]),
    (["--lr=1e-05"], ["lr=1e-05"]),
    # values starting with '-'
    (["--lr", "-0.1"], ["lr=-0.1"]),
    (["--lr=-0.1"], ["lr=-0.1"]),
    # bare flags
    (["--debug"], ["debug=true"]),
    (["--debug", "--lr=1"], ["debug=true", "lr=1"]),
    (["--debug", "-m", "a=1"], ["-m", "debug=true", "a=1"]),
    # prefixes survive
    (["--+extra=1"], ["+extra=1"]),
    (["--++extra=1"], ["++extra=1"]),
    (["--~extra"], ["~extra"]),
    # plain values keep their meaning
    (["--a=true", "--b=null", "--c=[1,2]", "--d=relu"], ["a=true", "b=null", "c=[1,2]", "d=relu"]),
    # everything else is quoted, byte-exact
    (["--act=gelu new"], ["act=gelu new"]),
    (["--s=64,128"], ["s='64,128'"]),
    (["--s=choice(a,b)"], ["s='choice(a,b)'"]),
    (["--s=it's"], ["s='it\\'s'"]),
    (["--s=a=b"], ["s='a=b'"]),
    (["--s=x]"], ["s='x]'"]),
    (["--s=é"], ["s='é'"]),
    (["--s= 64"], ["s=' 64'"]),
    (["--s=${oc.env:HOME}"], ["s='\\${oc.env:HOME}'"]),
    (["--s=int(5)"], ["s='int(5)'"]),
    # Hydra flags pass through with their values and go first
    (["a=1", "--cfg", "job", "b=2"], ["--cfg", "job", "a=1", "b=2"]),
    (["--config-name=alt", "--lr=1"], ["--config-name=alt", "lr=1"]),
    (["--lr=1", "-cn", "alt", "--resolve"], ["-cn", "alt", "--resolve", "lr=1"]),
    (["--multirun", "a=1,2"], ["--multirun", "a=1,2"]),
    (["--info", "config", "a=1"], ["--info", "config", "a=1"]),
    (["--info", "a=1"], ["a=1", "--info"]),  # bare --info would swallow a=1
    (["-h"], ["-h"]),
    # existing Hydra overrides untouched, order kept, later wins
    (
        ["experiment=x", "+a=1", "++b=2", "~c", "~d=3", "--data.batch_size=64.0"],
        ["experiment=x", "+a=1", "++b=2", "~c", "~d=3", "data.batch_size=64"],
    ),
    (["lr=0.1", "--lr=0.2"], ["lr=0.1", "lr=0.2"]),
    # Lightning's DDP re-launch appends these
    (
        ["lr=0.2", 'hydra.run.dir="outputs/2026"', "hydra.job.name=train_ddp_process_1"],
        ["lr=0.2", 'hydra.run.dir="outputs/2026"', "hydra.job.name=train_ddp_process_1"],
    ),
    # group overrides and @package keys are keys too
    (["--db=postgres", "--model/optimizer=adam"], ["db=postgres", "model/optimizer=adam"]),
]


@pytest.mark.parametrize(("argv", "expected"), TABLE)
def test_translation_table(argv: list[str], expected: list[str]) -> None:
    assert to_hydra_args(argv) == expected


@pytest.mark.parametrize(("argv", "expected"), TABLE)
def test_translation_table_is_idempotent(argv: list[str], expected: list[str]) -> None:
    assert to_hydra_args(expected) == expected


@pytest.mark.parametrize(
    ("override", "value"),
    [
        ("batch_size=64", 64),
        ("lr=1e-05", 1e-05),
        ("flag=true", True),
        ("x=null", None),
        ("x=[1,2]", [1, 2]),
        ("act=gelu new", "gelu new"),
        ("s='64,128'", "64,128"),
        ("s='it\\'s'", "it's"),
        ("s=' 64'", " 64"),
        ("s='\\${oc.env:HOME}'", "${oc.env:HOME}"),
    ],
)
def test_config_receives_the_intended_value(override: str, value: Any) -> None:
    assert config_value(override) == value
    assert type(config_value(override)) is type(value)


def test_integral_float_coercion_can_be_turned_off() -> None:
    assert to_hydra_args(["--bs=64.0"], coerce_integral_floats=False) == ["bs=64.0"]
    assert to_hydra_args(["--bs=64.5"]) == ["bs=64.5"]
    assert format_value("128.0") == "128"


def test_rename_maps_parameter_ids_to_keys() -> None:
    assert to_hydra_args(
        ["--lr=0.1", "--bs", "64.0"], rename={"lr": "model.optimizer.lr", "bs": "+data.bs"}
    ) == [
        "model.optimizer.lr=0.1",
        "+data.bs=64",
    ]
    # a renamed id wins over a Hydra flag of the same name
    assert to_hydra_args(["--cfg=3"], rename={"cfg": "model.cfg"}) == ["model.cfg=3"]
    # an id Hydra cannot spell becomes usable through rename
    assert to_hydra_args(["--learning rate=0.1"], rename={"learning rate": "lr"}) == ["lr=0.1"]


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--=5"], r"argument '--=5' has no parameter name.*Fix: write it as --<name>=<value>"),
        (["--+=5"], r"argument '--\+=5' has no parameter name"),
        (["--"], r"argument '--' is not supported.*Fix: remove it"),
        (["foo"], r"argument 'foo' is neither a Hydra override.*Fix: write it as key=value"),
        (["a=1", "stray"], r"argument 'stray' is neither"),
        (["-x"], r"argument '-x' is not a Hydra flag.*two dashes"),
        (["--cfg"], r"Hydra flag '--cfg' needs a value but none follows"),
        (["--config-name", "--lr=1"], r"Hydra flag '--config-name' needs a value"),
        (["--a b=1"], r"parameter id 'a b' is not a valid Hydra key.*rename=\{'a b'"),
        (["--é=1"], r"parameter id 'é' is not a valid Hydra key"),
        (["--a..b=1"], r"parameter id 'a..b' is not a valid Hydra key"),
    ],
)
def test_malformed_tokens_raise_our_error(argv: list[str], match: str) -> None:
    with pytest.raises(TranslationError, match=match) as info:
        to_hydra_args(argv)
    assert isinstance(info.value, VertexHydraError) and isinstance(info.value, ValueError)
    assert info.value.token in argv


def test_error_names_token_position() -> None:
    with pytest.raises(TranslationError) as info:
        to_hydra_args(["a=1", "--lr=1", "oops"])
    assert (info.value.token, info.value.index) == ("oops", 2)


def test_input_is_not_modified() -> None:
    argv = ["--lr=1", "--cfg", "job"]
    to_hydra_args(argv)
    assert argv == ["--lr=1", "--cfg", "job"]


def test_quote_value_round_trips_backslashes_and_quotes() -> None:
    for text in ["back\\slash", "ends\\", "\\'", "'", '"', "a\\${b}", "\\\\${b}"]:
        assert config_value(f"k={quote_value(text)}") == text


def test_delete_override_from_vertex_style() -> None:
    parsed = PARSER.parse_override(to_hydra_args(["--~a.b"])[0])
    assert parsed.type is OverrideType.DEL and parsed.key_or_group == "a.b"
