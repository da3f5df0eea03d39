"""The exporters' earlier names (issue 24) still work for one release and warn with DeprecationWarning."""

import inspect
import os
import warnings

import keras
import pytest

from tfdefend import export
from tfdefend.models import create_model

RENAMED = {"save_keras": "export_keras", "saved_model": "export_saved_model", "tflite": "export_tflite"}
FILE_NAMES = {"save_keras": "m.keras", "saved_model": "sm", "tflite": "m.tflite"}


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    return create_model("small_cnn", input_shape=(8, 8, 1), filters=4, dense_units=8)


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_old_name_works_and_warns_once_naming_the_new_one(old, model, tmp_path):
    path = str(tmp_path / FILE_NAMES[old])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert getattr(export, old)(model, path) == path
    assert os.path.exists(path)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning) and old in str(w.message)]
    assert len(deprecations) == 1, [str(w.message) for w in caught]
    assert f"`{RENAMED[old]}`" in str(deprecations[0].message)
    assert deprecations[0].filename == __file__  # attributed to the caller, not to the alias


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_old_name_is_exported_with_the_new_signature(old):
    alias, new = getattr(export, old), getattr(export, RENAMED[old])
    assert old in export.__all__ and RENAMED[old] in export.__all__
    assert alias is not new and alias.__name__ == old and new.__name__ == RENAMED[old]
    assert inspect.signature(alias) == inspect.signature(new)
    assert RENAMED[old] in alias.__doc__


def test_old_name_raises_what_the_new_one_raises(model, tmp_path):
    with pytest.warns(DeprecationWarning, match="export_tflite"):
        with pytest.raises(ValueError, match=".tflite"):
            export.tflite(model, str(tmp_path / "m.lite"))
    with pytest.warns(DeprecationWarning, match="export_keras"):
        with pytest.raises(ValueError, match=".keras"):
            export.save_keras(model, str(tmp_path / "m.h5"))


def test_new_names_do_not_warn(model, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export.export_keras(model, str(tmp_path / "m.keras"))
    ours = [str(w.message) for w in caught if "will be removed in the next release" in str(w.message)]
    assert not ours  # (Keras and NumPy may warn on their own)
