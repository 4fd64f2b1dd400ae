"""The layout's rules that import-linter does not check (it runs in CI as ``lint-imports``, with the
contracts in ``.importlinter``): no private name crosses a module boundary, scripts use the public
API, no library module outside the command line mentions a flag, and units stay readable."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = sorted((ROOT / "fnmlp").rglob("*.py"))
SCRIPTS = sorted((ROOT / "scripts").rglob("*.py"))
MAX_FILE_LINES, MAX_DEFINITION_LINES = 500, 120


def private_imports(path: Path) -> list:
    """``module: name`` for each ``from X import _name`` in ``path`` (dunders are not private)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            found += [f"{node.module}: {alias.name}" for alias in node.names
                      if alias.name.startswith("_") and not alias.name.startswith("__")]
    return found


@pytest.mark.parametrize("path", LIBRARY + SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_private_name_is_imported_from_another_module(path):
    assert private_imports(path) == []


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_scripts_import_only_public_fnmlp_modules(path):
    modules = [node.module for node in ast.walk(ast.parse(path.read_text()))
               if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fnmlp")]
    modules += [alias.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Import)
                for alias in node.names if alias.name.startswith("fnmlp")]
    assert [m for m in modules if any(part.startswith("_") for part in m.split("."))] == []


def string_literals(tree: ast.AST) -> list:
    """The string constants of ``tree`` that are not docstrings."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)
            and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("path", [p for p in LIBRARY if "cli" not in p.relative_to(ROOT / "fnmlp").parts],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_library_errors_name_arguments_not_flags(path):
    flags = [text for text in string_literals(ast.parse(path.read_text())) if re.search(r"(^|\s)--[a-z]", text)]
    assert flags == []


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_units_a_reader_can_hold(path):
    text = path.read_text()
    assert text.count("\n") <= MAX_FILE_LINES
    long = [f"{node.name}: {node.end_lineno - node.lineno + 1} lines" for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            and node.end_lineno - node.lineno + 1 > MAX_DEFINITION_LINES]
    assert long == []


def test_the_checks_above_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from fnmlp.model.tree import _private\nx = '--lr'\n" + "def f():\n" + "    pass\n" * 130)
    assert private_imports(bad) == ["fnmlp.model.tree: _private"]
    assert string_literals(ast.parse(bad.read_text())) == ["--lr"]
    with pytest.raises(AssertionError):
        test_units_a_reader_can_hold(bad)


def test_importing_fnmlp_loads_the_model_and_training_only():
    import subprocess
    import sys

    code = "import sys, fnmlp; print(sorted({m.split('.')[1] for m in sys.modules if m.startswith('fnmlp.')}))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    loaded = set(ast.literal_eval(done.stdout))
    assert {"model", "optimizers", "training", "utils"} <= loaded
    assert not loaded & {"runs", "datasets", "plots", "cli", "sweep", "hw1", "estimators"}, loaded
    assert "matplotlib" not in done.stdout


def test_the_import_contracts_hold_and_break_when_a_layer_is_crossed(tmp_path):
    import shutil
    import subprocess
    import sys

    lint = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
            "sys.exit(lint_imports_command())", "--config", str(ROOT / ".importlinter"), "--no-cache"]
    done = subprocess.run(lint, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and "0 broken" in done.stdout, done.stdout + done.stderr
    shutil.copytree(ROOT / "fnmlp", tmp_path / "fnmlp", ignore=shutil.ignore_patterns("data", "__pycache__"))
    spec = tmp_path / "fnmlp" / "model" / "spec.py"
    spec.write_text(spec.read_text() + "\nfrom ..runs import checkpoint as _never  # the model knows no file\n")
    done = subprocess.run(lint, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode != 0 and "Layers: each imports only the layers below it BROKEN" in done.stdout
