"""Shared test helpers: test data, tiny models, and the model and saving checks.

In the manner of keras-hub's `TestCase` helpers (`run_backbone_test`,
`run_model_saving_test`), but as plain functions called from pytest tests:

- `images`: random float32 images, the one source of test images.
- `perturb_weights`: moves every weight off its initial value.
- `TINY_OVERRIDES`, `tiny_kwargs`, `tiny_model`: registered models small enough
  for fast CPU tests.
- `run_model_test`: build a model, call it, `predict` on a `tf.data` batch, and
  check the output shape and dtype.
- `run_saving_test`: a `.keras` round trip of a model (`model.save`, then
  `keras.models.load_model(..., safe_mode=True)`) gives equal outputs.
- `run_trainer_saving_test`: the same for a trainer, which must also go on
  training (`fit`) after loading.
"""

import inspect
import math

import keras
import numpy as np
import tensorflow as tf

from tfdefend.models import create_model, model_info

TINY_SHAPE = (16, 16, 1)
TINY_CLASSES = 3

# Overrides that make each registered model small enough for fast CPU tests.
# A classifier registered without an entry here is tested with the shape/class
# overrides only, and `tests/models/test_classifiers.py::test_tiny_model_is_small`
# fails if its defaults are then too large to test quickly (add an entry here then).
TINY_OVERRIDES = {
    "small_cnn": {"filters": 4, "dense_units": 16},
    "resnet": {"filters": 4, "blocks_per_stage": 1},
    "mobilenet_v2": {"alpha": 0.25, "expansion": 2, "head_channels": 32},
    "mlp": {"hidden_units": (32, 16)},
    # Preprocessors, encoders and decoders (no `num_classes`).
    "comdefend": {"code_channels": 4, "comcnn_filters": (4, 8), "rescnn_filters": (8, 4)},
    "comdefend_residual": {"code_channels": 4, "comcnn_filters": (4, 8), "rescnn_filters": (8, 4),
                           "residual_blocks": 1},
    "comcnn": {"code_channels": 4, "filters": (4, 8)},
    "rescnn": {"filters": (8, 4)},
    "dae": {"filters": (4, 8)},
    "uddn": {"filters": (4, 8)},
    # The RL denoiser chain: light tools, their toolbox, the Q-agent, the chain; and DnCNN.
    "light_denoiser": {"depth": 2, "filters": 4},
    "dncnn": {"depth": 3, "filters": 4},
    "denoiser_toolbox": {"strengths": (1, 4), "depths": (2, 3), "filters": 4},
    "denoiser_agent": {"num_actions": 5, "conv_filters": (4, 4), "kernel_sizes": (3, 3), "fc_units": 8,
                       "lstm_units": 8},
    "rl_denoiser_chain": {"toolbox": {"strengths": (1, 4), "depths": (2, 3), "filters": 4},
                          "agent": {"conv_filters": (4, 4), "kernel_sizes": (3, 3), "fc_units": 8,
                                    "lstm_units": 8}},
    # GNR's generator (latent -> noise image) and critic (image -> score).
    "gnr_generator": {"latent_dim": 8, "filters": (8, 4)},
    "gnr_critic": {"filters": (4, 8)},
}


def images(n, shape=(8, 8, 1), seed=0, *, low=0.0, high=1.0, levels=None):
    """Random images, uniform in `[low, high)`, as float32.

    The values are `np.random.default_rng(seed).uniform(low, high, (n, *shape))`
    cast to float32, so an int `seed` always gives the same images.

    Args:
        n: The number of images.
        shape: The shape of one image, `(height, width, channels)`.
        seed: An int seed, or a `np.random.Generator` to draw from (it is then
            advanced, so the caller can go on drawing from it, e.g. labels).
        low: The smallest value.
        high: The bound the values stay below.
        levels: If given, the values are rounded to the grid `k / levels`
            (in float64, before the cast), e.g. 255 for images that survive an
            8-bit PNG round trip exactly.

    Returns:
        A float32 array of shape `(n, *shape)`.
    """
    x = np.random.default_rng(seed).uniform(low, high, size=(n, *shape))
    if levels is not None:
        x = np.round(x * levels) / levels
    return x.astype(np.float32)


def perturb_weights(model, seed=1, scale=0.05):
    """Moves every weight of `model` (batch-norm statistics included) off its initial value.

    Each weight `w` becomes `w + |scale * N(0, 1)|`, drawn from
    `np.random.default_rng(seed)`, so a loader that re-initializes a weight (or
    a copy that misses one) is caught by comparing outputs.

    Args:
        model: A built Keras model or layer.
        seed: The seed of the noise.
        scale: The standard deviation of the noise before its absolute value.
    """
    rng = np.random.default_rng(seed)
    model.set_weights([w + np.abs(scale * rng.standard_normal(w.shape)).astype(w.dtype)
                       for w in model.get_weights()])


def tiny_kwargs(name, input_shape=TINY_SHAPE, num_classes=TINY_CLASSES, **kwargs):
    """Constructor arguments that make registered model `name` tiny.

    Args:
        name: A name of `tfdefend.models.list_models()`.
        input_shape: The image shape. A classifier and any model whose
            constructor takes `input_shape` get it; a decoder gets the code shape
            `(height, width, 4)` and outputs `input_shape[-1]` channels.
        num_classes: The number of classes, given to classifiers only.
        **kwargs: Further arguments; they win over the tiny overrides.

    Returns:
        A dict of keyword arguments for `tfdefend.models.create_model(name, ...)`.
    """
    info = model_info(name)
    overrides = {**TINY_OVERRIDES.get(name, {}), **kwargs}
    if info["kind"] == "classifier":
        return {"input_shape": input_shape, "num_classes": num_classes, **overrides}
    if info["kind"] == "decoder":
        return {"input_shape": (*input_shape[:2], 4), "output_channels": input_shape[-1], **overrides}
    if "input_shape" in inspect.signature(info["cls"]).parameters:
        return {"input_shape": input_shape, **overrides}
    return overrides


def tiny_model(name, input_shape=TINY_SHAPE, num_classes=TINY_CLASSES, **kwargs):
    """A tiny, untrained registered model: `create_model(name, **tiny_kwargs(...))`.

    Args:
        name: A name of `tfdefend.models.list_models()`.
        input_shape: The image shape (see `tiny_kwargs`).
        num_classes: The number of classes of a classifier.
        **kwargs: Further constructor arguments; they win over the tiny overrides.

    Returns:
        The model.
    """
    return create_model(name, **tiny_kwargs(name, input_shape, num_classes, **kwargs))


def _outputs(model, x):
    """`model(x, training=False)` as a list of NumPy arrays."""
    return _as_arrays(model(x, training=False))


def _as_arrays(outputs):
    if isinstance(outputs, (list, tuple)):
        return [np.asarray(o) for o in outputs]
    return [np.asarray(outputs)]


def _assert_same(got, want, atol):
    assert len(got) == len(want), (len(got), len(want))
    for g, w in zip(got, want):
        if atol is None:
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, atol=atol)


def run_model_test(cls, init_kwargs, input_data, expected_output_shape, expected_output_dtype="float32",
                   batch_size=2, atol=1e-6):
    """Builds a model, calls it, and checks the outputs and `predict` on a `tf.data` batch.

    Checks that `cls(**init_kwargs)(input_data, training=False)` has
    `expected_output_shape` and `expected_output_dtype` and is finite, and that
    `model.predict` on `tf.data.Dataset.from_tensor_slices(input_data)` in
    batches of `batch_size` (the last one smaller where it does not divide)
    gives the same outputs.

    Args:
        cls: A model class, or any callable returning a Keras model
            (e.g. `tiny_model`).
        init_kwargs: The keyword arguments of `cls`.
        input_data: A batch of inputs (NumPy array).
        expected_output_shape: The shape of the outputs on `input_data`.
        expected_output_dtype: Their dtype.
        batch_size: The batch size of the `tf.data` pipeline given to `predict`.
        atol: Absolute tolerance between `predict` and the direct call.

    Returns:
        `(model, outputs)`: the model and its direct outputs as a NumPy array.
    """
    model = cls(**init_kwargs)
    (outputs,) = _outputs(model, input_data)
    assert outputs.shape == tuple(expected_output_shape), (outputs.shape, expected_output_shape)
    assert outputs.dtype == np.dtype(expected_output_dtype), outputs.dtype
    assert np.all(np.isfinite(outputs))
    dataset = tf.data.Dataset.from_tensor_slices(input_data).batch(batch_size)
    predicted = np.asarray(model.predict(dataset, verbose=0))
    assert predicted.shape == outputs.shape, (predicted.shape, outputs.shape)
    np.testing.assert_allclose(predicted, outputs, atol=atol)
    return model, outputs


def run_saving_test(model, input_data, tmp_dir, outputs=None, atol=None):
    """A `.keras` round trip: save `model`, load it in safe mode, and compare.

    Checks that `keras.models.load_model(path, safe_mode=True)` gives a model of
    exactly `type(model)` with the same `get_config()`, the same weights, and
    the same outputs on `input_data`. Perturb the weights first (see
    `perturb_weights`) so that weights left at their initial values by the
    loader would be caught.

    Args:
        model: A built Keras model.
        input_data: The inputs the outputs are compared on.
        tmp_dir: A directory to write `model.keras` into (pytest's `tmp_path`).
        outputs: `outputs(model, input_data)` -> an array or a list/tuple of
            arrays to compare; defaults to `model(input_data, training=False)`.
        atol: Absolute tolerance of the output comparison; None compares exactly.

    Returns:
        The reloaded model, for further checks.
    """
    outputs = outputs or _outputs
    expected = _as_arrays(outputs(model, input_data))
    path = f"{tmp_dir}/model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path, safe_mode=True)
    assert type(reloaded) is type(model), type(reloaded)
    assert reloaded.get_config() == model.get_config()
    _assert_same(reloaded.get_weights(), model.get_weights(), atol=None)
    _assert_same(_as_arrays(outputs(reloaded, input_data)), expected, atol)
    return reloaded


def run_trainer_saving_test(trainer, input_data, fit_args, tmp_dir, outputs=None, fit_kwargs=None,
                            optimizers=("optimizer",)):
    """A trainer's `.keras` round trip: same outputs after loading, and `fit` goes on.

    Saves a compiled (and usually fitted) trainer, loads it with
    `keras.models.load_model(path, safe_mode=True)`, and checks that the
    reloaded trainer is exactly `type(trainer)`, gives the same outputs on
    `input_data` bit for bit, came back compiled with its optimizers' state
    (same iteration counts), and can continue `fit` with finite losses.

    Args:
        trainer: A compiled trainer (a Keras model with its own `train_step`).
        input_data: The inputs the outputs are compared on.
        fit_args: The positional arguments of the reloaded trainer's `fit`,
            e.g. `(x, y)`.
        tmp_dir: A directory to write `trainer.keras` into (pytest's `tmp_path`).
        outputs: `outputs(trainer, input_data)` -> an array or a list/tuple of
            arrays to compare; defaults to `trainer(input_data)`.
        fit_kwargs: Keyword arguments of that `fit` (e.g. `batch_size`);
            `epochs=1, verbose=0` unless given.
        optimizers: The names of the trainer's optimizer attributes, e.g.
            `("generator_optimizer", "critic_optimizer")` for a GAN.

    Returns:
        The reloaded trainer, after its `fit`, for further checks.
    """
    outputs = outputs or (lambda model, x: model(x))
    expected = _as_arrays(outputs(trainer, input_data))
    path = f"{tmp_dir}/trainer.keras"
    trainer.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    assert type(loaded) is type(trainer), type(loaded)
    _assert_same(_as_arrays(outputs(loaded, input_data)), expected, atol=None)
    for name in optimizers:
        optimizer = getattr(loaded, name)
        assert optimizer is not None, f"the trainer came back without its {name}"
        assert int(optimizer.iterations) == int(getattr(trainer, name).iterations), name
    history = loaded.fit(*fit_args, **{"epochs": 1, "verbose": 0, **(fit_kwargs or {})}).history
    assert history, "fit logged nothing"
    for name, values in history.items():
        assert all(math.isfinite(float(v)) for v in values), (name, values)
    return loaded
