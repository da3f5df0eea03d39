"""Long trainers resume after a kill: UDDN stages and toolbox tools finished before it are skipped."""

import importlib

import keras
import numpy as np
import pytest

from tests.harness import images
from tfdefend.models import create_model
from tfdefend.models.denoiser_toolbox import DenoiserToolbox
from tfdefend.training import train_denoiser_toolbox, train_uddn_defense

uddn_defense = importlib.import_module("tfdefend.training.uddn_defense")


class _Killed(Exception):
    """Stands in for a kill."""


def _weights(model):
    return [np.array(w) for w in model.weights]


def test_uddn_stages_done_before_a_kill_are_loaded_not_retrained(tmp_path, monkeypatch, capsys):
    keras.utils.set_random_seed(0)
    classifier = create_model("small_cnn", input_shape=(8, 8, 1), num_classes=3, filters=4, dense_units=8)
    x, y = images(48, (8, 8, 1)), np.arange(48) % 3
    # No GNR: a W-GAN-GP fit costs ~30 s of CPU; its stage is backed up like the UDDN one.
    kwargs = {"eps": 0.1, "real_count": 16, "use_gnr": False, "uddn_filters": (4, 8), "uddn_epochs": 1,
              "batch_size": 16, "verbose": 0, "backup_dir": tmp_path}
    denoisers = []

    def killed_as_distillation_starts(student, teacher, preprocessor, **kwargs):
        denoisers.append(_weights(preprocessor))
        raise _Killed

    monkeypatch.setattr(uddn_defense, "Distiller", killed_as_distillation_starts)
    with pytest.raises(_Killed):
        train_uddn_defense(classifier, x, y, distill_epochs=1, **kwargs)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["attack.done", "run.json", "uddn.done"]
    capsys.readouterr()
    result = train_uddn_defense(classifier, x, y, distill_epochs=0, **kwargs)  # (cheaper than distilling)
    out = capsys.readouterr().out
    assert "UDDN attacks: done before" in out and "UDDN denoiser: done before" in out
    assert all(np.array_equal(a, b) for a, b in zip(_weights(result["uddn"]), denoisers[0]))
    assert len(result["histories"]["uddn"]["loss"]) == 1 and result["info"]["uddn_train_pairs"] == 32


def test_toolbox_tools_trained_before_a_kill_are_loaded_not_retrained(tmp_path, monkeypatch, capsys):
    x, y = images(32, (8, 8, 1)), np.arange(32) % 3
    keras.utils.set_random_seed(0)
    classifier = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])

    def toolbox():
        keras.utils.set_random_seed(1)
        return DenoiserToolbox((8, 8, 1), strengths=(2, 16), depths=(2,), filters=4)

    real_fit, fits = keras.Model.fit, []

    def fit_killed_on_the_second_tool(model, *args, **kwargs):
        fits.append(model.name)
        if len(fits) == 2:
            raise _Killed
        return real_fit(model, *args, **kwargs)

    first = toolbox()
    monkeypatch.setattr(keras.Model, "fit", fit_killed_on_the_second_tool)
    with pytest.raises(_Killed):
        train_denoiser_toolbox(first, classifier, x, y, epochs=1, batch_size=16, backup_dir=tmp_path)
    monkeypatch.undo()
    capsys.readouterr()
    second = toolbox()
    histories = train_denoiser_toolbox(second, classifier, x, y, epochs=1, batch_size=16, backup_dir=tmp_path)
    assert f"tool {second.tool_names[0]}: done before" in capsys.readouterr().out
    assert all(np.array_equal(a, b) for a, b in zip(_weights(second.tools[0]), _weights(first.tools[0])))
    assert list(histories) == list(second.tool_names) and all(len(h["loss"]) == 1 for h in histories.values())
    assert second.tools[1].optimizer is None  # a saved toolbox holds weights only, resumed or not
