"""Regenerate the table of rehearsed fields in ``docs/check.md`` from the code.

The rows are :func:`vertex_hydra.jobspec._rehearsal.field_table`, the table
``check`` and ``local`` use to name what they do not rehearse, so the page
cannot drift from them. The table sits between ``<!-- BEGIN rehearsal table -->``
and ``<!-- END rehearsal table -->``; the prose around it is edited by hand.

Usage::

    python docs/gen_rehearsal.py          # rewrite the table in place
    python docs/gen_rehearsal.py --check  # exit 1 if the page is stale
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from vertex_hydra.jobspec._rehearsal import field_table

PAGE = Path(__file__).with_name("check.md")
BLOCK = re.compile(
    r"(<!-- BEGIN rehearsal table -->\n)(.*?)(<!-- END rehearsal table -->)", re.DOTALL
)


def table() -> str:
    """The markdown table, one row per field."""
    lines = ["| field | rehearsed | how, or why not |", "| --- | --- | --- |"]
    for path, rehearsed, how in field_table():
        lines.append(f"| `{path}` | {rehearsed} | {how.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text = PAGE.read_text(encoding="utf-8")
    if not BLOCK.search(text):
        print(f"{PAGE}: no <!-- BEGIN rehearsal table --> block", file=sys.stderr)
        return 2
    new = BLOCK.sub(lambda m: m.group(1) + table() + m.group(3), text)
    if "--check" in argv:
        if new != text:
            print(f"{PAGE} is stale: run python docs/gen_rehearsal.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
