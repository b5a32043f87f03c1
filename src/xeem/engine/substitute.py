"""The ``$(inputs.<name>)`` grammar of container fields (DESIGN §3).

Contract: the text is scanned left to right the way the kubelet scans ``$(VAR)``: ``$$``
is an escaped ``$`` and is kept as is, ``$(inputs.<name>)`` is a reference when ``<name>``
is made of letters, digits, ``_`` and ``-`` (anything else is left to the kubelet). In fields the
kubelet expands itself (command, args, env values) a substituted value has its ``$``
doubled, so the kubelet yields the value verbatim and a second substitution is a no-op.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_TOKEN = re.compile(r"\$\$|\$\(inputs\.([-A-Za-z0-9_]+)\)")


def references(text: str) -> list[str]:
    """Input names referenced by ``text``, in order, escaped ones excluded."""
    if "$(inputs." not in text:
        return []
    return [name for name in _TOKEN.findall(text) if name]


class UnknownInputError(KeyError):
    """A reference names no input; ``args[0]`` is the name."""


def substitute(text: str, values: Mapping[str, str], *, kubelet_expanded: bool) -> str:
    """``text`` with every reference replaced; ``UnknownInputError`` for an unknown name.

    ``kubelet_expanded`` marks a field the kubelet expands later (command, args, env).
    """
    if "$(inputs." not in text:
        return text

    def replace(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return m.group(0)
        if name not in values:
            raise UnknownInputError(name)
        value = values[name]
        return value.replace("$", "$$") if kubelet_expanded else value

    return _TOKEN.sub(replace, text)
