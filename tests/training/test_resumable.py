"""Crash-safe training: `backup_callback`, `TrainingBackup` phases and `LoopCheckpoint` (DQN) resume."""

import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfdefend.training import LoopCheckpoint, ReplayBuffer, TrainingBackup, backup_callback, train_classifier
from tfdefend.training.backup_callback import STATE_FILE, read_backup_state

STEPS = 4  # 64 images / batch 16


class _Killed(Exception):
    """Stands in for a kill: raised from inside training."""


class _KillAt(keras.callbacks.Callback):
    """Raises `_Killed` after global batch `at` (1-based); snapshots weights and optimizer state per batch."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen, self.snapshots = at, 0, {}

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        slots = [np.array(v) for v in self.model.optimizer.variables[1:]]  # [0] is `iterations`
        self.snapshots[self.seen] = (self.model.get_weights(), slots)
        if self.seen == self.at:
            raise _Killed


class _Probe(keras.callbacks.Callback):
    """Records the optimizer state right after the backup callback restored it."""

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        self.iterations = int(optimizer.iterations.numpy())
        self.learning_rate = float(optimizer.learning_rate.numpy())
        self.weights = self.model.get_weights()
        self.slots = [np.array(v) for v in optimizer.variables[1:]]


def _net():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])


def _data():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 1, (64, 8, 8, 1)).astype(np.float32), np.arange(64) % 10


def _torn_second_save(monkeypatch):
    """Makes the second `save_weights` (the backup after epoch 2) write half a file, then die."""
    real_save, calls = keras.Model.save_weights, []

    def save(model, path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:
            with open(path, "wb") as handle:
                handle.write(b"\x89HDF half a file")
            raise _Killed
        return real_save(model, path, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", save)


@pytest.mark.parametrize("every_steps, saved_at", [(None, STEPS), (2, STEPS + 2)])
def test_fit_resumes_weights_epoch_and_optimizer_state(tmp_path, monkeypatch, every_steps, saved_at):
    folder = tmp_path / "fit"
    if every_steps is None:  # killed while writing the backup after epoch 2: the one of epoch 1 is used
        kill = _KillAt(0)
        _torn_second_save(monkeypatch)
    else:  # killed in epoch 2 after its third batch: its mid-epoch backup (after batch 2) is used
        kill = _KillAt(STEPS + 3)
    with pytest.raises(_Killed):
        train_classifier(_net(), _data(), epochs=3, batch_size=16, verbose=0,
                       callbacks=[backup_callback(folder, save_every_steps=every_steps), kill])
    monkeypatch.undo()
    assert read_backup_state(folder)["epoch"] == 1
    assert len(os.listdir(folder)) == 2  # the state and one weights file: no torn temporary file
    callback, probe, net = backup_callback(folder, save_every_steps=every_steps), _Probe(), _net()
    train_classifier(net, _data(), epochs=3, batch_size=16, verbose=0, callbacks=[callback, probe])
    weights, slots = kill.snapshots[saved_at]
    assert all(np.array_equal(a, b) for a, b in zip(probe.weights, weights))
    assert all(np.array_equal(a, b) for a, b in zip(probe.slots, slots))  # Adam moments
    # The iteration counter (the CosineDecay position) is that of epoch 2's start: a mid-epoch
    # backup restarts its epoch, so the schedule still ends after exactly epochs * steps steps.
    assert probe.iterations == STEPS
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, 3 * STEPS)
    assert probe.learning_rate == pytest.approx(float(schedule(STEPS)))
    assert callback.resumed_from_epoch == 1 and int(net.optimizer.iterations.numpy()) == 3 * STEPS
    assert {key: len(values) for key, values in callback.history.items()} == {"accuracy": 3, "loss": 3}
    assert net._initial_epoch is None  # a later fit of the same model starts at epoch 0 again
    assert os.path.exists(folder / STATE_FILE)  # kept until the caller saved the final model


def test_wgan_gp_backup_holds_both_optimizers(tmp_path):
    from tfdefend.models import NoiseCritic, NoiseGenerator
    from tfdefend.training import WGANGP

    def gan():
        keras.utils.set_random_seed(0)
        model = WGANGP(NoiseGenerator(output_shape=(8, 8, 1), filters=(4, 4), eps=0.1),
                       NoiseCritic(input_shape=(8, 8, 1), filters=(4, 4)))
        model.compile()
        return model

    trained = gan()  # stands in for a trained W-GAN (no tracing needed): optimizer state set by hand
    for optimizer, sub_model, steps in ((trained.generator_optimizer, trained.generator, 3),
                                        (trained.critic_optimizer, trained.critic, 15)):
        optimizer.build(sub_model.trainable_variables)
        for variable in optimizer.variables:
            variable.assign(np.full(variable.shape, steps).astype(variable.dtype))
    saver = backup_callback(tmp_path)
    saver.set_model(trained)
    saver.set_params({"epochs": 2, "steps": 1})
    saver.on_epoch_begin(0)
    saver.on_epoch_end(0, {"critic_loss": 1.0})
    model, restorer = gan(), backup_callback(tmp_path, announce=False)
    restorer.set_model(model)
    restorer.set_params({"epochs": 2, "steps": 1})
    restorer.on_train_begin()  # builds `generator_optimizer` / `critic_optimizer` on their sub-models
    assert restorer.resumed_from_epoch == 1 and model._initial_epoch == 1
    assert int(model.generator_optimizer.iterations.numpy()) == 3
    assert int(model.critic_optimizer.iterations.numpy()) == 15
    for got, want in zip(model.critic_optimizer.variables, trained.critic_optimizer.variables):
        assert np.array_equal(np.asarray(got), np.asarray(want))


def test_run_phase_skips_a_finished_phase_and_loads_its_results(tmp_path, capsys):
    net = _net()
    backup = TrainingBackup(tmp_path / "run", fingerprint={"epochs": 1})

    def train(callbacks):
        net.set_weights([w + 1 for w in net.get_weights()])
        return {"x_adv": np.arange(6.0).reshape(2, 3), "history": {"loss": [np.float32(0.5)]}, "n": 2}

    first = backup.run_phase("stage", train, models={"net": net})
    assert first["n"] == 2 and sorted(os.listdir(tmp_path / "run")) == ["run.json", "stage.done"]

    def not_again(callbacks):
        raise AssertionError("a finished phase must not run again")

    fresh = _net()
    again = TrainingBackup(tmp_path / "run", fingerprint={"epochs": 1}).run_phase(
        "stage", not_again, models={"net": fresh}, name="stage one")
    assert "stage one: done before" in capsys.readouterr().out
    assert np.array_equal(again["x_adv"], first["x_adv"]) and again["history"] == {"loss": [0.5]}
    assert all(np.array_equal(a, b) for a, b in zip(fresh.get_weights(), net.get_weights()))


def test_training_backup_folder_checks_and_removal(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("not a backup")
    with pytest.raises(ValueError, match="not a tfdefend backup"):
        TrainingBackup(tmp_path / "mine")
    backup = TrainingBackup.for_output(tmp_path / "m.keras", fingerprint={"epochs": 3, "seed": 0})
    assert backup.directory == str(tmp_path / "m.keras") + ".backup"
    assert not os.path.exists(backup.directory)  # nothing is written before training starts
    backup.callbacks("fit")
    with pytest.raises(ValueError, match=r"other settings \(epochs: 3 -> 5\)"):
        TrainingBackup.for_output(tmp_path / "m.keras", fingerprint={"epochs": 5, "seed": 0})
    backup.remove()
    assert sorted(os.listdir(tmp_path)) == ["mine"]  # no half-deleted or renamed leftovers
    with pytest.raises(ValueError, match="not both"):
        TrainingBackup.for_output(tmp_path / "m.keras", enabled=False, directory=tmp_path / "b")
    off = TrainingBackup.for_output(tmp_path / "m.keras", enabled=False)
    assert off.callbacks("fit") == [] and not off.is_done("fit") and off.subfolder("x") is None
    off.remove()
    with pytest.raises(TypeError, match="backup_dir"):
        TrainingBackup(3)
    with pytest.raises(ValueError, match="backup_every_steps"):
        backup_callback(tmp_path, save_every_steps=0)


def test_loop_checkpoint_replays_the_replay_buffer_exactly(tmp_path):
    def rows(start, n):
        return {"x": np.arange(start, start + n, dtype=np.float32)[:, None] * [1, 2], "a": np.arange(n)}

    counter = tf.Variable(0.0)
    buffer = ReplayBuffer(5, seed=3)
    loop = LoopCheckpoint(tmp_path, {"counter": counter}, buffer=buffer, announce=False)
    for it, n in enumerate((3, 4, 2)):  # 9 rows into 5 slots: the first add is overwritten
        loop.add_to_buffer(rows(10 * it, n))
        buffer.sample(2)
        counter.assign_add(1.0)
        loop.save(it + 1, {"it": it})
    loop.add_to_buffer(rows(99, 1))  # after the last checkpoint: lost with the kill
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".npz")) == [
        "buffer-0000001.npz", "buffer-0000002.npz", "buffer-0000003.npz"]

    counter.assign(-1.0)
    fresh = ReplayBuffer(5, seed=3)
    restored = LoopCheckpoint(tmp_path, {"counter": counter}, buffer=fresh, announce=False).restore()
    assert restored == {"iteration": 3, "extra": {"it": 2}} and float(counter.numpy()) == 3.0
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".npz")) == [
        "buffer-0000001.npz", "buffer-0000002.npz"]  # the add after the checkpoint is dropped
    reference = ReplayBuffer(5, seed=3)
    for it, n in enumerate((3, 4, 2)):
        reference.add(rows(10 * it, n))
        reference.sample(2)
    got, want = fresh.sample(5), reference.sample(5)
    assert len(fresh) == 5 and all(np.array_equal(got[k], want[k]) for k in want)
    assert LoopCheckpoint(None, {}).restore() is None


def test_dqn_loop_resumed_after_two_of_three_iterations_equals_an_uninterrupted_run(tmp_path, monkeypatch,
                                                                                     capsys):
    from tests.training.test_rl_chain_training import FAST, _data, _models
    from tfdefend.training import train_rl_denoiser_chain

    def run(backup_dir):
        classifier, toolbox, agent = _models()
        x, y = _data()
        _, history = train_rl_denoiser_chain(classifier, toolbox, agent, x, y, iterations=3, seed=0,
                                             target_update_period=2, buffer_capacity=30, **FAST,
                                             backup_dir=backup_dir)
        return agent, history

    real_save = LoopCheckpoint.save

    def save_and_snapshot(self, iteration, *args, **kwargs):
        saved = real_save(self, iteration, *args, **kwargs)
        if iteration == 2:  # what a kill during iteration 3 leaves behind
            shutil.copytree(tmp_path / "reference", tmp_path / "killed")
        return saved

    monkeypatch.setattr(LoopCheckpoint, "save", save_and_snapshot)
    reference, reference_history = run(tmp_path / "reference")
    monkeypatch.undo()
    capsys.readouterr()
    resumed, history = run(tmp_path / "killed")
    assert "2 iterations done, continuing with iteration 3" in capsys.readouterr().out
    assert len(history["loss"]) == 3
    np.testing.assert_allclose(history["loss"], reference_history["loss"], rtol=1e-6)
    assert history["buffer_size"] == reference_history["buffer_size"]
    assert history["buffer_size"][-1] == 30  # the 30-row buffer overflowed: the replay is exact anyway
    for got, want in zip(resumed.weights, reference.weights):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-7)
    assert json.loads((tmp_path / "killed" / "run.json").read_text())["fingerprint"] is None


def test_a_non_chief_worker_restores_from_the_shared_backup_but_writes_elsewhere(tmp_path):
    def driven(backup, net, epoch):
        """One epoch's callback events without training (what `fit` calls around it)."""
        (callback,) = backup.callbacks("fit")
        callback.set_model(net)
        callback.set_params({"epochs": 3, "steps": 1})
        callback.on_train_begin()
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, {"loss": 1.0})
        return callback

    net = _net()
    net.compile(optimizer="adam", loss="mse")
    net.optimizer.build(net.trainable_variables)  # as after a first training step
    chief = TrainingBackup(tmp_path / "shared", writer=True)
    driven(chief, net, 0)
    shared = sorted(os.listdir(tmp_path / "shared" / "fit"))
    worker = TrainingBackup(tmp_path / "shared", writer=False)
    callback = driven(worker, net, 1)
    assert callback.resumed_from_epoch == 1 and callback.write_dir != callback.backup_dir
    assert sorted(os.listdir(tmp_path / "shared" / "fit")) == shared  # untouched by the worker
    assert read_backup_state(callback.write_dir)["epoch"] == 2
    worker.remove()
    assert not os.path.exists(callback.write_dir) and os.path.exists(tmp_path / "shared" / "run.json")
    chief.remove()
    assert os.listdir(tmp_path) == []
