"""The layout's one rule, read from the source: which part of logsentry may import which.

Every module belongs to the first part in ``PARTS`` whose prefix its name starts with; each
part lists the parts it may import (itself always). The table is the one in
``docs/architecture.md#which-part-may-import-which``; the test reads every ``import`` and
``from … import`` of the source, those inside functions too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "logsentry": ROOT / "logsentry",
    "logsentry.model_store": ROOT / "model_store",
    "logsentry.stream": ROOT / "stream",
    "logsentry.trainer": ROOT / "trainer",
}

# part: (module-name prefixes, parts it may import). The order matters: longest prefixes first.
STORE = ("logsentry.model_store",)
PARTS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "errors": (("logsentry.errors",), frozenset()),
    "ingest": (("logsentry.model_store.ingest",), frozenset({"errors"})),
    "model": (("logsentry.model_store.model",), frozenset({"errors", "ingest"})),
    "judge": (("logsentry.model_store.judge",), frozenset({"errors", "ingest", "model"})),
    "store": (STORE, frozenset({"errors", "ingest", "model", "judge"})),
    "kafka edge": (
        ("logsentry.stream.kafka", "logsentry.stream.settings"),
        frozenset({"errors", "ingest", "model", "judge", "store"}),
    ),
    "kafka tools": (
        ("logsentry.stream.tools",),
        frozenset({"errors", "ingest", "model", "judge", "store", "kafka edge"}),
    ),
    "detector": (("logsentry.stream",), frozenset({"errors", "ingest", "model", "judge", "store", "kafka edge"})),
    "trainer": (
        ("logsentry.trainer",),
        frozenset({"errors", "ingest", "model", "judge", "store", "kafka edge", "kafka tools"}),
    ),
    "commands": (
        ("logsentry",),
        frozenset({"errors", "ingest", "model", "judge", "store", "kafka edge", "kafka tools", "detector", "trainer"}),
    ),
}


def part_of(module: str) -> str:
    for part, (prefixes, _) in PARTS.items():
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return part
    raise AssertionError(f"{module} belongs to no part of the layout")


def modules() -> dict[str, Path]:
    out = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            if "pretrained" in path.parts:
                continue
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if package == "logsentry" and parts and parts[0] in {"model_store", "stream", "trainer"}:
                continue
            out[".".join((package, *parts))] = path
    return out


def imports(name: str, path: Path) -> set[str]:
    """The logsentry modules ``path`` imports (relative imports resolved against ``name``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            out.update(f"{base}.{alias.name}" for alias in node.names)
            out.add(base)
    return {m for m in out if m == "logsentry" or m.startswith("logsentry.")}


def test_every_import_follows_the_layout() -> None:
    known = modules()
    assert len(known) > 60, "the source was not found"
    wrong = set()
    for name, path in sorted(known.items()):
        mine = part_of(name)
        allowed = PARTS[mine][1] | {mine}
        for target in sorted(imports(name, path)):
            if target == "logsentry" or (target not in known and target.rpartition(".")[0] not in known):
                continue  # the bare package, or a name imported from a module (checked as its module)
            module = target if target in known else target.rpartition(".")[0]
            if part_of(module) not in allowed:
                wrong.add(f"{path.relative_to(ROOT)} ({mine}) imports {module} ({part_of(module)})")
    assert not wrong, "imports against docs/architecture.md#which-part-may-import-which:\n" + "\n".join(sorted(wrong))


def test_the_rule_catches_an_import_against_it(tmp_path: Path) -> None:
    bad = tmp_path / "verdict.py"
    bad.write_text("def f():\n    from logsentry.stream.runner import Runner\n")
    found = imports("logsentry.model_store.judge.verdict", bad)
    assert found == {"logsentry.stream.runner", "logsentry.stream.runner.Runner"}
    assert part_of("logsentry.stream.runner") not in PARTS["judge"][1]
    assert part_of("logsentry.stream.tools.ranges") == "kafka tools"
    assert part_of("logsentry.stream.kafka.topics") == part_of("logsentry.stream.settings") == "kafka edge"
    assert part_of("logsentry.model_store.bundled") == "store" and part_of("logsentry.commands.score") == "commands"
