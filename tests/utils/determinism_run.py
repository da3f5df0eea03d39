"""Child process of `test_set_seed.py`: seeded attacks and training, saved for bit-for-bit comparison.

Usage: python tests/utils/determinism_run.py OUT_DIR SEED [SEED ...]

For each seed, in order and in this one process (the test passes 0 1 0: the
same seed again after other seeded work must still repeat bit for bit):
`set_seed(seed)`, then (1) PGD with a random start (`seed=None`: drawn from
NumPy's global RNG) through EOT over a Gaussian-noise model (Keras
`SeedGenerator` noise) around a classifier with fixed weights, so only the
seed can change the result; and (2) an epoch of `Model.fit(shuffle=True)` on
a seeded-init classifier with dropout. Writes `OUT_DIR/run{i}_seed{seed}.npz`.
"""

import os
import sys

import numpy as np

SHAPE = (8, 8, 1)


def _classifier(keras, dropout):
    inputs = keras.Input(SHAPE)
    h = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    h = keras.layers.Flatten()(h)
    if dropout:
        h = keras.layers.Dropout(0.3)(h)
    return keras.Model(inputs, keras.layers.Dense(4)(h))


def run(seed):
    import keras

    from tfdefend.attacks import eot, pgd
    from tfdefend.utils import set_seed

    set_seed(seed)
    data_rng = np.random.default_rng(123)  # the same data for every seed
    x = data_rng.uniform(size=(48, *SHAPE)).astype("float32")
    y = data_rng.integers(0, 4, size=48).astype("int32")

    fixed = _classifier(keras, dropout=False)
    fixed.set_weights([data_rng.normal(0, 0.5, w.shape).astype("float32") for w in fixed.get_weights()])
    noisy = keras.Sequential([keras.Input(SHAPE), keras.layers.GaussianNoise(0.2), fixed])
    x_adv = pgd(eot(noisy, samples=4, training=True), x[:16], y[:16], eps=0.1, step_size=0.03, steps=2,
                random_start=True)

    model = _classifier(keras, dropout=True)
    model.compile(optimizer=keras.optimizers.Adam(1e-2),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(x, y, batch_size=8, epochs=1, shuffle=True, verbose=0)
    out = {"x_adv": np.asarray(x_adv), "loss": np.asarray(history.history["loss"], np.float64)}
    out.update({f"weight{i}": w for i, w in enumerate(model.get_weights())})
    return out


def main(argv):
    out_dir, seeds = argv[0], [int(s) for s in argv[1:]]
    for i, seed in enumerate(seeds):
        np.savez(os.path.join(out_dir, f"run{i}_seed{seed}.npz"), **run(seed))
    try:  # internal API, only to report that set_seed turned op determinism on
        from tensorflow.python.framework import config

        enabled = bool(config.is_op_determinism_enabled())
    except (ImportError, AttributeError):
        enabled = None
    with open(os.path.join(out_dir, "op_determinism.txt"), "w") as handle:
        handle.write(str(enabled))


if __name__ == "__main__":
    main(sys.argv[1:])
