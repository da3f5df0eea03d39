import numpy as np
import pytest

from tfdefend.evaluation import accuracy, attack_success_rate, perturbation_norms


class ThresholdModel:
    """A plain callable: class 1 if the mean pixel > 0.5, else class 0 (as logits)."""

    def __call__(self, x):
        mean = np.asarray(x).reshape(len(x), -1).mean(axis=1)
        return np.stack([0.5 - mean, mean - 0.5], axis=1)


def test_accuracy_and_success_rate_on_a_known_model():
    x = np.stack([np.full((4, 4, 1), v, np.float32) for v in (0.1, 0.2, 0.8, 0.9)])
    y = np.array([0, 0, 1, 1])
    assert accuracy(ThresholdModel(), x, y) == 1.0
    x_adv = x.copy()
    x_adv[0] = 0.7  # flips sample 0 only
    assert accuracy(ThresholdModel(), x_adv, y) == 0.75
    assert attack_success_rate(ThresholdModel(), x_adv, y, x_clean=x) == 0.25
    assert attack_success_rate(ThresholdModel(), x_adv, np.array([1, 1, 1, 1]), targeted=True) == 0.75


def test_success_rate_counts_only_clean_correct_samples():
    x = np.stack([np.full((2, 2, 1), v, np.float32) for v in (0.1, 0.9)])
    y = np.array([1, 1])  # sample 0 is already wrong
    assert attack_success_rate(ThresholdModel(), x, y, x_clean=x) == 0.0


def test_norms():
    x = np.zeros((2, 2, 2, 3), np.float32)
    x_adv = x.copy()
    x_adv[0, 0, 0, :] = [0.3, 0.4, 0.0]
    x_adv[1, 1, 1, 2] = -0.5
    norms = perturbation_norms(x, x_adv)
    np.testing.assert_allclose(norms["l0"], [2, 1])
    np.testing.assert_allclose(norms["l1"], [0.7, 0.5], rtol=1e-6)
    np.testing.assert_allclose(norms["l2"], [0.5, 0.5], rtol=1e-6)
    np.testing.assert_allclose(norms["linf"], [0.4, 0.5], rtol=1e-6)
    np.testing.assert_allclose(perturbation_norms(x, x_adv, per_pixel=True)["l0"], [1, 1])
    with pytest.raises(ValueError, match="shape"):
        perturbation_norms(x, x_adv[:1])


def test_denoising_l1_of_identity_and_of_a_constant_shift():
    from tfdefend.evaluation import denoising_l1

    x = np.random.default_rng(0).uniform(0.2, 0.8, (5, 4, 4, 1)).astype(np.float32)
    assert denoising_l1(None, x, x) == 0.0
    assert denoising_l1(None, x + 0.1, x) == pytest.approx(0.1, abs=1e-6)
    halve = lambda images: images * 0.5
    assert denoising_l1(halve, x, x, batch_size=2) == pytest.approx(float(np.mean(x * 0.5)), rel=1e-5)


def test_denoising_l1_refuses_mismatched_shapes():
    from tfdefend.evaluation import denoising_l1

    with pytest.raises(ValueError, match="x_clean"):
        denoising_l1(None, np.zeros((2, 4, 4, 1)), np.zeros((3, 4, 4, 1)))
