"""The attack registry: names, lookup, errors, and that each attack really runs by name."""

import numpy as np
import pytest

from tfdefend import attacks


def test_list_attacks_names_every_public_attack():
    names = attacks.list_attacks()
    assert names == sorted(names)
    for name in ("fgsm", "bim", "mifgsm", "pgd", "apgd", "fab", "square", "deepfool", "carlini_wagner_l2",
                 "jsma", "auto_adversary", "auto_attack"):
        assert name in names
        assert attacks.get(name) is getattr(attacks, name)


def test_list_attacks_by_kind():
    assert attacks.list_attacks("score-based") == ["square"]
    assert set(attacks.list_attacks("gradient")) == {"fgsm", "bim", "mifgsm", "pgd", "apgd"}
    with pytest.raises(ValueError, match="kind"):
        attacks.list_attacks("magic")


def test_get_rejects_unknown_and_non_str_names():
    with pytest.raises(ValueError, match="Unknown attack 'pgdd'.*pgd"):
        attacks.get("pgdd")
    with pytest.raises(TypeError, match="name"):
        attacks.get(3)


def test_attack_info_describes_norms():
    info = attacks.attack_info("square")
    assert info["kind"] == "score-based" and "l2" in info["norms"] and info["function"] == "square"


def test_attack_by_name_lowers_accuracy(digits_model, accuracy):
    model, x, y, _ = digits_model
    x, y = x[:64], y[:64]
    x_adv = attacks.get("pgd")(model, x, y, eps=0.3, step_size=0.05, steps=10)
    assert accuracy(model, x, y) == 1.0
    assert accuracy(model, x_adv, y) < 0.5
    assert np.max(np.abs(x_adv - x)) <= 0.3 + 1e-6
