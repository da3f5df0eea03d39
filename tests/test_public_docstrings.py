"""Every public class and function of the layered packages has its own docstring.

"Public" is what a package lists in `__all__`. A class's docstring must be
its own (`vars(cls)["__doc__"]`): a statement above the docstring (as
`TRADES` once had a constant there) turns it into a plain expression and
leaves `__doc__` None.
"""

import importlib
import inspect

import pytest

PACKAGES = ("tfdefend.training", "tfdefend.attacks", "tfdefend.models", "tfdefend.export")


def _public(package):
    module = importlib.import_module(package)
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            yield name, value


def _own_docstring(value):
    doc = vars(value).get("__doc__") if inspect.isclass(value) else value.__doc__
    return isinstance(doc, str) and doc.strip()


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_class_and_function_has_a_docstring(package):
    names = dict(_public(package))
    assert names, f"{package} lists no classes or functions in __all__"
    missing = sorted(name for name, value in names.items() if not _own_docstring(value))
    assert not missing, f"{package}: public names without a docstring: {missing}"


def test_trades_docstring_is_the_class_docstring():
    from tfdefend.training import TRADES

    assert TRADES.__doc__.startswith("Trains a classifier with the TRADES loss")
    assert TRADES.FIRST_TERM == "natural_loss"
