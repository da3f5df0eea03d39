"""The benchmarks that pick attacks by name take the attack registry's names."""

import importlib.util
import os

import pytest

from tfdefend import attacks
from tfdefend.attacks.auto_adversary import BASES as AUTO_ADVERSARY_BASES
from tfdefend.evaluation.attack_suite import SUITE_ATTACKS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _script(name):
    """The module of `benchmarks/<name>.py` (its `main` is not run)."""
    path = os.path.join(ROOT, "benchmarks", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_streaming_eval_attacks_are_the_suites_registry_names():
    parser = _script("streaming_eval").build_parser()
    action = next(a for a in parser._actions if a.dest == "attacks")
    assert action.choices == sorted(SUITE_ATTACKS)
    assert set(action.choices) <= set(attacks.list_attacks())
    args = parser.parse_args(["--attacks", "fgsm", "pgd", "--pgd-steps", "2"])
    assert args.attacks == ["fgsm", "pgd"] and args.pgd_steps == 2
    assert parser.parse_args([]).pgd_steps == 3  # PGD-3, as the old "pgd3" spelling


def test_streaming_eval_rejects_an_unknown_attack_listing_the_names(capsys):
    parser = _script("streaming_eval").build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--attacks", "pgd3"])
    error = capsys.readouterr().err
    assert "--attacks" in error and all(name in error for name in SUITE_ATTACKS)


def test_auto_adversary_bases_are_registry_names():
    module = _script("auto_adversary")
    assert set(module.BASES.values()) == set(AUTO_ADVERSARY_BASES)
    assert set(module.BASES.values()) <= set(attacks.list_attacks())
