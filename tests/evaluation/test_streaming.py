"""Streaming evaluation: any `tf.data.Dataset` (unknown cardinality, unbatched, infinite + limit)
gives the arrays' numbers, an empty one is refused, and memory does not grow with its length."""

import tracemalloc

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdefend.attacks import fgsm, pgd
from tfdefend.evaluation import accuracy, accuracy_at_eps_ref, denoising_l1, rho2, robustness_table
from tfdefend.evaluation.batching import iterate_batches

ATTACKS = {
    "FGSM": lambda m, x, y: fgsm(m, x, y, eps=0.1),
    "PGD-1": lambda m, x, y: pgd(m, x, y, eps=0.1, step_size=0.05, steps=1, random_start=True, seed=0),
}


def _data(n=40, shape=(8, 8, 1), seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, *shape)).astype("float32"), rng.integers(0, 10, size=n).astype("int32")


def _generator_dataset(x, y, batched=False, sizes=(16, 8)):
    """A generator-backed dataset of unknown cardinality (and, unbatched, of unknown rank).

    Batched, it yields batches of `sizes` in turn (the attacks trace once per
    batch shape, so the tests reuse the shapes of the array runs).
    """

    def gen():
        if not batched:
            yield from zip(x, y)
            return
        start, i = 0, 0
        while start < len(x):
            stop = start + sizes[i % len(sizes)]
            yield x[start:stop], y[start:stop]
            start, i = stop, i + 1

    shapes = ((None, *x.shape[1:]), (None,)) if batched else (None, ())
    return tf.data.Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec(shapes[0], tf.float32), tf.TensorSpec(shapes[1], tf.int32)))


def _same_rows(a_rows, b_rows):
    assert [r["attack"] for r in a_rows] == [r["attack"] for r in b_rows]
    for a, b in zip(a_rows, b_rows):
        assert a["n"] == b["n"] and a["accuracy"] == b["accuracy"]
        for key in ("success_rate", "l0", "l1", "l2", "linf", "max_linf"):
            assert a.get(key, 0.0) == pytest.approx(b.get(key, 0.0), rel=1e-6, abs=1e-9)


def test_generator_dataset_of_unknown_cardinality_gives_the_array_rows(tiny_model):
    x, y = _data()
    expected = robustness_table(tiny_model, (x, y), ATTACKS, batch_size=16)
    unbatched = _generator_dataset(x, y)
    assert unbatched.cardinality() == tf.data.UNKNOWN_CARDINALITY
    assert unbatched.element_spec[0].shape.rank is None  # rank only known element by element
    _same_rows(expected, robustness_table(tiny_model, unbatched, ATTACKS, batch_size=16))
    batched = robustness_table(tiny_model, _generator_dataset(x, y, batched=True), ATTACKS, batch_size=16)
    assert [r["n"] for r in batched] == [40] * 3  # batches of 16, 8, 16 instead of 16, 16, 8
    assert batched[0]["accuracy"] == expected[0]["accuracy"]
    assert batched[1]["accuracy"] == expected[1]["accuracy"]  # FGSM is per-sample: batching-invariant


def test_infinite_dataset_is_cut_by_limit(tiny_model):
    x, y = _data()
    endless = tf.data.Dataset.from_tensor_slices((x, y)).repeat()
    rows = robustness_table(tiny_model, endless, {"FGSM": ATTACKS["FGSM"]}, batch_size=16, limit=50)
    assert rows[0]["n"] == rows[1]["n"] == 50


def test_empty_data_is_refused(tiny_model):
    x, y = _data()
    empty_generator = tf.data.Dataset.from_generator(lambda: iter(()), output_signature=(
        tf.TensorSpec((8, 8, 1), tf.float32), tf.TensorSpec((), tf.int32)))
    for empty in (tf.data.Dataset.from_tensor_slices((x[:0], y[:0])), empty_generator):
        with pytest.raises(ValueError, match="no samples"):
            robustness_table(tiny_model, empty, ATTACKS)
        with pytest.raises(ValueError, match="no samples"):
            accuracy(tiny_model, empty)


def test_other_metrics_take_datasets(tiny_model):
    x, y = _data(32)
    ds = _generator_dataset(x, y, batched=True, sizes=(16,))  # the shapes traced above: no retracing
    assert accuracy(tiny_model, ds) == accuracy(tiny_model, x, y)
    assert accuracy(tiny_model, ds, limit=10) == accuracy(tiny_model, x[:10], y[:10])
    assert accuracy_at_eps_ref(tiny_model, ds, None, 0.05, ks=(0.0, 1.0)) == pytest.approx(
        accuracy_at_eps_ref(tiny_model, x, y, 0.05, ks=(0.0, 1.0), batch_size=16))
    assert rho2(tiny_model, ds, steps=2, correct_only=False) == pytest.approx(
        rho2(tiny_model, x, y, steps=2, correct_only=False, batch_size=16), rel=1e-4)
    pairs = tf.data.Dataset.from_tensor_slices((x + 0.1, x))
    assert denoising_l1(None, pairs) == pytest.approx(denoising_l1(None, x + 0.1, x), rel=1e-6)


def test_labels_must_be_class_indices(tiny_model):
    x, _ = _data(8)
    one_hot = tf.data.Dataset.from_tensor_slices((x, np.eye(10, dtype="int32")[:8])).batch(4)
    with pytest.raises(ValueError, match="labels"):
        robustness_table(tiny_model, one_hot, ATTACKS)
    with pytest.raises(TypeError, match="data"):
        list(iterate_batches([x], 4))


def _peak_bytes(fn):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        fn()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_length():
    """NumPy-side peak (tracemalloc) for 128 vs 1024 16x16 images: a materialized set would add 1 MB."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((16, 16, 1))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(
        keras.layers.Conv2D(4, 3, strides=2)(inputs))))

    def dataset(n):  # images made batch by batch: nothing holds the whole set
        def gen():
            rng = np.random.default_rng(0)
            for _ in range(n // 64):
                yield rng.uniform(size=(64, 16, 16, 1)).astype("float32"), rng.integers(0, 10, 64).astype("int32")
        return tf.data.Dataset.from_generator(gen, output_signature=(
            tf.TensorSpec((None, 16, 16, 1), tf.float32), tf.TensorSpec((None,), tf.int32)))

    attacks = {"FGSM": ATTACKS["FGSM"]}
    robustness_table(model, dataset(128), attacks)  # warm-up: tracing allocates a lot once
    small = _peak_bytes(lambda: robustness_table(model, dataset(128), attacks))
    large = _peak_bytes(lambda: robustness_table(model, dataset(1024), attacks))
    print(f"tracemalloc peak: {small} B for 128 images, {large} B for 1024")
    assert large < small + 500_000, (small, large)
