"""`tfdefend train --defense ...`: adversarial training from the command line."""

import json

import keras
import numpy as np
import pytest

from tfdefend.cli.main import main
from tfdefend.models import SmallCNN


def _train(tmp_path, defense, *extra):
    out = tmp_path / f"{defense}.keras"
    code = main(["train", "--model", "small_cnn", "--dataset", "digits", "--epochs", "3", "--lr", "3e-3",
                 "--batch-size", "64", "--set", "filters=8", "--defense", defense, "--eps", "0.1",
                 "--guard-images", "100", "--output", str(out), *extra])
    assert code == 0 and out.exists()
    return out, json.loads(out.with_suffix(".json").read_text())


@pytest.mark.parametrize("defense", ["trades", "fast-at"])
def test_defense_trains_a_plain_classifier_and_records_its_robustness(tmp_path, defense):
    out, metrics = _train(tmp_path, defense)
    model = keras.models.load_model(out)
    assert type(model) is SmallCNN  # the deployable classifier, not the trainer
    assert metrics["defense"] == defense and metrics["eps"] == 0.1 and metrics["guard_images"] == 100
    assert len(metrics["pgd_curve"]) == 3 and len(metrics["clean_curve"]) == 3
    assert all(0.0 <= v <= 1.0 for v in metrics["pgd_curve"])
    assert metrics["pgd_steps"] == 20 and metrics["pgd_examples"] == metrics["test_examples"]
    assert 0.0 <= metrics["pgd_accuracy"] < metrics["clean_accuracy"] and metrics["clean_accuracy"] > 0.5
    assert metrics["train_images_per_second"] > 0 and metrics["guard_triggered"] is None
    assert (metrics["beta"] == 6.0) == (defense == "trades")
    assert not (tmp_path / f"{defense}.keras.backup").exists()
    x = np.zeros((2, 8, 8, 1), np.float32)
    assert np.asarray(model(x)).shape == (2, 10)


def test_defense_holds_out_the_guard_images(tmp_path):
    _, plain = _train(tmp_path, "pgd-at", "--attack-steps", "2", "--limit", "300")
    assert plain["train_examples"] == 200 and plain["attack_steps"] == 2 and plain["beta"] is None


def test_the_cli_offers_every_trainer():
    from tfdefend.cli.defense_option import DEFENSE_CHOICES
    from tfdefend.training.fit_robust_classifier import DEFENSES

    assert DEFENSE_CHOICES == ("none", *DEFENSES)


def test_bad_defense_arguments_are_clear(tmp_path, capsys):
    out = str(tmp_path / "m.keras")
    base = ["train", "--dataset", "digits", "--output", out]
    assert main([*base, "--model", "dae", "--defense", "trades"]) == 2
    assert "`defense` trains classifiers" in capsys.readouterr().err
    assert main([*base, "--eps", "0.1"]) == 2
    assert "`eps` applies to adversarial training only" in capsys.readouterr().err
    assert main([*base, "--defense", "pgd-at", "--beta", "3"]) == 2
    assert "`beta` applies to TRADES and MART" in capsys.readouterr().err
    assert main([*base, "--defense", "fast-at", "--attack-steps", "3"]) == 2
    assert "`steps` does not apply to fast-at" in capsys.readouterr().err
    assert main([*base, "--defense", "trades", "--guard-images", "0"]) == 2
    assert "`guard_images` must be >= 1" in capsys.readouterr().err
    assert main([*base, "--defense", "trades", "--guard-images", "100000"]) == 2
    assert "`guard_images` must be below the number of training images" in capsys.readouterr().err
    assert main([*base, "--defense", "trades", "--eps", "3"]) == 2
    assert "eps" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--defense", "free-at"])
    assert not (tmp_path / "m.keras").exists() and not (tmp_path / "m.keras.backup").exists()


class _Killed(Exception):
    """Stands in for a kill."""


def test_a_killed_defense_run_resumes_from_its_backup(tmp_path, monkeypatch):
    from tfdefend.training import RobustAccuracyGuard

    original = RobustAccuracyGuard.on_epoch_end

    def killed_after_the_first_epoch(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch == 1:  # before the backup of epoch 1 (the guard runs first): epoch 0's is the last
            raise _Killed

    monkeypatch.setattr(RobustAccuracyGuard, "on_epoch_end", killed_after_the_first_epoch)
    with pytest.raises(_Killed):
        _train(tmp_path, "trades")
    assert (tmp_path / "trades.keras.backup").is_dir() and not (tmp_path / "trades.keras").exists()
    monkeypatch.undo()
    _, metrics = _train(tmp_path, "trades")
    assert metrics["resumed_from_epoch"] == 1
    assert len(metrics["pgd_curve"]) == 3  # the curve spans the killed run and the resumed one
    assert not (tmp_path / "trades.keras.backup").exists()
