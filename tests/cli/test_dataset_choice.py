"""A trained model runs on its own data set unless the user insists (`--allow-other-dataset`)."""

import json

import keras
import pytest

from tfdefend.cli import dataset_choice, jobs
from tfdefend.cli.dataset_choice import check_input_shape, choose_dataset, model_dataset
from tfdefend.cli.main import main


def test_the_default_is_the_zoo_entrys_data_set():
    assert choose_dataset(None, "small_cnn_mnist") == "mnist"
    assert choose_dataset(None, "small_cnn_digits") == "digits"
    assert choose_dataset("mnist", "small_cnn_mnist") == "mnist"
    assert choose_dataset(None, "not_a_zoo_name") == dataset_choice.DEFAULT_DATASET  # the loader reports it


def test_another_kind_of_data_set_is_refused_unless_the_user_insists(capsys):
    with pytest.raises(ValueError, match="--allow-other-dataset") as error:
        choose_dataset("fashion_mnist", "small_cnn_mnist")
    assert "trained on mnist" in str(error.value) and "Leave --dataset out" in str(error.value)
    assert choose_dataset("fashion_mnist", "small_cnn_mnist", allow_other=True) == "fashion_mnist"
    err = capsys.readouterr().err
    assert err.startswith("tfdefend: warning: ") and "other classes" in err


def test_images_of_another_size_are_refused_even_when_insisting():
    for dataset, source in (("digits", "small_cnn_mnist"), ("mnist", "small_cnn_photo_patches")):
        with pytest.raises(ValueError, match="cannot take"):
            choose_dataset(dataset, source, allow_other=True)
    with pytest.raises(ValueError, match="Unknown dataset"):
        choose_dataset("nope", "small_cnn_mnist")


def test_a_model_files_data_set_comes_from_its_training_metrics(tmp_path):
    model = tmp_path / "m.keras"
    model.write_bytes(b"")  # only its name matters here
    assert model_dataset(str(model)) == (None, None)  # no metrics: unknown
    (tmp_path / "m.json").write_text(json.dumps({"dataset": "digits", "clean_accuracy": 0.9}))
    assert model_dataset(str(model))[0] == "digits"
    assert choose_dataset(None, str(model)) == "digits"
    with pytest.raises(ValueError, match="cannot take"):
        choose_dataset("mnist", str(model))
    for bad in ("not json", json.dumps([1]), json.dumps({"dataset": "image_folder:flowers"})):
        (tmp_path / "m.json").write_text(bad)
        assert model_dataset(str(model)) == (None, None)


def test_only_classifiers_are_taken_where_a_classifier_is_expected():
    with pytest.raises(ValueError, match="is a preprocessor"):
        dataset_choice.require_classifier("dae_fashion_mnist", "--pretrained")
    dataset_choice.require_classifier("small_cnn_mnist", "--pretrained")
    dataset_choice.require_classifier("nope", "--pretrained")  # unknown names: the loader's message


def test_a_loaded_model_of_another_input_size_is_refused():
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    check_input_shape(model, "digits", "m.keras")
    with pytest.raises(ValueError, match=r"takes inputs of shape \(8, 8, 1\).*\(28, 28, 1\)"):
        check_input_shape(model, "mnist", "m.keras")


def test_evaluate_pretrained_uses_the_entrys_data_set(tmp_path, capsys):
    table = tmp_path / "table.json"
    assert main(["evaluate", "--pretrained", "small_cnn_mnist", "--limit", "40", "--eps", "0.3",
                 "--pgd-steps", "1", "--json", str(table)]) == 0
    out = capsys.readouterr().out
    assert "Robustness on mnist: the first 40 test images" in out
    saved = json.loads(table.read_text())
    assert saved["dataset"] == "mnist" and saved["rows"][0]["n"] == 40
    assert saved["rows"][0]["accuracy"] > 0.8  # a 98% MNIST model on MNIST, not ~10% on Fashion-MNIST


def test_evaluate_refuses_then_warns_when_insisting(tmp_path, capsys):
    argv = ["evaluate", "--pretrained", "small_cnn_mnist", "--dataset", "fashion_mnist", "--limit", "16",
            "--eps", "0.1", "--pgd-steps", "1"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert err.startswith("tfdefend: error: ") and "--allow-other-dataset" in err and not out
    assert main([*argv, "--allow-other-dataset"]) == 0
    out, err = capsys.readouterr()
    assert "tfdefend: warning: " in err and "Robustness on fashion_mnist" in out
    assert main(["evaluate", "--pretrained", "small_cnn_mnist", "--dataset", "digits",
                 "--allow-other-dataset"]) == 2
    assert "cannot take" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["train-uddn", "train-rl-chain"])
def test_training_against_a_classifier_follows_the_same_rule(monkeypatch, tmp_path, capsys, command):
    from tfdefend.cli import rl_chain_job

    seen = []

    def record(**kwargs):
        seen.append(kwargs["dataset"])
        raise ValueError("recorded")

    module = jobs if command == "train-uddn" else rl_chain_job
    monkeypatch.setattr(module, "uddn_job" if command == "train-uddn" else "rl_chain_job", record)
    base = [command, "--output", str(tmp_path / "o.keras"), "--classifier"]
    assert main([*base, "small_cnn_mnist"]) == 2 and seen == ["mnist"]  # the classifier's own
    assert main([*base, "small_cnn_mnist", "--dataset", "fashion_mnist"]) == 2 and len(seen) == 1
    assert "--allow-other-dataset" in capsys.readouterr().err
    assert main([*base, "small_cnn_mnist", "--dataset", "fashion_mnist", "--allow-other-dataset"]) == 2
    assert seen == ["mnist", "fashion_mnist"]
    assert main([*base, "small_cnn_mnist", "--dataset", "digits", "--allow-other-dataset"]) == 2
    assert len(seen) == 2 and "cannot take" in capsys.readouterr().err


def test_train_refuses_an_advmask_model_of_another_data_set(tmp_path, capsys):
    argv = ["train", "--dataset", "fashion_mnist", "--augment", "advmask", "--advmask-model",
            "small_cnn_mnist", "--output", str(tmp_path / "m.keras")]
    assert main(argv) == 2
    assert "Pick an --advmask-model trained on this data set" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_keras_progress_is_one_line_per_epoch_unless_on_a_terminal(monkeypatch):
    class Stream:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    monkeypatch.setattr("sys.stdout", Stream(True))
    on_terminal = jobs.keras_verbose()
    monkeypatch.setattr("sys.stdout", Stream(False))
    assert (on_terminal, jobs.keras_verbose()) == (1, 2)
