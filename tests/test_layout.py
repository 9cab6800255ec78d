"""The package's shape: wings import only the wings before them, through their `__all__`, and no
module imports another in a cycle (import statements anywhere in a module count, including
function-level ones and `TYPE_CHECKING` blocks)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from tests.conftest import ROOT

BOT = ROOT / "bot"
# What each part of the package may import (besides itself); the top modules stand alone.
ALLOWED = {
    "text": set(),
    "articles": {"text"},
    "search": {"articles", "text"},
    "storage": set(),
    "config": {"articles"},
    "messages": {"text"},
    "service": {"articles", "search", "text"},
    "feeds": {"articles", "search", "storage", "service", "text"},
    "replica": {"articles", "search", "storage", "service"},
    "discord": {"articles", "search", "storage", "service", "feeds", "replica", "messages", "config", "text"},
    "cli": {
        "articles",
        "search",
        "storage",
        "service",
        "messages",
        "config",
        "text",
        "discord",
        "feeds",
        "replica",
        "cli_manage",
        "cli_feeds",
    },
    "cli_feeds": {"articles", "feeds", "storage", "service", "config", "text", "cli_manage"},
    "cli_manage": {"articles", "search", "storage", "service", "config", "text"},
}
WINGS = ("articles", "search", "storage", "feeds")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Module -> the `bot.` modules it imports (a package import counts as the package)."""
    found: dict[str, set[str]] = {}
    for path in BOT.rglob("*.py"):
        name = module_name(path)
        found[name] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot"):
                if node.module != "bot":  # `from bot import messages`: the module, below
                    found[name].add(node.module)
                for alias in node.names:  # `from bot.search import embeddings` imports a module
                    if (BOT.parent / (node.module.replace(".", "/") + f"/{alias.name}.py")).is_file():
                        found[name].add(f"{node.module}.{alias.name}")
            elif isinstance(node, ast.Import):
                found[name].update(a.name for a in node.names if a.name.startswith("bot"))
    return found


def part(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else module


def test_each_part_imports_only_the_parts_before_it():
    wrong = []
    for module, targets in imports().items():
        if module == "bot":
            continue
        for target in targets:
            here, there = part(module), part(target)
            if there != here and there not in ALLOWED[here]:
                wrong.append(f"{module} imports {target}")
    assert not wrong, wrong


def test_other_parts_use_a_wing_only_through_its_all():
    wrong = []
    for path in BOT.rglob("*.py"):
        module = module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot.")):
                continue
            wing = node.module.split(".")[1]
            if wing not in WINGS or part(module) == wing:
                continue
            if node.module != f"bot.{wing}":
                wrong.append(f"{module}: from {node.module} import ...")
            else:
                public = set(importlib.import_module(f"bot.{wing}").__all__)
                wrong += [
                    f"{module}: {a.name} is not in bot.{wing}.__all__"
                    for a in node.names
                    if a.name not in public
                ]
    assert not wrong, wrong


def test_no_import_cycle():
    graph = imports()
    modules = set(graph)
    edges = {m: {t for t in targets if t in modules and t != m} for m, targets in graph.items()}
    for wing in ("bot.articles", "bot.search", "bot.storage", "bot.discord", "bot"):
        edges[wing] = set()  # a package's __init__ re-exports: it is not a step between modules
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in edges[node]:
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])


@pytest.mark.parametrize("wing", WINGS)
def test_every_wing_imports_on_its_own(wing):
    assert importlib.import_module(f"bot.{wing}").__all__


def test_the_command_line_imports_no_http_client_discord_nor_evaluation():
    """`run_bot.py ask` starts in under two seconds at 1M sentences partly because it does not
    import what it does not use: aiohttp (links), discord.py, the evaluation code."""
    import subprocess
    import sys

    unused = ("aiohttp", "discord", "bot.search.evaluate")
    code = f"import sys, bot.cli; print(sorted(m for m in {unused!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=BOT.parent
    )
    assert out.stdout.strip() == "[]"
