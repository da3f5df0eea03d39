"""The recipes' earlier names (issue 24) still work for one release and warn with DeprecationWarning."""

import inspect
import warnings

import keras
import numpy as np
import pytest

from tfdefend import training
from tfdefend.models import create_model

SHAPE = (8, 8, 1)
RENAMED = {
    "fit_classifier": "train_classifier",
    "fit_preprocessor": "train_preprocessor",
    "fit_robust_classifier": "train_robust_classifier",
    "defensive_distillation": "train_defensive_distillation",
}


def _data(n=16):
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (n, *SHAPE)).astype(np.float32), np.arange(n) % 2


def _mlp():
    return keras.Sequential([keras.Input(SHAPE), keras.layers.Flatten(), keras.layers.Dense(2)])


def _call(old):
    """Calls the old name on a tiny problem; returns what it returned."""
    keras.utils.set_random_seed(0)
    x, y = _data()
    if old == "fit_classifier":
        return training.fit_classifier(_mlp(), (x, y), epochs=1, batch_size=8, verbose=0)
    if old == "fit_preprocessor":
        model = create_model("comdefend", input_shape=SHAPE, code_channels=2, comcnn_filters=(4, 4, 4),
                             rescnn_filters=(4, 4, 4), seed=0)
        return training.fit_preprocessor(model, x, epochs=1, batch_size=8, verbose=0)
    if old == "fit_robust_classifier":
        return training.fit_robust_classifier(_mlp(), (x, y), defense="trades", eps=0.1, steps=1, epochs=1,
                                              batch_size=8, verbose=0)
    return training.defensive_distillation(_mlp(), _mlp(), x, y, temperature=5.0, epochs=1, batch_size=8,
                                           verbose=0)


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_old_name_works_and_warns_once_naming_the_new_one(old):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = _call(old)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning) and old in str(w.message)]
    assert len(deprecations) == 1, [str(w.message) for w in caught]
    assert f"`{RENAMED[old]}`" in str(deprecations[0].message)
    assert deprecations[0].filename == __file__  # attributed to the caller, not to the alias
    assert result is not None


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_old_name_is_exported_with_the_new_signature(old):
    alias, new = getattr(training, old), getattr(training, RENAMED[old])
    assert old in training.__all__ and RENAMED[old] in training.__all__
    assert alias is not new and alias.__name__ == old
    assert inspect.signature(alias) == inspect.signature(new)
    assert RENAMED[old] in alias.__doc__


def test_old_name_raises_what_the_new_one_raises():
    with pytest.warns(DeprecationWarning, match="train_classifier"):
        with pytest.raises(ValueError, match="epochs"):
            training.fit_classifier(_mlp(), _data(), epochs=0)
    with pytest.warns(DeprecationWarning, match="train_robust_classifier"):
        with pytest.raises(ValueError, match="defense"):
            training.fit_robust_classifier(_mlp(), _data(), defense="free-at", eps=0.1)


def test_new_names_do_not_warn():
    x, y = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        training.train_classifier(_mlp(), (x, y), epochs=1, batch_size=8, verbose=0)
    ours = [str(w.message) for w in caught if "will be removed in the next release" in str(w.message)]
    assert not ours  # (Keras and NumPy may warn on their own)
