"""Code-structure rules of `tfdefend/` that a reviewer would otherwise count by hand.

Every function (and method) stays at most `MAX_LINES` lines of code: its
lines from `def` to its last statement, not counting its docstring, blank
lines and comment-only lines. A longer function is split into named steps.
"""

import ast
import io
import os
import tokenize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "tfdefend")
MAX_LINES = 60
# Functions outside issue 24's scope that are still too long. This list must shrink to empty:
# split a function, then delete its entry here (the test fails while an entry is no longer needed).
ALLOWED = set()


def _code_lines(source):
    """Numbers of the lines of `source` that hold code (not blank, not only a comment)."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                          tokenize.ENDMARKER):
            continue
        lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def _docstring_lines(node):
    body = getattr(node, "body", None)
    if (body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        return set(range(body[0].lineno, body[0].end_lineno + 1))
    return set()


def function_lengths(path):
    """`{qualified name: lines of code}` of every function and method in the file `path`."""
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    tree = ast.parse(source, filename=path)
    code = _code_lines(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            docstrings |= _docstring_lines(node)
    lengths = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = prefix + child.name
                span = set(range(child.lineno, child.end_lineno + 1))
                lengths[name] = len((span & code) - docstrings)
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return lengths


def _all_lengths():
    lengths = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                relative = os.path.relpath(path, ROOT).replace(os.sep, "/")
                for function, count in function_lengths(path).items():
                    lengths[f"{relative}:{function}"] = count
    return lengths


def test_no_function_is_longer_than_60_lines_of_code():
    lengths = _all_lengths()
    too_long = {name: count for name, count in lengths.items() if count > MAX_LINES and name not in ALLOWED}
    assert not too_long, (f"functions over {MAX_LINES} lines of code (split them into named steps): "
                          + ", ".join(f"{name} ({count})" for name, count in sorted(too_long.items())))


def test_the_allow_list_names_only_functions_that_are_still_too_long():
    lengths = _all_lengths()
    stale = sorted(name for name in ALLOWED if lengths.get(name, 0) <= MAX_LINES)
    assert not stale, f"remove these from ALLOWED in {__file__}: they are short enough now (or gone): {stale}"


def test_the_count_skips_docstrings_comments_and_blank_lines(tmp_path):
    path = tmp_path / "sample.py"
    path.write_text('def f(x):\n    """Doc.\n\n    More doc.\n    """\n    # a comment\n\n'
                    '    y = (x +\n         1)  # trailing\n    return y\n\n\n'
                    'class C:\n    def g(self):\n        return 1\n')
    assert function_lengths(str(path)) == {"f": 4, "C.g": 2}
