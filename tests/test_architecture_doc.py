"""docs/architecture.md stays a true map: linked from the README, naming every lock there is and
no lock, state table or module that is not."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def _public_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and not node.name.startswith("_")}


def test_the_readme_links_it():
    assert "(docs/architecture.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("locks", sorted(ROOT.glob("*/locks.py")), ids=lambda path: path.parent.name)
def test_every_lock_is_on_the_map(locks):
    for name in _public_functions(locks):
        assert f"{locks.parent.name}.locks.{name}" in DOC or f"`{name}`" in DOC, f"{locks.parent.name}.locks.{name}"


def test_every_lock_on_the_map_exists():
    named = set(re.findall(r"`(\w+)\.locks\.(\w+)`", DOC))
    assert named
    for app, name in named:
        assert name in _public_functions(ROOT / app / "locks.py"), f"{app}.locks.{name}"


def test_every_module_path_on_the_map_exists():
    paths = set(re.findall(r"`((?:[a-z_]+/)+[a-z_.]*\.(?:py|md))`", DOC))
    assert paths
    missing = sorted(path for path in paths if "<app>" not in path and not (ROOT / path).exists())
    assert not missing


def test_the_state_tables_named_exist():
    from orders.transitions import TRANSITIONS
    from payments.services.captures import CAPTURE_MOVES
    from payments.services.refunds import _RANK

    assert TRANSITIONS and CAPTURE_MOVES and _RANK
    for name in ("TRANSITIONS", "CAPTURE_MOVES", "_RANK", "HANDLERS", "order_status_derive"):
        assert f"`{name}`" in DOC or f".{name}`" in DOC, name
