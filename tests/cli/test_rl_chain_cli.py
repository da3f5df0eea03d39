"""`tfdefend train-rl-chain`: a tiny end-to-end run on the digits data set."""

import json

import keras
import numpy as np
import pytest

from tfdefend import data
from tfdefend.cli.job_helpers import save_outputs
from tfdefend.cli.main import main


def test_train_rl_chain_writes_chain_toolbox_and_agent(tmp_path, capsys):
    outputs = {key: tmp_path / f"{key}.keras" for key in ("chain", "toolbox", "agent")}
    code = main(["train-rl-chain", "--dataset", "digits", "--classifier", "small_cnn_digits",
                 "--output", str(outputs["chain"]), "--toolbox-output", str(outputs["toolbox"]),
                 "--agent-output", str(outputs["agent"]), "--train-images", "96", "--filters", "4",
                 "--strengths", "2", "8", "--depths", "2",
                 "--toolbox-epochs", "1", "--iterations", "2", "--images-per-iteration", "12",
                 "--updates-per-iteration", "1", "--max-steps", "2"])
    printed = capsys.readouterr().out
    assert code == 0 and "accuracy through the chain" in printed and "fgsm8" in printed
    chain = keras.models.load_model(outputs["chain"], safe_mode=True)
    toolbox = keras.models.load_model(outputs["toolbox"], safe_mode=True)
    agent = keras.models.load_model(outputs["agent"], safe_mode=True)
    assert toolbox.num_tools == 2 and agent.num_actions == 3 and chain.max_steps == 2
    x, _ = data.load("digits", "test", as_numpy=True, limit=8)
    # The saved toolbox is the chain's: the same tool gives the same output.
    np.testing.assert_allclose(np.asarray(toolbox.apply(x, np.full(8, 1))),
                               np.asarray(chain.toolbox.apply(x, np.full(8, 1))), atol=1e-6)
    metrics = json.loads((tmp_path / "chain.json").read_text())
    assert metrics["kind"] == "preprocessor" and metrics["command"].startswith("tfdefend train-rl-chain")
    assert set(metrics["per_attack"]) == {"clean", "fgsm2", "fgsm8"}
    for row in metrics["per_attack"].values():
        assert 0 <= row["mean_tools"] <= 2 and 0 < sum(row["chains"].values()) <= 1 + 1e-6
    assert json.loads((tmp_path / "toolbox.json").read_text())["kind"] == "toolbox"
    assert json.loads((tmp_path / "agent.json").read_text())["kind"] == "agent"


def test_train_rl_chain_rejects_a_bad_output(tmp_path, capsys):
    code = main(["train-rl-chain", "--classifier", "small_cnn_digits", "--dataset", "digits",
                 "--output", str(tmp_path / "chain.h5")])
    assert code == 2 and "`chain_output` must end in '.keras'" in capsys.readouterr().err


def test_a_toolbox_trained_alone_is_reused_by_the_agent_run(tmp_path, capsys):
    toolbox_path, chain_path = tmp_path / "toolbox.keras", tmp_path / "chain.keras"
    tiny = ["--dataset", "digits", "--classifier", "small_cnn_digits", "--train-images", "64"]
    code = main(["train-rl-chain", *tiny, "--toolbox-only", "--toolbox-output", str(toolbox_path),
                 "--filters", "4", "--strengths", "2", "8", "--depths", "2", "--toolbox-epochs", "1",
                 "--tool-clean-fraction", "0.5"])
    assert code == 0 and "saved the toolbox" in capsys.readouterr().out
    assert not chain_path.exists() and not (tmp_path / "toolbox.keras.backup").exists()
    settings = json.loads((tmp_path / "toolbox.json").read_text())["settings"]
    assert settings["tool_clean_fraction"] == 0.5 and "iterations" not in settings
    code = main(["train-rl-chain", *tiny, "--toolbox", str(toolbox_path), "--output", str(chain_path),
                 "--iterations", "2", "--images-per-iteration", "12", "--updates-per-iteration", "1",
                 "--max-steps", "2", "--step-cost", "0.01", "--double-dqn", "--stop-bias", "0.5",
                 "--lr", "3e-4"])
    assert code == 0 and "accuracy through the chain" in capsys.readouterr().out
    toolbox = keras.models.load_model(toolbox_path, safe_mode=True)
    chain = keras.models.load_model(chain_path, safe_mode=True)
    for saved, used in zip(toolbox.weights, chain.toolbox.weights):  # the same tools, not retrained
        np.testing.assert_array_equal(np.asarray(saved), np.asarray(used))
    settings = json.loads((tmp_path / "chain.json").read_text())["settings"]
    assert settings["toolbox"] == str(toolbox_path) and settings["step_cost"] == 0.01
    assert settings["double_dqn"] is True and settings["stop_bias"] == 0.5
    assert settings["learning_rate"] == 3e-4


def test_toolbox_only_needs_a_toolbox_output_and_no_chain_output(tmp_path, capsys):
    base = ["train-rl-chain", "--dataset", "digits", "--classifier", "small_cnn_digits"]
    for extra in (["--toolbox-only"], ["--toolbox-only", "--toolbox-output", str(tmp_path / "t.keras"),
                                       "--output", str(tmp_path / "c.keras")]):
        assert main(base + extra) == 2
        assert "--toolbox-only" in capsys.readouterr().err
    assert main(base) == 2 and "--output" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_toolbox_only_refuses_an_agent_output_before_training(tmp_path, capsys):
    # Was an uncaught KeyError('agent') after the toolbox had been trained and saved.
    code = main(["train-rl-chain", "--dataset", "digits", "--classifier", "small_cnn_digits",
                 "--train-images", "64", "--filters", "4", "--strengths", "2", "--depths", "2",
                 "--toolbox-epochs", "1", "--toolbox-only", "--toolbox-output", str(tmp_path / "t.keras"),
                 "--agent-output", str(tmp_path / "a.keras")])
    err = capsys.readouterr().err
    assert code == 2 and "--toolbox-only" in err and "--agent-output" in err
    assert not any(tmp_path.iterdir())  # refused before any training or saving


def test_save_outputs_refuses_a_path_without_a_network_before_writing(tmp_path):
    outputs = {"toolbox": str(tmp_path / "t.keras"), "agent": str(tmp_path / "a.keras")}
    with pytest.raises(ValueError, match="`agent_output`"):
        save_outputs(outputs, {"toolbox": keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])},
                     {"toolbox": {}}, None)
    assert not any(tmp_path.iterdir())
