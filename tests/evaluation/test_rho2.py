import math

import numpy as np
import pytest

from tfdefend.attacks import deepfool
from tfdefend.evaluation import rho2


def _ratios(model, x, steps, clip=None):
    x_adv = deepfool(model, x, steps=steps, clip=clip)
    flat = x.reshape(len(x), -1).astype(np.float64)
    return np.linalg.norm(x_adv.reshape(len(x), -1) - flat, axis=1) / np.linalg.norm(flat, axis=1)


def test_equals_the_mean_deepfool_ratio_over_correct_samples(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:40], y[:40].copy()
    y[:10] = (y[:10] + 1) % 10  # these ten are now misclassified and must be left out
    ratios = _ratios(model, x, steps=20)
    value = rho2(model, x, y, steps=20, batch_size=16)
    assert value > 0
    assert value == pytest.approx(ratios[10:].mean(), rel=1e-4)
    assert rho2(model, x, y, steps=20, correct_only=False) == pytest.approx(ratios.mean(), rel=1e-4)
    clipped = rho2(model, x, y, steps=20, clip=(0.0, 1.0))
    assert clipped == pytest.approx(_ratios(model, x[10:], 20, clip=(0.0, 1.0)).mean(), rel=1e-4)


def test_is_invariant_to_scaling_the_logits(digits_model):
    model, x, y, _ = digits_model

    def half(t):  # a plain callable model with the logits halved
        return 0.5 * model(t, training=False)

    expected = rho2(model, x[:32], y[:32], steps=20)
    assert rho2(half, x[:32], y[:32], steps=20) == pytest.approx(expected, rel=1e-3)


def test_nan_without_correct_samples_and_bad_arguments(digits_model):
    model, x, y, _ = digits_model
    assert math.isnan(rho2(model, x[:8], (y[:8] + 1) % 10))
    with pytest.raises(ValueError, match="batch_size"):
        rho2(model, x[:8], y[:8], batch_size=0)
    with pytest.raises(ValueError, match="steps"):
        rho2(model, x[:8], y[:8], steps=0)
    with pytest.raises(ValueError, match="y"):
        rho2(model, x[:8], y[:7])
