"""`backup_callback`: a crash-safe `keras.callbacks.BackupAndRestore` that resumes a killed `Model.fit`."""

import glob
import json
import os

import keras

from tfdefend.utils.atomic import atomic_path, atomic_write_text
from tfdefend.utils.validation import check_positive_int

STATE_FILE = "backup_state.json"
_WEIGHTS_PATTERN = "ckpt-*.weights.h5"


def backup_callback(backup_dir, *, save_every_steps=None, name="training", announce=True, write_dir=None):
    """Returns a `BackupAndRestore` callback that backs up `fit` atomically and resumes it.

    Pass it to `Model.fit(callbacks=[...])`. It saves the training state at
    the end of every epoch (and every `save_every_steps` batches if given):
    the weights of the model *and of its optimizers* (Adam moments and the
    `iterations` counter, i.e. the position in a learning-rate schedule such
    as `CosineDecay`), the number of finished epochs and the per-epoch logs.
    If `fit` is started again on the same folder, it restores all of that
    and continues with the first unfinished epoch.

    Unlike Keras' own callback it is crash-safe and never deletes anything:

    * each save writes a new `ckpt-N.weights.h5` (under a temporary name,
      then renamed) and then atomically replaces `backup_state.json`, which
      names it; a kill at any moment leaves the previous complete backup;
    * the backup is kept after `fit` returns, so that the caller removes it
      only once the final model is saved (see `TrainingBackup.remove`).

    A backup made mid-epoch (`save_every_steps`) restarts that epoch from
    its start with the mid-epoch weights; the optimizers' `iterations` are
    set back to the epoch's start so that the schedule still ends where it
    was planned to.

    After `fit`, `callback.history` holds the logs of every epoch (also those
    trained before a restart) and `callback.resumed_from_epoch` the number of
    epochs finished before this `fit` (None if it started afresh).

    Args:
        backup_dir: The folder of this `fit`'s backup (created on the first
            save; use one folder per `fit`).
        save_every_steps: Also back up every this many batches (>= 1); None:
            at the end of every epoch only.
        name: What is trained, for the "resuming" line.
        announce: Print one line when resuming.
        write_dir: Where to save, if not `backup_dir` (a non-chief worker of
            a multi-worker run restores from the chief's `backup_dir` but
            saves to a private folder).

    Returns:
        A `keras.callbacks.BackupAndRestore`.

    Raises:
        TypeError: If `backup_dir` is not a path or `save_every_steps` not an int.
        ValueError: If `save_every_steps` < 1.
    """
    if not isinstance(backup_dir, (str, os.PathLike)) or not os.fspath(backup_dir):
        raise TypeError(f"`backup_dir` must be a non-empty path, got {backup_dir!r}.")
    if save_every_steps is not None:
        save_every_steps = check_positive_int(save_every_steps, "backup_every_steps")
    backup_dir = os.fspath(backup_dir)
    write_dir = backup_dir if write_dir is None else os.fspath(write_dir)
    return _AtomicBackupAndRestore(backup_dir, save_every_steps, str(name), bool(announce), write_dir)


def read_backup_state(backup_dir):
    """The saved state dict of a `backup_callback` folder, or None if it holds no backup."""
    path = os.path.join(os.fspath(backup_dir), STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def optimizers_of(model):
    """`{attribute: optimizer}` of `model`: `optimizer` and every `*_optimizer` (e.g. `WGANGP`'s two)."""
    found = {}
    for attr in ["optimizer"] + sorted(a for a in vars(model) if a.endswith("_optimizer")):
        value = getattr(model, attr, None)
        if isinstance(value, keras.optimizers.Optimizer) and all(value is not v for v in found.values()):
            found[attr] = value
    return found


def _build_optimizers(model):
    """Creates the optimizer variables, so that a saved optimizer state can be loaded into them.

    `model.optimizer` is built on `model.trainable_variables`; an
    `X_optimizer` attribute on the trainable variables of the sub-model `X`
    (the convention of `WGANGP`: `generator_optimizer` -> `generator`).
    """
    for attr, optimizer in optimizers_of(model).items():
        if optimizer.built:
            continue
        owner = model if attr == "optimizer" else getattr(model, attr[: -len("_optimizer")], None)
        if owner is None:
            raise ValueError(f"Cannot restore `{attr}` of {type(model).__name__}: no sub-model "
                             f"`{attr[: -len('_optimizer')]}` holds its variables.")
        optimizer.build(owner.trainable_variables)


class _AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` with atomic saves, optimizer-iteration bookkeeping and a complete history."""

    def __init__(self, backup_dir, save_every_steps, name, announce, write_dir):
        super().__init__(backup_dir, save_freq=save_every_steps or "epoch", delete_checkpoint=False)
        self.write_dir = write_dir
        self.name = name
        self.announce = announce
        self.history = {}
        self.resumed_from_epoch = None
        self._serial = 0
        self._steps_in_epoch = 0
        self._epoch_start_iterations = {}

    def _iterations(self):
        return {attr: int(opt.iterations.numpy()) for attr, opt in optimizers_of(self.model).items()}

    def on_train_begin(self, logs=None):
        self.history, self.resumed_from_epoch = {}, None
        self._current_epoch, self._last_batch_seen = 0, 0
        state = read_backup_state(self.backup_dir)
        if state is None:
            return
        if not self.model.built:
            raise ValueError(f"{type(self.model).__name__} must be built before `fit` to resume from "
                             f"{self.backup_dir!r}.")
        _build_optimizers(self.model)
        self.model.load_weights(os.path.join(self.backup_dir, state["weights"]))
        epoch = int(state["epoch"])
        # The step counters (the learning-rate schedule's position) as saved, or for a mid-epoch backup
        # those of its epoch's start: that epoch restarts, so its steps are counted again.
        for attr, optimizer in optimizers_of(self.model).items():
            if attr in state["iterations"]:
                optimizer.iterations.assign(state["iterations"][attr])
        self.model._initial_epoch = epoch
        self._current_epoch, self._serial = epoch, int(state["serial"])
        self.history = {key: list(values) for key, values in state["history"].items()}
        self.resumed_from_epoch = epoch
        if self.write_dir == self.backup_dir:
            self._remove_stale(keep=state["weights"])
        if self.announce:
            epochs = self.params.get("epochs")
            line = (f"{self.name}: resuming from the backup in {self.backup_dir}: "
                    f"{epoch} of {epochs} epochs done")
            if epoch < (epochs or 0):
                line += f", continuing with epoch {epoch + 1}"
                if state["batch"]:
                    line += f" (from its start, with the weights after its step {state['batch']})"
            print(line, flush=True)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start_iterations = self._iterations()
        self._steps_in_epoch = 0

    def on_train_batch_end(self, batch, logs=None):
        self._steps_in_epoch = batch + 1
        last = self._steps_in_epoch == self.params.get("steps")  # the epoch's end saves anyway
        if self._should_save_on_batch(batch) and not last:
            self._save(mid_epoch=True)

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        self._batches_seen_since_last_saving = 0
        self._save(mid_epoch=False)  # always at an epoch's end, also with `save_every_steps`

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None  # Keras leaves it set: a later `fit` would skip epochs

    def _save_model(self):
        self._save(mid_epoch=self._steps_in_epoch > 0)

    def _save(self, mid_epoch):
        os.makedirs(self.write_dir, exist_ok=True)
        self._serial += 1
        weights = f"ckpt-{self._serial:06d}.weights.h5"
        with atomic_path(os.path.join(self.write_dir, weights), suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        state = {"epoch": self._current_epoch, "batch": self._steps_in_epoch if mid_epoch else 0,
                 "weights": weights, "serial": self._serial, "history": self.history,
                 "iterations": self._epoch_start_iterations if mid_epoch else self._iterations()}
        atomic_write_text(os.path.join(self.write_dir, STATE_FILE), json.dumps(state) + "\n")
        self._remove_stale(keep=weights)

    def _remove_stale(self, keep):
        for path in glob.glob(os.path.join(glob.escape(self.write_dir), _WEIGHTS_PATTERN)):
            if os.path.basename(path) != keep:
                os.remove(path)
