"""``exitPhaseExpression``: CEL compiled once per spec, evaluated when all nodes settle.

Contract (DESIGN §4): the variables are ``nodes`` (name → ``{phase, message}``),
``workflow`` (``{name, namespace, labels, annotations}``) and ``inputs`` (the workflow's
inputs: scalars, an xMount as a map). A bool maps to Succeeded/Failed, the strings
"Succeeded", "Failed" and "Error" to themselves; any other result, and any runtime error,
gives ``Error`` with a message. The CEL library is ``common-expression-language``
(``import cel``); see docs/engine.md for why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import cel

from xeem.api.phases import WorkflowPhase

_STRING_RESULTS = {
    p.value: p for p in (WorkflowPhase.SUCCEEDED, WorkflowPhase.FAILED, WorkflowPhase.ERROR)
}


class ExitCompileError(ValueError):
    """The expression does not parse; the message is the CEL parser's."""


@dataclass(frozen=True, slots=True)
class ExitOutcome:
    """The phase an expression chose; ``error`` is set when the phase is Error by failure."""

    phase: WorkflowPhase
    error: str | None = None


class ExitExpression:
    """A compiled ``exitPhaseExpression``."""

    __slots__ = ("_program", "source")

    def __init__(self, source: str) -> None:
        """Compile ``source``; raise ``ExitCompileError`` when it does not parse."""
        self.source = source
        try:
            self._program = cel.compile(source)
        except ValueError as exc:
            raise ExitCompileError(str(exc)) from None

    def evaluate(
        self,
        nodes: Mapping[str, Mapping[str, str]],
        workflow: Mapping[str, Any],
        inputs: Mapping[str, Any],
    ) -> ExitOutcome:
        """Run the expression over the final node phases."""
        variables = {"nodes": dict(nodes), "workflow": dict(workflow), "inputs": dict(inputs)}
        try:
            result = self._program.execute(variables)
        except KeyError as exc:
            return _error(f"no such key: {exc}")
        except Exception as exc:  # the CEL runtime raises many types; all mean the same
            return _error(str(exc) or type(exc).__name__)
        if isinstance(result, bool):
            return ExitOutcome(WorkflowPhase.SUCCEEDED if result else WorkflowPhase.FAILED)
        if isinstance(result, str) and result in _STRING_RESULTS:
            return ExitOutcome(_STRING_RESULTS[result])
        return _error(f'returned {result!r}; want a bool or one of "Succeeded", "Failed", "Error"')


def _error(message: str) -> ExitOutcome:
    return ExitOutcome(WorkflowPhase.ERROR, f"exitPhaseExpression: {message}")
