"""`adversarial_pairs`: random attack and budget per chunk, inside the eps ball, lowering accuracy."""

import numpy as np
import pytest

from tfdefend.training import adversarial_pairs


def test_pairs_respect_the_budget_and_fool_the_model(digits_model, accuracy):
    model, x, y, _ = digits_model
    x_adv, info = adversarial_pairs(model, x, y, eps_max=0.3, chunk_size=40, seed=1)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    per_image = np.abs(x_adv - x).reshape(len(x), -1).max(axis=1)
    assert np.all(per_image <= info["eps"] + 1e-5)
    assert np.all((info["eps"] >= 0.03 - 1e-6) & (info["eps"] <= 0.3))
    # One attack and budget per chunk of 40, several different ones over the batch.
    assert len(np.unique(info["eps"])) == int(np.ceil(len(x) / 40))
    assert np.all(info["attack"][:40] == info["attack"][0])
    assert accuracy(model, x_adv, y) < 0.7


def test_pairs_are_reproducible_with_a_seed(digits_model):
    model, x, y, _ = digits_model
    a, info_a = adversarial_pairs(model, x[:64], y[:64], eps_max=0.2, seed=3)
    b, info_b = adversarial_pairs(model, x[:64], y[:64], eps_max=0.2, seed=3)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(info_a["eps"], info_b["eps"])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"eps_max": 0.0}, ValueError, "eps_max"),
    ({"eps_max": 2.0}, ValueError, "eps_max"),
    ({"eps_max": 0.1, "attacks": ("pgd",)}, ValueError, "Unknown attack"),
    ({"eps_max": 0.1, "attacks": ()}, ValueError, "attacks"),
    ({"eps_max": 0.1, "eps_min_fraction": 1.5}, ValueError, "eps_min_fraction"),
    ({"eps_max": 0.1, "chunk_size": 0}, ValueError, "chunk_size"),
])
def test_bad_arguments(tiny_model, rand_images, kwargs, error, match):
    with pytest.raises(error, match=match):
        adversarial_pairs(tiny_model, rand_images, **kwargs)


def test_bad_images(tiny_model):
    with pytest.raises(ValueError, match="x"):
        adversarial_pairs(tiny_model, np.full((2, 8, 8, 1), 2.0, np.float32), eps_max=0.1)
