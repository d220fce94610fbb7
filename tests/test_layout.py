"""Fast tier: the package's import directions, read from the source with ``ast``.

Below the commands nothing imports ``facetrack.cli``; one module talks to MediaPipe; only
storage speaks SQL; the schemas and the store start without the analysis stack; the
measuring layers do not reach up into the session, storage or reports.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).parent.parent / "facetrack"
MODULES = sorted(PKG.rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(PKG.parent).as_posix()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; relative imports resolved), anywhere in
    the file, including imports inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # "from facetrack import cli"
        elif (
            isinstance(node, ast.Call)
            and node.args
            and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__")
        ):
            arg = node.args[0]  # importlib.import_module("x.y") or f"x.{name}": the known prefix
            if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
                arg = arg.values[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                out.add(arg.value.rstrip("."))
    return out


IMPORTS = {rel(p): imports_of(p) for p in MODULES}


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def offenders(files, forbidden) -> dict[str, list[str]]:
    bad = {}
    for f in files:
        hits = sorted(m for m in IMPORTS[f] if any(under(m, p) for p in forbidden))
        if hits:
            bad[f] = hits
    return bad


def test_the_rules_see_imports():
    """The parser finds what is there (else every rule below would pass on nothing)."""
    assert len(IMPORTS) > 30
    assert "mediapipe" in IMPORTS["facetrack/capture/landmarker.py"]
    assert "sqlite3" in IMPORTS["facetrack/storage/store.py"]
    assert any(under(m, "facetrack.cli") for m in IMPORTS["facetrack/__main__.py"])
    assert offenders(["facetrack/cli/main.py"], ["facetrack.cli"])  # its commands, by importlib


def test_nothing_below_the_commands_imports_cli():
    outside = [f for f in IMPORTS if not f.startswith("facetrack/cli/") and f != "facetrack/__main__.py"]
    assert offenders(outside, ["facetrack.cli"]) == {}


def test_only_the_landmarker_imports_mediapipe():
    assert offenders([f for f in IMPORTS if f != "facetrack/capture/landmarker.py"], ["mediapipe"]) == {}


def test_only_storage_imports_sqlite3():
    assert offenders([f for f in IMPORTS if not f.startswith("facetrack/storage/")], ["sqlite3"]) == {}


def storage_offenders(files) -> dict[str, list[str]]:
    allowed = ("facetrack.storage", "facetrack.tables", "facetrack.errors")
    bad = {}
    for f in files:
        mods = IMPORTS[f]
        ours = {m for m in mods if under(m, "facetrack")}
        wrong = sorted(
            m for m in ours if m not in ("facetrack", "facetrack.__version__") and not any(under(m, a) for a in allowed)
        )
        if wrong:
            bad[f] = wrong
    return bad


def test_storage_imports_only_storage_tables_errors_and_the_version():
    files = [f for f in IMPORTS if f.startswith("facetrack/storage/")]
    assert len(files) >= 3
    assert storage_offenders(files) == {}


def test_tables_is_a_leaf():
    assert sorted(m for m in IMPORTS["facetrack/tables.py"] if under(m, "facetrack")) == []


@pytest.mark.parametrize(
    "layer,forbidden",
    [
        ("face", ["facetrack.analysis", "facetrack.live", "facetrack.storage", "facetrack.reporting"]),
        ("analysis", ["facetrack.live", "facetrack.storage", "facetrack.reporting"]),
    ],
)
def test_measuring_layers_do_not_reach_up(layer, forbidden):
    assert offenders([f for f in IMPORTS if f.startswith(f"facetrack/{layer}/")], forbidden) == {}


def test_no_sql_outside_storage():
    bad = {}
    for path in MODULES:
        f = rel(path)
        if f.startswith("facetrack/storage/"):
            continue
        calls = [
            n.lineno
            for n in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr in ("execute", "executemany", "executescript")
        ]
        if calls:
            bad[f] = calls
    assert bad == {}


def test_the_store_starts_without_cv2_or_scipy():
    code = (
        "import sys, facetrack.storage.store, facetrack.tables\n"
        "print(sorted(m for m in ('cv2', 'scipy', 'mediapipe', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_a_source_checkout_finds_its_sample_videos():
    """``python -m facetrack demo`` run in the repository (as the tests do) imports the package
    from the source tree, where the samples are the top-level sample_videos/ folder."""
    from facetrack.capture import sample_data

    assert (sample_data._CHECKOUT / "samples.json").is_file(), sample_data._CHECKOUT
