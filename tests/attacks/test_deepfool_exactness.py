"""`deepfool_perturbation`'s fast paths give the textbook algorithm's result and gradients.

The fast paths: gradients of the logit differences (`num_candidates - 1`
backward passes instead of `num_candidates`), the active rows only
(`compact=True`), and a Python loop of `tf.cond`s when `steps` is an int.
The reference below is the plain algorithm: one gradient per candidate class
in a Python loop, every row every iteration, masked updates.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfdefend.attacks import deepfool_perturbation


def _reference(model, x, steps, overshoot=0.02, num_candidates=10, labels=None, second_order_steps=None):
    """Textbook batched DeepFool: per-class gradients (grad z_k - grad z_0), masked updates.

    Returns a tensor (differentiable w.r.t. the weights; with
    `second_order_steps=n` the boundary normals `w` of iterations n, n+1, ...
    are held constant).
    """
    x = tf.constant(x)
    logits0 = model(x, training=False)
    k = min(num_candidates, logits0.shape[-1])
    cand0 = tf.math.top_k(logits0, k=k).indices
    label0 = cand0[:, 0]
    wrong = None if labels is None else tf.not_equal(label0, labels)
    r_tot = tf.zeros_like(x)
    active = tf.ones([x.shape[0]], tf.bool)
    for it in range(steps):
        x_i = x + (1 + overshoot) * r_tot
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x_i)
            logits = model(x_i, training=False)
            pred = tf.argmax(logits, -1, output_type=tf.int32)
            cand = cand0
            if wrong is not None:
                targeted = tf.concat([pred[:, None], tf.tile(labels[:, None], [1, k - 1])], axis=1)
                cand = tf.where(wrong[:, None], targeted, cand0)
            picked = tf.gather(logits, cand, batch_dims=1)
            per_class = [tf.reduce_sum(picked[:, j]) for j in range(k)]
        grads = tf.stack([tape.gradient(p, x_i) for p in per_class], axis=1)
        still = tf.equal(pred, label0) if wrong is None else tf.where(
            wrong, tf.not_equal(pred, labels), tf.equal(pred, label0))
        active = tf.logical_and(active, still)
        w = grads[:, 1:] - grads[:, :1]
        if second_order_steps is not None and it >= second_order_steps:
            w = tf.stop_gradient(w)
        f = picked[:, 1:] - picked[:, :1]
        w_norm = tf.sqrt(tf.maximum(tf.reduce_sum(tf.square(w), axis=[2, 3, 4]), 1e-16))
        best = tf.argmin(tf.abs(f) / (w_norm + 1e-8), axis=1, output_type=tf.int32)
        w_l, f_l, n_l = (tf.gather(t, best, batch_dims=1) for t in (w, f, w_norm))
        step = ((tf.abs(f_l) + 1e-4) / (tf.square(n_l) + 1e-8))[:, None, None, None] * w_l
        r_tot = r_tot + tf.cast(active, tf.float32)[:, None, None, None] * step
    return (1 + overshoot) * r_tot


@pytest.mark.parametrize("num_candidates", [2, 4, 10])
def test_fast_paths_equal_the_textbook_algorithm(digits_model, num_candidates):
    model, x, _, _ = digits_model
    x = x[:24]
    expected = _reference(model, x, steps=4, num_candidates=num_candidates).numpy()
    for compact in (True, False):
        for steps in (4, tf.constant(4)):  # Python int: unrolled; tensor: while loop
            got = deepfool_perturbation(model, x, steps=steps, num_candidates=num_candidates,
                                        compact=compact).numpy()
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_all_classes_as_candidates_is_the_full_version(digits_model):
    model, x, y, _ = digits_model
    x, labels = x[:16], (y[:16] + np.arange(16) % 2) % 10  # half "misclassified": targeted rows
    labels = tf.constant(labels.astype(np.int32))
    full = _reference(model, x, steps=3, num_candidates=10, labels=labels).numpy()
    np.testing.assert_allclose(deepfool_perturbation(model, x, steps=3, num_candidates=10, labels=labels),
                               full, rtol=1e-4, atol=1e-6)
    # More candidates than classes is clamped to all classes.
    np.testing.assert_allclose(deepfool_perturbation(model, x, steps=3, num_candidates=50, labels=labels),
                               full, rtol=1e-4, atol=1e-6)


def test_compact_rows_give_the_same_weight_gradients(digits_model):
    model, x, y, _ = digits_model
    x = tf.constant(x[:16])
    grads = {}
    for compact in (True, False):
        with tf.GradientTape() as tape:
            r = deepfool_perturbation(model, x, steps=5, num_candidates=3, compact=compact)
            loss = tf.reduce_mean(tf.exp(-25.0 * tf.norm(tf.reshape(r, [16, -1]), axis=1)))
        grads[compact] = [g.numpy() for g in tape.gradient(loss, model.trainable_variables)]
    for a, b in zip(grads[True], grads[False]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-7)
    assert sum(np.abs(g).sum() for g in grads[True]) > 0


def test_unrolled_iterations_after_every_row_crossed_change_nothing(digits_model):
    model, x, _, _ = digits_model
    x = x[:16]
    many = deepfool_perturbation(model, x, steps=8).numpy()  # unrolled: idle iterations run on one masked row
    assert np.all(np.argmax(model(x + many, training=False), 1) != np.argmax(model(x, training=False), 1))
    np.testing.assert_array_equal(many, deepfool_perturbation(model, x, steps=tf.constant(8)).numpy())
    with tf.GradientTape() as tape:
        r = deepfool_perturbation(model, tf.constant(x), steps=8, num_candidates=2)
        loss = tf.reduce_sum(tf.square(r))
    grads = tape.gradient(loss, model.trainable_variables)
    assert all(np.all(np.isfinite(g.numpy())) for g in grads)


def test_perturbation_and_logits_share_the_first_forward_pass(digits_model):
    from tfdefend.attacks.deepfool import deepfool_perturbation_and_logits

    model, x, y, _ = digits_model
    x, labels = tf.constant(x[:12]), tf.constant(((y[:12] + np.arange(12) % 2) % 10).astype(np.int32))
    for steps, compact in ((5, True), (5, False), (20, True)):  # fused; and the two unfused paths
        r, logits = deepfool_perturbation_and_logits(model, x, steps=steps, labels=labels, compact=compact)
        np.testing.assert_allclose(logits.numpy(), model(x, training=False).numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(r.numpy(), deepfool_perturbation(model, x, steps=steps, labels=labels,
                                                                    compact=compact).numpy(), rtol=1e-5, atol=1e-7)


def _weight_gradients(model, perturbation):
    with tf.GradientTape() as tape:
        r = perturbation()
        loss = tf.reduce_mean(tf.exp(-25.0 * tf.norm(tf.reshape(r, [r.shape[0], -1]), axis=1)))
    return [g.numpy() for g in tape.gradient(loss, model.trainable_variables)]


@pytest.mark.parametrize("compact", [True, False])
def test_second_order_steps_hold_later_normals_constant(digits_model, compact):
    """`second_order_steps=n`: same perturbation; the gradient of the textbook loop with later `w` stopped."""
    model, x, y, _ = digits_model
    x = tf.constant(x[:16])
    labels = tf.constant(((y[:16] + np.arange(16) % 2) % 10).astype(np.int32))
    grads = {}
    for n in (None, 0, 1):
        got = _weight_gradients(model, lambda: deepfool_perturbation(
            model, x, steps=3, num_candidates=3, labels=labels, compact=compact, second_order_steps=n))
        want = _weight_gradients(model, lambda: _reference(
            model, x, steps=3, num_candidates=3, labels=labels, second_order_steps=n))
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=2e-3, atol=1e-7)
        grads[n] = got
        np.testing.assert_allclose(
            deepfool_perturbation(model, x, steps=3, num_candidates=3, compact=compact,
                                  second_order_steps=n).numpy(),
            deepfool_perturbation(model, x, steps=3, num_candidates=3, compact=compact).numpy(),
            rtol=1e-6, atol=1e-8)
    # Holding every normal constant is a different gradient, not the exact one (on this model most rows
    # cross in one iteration, so n = 1 may equal it).
    differs = max(np.abs(a - b).max() / (np.abs(b).max() + 1e-12) for a, b in zip(grads[0], grads[None]))
    assert differs > 1e-3
    # As many second-order steps as steps is the exact gradient; a while loop takes only None or 0.
    for a, b in zip(_weight_gradients(model, lambda: deepfool_perturbation(
            model, x, steps=3, num_candidates=3, compact=compact, second_order_steps=3)),
            _weight_gradients(model, lambda: deepfool_perturbation(model, x, steps=3, num_candidates=3,
                                                                 compact=compact))):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError, match="second_order_steps"):
        deepfool_perturbation(model, x, steps=tf.constant(3), second_order_steps=1)
