"""Regenerate the example tables of ``docs/translation.md`` by running the code.

Every row is produced by :func:`vertex_hydra.to_hydra_args` and read back with
Hydra's own override parser and OmegaConf, so the page cannot drift from the
implementation. Each table sits between ``<!-- BEGIN examples: NAME -->`` and
``<!-- END examples -->`` markers; the prose around them is edited by hand.

Usage::

    python docs/gen_translation.py          # rewrite the tables in place
    python docs/gen_translation.py --check  # exit 1 if the page is stale
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from vertex_hydra import TranslationError, to_hydra_args

PAGE = Path(__file__).with_name("translation.md")

EXAMPLES: dict[str, list[Any]] = {
    "forms": [
        ["--lr=0.001"],
        ["--lr", "0.001"],
        ["--lr=-0.1"],
        ["--lr", "-0.1"],
        ["--lr", "-1e-3"],
        ["--use_amp"],
        ["--use_amp", "--lr=0.1"],
        ["--model.optimizer.lr=0.001"],
        ["--+trainer.seed=7"],
        ["--++trainer.seed=7"],
        ["--~trainer.logger"],
        ["--~trainer.logger=csv"],
    ],
    "flags": [
        ["--model.lr=0.1", "--cfg", "job", "--data.bs=64"],
        ["--data.bs=64", "--config-name=alt"],
        ["--data.bs=64", "-cn", "alt", "--multirun"],
        ["--data.bs=64", "--info"],
        ["--info", "--data.bs=64"],
        ["--info", "defaults", "--data.bs=64"],
        ["--data.bs=64", "--help"],
    ],
    "overrides": [
        ["experiment=x", "+trainer.seed=1", "++a.b=2", "~c", "~d=3"],
        ["hydra.run.dir=out/${now:%H-%M}", "--lr=0.1"],
        ["model=resnet", "--model.depth=4"],
    ],
    "plain": [
        ["--batch_size=64"],
        ["--lr=1e-05"],
        ["--lr=0.00123"],
        ["--x=-5"],
        ["--flag=true"],
        ["--opt=null"],
        ["--act=gelu"],
        ["--act=gelu new"],
        ["--layers=[1,2]"],
        ["--d={a:1}"],
        ["--x=inf"],
        ["--x=back\\slash"],
        ["--x="],
    ],
    "quoted": [
        ["--bs=64,128"],
        ["--act=choice(a,b)"],
        ["--x=range(1,3)"],
        ["--x=int(5)"],
        ["--x=a b,c"],
        ["--name=it's"],
        ['--name=say "hi"'],
        ["--eq=a=b"],
        ["--x=x]"],
        ["--x=[1,2"],
        ["--x=ümlaut"],
        ["--x=日本"],
        ["--x=  lead"],
        ["--x= 64"],
        ["--x=trail "],
        ["--x=${oc.env:HOME}"],
        ["--x=\\${y}"],
    ],
    "floats": [
        ["--bs=64.0"],
        ["--bs=128.00"],
        ["--bs=1e3"],
        ["--bs=-2.0"],
        ["--lr=0.5"],
        ["--tag=007"],
        ["--bs=64"],
        (["--bs=64.0"], {"coerce_integral_floats": False}),
        (["--bs=1e3"], {"coerce_integral_floats": False}),
    ],
    "types": [
        (
            ["--trainer.limit_train_batches=1.0"],
            {"value_types": {"trainer.limit_train_batches": "float"}},
        ),
        (["--lr=1"], {"value_types": {"lr": "float"}}),
        (["--lr=1e-3"], {"value_types": {"lr": "float"}}),
        (["--bs=64.0"], {"value_types": {"bs": "int"}}),
        (["--bs=6.4e1"], {"value_types": {"bs": "int"}}),
        (["--tag=007"], {"value_types": {"tag": "text"}}),
        (["--tag=1.0"], {"value_types": {"tag": "text"}}),
        (["--tag=true"], {"value_types": {"tag": "text"}}),
        (["--lr=0.5"], {"value_types": {"lr": "int"}}),
    ],
    "rename": [
        (["--lr=0.1"], {"rename": {"lr": "model.optimizer.lr"}}),
        (["--cfg=0.5"], {"rename": {"cfg": "model.cfg_scale"}}),
        (["--seed=3"], {"rename": {"seed": "+trainer.seed"}}),
        (["--my param=1"], {"rename": {"my param": "model.param"}}),
    ],
    "order": [
        ["data.bs=32", "--model.lr=0.1", "--cfg", "job", "--data.bs=64.0"],
        ["--data.bs=64", "data.bs=32"],
    ],
}
ERRORS = [
    ["--=5"],
    ["--"],
    ["--lr=1", "oops"],
    ["-x"],
    ["--cfg"],
    ["--config-name", "--lr=1"],
    ["--a b=1"],
]

_PARSER = OverridesParser.create()


def _code(text: str) -> str:
    """``text`` as a markdown code span inside a table cell."""
    text = text.replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _tokens(args: list[str]) -> str:
    return " ".join(_code(a) for a in args)


def _received(out: list[str]) -> str:
    """What the config holds after Hydra applies each override, as Python reprs."""
    shown = []
    for token in out:
        if token.startswith("-"):
            continue
        try:
            override = _PARSER.parse_override(token)
        except HydraException:
            continue  # the value of a Hydra flag, e.g. `job` in `--cfg job`
        key, value = override.key_or_group, override.value()
        if override.is_delete():
            shown.append(f"{key} deleted" + ("" if value is None else f" if it is {value!r}"))
            continue
        cfg = OmegaConf.create({})
        OmegaConf.update(cfg, key, value, force_add=True)
        received: object
        try:
            received = OmegaConf.select(cfg, key)
        except OmegaConfBaseException:
            received = value  # an interpolation that only Hydra resolves, at run time
        if OmegaConf.is_config(received):
            received = OmegaConf.to_container(received)
        shown.append(f"{key} = {received!r}")
    return "; ".join(_code(s) for s in shown) or "(Hydra flags only)"


def _options(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def table(rows: list[Any]) -> str:
    with_options = any(isinstance(r, tuple) for r in rows)
    head = ["Vertex sends"] + (["options"] if with_options else [])
    head += ["`to_hydra_args` returns", "the config receives"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for row in rows:
        args, kwargs = row if isinstance(row, tuple) else (row, {})
        out = to_hydra_args(args, **kwargs)
        if to_hydra_args(out, **kwargs) != out:
            raise AssertionError(f"not idempotent: {args!r} -> {out!r}")
        cells = [_tokens(args)]
        if with_options:
            cells.append(_code(_options(kwargs)) if kwargs else "")
        cells += [_tokens(out), _received(out)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def error_table() -> str:
    lines = ["| Vertex sends | `TranslationError` message |", "| --- | --- |"]
    for args in ERRORS:
        try:
            to_hydra_args(args)
        except TranslationError as error:
            lines.append(f"| {_tokens(args)} | {_code(str(error))} |")
        else:
            raise AssertionError(f"no error for {args!r}")
    return "\n".join(lines)


def render(page: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        body = error_table() if name == "errors" else table(EXAMPLES[name])
        return f"<!-- BEGIN examples: {name} -->\n{body}\n<!-- END examples -->"

    return re.sub(
        r"<!-- BEGIN examples: (\w+) -->.*?<!-- END examples -->",
        fill,
        page,
        flags=re.DOTALL,
    )


def main(argv: list[str]) -> int:
    old = PAGE.read_text(encoding="utf-8")
    new = render(old)
    if "--check" in argv:
        if new != old:
            print(f"{PAGE} is stale: run python docs/gen_translation.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
