"""Translate Vertex AI trial arguments into Hydra command-line overrides.

Vertex AI passes each tuned parameter as ``--<parameterId>=<value>`` (or, as its
docs show, ``--<parameterId> <value>``). Hydra only accepts ``key=value``
overrides. :func:`to_hydra_args` is a pure function from one argument list to
the other; nothing here touches :data:`sys.argv`.

The value rule, with Hydra's own override parser as the judge:

* a value that Hydra reads as *one plain value* (``64``, ``1e-05``, ``true``,
  ``null``, ``[1,2]``, ``relu``) is passed as it is, so it keeps its meaning;
* anything else (a sweep such as ``64,128``, text Hydra cannot parse, text Hydra
  would alter such as ``" a"``, a function call, an interpolation) is quoted so
  that the config receives exactly the text Vertex sent.

What a number means depends on the parameter's type, which the argv alone does
not carry. When the study's types are known (``value_types``, keyed by
``parameterId``; the decorator reads them from ``VERTEX_HYDRA_STUDY``):

* ``"int"`` (INTEGER, DISCRETE with integral values): an integral number in any
  spelling (``64.0``, ``6.4e1``) is written as ``64``;
* ``"float"`` (DOUBLE, DISCRETE with a fractional value): a number is written so
  that Hydra reads a float (``1`` and ``1.0`` both give ``1.0``);
* ``"text"`` (CATEGORICAL): Hydra's own reading of the text, never rewritten
  (``007`` stays ``'007'``).

Without types, an integral float is written as an int only when its text has a
``.`` or an exponent (``64.0`` gives ``64``; ``007`` is left to Hydra, which
reads the string ``'007'``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal

from vertex_hydra.errors import TranslationError
from vertex_hydra.study_env import ValueType

__all__ = [
    "to_hydra_args",
    "format_value",
    "quote_value",
    "HYDRA_VALUE_FLAGS",
    "HYDRA_SWITCH_FLAGS",
    "HYDRA_OPTIONAL_VALUE_FLAGS",
]

#: Hydra flags that take exactly one value (``--cfg job`` or ``--cfg=job``).
HYDRA_VALUE_FLAGS: frozenset[str] = frozenset(
    {
        "--cfg", "-c",
        "--package", "-p",
        "--config-path", "-cp",
        "--config-name", "-cn",
        "--config-dir", "-cd",
        "--experimental-rerun",
    }
)  # fmt: skip
#: Hydra flags that take no value.
HYDRA_SWITCH_FLAGS: frozenset[str] = frozenset(
    {
        "--help", "-h",
        "--hydra-help",
        "--version",
        "--resolve",
        "--run", "-r",
        "--multirun", "-m",
        "--shell-completion", "-sc",
    }
)  # fmt: skip
#: Hydra flags whose value is optional (argparse ``nargs="?"``).
HYDRA_OPTIONAL_VALUE_FLAGS: frozenset[str] = frozenset({"--info", "-i"})
_INFO_CHOICES = frozenset({"all", "config", "defaults", "defaults-tree", "plugins", "searchpath"})
_HYDRA_FLAGS = HYDRA_VALUE_FLAGS | HYDRA_SWITCH_FLAGS | HYDRA_OPTIONAL_VALUE_FLAGS

# A superset of Hydra's key grammar (ID, KEY_SPECIAL, DOT_PATH, group/paths,
# @package): used only to tell an override from a stray token.
_OVERRIDE_KEY = re.compile(r"(?:~|\+\+|\+)?[\w$][\w$.\-/@:]*", re.ASCII)
# Keys that Hydra certainly accepts; anything else is checked by Hydra's parser.
_SIMPLE_KEY = re.compile(r"[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*", re.ASCII)
# Values that Hydra certainly reads as one plain value: a run of characters
# its lexer takes unquoted (no '$' or '\\', which start interpolations and
# escapes), blanks allowed inside only. One such token may be a number, bool or
# null; several concatenate to exactly the text. The property tests check this
# against Hydra's parser.
_PLAIN_VALUE = re.compile(r"[\w/.+\-%*@?|]+(?:[ \t]+[\w/.+\-%*@?|]+)*", re.ASCII)
# A decimal number as Vertex writes it (no underscores, no inf/nan).
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
# ... with a '.' or an exponent: the only text the untyped rule rewrites.
_FLOAT_TEXT = re.compile(r"[^.eE]*[.eE].*", re.ASCII)
_HYDRA_WS = " \t"
_NESTING = frozenset("'\"[]{}")
_TOP_LEVEL_ONLY = frozenset(",=")
# Hydra's value grammar treats these as a quoted region; OmegaConf resolves this.
_INTERPOLATION_START = "${"
_BACKSLASHES_BEFORE_INTERPOLATION = re.compile(r"(\\*)\$\{")


@functools.lru_cache(maxsize=1)
def _parser() -> object:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


@functools.lru_cache(maxsize=4096)
def _parse(override: str) -> object | None:
    """Parse one override with Hydra's own parser; ``None`` if Hydra rejects it."""
    from hydra.errors import HydraException

    try:
        parsed: object = _parser().parse_override(override)  # type: ignore[attr-defined]
        return parsed
    except HydraException:
        return None


def _reads_as_plain_value(value: str) -> bool:
    """Whether Hydra reads ``key=<value>`` as one plain value with the same meaning."""
    if _PLAIN_VALUE.fullmatch(value):
        return True
    if _INTERPOLATION_START in value or "(" in value:
        # Interpolations resolve to something else; ``int(5)`` is a function call.
        return False
    if not _NESTING.intersection(value) and (
        _TOP_LEVEL_ONLY.intersection(value)
        or not value.isascii()
        or value.strip(_HYDRA_WS) != value
    ):
        # Outside quotes and brackets a comma makes a sweep, '=' and non-ASCII
        # letters do not lex, and Hydra strips surrounding blanks: no need to
        # ask the (slow) parser.
        return False
    override = _parse(f"x={value}")
    if override is None:
        return False
    from hydra.core.override_parser.types import ValueType

    if override.value_type is not ValueType.ELEMENT:  # type: ignore[attr-defined]
        return False  # a sweep: 64,128 or glob(*)
    parsed = override.value()  # type: ignore[attr-defined]
    if isinstance(parsed, str):
        return parsed == value
    # A number, bool, null, list or dict: keep it, unless Hydra would strip
    # whitespace around it (then the config would not see the text sent).
    return value.strip(_HYDRA_WS) == value


def _escape_interpolations(text: str) -> str:
    """Escape ``${`` for OmegaConf so that the config stores ``text`` literally.

    OmegaConf reads ``\\${`` as a literal ``${`` and halves the backslashes in
    front of it, so ``n`` backslashes before ``${`` become ``2n + 1``.
    """
    if _INTERPOLATION_START not in text:
        return text
    return _BACKSLASHES_BEFORE_INTERPOLATION.sub(
        lambda m: "\\" * (2 * len(m.group(1)) + 1) + "${", text
    )


def quote_value(text: str) -> str:
    """Quote ``text`` so that Hydra and OmegaConf hand it to the config unchanged.

    Args:
        text: Any string, exactly as it should arrive in the config.

    Returns:
        A single-quoted Hydra value.

    Example:
        >>> quote_value("it's 64,128")
        "'it\\\\'s 64,128'"
    """
    from hydra.core.override_parser.types import Quote, QuotedString

    return QuotedString(text=_escape_interpolations(text), quote=Quote.single).with_quotes()


def _integral(value: str) -> str | None:
    """``value`` as an int literal when it is an integral number, else ``None``."""
    if not _NUMBER.fullmatch(value):
        return None
    number = Decimal(value)
    if number != number.to_integral_value():
        return None
    return str(int(number))


def format_value(
    value: str,
    *,
    coerce_integral_floats: bool = True,
    value_type: ValueType | None = None,
) -> str:
    """Turn one Vertex parameter value into the right-hand side of a Hydra override.

    Args:
        value: The value exactly as Vertex passed it.
        coerce_integral_floats: Without ``value_type``, write an integral float
            whose text has a ``.`` or an exponent (``64.0``, ``1e3``) as an int.
            Vertex sends INTEGER and DISCRETE parameters as doubles.
        value_type: The parameter's type when the study is known: ``"int"``
            (integral numbers become ints), ``"float"`` (numbers become floats,
            ``1`` gives ``1.0``) or ``"text"`` (Hydra's reading, no rewrite).
            It overrides ``coerce_integral_floats``.

    Returns:
        The (rewritten) value itself when Hydra reads it as one plain value,
        else a quoted string that the config receives byte for byte.

    Example:
        >>> format_value("64.0"), format_value("007"), format_value("a,b")
        ('64', '007', "'a,b'")
        >>> format_value("1.0", value_type="float"), format_value("1", value_type="float")
        ('1.0', '1.0')
        >>> format_value("64.0", value_type="int"), format_value("007", value_type="text")
        ('64', '007')
    """
    if value_type == "int" or (
        value_type is None and coerce_integral_floats and _FLOAT_TEXT.fullmatch(value)
    ):
        value = _integral(value) or value
    elif value_type == "float" and _NUMBER.fullmatch(value):
        value = repr(float(value))
    if _reads_as_plain_value(value):
        return value
    return quote_value(value)


def _check_key(key: str, *, token: str, index: int, parameter_id: str) -> None:
    if _SIMPLE_KEY.fullmatch(key):
        return
    parsed = _parse(f"{key}=0") if key else None
    # ``key@`` parses as key with an empty package: Hydra would set another key than the id.
    if (
        parsed is not None
        and _OVERRIDE_KEY.fullmatch(key)
        and getattr(parsed, "package", None) != ""
    ):
        return
    raise TranslationError(
        f"argument {token!r}: parameter id {parameter_id!r} is not a valid Hydra key "
        f"(got key {key!r}). Hydra keys are dotted names such as 'model.optimizer.lr'. "
        f"Fix: rename it, e.g. @vertex_compatible(rename={{{parameter_id!r}: "
        f"'model.optimizer.lr'}}), or choose a parameterId that spells the config key.",
        token=token,
        index=index,
    )


def _split_prefix(key: str) -> tuple[str, str]:
    for prefix in ("++", "+", "~"):
        if key.startswith(prefix):
            return prefix, key[len(prefix) :]
    return "", key


def _is_option(token: str) -> bool:
    """Whether ``token`` starts a new option rather than being a value."""
    return token.startswith("--") or token.partition("=")[0] in _HYDRA_FLAGS


def _parameter_override(
    parameter_id: str,
    value: str | None,
    *,
    token: str,
    index: int,
    rename: Mapping[str, str],
    coerce_integral_floats: bool,
    value_type: ValueType | None,
) -> str:
    prefix, key = _split_prefix(rename.get(parameter_id, parameter_id))
    if not key:
        raise TranslationError(
            f"argument {token!r} has no parameter name before its value. "
            f"Fix: write it as --<name>=<value>, e.g. --model.optimizer.lr=0.001.",
            token=token,
            index=index,
        )
    _check_key(key, token=token, index=index, parameter_id=parameter_id)
    if value is None:
        return f"{prefix}{key}" if prefix == "~" else f"{prefix}{key}=true"
    rhs = format_value(value, coerce_integral_floats=coerce_integral_floats, value_type=value_type)
    return f"{prefix}{key}={rhs}"


def to_hydra_args(
    args: Sequence[str],
    *,
    rename: Mapping[str, str] | None = None,
    coerce_integral_floats: bool = True,
    value_types: Mapping[str, ValueType] | None = None,
) -> list[str]:
    """Translate a Vertex AI trial's arguments into arguments that Hydra accepts.

    Hydra's own flags keep their values and move in front; every override keeps
    its relative order, so when a key repeats the later value wins, as in Hydra.
    Tokens that already are Hydra overrides pass through untouched, which makes
    the function idempotent: ``to_hydra_args(to_hydra_args(x)) == to_hydra_args(x)``.

    Args:
        args: The arguments after the program name, e.g. ``sys.argv[1:]``.
        rename: Maps a Vertex ``parameterId`` to the Hydra key it sets, for ids
            that cannot spell the key (``{"lr": "model.optimizer.lr"}``). The
            key may carry a ``+`` or ``++`` prefix.
        coerce_integral_floats: For parameters without a type, write ``64.0``
            as ``64`` (Vertex sends INTEGER and DISCRETE values as doubles); only
            text with a ``.`` or an exponent is rewritten. Set ``False`` to keep
            the text.
        value_types: ``parameterId`` -> ``"int"``, ``"float"`` or ``"text"``
            (the study's types, looked up before ``rename``); see
            :func:`format_value`. Parameters not listed follow the text rule.

    Returns:
        A new list: Hydra flags first, then overrides.

    Raises:
        TranslationError: A token is malformed (``--``, ``--=5``, a stray
            token, a flag without its value, a parameter id Hydra cannot use).

    Example:
        >>> to_hydra_args(["experiment=x", "--model.lr=0.001", "--cfg", "job",
        ...                "--data.batch_size", "64.0", "--model.act=gelu new", "--tag=a,b"])
        ['--cfg', 'job', 'experiment=x', 'model.lr=0.001', 'data.batch_size=64', 'model.act=gelu new', "tag='a,b'"]
        >>> to_hydra_args(["--limit=1.0", "--tag=007", "--bs=64.0"],
        ...               value_types={"limit": "float", "tag": "text", "bs": "int"})
        ['limit=1.0', 'tag=007', 'bs=64']
    """
    rename = dict(rename or {})
    types = dict(value_types or {})
    flags: list[str] = []
    overrides: list[str] = []
    trailing: list[str] = []  # a bare --info must come last, or it eats an override
    i = 0
    while i < len(args):
        start, token = i, args[i]
        name, has_eq, attached = token.partition("=")
        following = args[i + 1] if i + 1 < len(args) else None
        parameter_id = name[2:] if token.startswith("--") else None
        if parameter_id is not None and parameter_id in rename:
            pass  # a renamed parameter wins over a Hydra flag of the same name
        elif name in HYDRA_VALUE_FLAGS:
            if has_eq:
                flags.append(token)
            elif following is None or _is_option(following):
                raise TranslationError(
                    f"Hydra flag {token!r} needs a value but none follows. "
                    f"Fix: write e.g. '{token} <value>' or '{token}=<value>'.",
                    token=token,
                    index=i,
                )
            else:
                flags += [token, following]
                i += 1
            i += 1
            continue
        elif name in HYDRA_OPTIONAL_VALUE_FLAGS:
            if has_eq:
                flags.append(token)
            elif following in _INFO_CHOICES:
                flags += [token, following]  # type: ignore[list-item]
                i += 1
            else:
                trailing.append(token)
            i += 1
            continue
        elif name in HYDRA_SWITCH_FLAGS:
            flags.append(token)
            i += 1
            continue
        if parameter_id is not None:
            if token == "--":
                raise TranslationError(
                    "argument '--' is not supported: Hydra has no end-of-options "
                    "marker. Fix: remove it; write overrides as key=value or --key=value.",
                    token=token,
                    index=i,
                )
            value: str | None = attached if has_eq else None
            if not has_eq and following is not None and not _is_option(following):
                value = following  # Vertex's documented two-token form
                i += 1
            overrides.append(
                _parameter_override(
                    parameter_id,
                    value,
                    token=token,
                    index=start,
                    rename=rename,
                    coerce_integral_floats=coerce_integral_floats,
                    value_type=types.get(parameter_id),
                )
            )
        elif (has_eq or token.startswith("~")) and _OVERRIDE_KEY.fullmatch(name):
            overrides.append(token)  # already a Hydra override: leave it alone
        elif token.startswith("-"):
            raise TranslationError(
                f"argument {token!r} is not a Hydra flag and not a --key=value "
                f"parameter. Fix: write parameters with two dashes (--key=value), "
                f"or use the full name of a Hydra flag (see --hydra-help).",
                token=token,
                index=i,
            )
        else:
            raise TranslationError(
                f"argument {token!r} is neither a Hydra override (key=value) nor a "
                f"Vertex parameter (--key=value). Fix: write it as key=value or "
                f"--key=value, or remove it.",
                token=token,
                index=i,
            )
        i += 1
    return flags + overrides + trailing
