"""The shared validate -> prepare -> run -> finish entry point of FGSM, BIM, MI-FGSM, PGD (and C&W)."""

import numpy as np
import pytest
import tensorflow as tf

from tfdefend import attacks
from tfdefend.attacks import _core, _entry
from tfdefend.models import create_model

CALLS = {
    "fgsm": lambda m, x, eps: attacks.fgsm(m, x, eps=eps),
    "bim": lambda m, x, eps: attacks.bim(m, x, eps=eps, steps=2),
    "bim_margin": lambda m, x, eps: attacks.bim(m, x, eps=eps, steps=3, loss="margin"),
    "mifgsm": lambda m, x, eps: attacks.mifgsm(m, x, eps=eps, steps=2, decay=0.5),
    "pgd": lambda m, x, eps: attacks.pgd(m, x, eps=eps, step_size=eps / 2, steps=2, random_start=True,
                                         seed=1),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_one_trace_per_shape_and_type_matching(name, rand_images):
    model = create_model("small_cnn", input_shape=(8, 8, 1), num_classes=10, filters=4, dense_units=16)
    out = CALLS[name](model, rand_images, 0.1)
    counts = _core.tracing_counts(model)
    again = CALLS[name](model, tf.constant(rand_images), 0.2)
    assert _core.tracing_counts(model) == counts  # new budget, tensor input: no retracing
    assert isinstance(out, np.ndarray) and isinstance(again, tf.Tensor) and again.dtype == tf.float32
    assert np.max(np.abs(out - rand_images)) <= 0.1 + 1e-6
    np.testing.assert_array_equal(CALLS[name](model, rand_images, 0.0), rand_images)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_validation_names_the_argument(name, tiny_model, rand_images):
    with pytest.raises(ValueError, match="`eps`"):
        CALLS[name](tiny_model, rand_images, -0.1)
    with pytest.raises(ValueError, match="`x`"):
        CALLS[name](tiny_model, rand_images * 2.0, 0.1)
    with pytest.raises(TypeError, match="`model`"):
        CALLS[name]("model", rand_images, 0.1)


def test_pgd_requires_a_step_size_and_an_int_seed(tiny_model, rand_images):
    with pytest.raises(TypeError, match="`step_size`"):
        attacks.pgd(tiny_model, rand_images, eps=0.1, step_size=None, steps=2)
    with pytest.raises(TypeError, match="`seed`"):
        attacks.pgd(tiny_model, rand_images, eps=0.1, step_size=0.05, steps=2, seed=1.5)
    big_negative = attacks.pgd(tiny_model, rand_images, eps=0.1, step_size=0.05, steps=2, random_start=True,
                               seed=-(2 ** 40))  # any int wraps into the [2] int32 seed
    assert big_negative.shape == rand_images.shape


@pytest.mark.parametrize("name", ["bim", "mifgsm", "pgd", "carlini_wagner_l2", "jsma"])
def test_attack_doc_fills_every_shared_line(name):
    doc = getattr(attacks, name).__doc__
    assert "{model_x_y}" not in doc and "{returns}" not in doc and "{raises" not in doc
    assert "(NumPy in -> NumPy\n        out, tensor in -> tensor out)." in doc
    if name != "jsma":
        assert "model: A `keras.Model` or any callable mapping a float32 NHWC batch to\n            logits." in doc


def test_attack_doc_keeps_other_braces_and_no_doc():
    def f():
        """Margin `max_{j != y} z_j`.

        Raises:
            {raises: `norm`}
        """

    doc = _entry.attack_doc(f).__doc__
    assert "max_{j != y}" in doc and "`steps`, `norm` or\n            `clip`" in doc

    def g():
        pass

    assert _entry.attack_doc(g).__doc__ is None
