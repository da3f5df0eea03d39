"""`TrainingBackup`: the backup folder of a long training run, so that a killed run resumes where it stopped.

A run is split into phases (e.g. UDDN's attack, W-GAN-GP, denoiser and
distillation). A `fit` phase backs itself up with `backup_callback` (in
`DIR/PHASE/`), a custom loop with `LoopCheckpoint` (also `DIR/PHASE/`), and a
finished phase's results (weights of its models, arrays, JSON info) are
saved in `DIR/PHASE.done/`, so that a rerun skips it. The folder is kept
until the caller has saved its final outputs and calls `remove()`.

Layout::

    DIR/run.json          written first: marks the folder as a backup, holds the run's fingerprint
    DIR/PHASE/            an unfinished phase's `backup_callback` or `LoopCheckpoint` files
    DIR/PHASE.done/       a finished phase: MODEL.weights.h5, ARRAY.npy, info.json (one atomic rename)
"""

import json
import os
import shutil
import tempfile
import time

import numpy as np

from tfdefend.training.backup_callback import backup_callback
from tfdefend.training.loop_checkpoint import LoopCheckpoint
from tfdefend.utils.atomic import atomic_path, atomic_write_text
from tfdefend.utils.distribute import is_chief
from tfdefend.utils.validation import check_positive_int

RUN_FILE = "run.json"


class TrainingBackup:
    """The backup folder of one training run (see the module docstring); `directory=None` disables it.

    Disabled, it keeps no state: `callbacks` is empty, no phase is done,
    `run_phase` just runs and `remove` does nothing, so a trainer has one
    code path with and without a backup.

    Args:
        directory: The folder (created when the first phase starts), or None.
        fingerprint: Optional JSON-serializable settings of the run (model,
            data, epochs, ...). A folder made with other settings is
            refused (ValueError), instead of resuming an unrelated run.
        every_steps: Passed to `backup_callback` as `save_every_steps`.
        announce: Print a line when a phase resumes or is skipped.
        writer: Whether this process writes the backup; default: it is the
            chief of a multi-worker `TF_CONFIG` cluster (or has none). Every
            worker restores from the folder (shared, like the outputs), but
            only the writer saves there and removes it; the others save to a
            private temporary folder (as tf.distribute expects every worker
            to save) and skip phase results and loop checkpoints.

    Raises:
        TypeError: If `directory` is not a path.
        ValueError: If the folder exists but is not a backup, or belongs to a
            run with another fingerprint (the message names the settings).
    """

    def __init__(self, directory, *, fingerprint=None, every_steps=None, announce=True, writer=None):
        if directory is not None and (not isinstance(directory, (str, os.PathLike))
                                      or not os.fspath(directory)):
            raise TypeError(f"`backup_dir` must be a non-empty path or None, got {directory!r}.")
        self.directory = None if directory is None else os.fspath(directory)
        self.fingerprint = None if fingerprint is None else json.loads(json.dumps(fingerprint))
        self.every_steps = (None if every_steps is None
                            else check_positive_int(every_steps, "backup_every_steps"))
        self.announce = bool(announce)
        self.writer = bool(writer) if writer is not None else self.directory is None or is_chief()
        self._private = None  # a non-writer's own folder for its saves
        self._callbacks = {}
        if self.directory is not None:
            self._check_folder()

    @staticmethod
    def default_directory(output):
        """The default backup folder of a run writing `output`: `OUTPUT.backup` next to it."""
        return os.fspath(output) + ".backup"

    @classmethod
    def for_output(cls, output, *, enabled=True, directory=None, fingerprint=None, every_steps=None):
        """The backup of a job writing `output`: `directory` or `OUTPUT.backup`; disabled if not `enabled`."""
        if not enabled:
            if directory is not None:
                raise ValueError("Give a `backup_dir` or turn the backup off (backup=False), not both.")
            return cls(None)
        return cls(cls.default_directory(output) if directory is None else directory,
                   fingerprint=fingerprint, every_steps=every_steps)

    @property
    def enabled(self):
        return self.directory is not None

    def _check_folder(self):
        run_file = os.path.join(self.directory, RUN_FILE)
        if not os.path.exists(run_file):
            if os.path.isdir(self.directory) and os.listdir(self.directory):
                raise ValueError(f"`backup_dir` {self.directory!r} is a folder with files but not a tfdefend "
                                 f"backup (no {RUN_FILE}); choose another folder.")
            if os.path.exists(self.directory) and not os.path.isdir(self.directory):
                raise ValueError(f"`backup_dir` {self.directory!r} is a file, not a folder.")
            return
        with open(run_file, encoding="utf-8") as handle:
            saved = json.load(handle).get("fingerprint")
        if self.fingerprint is not None and saved is not None and saved != self.fingerprint:
            keys = sorted(k for k in set(saved) | set(self.fingerprint)
                          if saved.get(k) != self.fingerprint.get(k))
            changes = ", ".join(f"{k}: {saved.get(k)!r} -> {self.fingerprint.get(k)!r}" for k in keys)
            raise ValueError(f"The backup in {self.directory!r} is of a run with other settings ({changes}). "
                             "Rerun that command to resume it, or delete the folder (or turn the backup off) "
                             "to start over.")

    def _ensure(self):
        if self.writer and not os.path.exists(os.path.join(self.directory, RUN_FILE)):
            os.makedirs(self.directory, exist_ok=True)
            atomic_write_text(os.path.join(self.directory, RUN_FILE),
                              json.dumps({"fingerprint": self.fingerprint, "created": time.time()}) + "\n")

    def _path(self, phase, done=False):
        if not isinstance(phase, str) or not phase or os.sep in phase or phase.startswith("."):
            raise ValueError(f"`phase` must be a plain folder name, got {phase!r}.")
        return os.path.join(self.directory, phase + (".done" if done else ""))

    def subfolder(self, name):
        """`DIR/NAME` for a nested trainer's backup (marking DIR as this run's), or None when disabled."""
        if not self.enabled:
            return None
        self._ensure()
        return self._path(name)

    def callbacks(self, phase, *, name=None):
        """`[backup_callback]` for the `fit` of `phase` (in `DIR/PHASE/`), or `[]` when disabled."""
        if not self.enabled:
            return []
        self._ensure()
        write_dir = None
        if not self.writer:
            self._private = self._private or tempfile.mkdtemp(prefix="tfdefend_worker_backup_")
            write_dir = os.path.join(self._private, phase)
        self._callbacks[phase] = backup_callback(self._path(phase), save_every_steps=self.every_steps,
                                                 name=name or phase, announce=self.announce,
                                                 write_dir=write_dir)
        return [self._callbacks[phase]]

    def loop_checkpoint(self, phase, trackables, *, buffer=None, every=1, name=None):
        """A `LoopCheckpoint` of a custom loop in `DIR/PHASE/` (a pass-through one when disabled)."""
        active = self.enabled and self.writer
        if active:
            self._ensure()
        return LoopCheckpoint(self._path(phase) if active else None, trackables, buffer=buffer,
                              every=every, name=name or phase, announce=self.announce)

    def is_done(self, phase):
        """Whether `phase` finished and its results are saved."""
        return self.enabled and os.path.isdir(self._path(phase, done=True))

    def save_phase(self, phase, *, models=None, arrays=None, info=None):
        """Saves a finished phase's results atomically and drops its unfinished backup.

        Args:
            phase: The phase name.
            models: `{name: keras.Model}` whose weights are saved.
            arrays: `{name: array}` saved as `.npy`.
            info: JSON-serializable dict (histories, sizes, seconds).
        """
        if not (self.enabled and self.writer):
            return
        self._ensure()
        with atomic_path(self._path(phase, done=True), suffix="") as tmp:
            os.makedirs(tmp)
            for key, model in (models or {}).items():
                model.save_weights(os.path.join(tmp, f"{key}.weights.h5"))
            for key, array in (arrays or {}).items():
                np.save(os.path.join(tmp, f"{key}.npy"), np.asarray(array), allow_pickle=False)
            with open(os.path.join(tmp, "info.json"), "w", encoding="utf-8") as handle:
                json.dump(info or {}, handle, default=_json_value)
        shutil.rmtree(self._path(phase), ignore_errors=True)

    def load_phase(self, phase, *, models=None, name=None):
        """Loads a finished phase: its weights into `models`; returns `{**info, **arrays}`."""
        folder = self._path(phase, done=True)
        if self.announce:
            print(f"{name or phase}: done before, loaded from the backup in {self.directory}", flush=True)
        for key, model in (models or {}).items():
            model.load_weights(os.path.join(folder, f"{key}.weights.h5"))
        with open(os.path.join(folder, "info.json"), encoding="utf-8") as handle:
            result = json.load(handle)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".npy"):
                result[name[:-4]] = np.load(os.path.join(folder, name), allow_pickle=False)
        return result

    def run_phase(self, phase, fit, *, models=None, name=None):
        """Runs `fit(callbacks)` unless `phase` is done, saves its results; returns them either way.

        Args:
            phase: The phase name.
            fit: Called with the `callbacks` list for `Model.fit`; returns a
                dict of NumPy arrays and JSON values. If the callback saw
                epochs, its logs (which span restarts) become "history".
            models: `{name: keras.Model}` whose trained weights are the
                phase's result (loaded into them when the phase is skipped).
            name: What is trained, for the printed lines.

        Returns:
            The dict `fit` returned (arrays and values), also when loaded.
        """
        if self.is_done(phase):
            return self.load_phase(phase, models=models, name=name)
        callbacks = self.callbacks(phase, name=name)
        result = dict(fit(callbacks) or {})
        if callbacks and callbacks[0].history:  # the epochs of every run, not only of this one
            result["history"] = callbacks[0].history
        arrays = {k: v for k, v in result.items() if isinstance(v, np.ndarray)}
        self.save_phase(phase, models=models, arrays=arrays,
                        info={k: v for k, v in result.items() if k not in arrays})
        return result

    def remove(self):
        """Deletes the backup folder (call it once the final outputs are saved); a no-op when disabled.

        The folder is first renamed away, so a kill during the deletion never
        leaves a half-deleted backup that a rerun would resume from.
        """
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None
        if not (self.enabled and self.writer) or not os.path.exists(os.path.join(self.directory, RUN_FILE)):
            return
        parent = os.path.dirname(os.path.abspath(self.directory))
        trash = tempfile.mkdtemp(prefix=f".{os.path.basename(self.directory)}.", suffix=".deleting",
                                 dir=parent)
        os.replace(self.directory, os.path.join(trash, "backup"))
        shutil.rmtree(trash, ignore_errors=True)


def _json_value(value):
    """NumPy scalars and arrays (e.g. in Keras histories) as JSON values."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"A phase result must be JSON-serializable, got {type(value).__name__}.")
