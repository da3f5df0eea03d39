"""The one registry: every consumer's attack name resolves; deprecated aliases warn, same result."""

import ast
import importlib
import pathlib
import warnings

import numpy as np
import pytest
import tensorflow as tf

from tfdefend import attacks
from tfdefend.attacks.bim import bim

PACKAGE = pathlib.Path(attacks.__file__).resolve().parent.parent


def _consumer_names():
    """Every attack name the package's consumers look up, as (where, spec)."""
    suite = importlib.import_module("tfdefend.evaluation.attack_suite")
    pairs = importlib.import_module("tfdefend.training.adversarial_pairs")
    training = importlib.import_module("tfdefend.training.adversarial_training")
    sparse = importlib.import_module("tfdefend.attacks.auto_adversary")
    advmask = importlib.import_module("tfdefend.augment.sensitive_points")
    return ([("attack_suite", n) for n in suite.SUITE_ATTACKS]
            + [("adversarial_pairs", n) for n in pairs.CHOICES + pairs.DEFAULT_ATTACKS]
            + [("AdversarialTraining", n) for n in training._ATTACKS]
            + [("auto_adversary", n) for n in sparse.BASES]
            + [("sensitive_points", advmask.DENSE_ATTACK)])


def _literal_lookups():
    """`get_attack("name")` / `resolve("name")` / `get("name")` calls with a literal name in tfdefend/."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("get_attack", "resolve") and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                found.append((f"{path.relative_to(PACKAGE)}:{node.lineno}", node.args[0].value))
    return found


@pytest.mark.parametrize("where, spec", _consumer_names() + _literal_lookups())
def test_registry_resolves_every_consumer_name_without_warning(where, spec):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        name, function, kwargs = attacks.resolve(spec)
    assert name in attacks.list_attacks(), where
    assert function is attacks.get(name) and isinstance(kwargs, dict)


def test_literal_lookups_are_found():
    places = {where.split(":")[0] for where, _ in _literal_lookups()}
    assert "evaluation/leaderboard.py" in places


@pytest.mark.parametrize("alias, name, kwargs", [
    ("ifgsm", "bim", {}),
    ("ifgsm4", "bim", {"steps": 4}),
    ("ifgsm10", "bim", {"steps": 10}),
])
def test_deprecated_alias_maps_to_registry_name_and_arguments(alias, name, kwargs):
    with pytest.warns(DeprecationWarning, match=alias):
        assert attacks.resolve(alias)[0::2] == (name, kwargs)
    with pytest.warns(DeprecationWarning, match="deprecated"):
        assert attacks.attack_info(alias)["name"] == name


def test_deprecated_alias_gives_the_same_result(tiny_model, rand_images):
    with pytest.warns(DeprecationWarning, match="'ifgsm3'.*\\('bim', \\{'steps': 3\\}\\)"):
        by_alias = attacks.get("ifgsm3")
    expected = bim(tiny_model, rand_images, eps=0.1, steps=3)
    np.testing.assert_array_equal(by_alias(tiny_model, rand_images, eps=0.1), expected)
    with pytest.warns(DeprecationWarning):
        assert attacks.get("ifgsm") is bim


def test_adversarial_pairs_old_spelling_warns_and_matches_default(tiny_model, rand_images):
    from tfdefend.training import adversarial_pairs

    new, info_new = adversarial_pairs(tiny_model, rand_images, eps_max=0.2, chunk_size=2, seed=5)
    with pytest.warns(DeprecationWarning, match="ifgsm"):
        old, info_old = adversarial_pairs(tiny_model, rand_images, eps_max=0.2, chunk_size=2, seed=5,
                                          attacks=("fgsm", "ifgsm2", "ifgsm4", "ifgsm8"))
    np.testing.assert_array_equal(new, old)
    np.testing.assert_array_equal(info_new["attack"], info_old["attack"])
    assert set(info_new["attack"]) != {0}  # the mix really used bim


def test_suite_alias_builds_bim(tiny_model, rand_images):
    from tfdefend.evaluation import attack_suite

    with pytest.warns(DeprecationWarning):
        suite = attack_suite([0.1], pgd_steps=2, include=("ifgsm",))
    assert list(suite) == ["BIM-2 eps=0.1"] and suite["BIM-2 eps=0.1"].family == "bim"


def test_resolve_pairs_and_errors():
    assert attacks.resolve(("bim", {"steps": 4})) == ("bim", bim, {"steps": 4})
    assert attacks.resolve(["pgd", {"steps": 2}])[0] == "pgd"  # as JSON gives a pair back
    with pytest.raises(ValueError, match="Unknown attack 'pgdd' in `attacks`"):
        attacks.resolve("pgdd", argument="attacks")
    with pytest.raises(ValueError, match="Unknown attack 'pgd'.*expected one of: fgsm, bim"):
        attacks.resolve("pgd", choices=("fgsm", "bim"))
    with pytest.raises(ValueError, match="takes no argument.*stepz"):
        attacks.resolve(("bim", {"stepz": 4}))
    with pytest.raises(ValueError, match="takes no argument"):
        attacks.resolve(("bim", {"x": 4}))
    for bad in (3, None, ("bim",), ("bim", 4), (1, {})):
        with pytest.raises(TypeError, match="`attack`"):
            attacks.resolve(bad)
    with pytest.raises(ValueError, match="ifgsm0"):
        attacks.resolve("ifgsm0")


def test_adversarial_training_attack_choice_uses_registry_names(tiny_model):
    from tfdefend.training import AdversarialTraining

    assert AdversarialTraining(tiny_model, attack="PGD", eps=0.1).attack == "pgd"
    for bad in ("bim", "ifgsm4", ("pgd", {}), 3):
        with pytest.raises(ValueError, match="`attack` must be one of"):
            AdversarialTraining(tiny_model, attack=bad, eps=0.1)


def test_kernels_are_public_and_match_the_attacks(tiny_model, rand_images):
    x = tf.constant(rand_images)
    y = tf.zeros([8], tf.int32)
    grad = attacks.loss_gradient(tiny_model, x, y)
    step = attacks.project(x + 0.1 * attacks.ascent_direction(grad, "inf"), x, 0.1, "inf", 0.0, 1.0)
    expected = attacks.fgsm(tiny_model, rand_images, np.zeros(8, np.int32), eps=0.1)
    np.testing.assert_allclose(step.numpy(), expected, atol=1e-7)
    start = attacks.random_start(x, 0.5, "l2", tf.constant([1, 2], tf.int32))
    assert np.all(np.sqrt(np.sum(start.numpy() ** 2, axis=(1, 2, 3))) <= 0.5)
