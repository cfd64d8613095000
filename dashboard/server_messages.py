"""The messages the server composes for people — refusals of the gateway and of record search, and the
errors of the request desk, integration, accounts and place names — as gettext templates.

These messages are raised as exceptions with f-strings in the modules that know why (the gateway says
why it refuses). Their templates are read here straight from the source, so the Urdu catalog can hold one
entry per message ("the measure {m} is not available at your access level") and ``i18n.gettext`` fills
the Urdu with the values of the English message it is shown. A test fails when one has no Urdu."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = (
    "cubes/gateway.py",
    "cubes/query.py",
    "cubes/records.py",
    "dashboard/data_requests.py",
    "dashboard/integration.py",
    "dashboard/accounts.py",
    "dashboard/place_names.py",
)
RAISED = {
    "Refused",
    "QueryError",
    "RequestError",
    "IntegrationError",
    "AccountError",
    "LoginRefused",
    "PlaceNameError",
    "SearchError",
}


def _placeholder(node: ast.AST) -> str:
    """A readable placeholder name for an f-string's expression: {cube.name} → cube_name."""
    text = ast.unparse(node)
    name = "".join(c if c.isalnum() else "_" for c in text.lower()).strip("_")
    while "__" in name:
        name = name.replace("__", "_")
    return (name or "value")[:40]


def _template(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        out = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                out.append(str(part.value).replace("{", "{{").replace("}", "}}"))
            elif isinstance(part, ast.FormattedValue):
                out.append("{" + _placeholder(part.value) + "}")
        return "".join(out)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # "a" f"b" written with +
        left, right = _template(node.left), _template(node.right)
        return left + right if left is not None and right is not None else None
    return None


def templates() -> dict[str, list[str]]:
    """{template: [where it is raised]} for every message raised in MODULES."""
    found: dict[str, list[str]] = {}
    for module in MODULES:
        tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name not in RAISED:
                continue
            template = _template(node.args[0])
            if template and any(c.isalpha() for c in template):
                found.setdefault(template.replace("{{", "{").replace("}}", "}"), []).append(
                    f"{module}:{node.lineno}"
                )
    return found
