"""The attacks' iterations: unrolled compiled chunks, no while loop, a batch-1 call that is only those chunks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdefend import attacks
from tfdefend.attacks import _core
from tfdefend.attacks._loop import CHUNKS, UnrolledLoop, chunk_plan


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 7, 8, 10, 17, 29, 100])
def test_chunk_plan_adds_up_with_few_calls(steps):
    plan = chunk_plan(steps)
    assert sum(plan) == steps and all(size in CHUNKS for size in plan)
    assert plan == sorted(plan, reverse=True) and len(plan) <= steps // 8 + 3


def test_loop_matches_a_python_loop_and_passes_the_iteration_index():
    def step(i, state, constants):
        total, count = state
        return total * constants + tf.cast(i, tf.float32), count + 1

    loop = UnrolledLoop(step)
    for steps in (0, 1, 5, 11, 19):
        total, count = tf.constant(1.0), tf.constant(0)
        for i in range(steps):
            total, count = step(i, (total, count), tf.constant(0.5))
        got = loop((tf.constant(1.0), tf.constant(0)), tf.constant(0.5), steps)
        np.testing.assert_allclose(got[0].numpy(), total.numpy(), rtol=1e-6)
        assert int(got[1]) == steps
    assert loop.tracing_count() == 1  # one trace per chunk size, whatever `steps` was


def test_until_stops_between_chunks():
    loop = UnrolledLoop(lambda i, state, c: state + c)
    out = loop(tf.constant(0.0), tf.constant(1.0), 29, until=lambda s: float(s) >= 16.0)
    assert float(out) == 16.0  # chunks of 8: stopped after the second


def _pooling_model():
    keras.utils.set_random_seed(0)
    L = keras.layers
    return keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.MaxPooling2D(),
                             L.Flatten(), L.Dense(10)])


ATTACKS = {
    "pgd": lambda m, x, y: attacks.pgd(m, x, y, eps=0.1, step_size=0.02, steps=10, random_start=True, seed=0),
    "pgd_l2": lambda m, x, y: attacks.pgd(m, x, y, eps=0.5, step_size=0.1, steps=3, norm="l2"),
    "mifgsm": lambda m, x, y: attacks.mifgsm(m, x, y, eps=0.1, steps=3),
    "fgsm": lambda m, x, y: attacks.fgsm(m, x, y, eps=0.1),
    "bim_margin": lambda m, x, y: attacks.bim(m, x, y, eps=0.1, steps=3, loss="margin"),
    "carlini_wagner_l2": lambda m, x, y: attacks.carlini_wagner_l2(m, x, y, binary_search_steps=1, steps=3),
    "apgd": lambda m, x, y: attacks.apgd(m, x, y, eps=0.1, steps=5, seed=0),
    "fab": lambda m, x, y: attacks.fab(m, x, y, eps=0.3, steps=3, target_classes=1),
    "deepfool": lambda m, x, y: attacks.deepfool(m, x, steps=3, num_candidates=3),
    "auto_adversary": lambda m, x, y: attacks.auto_adversary(m, x, y, eps=0.1, steps=2, mask_steps=3),
    "l1_penalized_pgd": lambda m, x, y: attacks.l1_penalized_pgd(m, x, y, eps=0.1, steps=3),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_no_gradient_kernel_runs_a_while_loop(name, rand_images):
    # oneDNN's layout pass leaves MaxPoolGrad unrewritten (Eigen, ~40x slower) inside some while bodies.
    model = _pooling_model()
    x = rand_images[:4]
    y = np.argmax(model(x), axis=1).astype(np.int32)
    ATTACKS[name](model, x, y)
    loops = [fn.loop for (_, kind, _), (m, fn) in _core._CACHE.items() if m is model and hasattr(fn, "loop")]
    assert loops, "the attack's kernel should run an UnrolledLoop"
    for loop in loops:
        types = loop.traced_op_types()
        assert "MaxPoolGrad" in types  # the chunk graphs were recorded, and hold the backward pass
        assert not types & {"While", "StatelessWhile", "Enter", "NextIteration"}


def test_batch_one_call_is_validation_plus_the_compiled_chunks(monkeypatch):
    # What a batch-1 call adds to its compiled graphs (the serving case): the checks and len(chunk_plan)
    # calls of already-traced chunks; the model never runs eagerly and nothing is retraced.
    model = _pooling_model()
    eager_calls = []

    def counting(t):
        eager_calls.append(tf.executing_eagerly())
        return model(t, training=False)

    x = np.random.default_rng(0).uniform(0, 1, (1, 8, 8, 1)).astype(np.float32)
    y = np.array([3], np.int32)
    attacks.pgd(counting, x, y, eps=0.1, step_size=0.02, steps=10)  # traces
    counts = _core.tracing_counts(counting)
    chunk_calls = []
    original = UnrolledLoop._run_chunk
    monkeypatch.setattr(UnrolledLoop, "_run_chunk",
                        lambda self, size, *args: chunk_calls.append(size) or original(self, size, *args))
    eager_calls.clear()
    for steps in (10, 10, 3):
        attacks.pgd(counting, x, y, eps=0.05, step_size=0.01, steps=steps)
    assert not any(eager_calls)  # only symbolic calls (traces of the new chunk sizes of steps=3)
    assert chunk_calls == chunk_plan(10) + chunk_plan(10) + chunk_plan(3)
    after = _core.tracing_counts(counting)
    assert after[("iterative", ("inf", False, False, False))] == counts[("iterative", ("inf", False, False, False))]
