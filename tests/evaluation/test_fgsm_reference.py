import numpy as np
import pytest

from tfdefend.attacks import fgsm
from tfdefend.evaluation import accuracy_at_eps_ref, fgsm_eps_ref


def _fgsm_accuracy(model, x, y, eps):
    x_adv = fgsm(model, x, y, eps=eps)
    return float(np.mean(np.argmax(np.asarray(model(x_adv, training=False)), axis=1) == y))


def test_bisection_finds_the_eps_of_fifty_percent_accuracy(digits_model):
    model, x, y, _ = digits_model
    eps = fgsm_eps_ref(model, x, y, tol=1e-3)
    assert 0.0 < eps < 1.0
    assert _fgsm_accuracy(model, x, y, eps) <= 0.5 < _fgsm_accuracy(model, x, y, eps - 1e-3)
    eps_70 = fgsm_eps_ref(model, x, y, target_accuracy=0.7, tol=1e-3)
    assert eps_70 < eps
    accs = accuracy_at_eps_ref(model, x, y, eps, ks=(0.0, 0.2, 0.5, 1.0))
    assert list(accs) == [0.0, 0.2, 0.5, 1.0]
    assert accs[0.0] == 1.0  # the fixture's images are all classified correctly
    assert accs[1.0] == pytest.approx(_fgsm_accuracy(model, x, y, eps))
    assert accs[0.2] == pytest.approx(_fgsm_accuracy(model, x, y, 0.2 * eps))
    assert accs[0.2] >= accs[0.5] >= accs[1.0]


def test_errors_when_the_target_is_not_crossed(digits_model):
    model, x, y, _ = digits_model
    with pytest.raises(ValueError, match="never falls"):
        fgsm_eps_ref(model, x[:50], y[:50], hi=1e-3)
    with pytest.raises(ValueError, match="already"):
        fgsm_eps_ref(model, x[:50], (y[:50] + 1) % 10)
    for kwargs, name in (({"target_accuracy": 1.0}, "target_accuracy"), ({"lo": 0.5, "hi": 0.2}, "hi"),
                         ({"tol": 0.0}, "tol"), ({"max_iter": 0}, "max_iter"), ({"hi": 3.0}, "hi"),
                         ({"lo": -0.1}, "lo")):
        with pytest.raises(ValueError, match=name):
            fgsm_eps_ref(model, x[:8], y[:8], **kwargs)
    with pytest.raises(ValueError, match="ks"):
        accuracy_at_eps_ref(model, x[:8], y[:8], 0.1, ks=(0.5, -1.0))
    with pytest.raises(ValueError, match="eps_ref"):
        accuracy_at_eps_ref(model, x[:8], y[:8], -0.1)
    with pytest.raises(TypeError, match="ks"):
        accuracy_at_eps_ref(model, x[:8], y[:8], 0.1, ks=0.5)
