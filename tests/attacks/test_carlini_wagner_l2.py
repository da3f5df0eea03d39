"""Tests of `tfdefend.attacks.carlini_wagner_l2`."""

import numpy as np

from tfdefend.attacks import carlini_wagner_l2, deepfool, pgd


def _l2(a, b):
    return np.sqrt(np.sum((a.astype(np.float64) - b) ** 2, axis=(1, 2, 3)))


def test_untargeted_succeeds_with_small_l2(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:100], y[:100]
    out = carlini_wagner_l2(model, x, y, learning_rate=5e-2)
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    ok = np.argmax(model(out, training=False), axis=1) != y
    assert ok.mean() >= 0.9
    l2 = _l2(out, x)
    np.testing.assert_array_equal(out[~ok], x[~ok])  # failures come back unchanged
    # Smaller than DeepFool's (also a minimal-L2 attack) up to a small slack ...
    df = deepfool(model, x)
    df_ok = np.argmax(model(df, training=False), axis=1) != y
    assert l2[ok].mean() <= 1.05 * _l2(df, x)[df_ok].mean()
    # ... and PGD-L2 with a budget of C&W's mean L2 fools clearly fewer images.
    budget = float(l2[ok].mean())
    p = pgd(model, x, y, eps=budget, step_size=budget / 4, steps=20, norm="l2")
    assert np.mean(np.argmax(model(p, training=False), axis=1) != y) < ok.mean() - 0.1


def test_targeted_hits_target(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:60], y[:60]
    target = (y + 1) % 10
    out = carlini_wagner_l2(model, x, target, targeted=True, learning_rate=5e-2)
    assert np.mean(np.argmax(model(out, training=False), axis=1) == target) >= 0.9


def test_confidence_increases_margin(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:40], y[:40]
    kw = dict(learning_rate=5e-2, steps=50, binary_search_steps=4)
    weak = carlini_wagner_l2(model, x, y, confidence=0.0, **kw)
    strong = carlini_wagner_l2(model, x, y, confidence=5.0, **kw)
    assert _l2(strong, x).mean() > _l2(weak, x).mean()


def test_never_successful_returns_x(digits_model):
    model, x, y, _ = digits_model
    out = carlini_wagner_l2(model, x[:10], y[:10], initial_const=1e-6, binary_search_steps=1, steps=5)
    np.testing.assert_array_equal(out, x[:10])
