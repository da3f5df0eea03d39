import keras
import numpy as np
import pytest

from tfdefend.training import ParsevalConstraint, apply_parseval

SHAPE = (8, 8, 1)


def _random_kernel(shape, seed=0, top_singular=1.4):
    """A random kernel whose (fan_in, out) matrix has largest singular value `top_singular`."""
    w = np.random.default_rng(seed).standard_normal(shape)
    matrix = w.reshape(-1, shape[-1])
    return (w * top_singular / np.linalg.svd(matrix, compute_uv=False)[0]).astype(np.float32)


def _gram_error(kernel):
    """||G - I||_F / sqrt(n) of the smaller (n x n) Gram matrix of the (fan_in, out) kernel matrix."""
    m = np.asarray(kernel, np.float64).reshape(-1, np.shape(kernel)[-1])
    gram = m.T @ m if m.shape[1] <= m.shape[0] else m @ m.T  # W W^T (rows = filters) or W^T W
    return np.linalg.norm(gram - np.eye(len(gram))) / np.sqrt(len(gram))


def test_one_pass_is_the_parseval_retraction():
    kernel = _random_kernel((3, 3, 4, 8))
    w = kernel.reshape(36, 8).T.astype(np.float64)  # W: one row per filter
    expected = (1.0003 * w - 0.0003 * w @ w.T @ w).T.reshape(3, 3, 4, 8)
    np.testing.assert_allclose(np.asarray(ParsevalConstraint()(kernel)), expected, rtol=1e-5, atol=1e-6)
    twice = ParsevalConstraint(beta=0.0003, num_passes=2)(kernel)
    once_twice = ParsevalConstraint()(ParsevalConstraint()(kernel))
    np.testing.assert_allclose(np.asarray(twice), np.asarray(once_twice), atol=1e-6)


@pytest.mark.parametrize("shape", [(50, 20), (3, 3, 4, 8), (3, 3, 1, 16)])
def test_repeated_retraction_makes_the_filters_orthonormal(shape):
    kernel = _random_kernel(shape)
    constraint = ParsevalConstraint(beta=0.3)
    assert _gram_error(kernel) > 0.3
    for _ in range(60):
        kernel = constraint(kernel)
    assert _gram_error(kernel) < 1e-4
    if shape[-1] <= int(np.prod(shape[:-1])):  # rows of W (the filters) orthonormal: W W^T = I
        m = np.asarray(kernel).reshape(-1, shape[-1])
        np.testing.assert_allclose(m.T @ m, np.eye(shape[-1]), atol=1e-4)


def _digits():
    from tfdefend.data import load

    x, y = load("digits", split="train", as_numpy=True)
    return x[:512], y[:512]


def _model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input(SHAPE),
        keras.layers.Conv2D(8, 3, activation="relu", kernel_initializer="orthogonal"),
        keras.layers.Flatten(),
        keras.layers.Dense(32, activation="relu", kernel_initializer="orthogonal"),
        keras.layers.Dense(10, kernel_initializer="orthogonal"),
    ])


def test_training_with_the_constraint_keeps_kernels_near_orthonormal():
    x, y = _digits()
    errors = {}
    for constrained in (False, True):
        model = _model()
        if constrained:
            assert apply_parseval(model, beta=0.1) is model
            assert all(isinstance(layer.kernel.constraint, ParsevalConstraint) for layer in model.layers
                       if hasattr(layer, "kernel"))
        model.compile(optimizer=keras.optimizers.Adam(3e-3),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        history = model.fit(x, y, batch_size=64, epochs=5, verbose=0)
        kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
        errors[constrained] = [_gram_error(kernel) for kernel in kernels]
        assert history.history["accuracy"][-1] > 0.8
    assert all(e < 0.2 for e in errors[True])
    assert all(c < 0.25 * u for c, u in zip(errors[True], errors[False]))


def test_serialization(tmp_path):
    constraint = ParsevalConstraint(beta=0.01, num_passes=2)
    clone = keras.constraints.deserialize(keras.constraints.serialize(constraint))
    assert isinstance(clone, ParsevalConstraint) and (clone.beta, clone.num_passes) == (0.01, 2)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, kernel_constraint=constraint)])
    path = tmp_path / "parseval.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert isinstance(loaded.layers[0].kernel_constraint, ParsevalConstraint)
    assert loaded.layers[0].kernel_constraint.get_config() == {"beta": 0.01, "num_passes": 2}


def test_rejects_bad_arguments():
    for kwargs in ({"beta": 0.0}, {"beta": 1.5}, {"beta": -0.1}):
        with pytest.raises(ValueError, match="beta"):
            ParsevalConstraint(**kwargs)
    with pytest.raises(TypeError, match="beta"):
        ParsevalConstraint(beta="small")
    with pytest.raises(ValueError, match="num_passes"):
        ParsevalConstraint(num_passes=0)
    with pytest.raises(TypeError, match="classifier"):
        apply_parseval(lambda t: t)
    no_kernels = keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten()])
    with pytest.raises(ValueError, match="Dense or Conv2D"):
        apply_parseval(no_kernels)
    with pytest.raises(ValueError, match="beta"):
        apply_parseval(_model(), beta=2.0)
