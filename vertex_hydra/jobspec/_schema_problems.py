"""The real ``HyperparameterTuningJob`` schema as one-sentence problems, never a traceback.

protobuf's ``json_format.ParseDict`` answers a bad field with a ``ParseError``,
but some values escape as other exceptions (``measurementSelectionType: .inf``
raises ``OverflowError`` inside protobuf). Every exception becomes one sentence:
gcloud's own words where they help (a misspelt field, an enum, a mapping for a
list), else the field's path, the value received and what the field holds.

Example:
    >>> schema_problems({"studySpec": {"measurementSelectionType": float("inf")}})  # doctest: +SKIP
    ['studySpec.measurementSelectionType is the float inf, not one of LAST_MEASUREMENT, ...']
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

from vertex_hydra.jobspec._text import describe

__all__ = ["schema_problems"]

_UNKNOWN_FIELD = re.compile(r'no field named "([^"]+)" at "([^"]+)"')
_FIELD_LIST = re.compile(r"Available Fields\(except extensions\): \"\[(.*?)\]\"")
_BAD_ENUM = re.compile(r"Invalid enum value (\S+) for enum type (\S+) at")
_NOT_A_LIST = re.compile(r"repeated field (\w+) must be in \[\]")
_REFERENCE = (
    "https://cloud.google.com/vertex-ai/docs/reference/rest/v1/"
    "projects.locations.hyperparameterTuningJobs"
)
# What a scalar field of each protobuf C++ type holds, with an example.
_HOLDS = {
    1: ("a whole number from -2147483648 to 2147483647", "4"),  # int32
    2: ("a whole number from -2**63 to 2**63-1", "4"),  # int64
    3: ("a whole number from 0 to 4294967295", "4"),  # uint32
    4: ("a whole number from 0 to 2**64-1", "4"),  # uint64
    5: ("a finite number", "0.5"),  # double
    6: ("a finite number", "0.5"),  # float
    7: ("true or false", "true"),  # bool
    9: ("text", "'some text' (quoted when YAML would read it as something else)"),  # string
}
_WELL_KNOWN = {
    "google.protobuf.Duration": ("a duration in seconds", "'3600s'"),
    "google.protobuf.Timestamp": ("an RFC 3339 time", "'2024-05-01T10:00:00Z'"),
}


def schema_problems(raw: Mapping[str, Any]) -> list[str] | None:
    """Validate ``raw`` against the real ``HyperparameterTuningJob`` schema.

    Returns:
        ``[]`` when gcloud would accept the fields, a one-item list with one
        sentence ending in ``Fix: ...`` otherwise, or ``None`` when
        ``google-cloud-aiplatform`` (the ``cloud`` extra) is not installed.

    Example:
        >>> schema_problems({"maxTrialCont": 4})  # doctest: +SKIP
        ['Message type "google.cloud.aiplatform.v1.HyperparameterTuningJob" has no field named "maxTrialCont" ... Fix: did you mean \'maxTrialCount\'? ...']
    """
    from vertex_hydra.jobspec._schema import tuning_job_message

    message = tuning_job_message()
    if message is None:
        return None
    from google.protobuf import json_format

    try:
        json_format.ParseDict(dict(raw), message())
    except json_format.ParseError as error:
        text = str(error)
        known = _gcloud_fix(text, message.DESCRIPTOR.file.pool)
        if known is not None:
            # protobuf ends some messages with "..." or ".." (its own period after a path's).
            first = " ".join(text.split("\n")[0].split()).rstrip(".")
            return [f"{first}. {known}"]
        return [_located(raw, message, error)]
    except (
        ValueError,
        TypeError,
        ArithmeticError,
        AttributeError,
        KeyError,
        RecursionError,
    ) as error:
        return [_located(raw, message, error)]
    return []


def _gcloud_fix(error: str, pool: Any) -> str | None:
    """The ``Fix:`` for a message gcloud's own words explain well, else ``None``."""
    unknown, fields = _UNKNOWN_FIELD.search(error), _FIELD_LIST.search(error)
    if unknown and fields:
        names = re.findall(r"'([^']+)'", fields.group(1))
        close = difflib.get_close_matches(unknown.group(1), names, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"Fix: {hint}fields allowed at {unknown.group(2)}: {', '.join(names)}."
    repeated = _NOT_A_LIST.search(error)
    if repeated:
        return f"Fix: write {repeated.group(1)} as a YAML list, e.g. {repeated.group(1)}: [a, b]."
    enum = _BAD_ENUM.search(error)
    if enum:
        try:
            values = _enum_names(pool.FindEnumTypeByName(enum.group(2)))
        except KeyError:
            return None
        return f"Fix: use one of {', '.join(values)}."
    return None


def _enum_names(enum_type: Any) -> list[str]:
    return [v.name for v in enum_type.values if not v.name.endswith("_UNSPECIFIED")]


def _located(raw: Mapping[str, Any], message: Any, error: Exception) -> str:
    """One sentence naming the first field protobuf cannot read, its value and what it holds."""
    found = _locate(raw, message, "")
    if found is None:  # protobuf refused the whole, but no field alone: say what it said
        said = " ".join(str(error).split()).rstrip(".")
        return f"the job does not fit the HyperparameterTuningJob schema: {said}. Fix: see {_REFERENCE}"
    path, value, field, element = found
    holds, example = _holds(field, element)
    return (
        f"{path} is {describe(value)}, not {holds}, in the HyperparameterTuningJob schema. "
        f"Fix: write {path} as {holds}, e.g. {example}."
    )


def _locate(raw: Mapping[str, Any], message: Any, prefix: str) -> tuple[str, Any, Any, bool] | None:
    """``(path, value, field descriptor, is a list element)`` of the first unreadable field."""
    from google.protobuf import json_format, message_factory

    for key, value in raw.items():
        try:
            json_format.ParseDict({key: value}, message())
            continue
        except Exception:  # noqa: BLE001, S112 - any refusal marks this field as the culprit
            pass
        path = f"{prefix}{key}"
        fields = message.DESCRIPTOR.fields_by_camelcase_name
        field = fields.get(key) or message.DESCRIPTOR.fields_by_name.get(key)
        if field is None or field.message_type is None or _is_leaf(field):
            if _is_repeated(field) and isinstance(value, list):
                for i, item in enumerate(value):
                    if _holds_scalar(field, item) is False:
                        return f"{path}[{i}]", item, field, True
            return path, value, field, False
        child = message_factory.GetMessageClass(field.message_type)
        items = list(enumerate(value)) if _is_repeated(field) and isinstance(value, list) else None
        if items is None:
            if isinstance(value, Mapping):
                deeper = _locate(value, child, f"{path}.")
                if deeper is not None:
                    return deeper
            return path, value, field, False
        for i, item in items:
            if not isinstance(item, Mapping):
                return f"{path}[{i}]", item, field, True
            deeper = _locate(item, child, f"{path}[{i}].")
            if deeper is not None:
                return deeper
        return path, value, field, False
    return None


def _is_repeated(field: Any) -> bool:
    if field is None:
        return False
    repeated = getattr(field, "is_repeated", None)  # protobuf >= 5.28; `label` before
    return bool(repeated if repeated is not None else field.label == field.LABEL_REPEATED)


def _is_leaf(field: Any) -> bool:
    """A map, or a well-known type written as text (Duration, Timestamp, Struct, ...)."""
    options = field.message_type.GetOptions()
    return bool(options.map_entry) or field.message_type.full_name.startswith("google.protobuf.")


def _holds_scalar(field: Any, item: Any) -> bool | None:
    """Whether protobuf reads ``item`` as one element of the repeated scalar ``field``."""
    from google.protobuf import json_format

    if field.message_type is not None:
        return None
    try:
        json_format.ParseDict({field.json_name: [item]}, _container(field)())
    except Exception:  # noqa: BLE001 - any refusal is a no
        return False
    return True


def _container(field: Any) -> Any:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(field.containing_type)


def _holds(field: Any, element: bool) -> tuple[str, str]:
    """What ``field`` (or, with ``element``, one of its elements) holds, and an example."""
    if field is None:
        return "a field of the schema", _REFERENCE
    if _is_repeated(field) and not element and field.message_type is None:
        return "a YAML list", "[a, b]"
    if field.enum_type is not None:
        names = _enum_names(field.enum_type)
        return f"one of {', '.join(names)}", names[0]
    if field.message_type is not None:
        name = field.message_type.full_name
        if name in _WELL_KNOWN:
            return _WELL_KNOWN[name]
        if _is_repeated(field) and not element:
            return "a YAML list of mappings", "[{...}]"
        return (
            f"a mapping ({field.message_type.name})",
            f"{{...}} with the fields listed at {_REFERENCE}",
        )
    return _HOLDS.get(field.cpp_type, ("the type the schema gives", _REFERENCE))
