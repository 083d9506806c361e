"""Comments and docs in the repository explain themselves: they never send a reader to a document
that is not in it (an engineering guide, an issue tracker, a path on someone's machine)."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHECKED_SUFFIXES = {".py", ".html", ".md", ".toml", ".txt", ".yaml", ".yml", ".cfg", ".ini", ".sh", ".js", ".service"}
CHECKED_NAMES = {"Makefile", "Procfile", "run", ".python-version"}

# Written in pieces so that this file does not match itself.
CITATIONS = {
    "the engineering guide": re.compile("GUI" + r"DE\b"),
    "a guide's section sign": re.compile("\u00a7"),
    "an issue number": re.compile(r"(?i)\bissues?\s*(?:no\.?\s*)?#?\d+|\bgh-\d+\b|/issues/\d+|/pull/\d+"),
    "a path outside the repository": re.compile(r"/wo" + r"rk/|/home/[a-z]|/Users/[A-Za-z]|\.\./sha" + r"red/"),
}


def tracked_files() -> list[Path]:
    git = shutil.which("git")
    try:
        if git is None:
            raise OSError("no git")
        listed = subprocess.run(  # noqa: S603 - a fixed argument list
            [git, "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True, text=True
        )
        paths = [ROOT / name for name in listed.stdout.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):  # a source tarball: no git
        paths = [p for p in ROOT.rglob("*") if ".venv" not in p.parts and ".git" not in p.parts]
    return [p for p in paths if p.is_file() and (p.suffix in CHECKED_SUFFIXES or p.name in CHECKED_NAMES)]


def test_the_scan_sees_the_source():
    names = {p.relative_to(ROOT).as_posix() for p in tracked_files()}
    assert {"manage.py", "Makefile", "README.md", "pyproject.toml", ".ci/run", "templates/base.html"} <= names


@pytest.mark.parametrize("kind", sorted(CITATIONS))
def test_no_comment_or_doc_cites_what_is_not_in_the_repository(kind):
    pattern = CITATIONS[kind]
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in tracked_files()
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, f"{kind} cited; say the reason itself or point to docs/architecture.md:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        ("the engineering guide", "# locked in order (" + "GUI" + "DE 3)"),
        ("a guide's section sign", "# see \u00a74"),
        ("an issue number", "# targets (iss" + "ue 5)"),
        ("an issue number", "# see https://github.com/x/y/iss" + "ues/12"),
        ("a path outside the repository", "# read /wo" + "rk/shared/notes.md"),
    ],
)
def test_each_pattern_catches_what_it_names(kind, line):
    assert CITATIONS[kind].search(line)
