"""The suite must not fail at random nor pass without running: rules about how tests
wait and skip."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_function_source(js: str) -> bool:
    head = js.lstrip()
    return head.startswith(("(", "function", "async")) or "=>" in head.split("\n")[0][:30]


def test_wait_for_function_is_given_a_function_not_an_expression():
    """Playwright polls a bare expression with `new Function`, which the hall's CSP
    (no 'unsafe-eval') refuses: such a wait passes when the condition is already true at
    the first look and fails when it must poll, that is, now and then under load."""
    bad = []
    for path in TESTS.rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if not (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", "") == "wait_for_function"
                and node.args
            ):
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                ok = _is_function_source(arg.value)
            else:  # an f-string or a name: the value cannot be checked here
                ok = False
            if not ok:
                bad.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert not bad, f"pass an arrow function (and arg=...) to wait_for_function: {bad}"


def test_no_test_skips_itself_at_run_time():
    """A test that skips when a port is taken or a module is missing passes CI without
    having run: the suite's skip count must stay 0 (ports: tests.conftest.free_port_run)."""
    bad = []
    for path in TESTS.rglob("*.py"):
        if path.name == Path(__file__).name:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("skip", "importorskip")
                and getattr(node.func.value, "id", "") == "pytest"
            ):
                bad.append(f"{path.relative_to(TESTS)}:{node.lineno}")
    assert not bad, f"tests that skip themselves: {bad}"
