"""Crash-safe `tfdefend train`: SIGKILL mid-epoch, rerun the same command, it resumes and finishes."""

import importlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from tfdefend.cli.main import main
from tfdefend.training import TrainingBackup
from tfdefend.training.backup_callback import read_backup_state

REPO = Path(__file__).resolve().parents[2]
EPOCHS, BATCH, LIMIT, EVERY = 3, 8, 800, 25  # 100 steps per epoch, a backup every 25 steps
TRAIN = ["train", "--model", "small_cnn", "--dataset", "digits", "--set", "filters=8",
         "--epochs", str(EPOCHS), "--batch-size", str(BATCH), "--limit", str(LIMIT)]


def _wait_for_mid_epoch_backup(folder, process, timeout=240):
    """Polls the backup until it holds a mid-epoch state after epoch 1; returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"training ended (exit {process.returncode}) before it could be killed")
        state = read_backup_state(folder) if os.path.isdir(folder) else None
        if state is not None and state["epoch"] >= 1 and state["batch"] > 0:
            return state
        time.sleep(0.01)
    pytest.fail(f"no mid-epoch backup in {folder} after {timeout} s")


def test_sigkill_mid_epoch_then_the_same_command_resumes_and_finishes(tmp_path):
    output = tmp_path / "model.keras"
    command = [sys.executable, "-m", "tfdefend.cli.main", *TRAIN, "--backup-every-steps", str(EVERY),
               "--output", str(output)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}
    with open(tmp_path / "killed.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env)
        try:
            state = _wait_for_mid_epoch_backup(f"{output}.backup/fit", process)
            os.kill(process.pid, signal.SIGKILL)
            assert process.wait(timeout=60) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
    # Nothing at the final paths: no model, no metrics, no truncated file.
    assert not any(p.suffix in (".keras", ".json") for p in tmp_path.iterdir()), os.listdir(tmp_path)
    assert state["epoch"] < EPOCHS

    rerun = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    resumed = re.search(r"train small_cnn: resuming from the backup in \S+: (\d) of 3 epochs done, "
                        r"continuing with epoch (\d)", rerun.stdout)
    assert resumed, rerun.stdout[-3000:]
    done = int(resumed.group(1))
    assert done >= 1 and int(resumed.group(2)) == done + 1
    metrics = json.loads((tmp_path / "model.json").read_text())
    assert metrics["epochs"] == EPOCHS and metrics["resumed_from_epoch"] == done
    assert not os.path.exists(f"{output}.backup")  # removed once the model and metrics were saved
    model = keras.models.load_model(output, safe_mode=True)  # complete and loadable
    # The resumed run ended after exactly the planned steps (the cosine schedule's end).
    steps_per_epoch = -(-metrics["train_examples"] // BATCH)
    assert int(model.optimizer.iterations.numpy()) == EPOCHS * steps_per_epoch
    x = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 1)).astype(np.float32)
    logits = model.predict(x, verbose=0)
    assert logits.shape == (4, 10) and np.all(np.isfinite(logits))
    assert metrics["clean_accuracy"] > 0.5


@pytest.mark.parametrize("command, job", [
    (["train", "--output", "m.keras"], "tfdefend.cli.jobs.train_job"),
    (["train-uddn", "--classifier", "c.keras", "--output", "m.keras"], "tfdefend.cli.jobs.uddn_job"),
    (["train-rl-chain", "--classifier", "c.keras", "--output", "m.keras"],
     "tfdefend.cli.rl_chain_job.rl_chain_job"),
])
def test_every_training_command_takes_the_backup_options(monkeypatch, command, job, capsys):
    module, name = job.rsplit(".", 1)
    calls = []

    def record(**kwargs):
        calls.append({key: kwargs[key] for key in ("backup", "backup_dir", "backup_every_steps")})
        raise ValueError("recorded")

    monkeypatch.setattr(importlib.import_module(module), name, record)
    for options, expected in (([], (True, None, None)), (["--no-backup"], (False, None, None)),
                              (["--backup-dir", "b", "--backup-every-steps", "5"], (True, "b", 5))):
        assert main(command + options) == 2
        assert tuple(calls[-1].values()) == expected
    with pytest.raises(SystemExit):
        main(command + ["--no-backup", "--backup-dir", "b"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_backup_of_other_settings_is_refused(tmp_path, capsys):
    output = tmp_path / "m.keras"
    TrainingBackup.for_output(output, fingerprint={"job": "train", "epochs": 7}).subfolder("fit")
    capsys.readouterr()
    assert main([*TRAIN, "--output", str(output)]) == 2
    err = capsys.readouterr().err
    assert "is of a run with other settings" in err and "epochs: 7 -> 3" in err
    assert sorted(os.listdir(tmp_path)) == ["m.keras.backup"]  # nothing trained, nothing overwritten
