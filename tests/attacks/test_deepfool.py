"""Tests of `tfdefend.attacks.deepfool` and `deepfool_perturbation`."""

import numpy as np
import tensorflow as tf

from tfdefend.attacks import deepfool, deepfool_perturbation


def _l2(a, b):
    return np.sqrt(np.sum((a.astype(np.float64) - b) ** 2, axis=(1, 2, 3)))


def test_flips_nearly_all_with_small_l2(digits_model):
    model, x, y, _ = digits_model
    out = deepfool(model, x)
    assert out.shape == x.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    flipped = np.argmax(model(out, training=False), axis=1) != y
    assert flipped.mean() >= 0.9
    l2 = _l2(out, x)
    # The images have L2 norm ~3-4; a minimal attack needs only a fraction of that.
    assert np.median(l2[flipped]) < 1.0
    assert np.median(l2[flipped]) < 0.25 * np.median(np.sqrt(np.sum(x ** 2, axis=(1, 2, 3))))


def test_stops_updating_fooled_samples(digits_model):
    model, x, _, _ = digits_model
    one = deepfool(model, x[:30], steps=1)
    many = deepfool(model, x[:30], steps=50)
    # Samples already fooled after one step must not move further.
    fooled_early = np.argmax(model(one, training=False), axis=1) != np.argmax(model(x[:30]), axis=1)
    assert fooled_early.any()
    np.testing.assert_allclose(many[fooled_early], one[fooled_early], atol=1e-6)


def test_perturbation_is_differentiable_wrt_weights(digits_model):
    model, x, _, _ = digits_model
    xt = tf.constant(x[:8])
    with tf.GradientTape() as tape:
        r = deepfool_perturbation(model, xt, steps=3, overshoot=0.02, num_candidates=3)
        penalty = tf.reduce_mean(tf.norm(tf.reshape(r, [8, -1]), axis=1))
    grads = tape.gradient(penalty, model.trainable_variables)
    assert all(g is not None for g in grads)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)
    assert sum(float(tf.reduce_sum(tf.abs(g))) for g in grads) > 0


def test_perturbation_in_tf_function(tiny_model, rand_images):
    fn = tf.function(lambda t: deepfool_perturbation(tiny_model, t, steps=tf.constant(5),
                                                     overshoot=0.02, num_candidates=4))
    r = fn(tf.constant(rand_images))
    assert r.shape == rand_images.shape and np.all(np.isfinite(r.numpy()))


def test_labels_push_misclassified_samples_towards_their_label(digits_model):
    model, x, y, _ = digits_model
    x, y = x[:20], y[:20]
    # Labels equal to the predictions: exactly the untargeted perturbation.
    np.testing.assert_array_equal(deepfool_perturbation(model, x, steps=10, labels=y).numpy(),
                                  deepfool_perturbation(model, x, steps=10).numpy())
    target = (y + 3) % 10  # every sample is "misclassified" with respect to these labels
    r = deepfool_perturbation(model, x, steps=50, labels=target).numpy()
    assert np.mean(np.argmax(model(x + r, training=False), axis=1) == target) >= 0.9
    with tf.GradientTape() as tape:
        r = deepfool_perturbation(model, tf.constant(x), steps=3, labels=target)
        penalty = tf.reduce_sum(tf.square(r))
    grads = tape.gradient(penalty, model.trainable_variables)
    assert all(g is not None and np.all(np.isfinite(g.numpy())) for g in grads)
