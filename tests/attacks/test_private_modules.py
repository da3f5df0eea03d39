"""A private attacks module (`tfdefend/attacks/_name.py`) is imported only inside `tfdefend/attacks/`."""

import ast
import pathlib

import tfdefend

PACKAGE = pathlib.Path(tfdefend.__file__).resolve().parent


def _private_attack_imports(tree):
    """`(line, text)` of every import of a private module of `tfdefend.attacks` in a parsed module."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.level == 0 and node.module.startswith("tfdefend.attacks."):
                if any(part.startswith("_") for part in node.module.split(".")[2:]):
                    found.append((node.lineno, node.module))
            if node.level == 0 and node.module == "tfdefend.attacks":
                found += [(node.lineno, f"tfdefend.attacks.{a.name}") for a in node.names
                          if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("tfdefend.attacks.")
                      and any(part.startswith("_") for part in a.name.split(".")[2:])]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)
              and node.args[0].value.startswith("tfdefend.attacks._")):
            found.append((node.lineno, node.args[0].value))
    return found


def test_no_module_outside_attacks_imports_a_private_attacks_module():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "attacks":
            continue
        for line, module in _private_attack_imports(ast.parse(path.read_text(), str(path))):
            offenders.append(f"tfdefend/{relative}:{line} imports {module}")
    hint = "use the public tfdefend.attacks API (e.g. tfdefend.attacks.kernels):\n"
    assert not offenders, hint + "\n".join(offenders)


def test_the_check_sees_every_import_form():
    source = ("from tfdefend.attacks import _core\nfrom tfdefend.attacks._core import project\n"
              "import tfdefend.attacks._core\nimportlib.import_module('tfdefend.attacks._core')\n"
              "from tfdefend.attacks import kernels, pgd\nfrom tfdefend.attacks.kernels import project\n")
    assert [line for line, _ in _private_attack_imports(ast.parse(source))] == [1, 2, 3, 4]
