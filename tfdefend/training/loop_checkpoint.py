"""`LoopCheckpoint`: crash-safe checkpoints of a custom training loop (`tf.train.CheckpointManager`)."""

import glob
import json
import os

import numpy as np
import tensorflow as tf

from tfdefend.utils.atomic import atomic_path
from tfdefend.utils.validation import check_positive_int

_CHUNK = "buffer-{:07d}.npz"


class LoopCheckpoint:
    """Saves and restores a custom loop's state: variables, iteration count, JSON state, replay buffer.

    One `tf.train.Checkpoint` holds the `trackables` (Keras models, built
    optimizers, variables), the number of finished iterations and a JSON
    string with the loop's own state (`extra`: NumPy generator states,
    histories) and the replay buffer's index; `tf.train.CheckpointManager`
    (`max_to_keep=1`) writes it and only then points its `checkpoint` file
    at it, so a kill leaves the previous complete checkpoint.

    Replay buffer: every `add_to_buffer` call also writes its rows to a small
    `buffer-N.npz` file (each iteration writes only what it adds, not the
    whole buffer). On `restore`, the adds are replayed in order into the
    empty buffer (adds whose rows were all overwritten since are replayed as
    zeros and their files deleted), and its sampling generator is reset, so
    the buffer is exactly the one at the checkpoint. The files hold at most
    about `capacity` rows.

    With `directory=None` every method is a no-op (`add_to_buffer` only adds
    to the buffer), so a loop has a single code path.

    Args:
        directory: The checkpoint folder (created on the first save), or None.
        trackables: `{name: object}` that `tf.train.Checkpoint` saves; build
            optimizers before `restore` (`optimizer.build(variables)`).
        buffer: Optional `ReplayBuffer` filled through `add_to_buffer`.
        every: Save every this many iterations (>= 1); `save(..., final=True)`
            always saves.
        name: What is trained, for the "resuming" line.
        announce: Print one line when resuming.

    Raises:
        TypeError: If `trackables` is not a dict or `every` is not an int.
        ValueError: If `every` < 1.
    """

    def __init__(self, directory, trackables, *, buffer=None, every=1, name="training", announce=True):
        if not isinstance(trackables, dict):
            raise TypeError("`trackables` must be a dict of name -> trackable, "
                            f"got {type(trackables).__name__}.")
        self.directory = None if directory is None else os.fspath(directory)
        self.buffer = buffer
        self.every = check_positive_int(every, "every")
        self.name, self.announce = str(name), bool(announce)
        self._journal = []  # one [rows, chunk file or None] per add
        self._schema = None  # {field: [row shape, dtype]}
        self._iteration = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._state = tf.Variable("", dtype=tf.string, trainable=False)
        self._checkpoint = tf.train.Checkpoint(loop_iteration=self._iteration, loop_state=self._state,
                                               **trackables)
        self._manager = None
        if self.directory is not None:
            self._manager = tf.train.CheckpointManager(self._checkpoint, self.directory, max_to_keep=1,
                                                       checkpoint_name="loop")

    def restore(self):
        """Restores the latest checkpoint; returns `{"iteration": n, "extra": dict}`, or None if none."""
        if self._manager is None or self._manager.latest_checkpoint is None:
            return None
        self._checkpoint.restore(self._manager.latest_checkpoint).assert_existing_objects_matched()
        state = json.loads(self._state.numpy().decode("utf-8"))
        iteration = int(self._iteration.numpy())
        self._journal = [list(entry) for entry in state["journal"]]
        self._schema = state["schema"]
        if self.buffer is not None and self._journal:
            self._replay_buffer(state["buffer_rng"])
        self._remove_unused_chunks()
        if self.announce:
            print(f"{self.name}: resuming from the checkpoint in {self.directory}: "
                  f"{iteration} iterations done, continuing with iteration {iteration + 1}", flush=True)
        return {"iteration": iteration, "extra": state["extra"]}

    def add_to_buffer(self, transitions):
        """Adds `transitions` (dict of arrays) to the buffer and records them for the next checkpoint."""
        if self.buffer is None:
            raise ValueError("This LoopCheckpoint has no `buffer`.")
        rows = self.buffer.add(transitions)
        if self.directory is None:
            return rows
        arrays = {k: np.asarray(v.numpy() if hasattr(v, "numpy") else v) for k, v in transitions.items()}
        if self._schema is None:
            self._schema = {k: [list(a.shape[1:]), a.dtype.str] for k, a in arrays.items()}
        os.makedirs(self.directory, exist_ok=True)
        chunk = _CHUNK.format(len(self._journal))
        with atomic_path(os.path.join(self.directory, chunk), suffix=".npz") as tmp:
            with open(tmp, "wb") as handle:
                np.savez(handle, **arrays)
        self._journal.append([len(next(iter(arrays.values()))), chunk])
        return rows

    def save(self, iteration, extra=None, *, final=False):
        """Checkpoints after `iteration` finished iterations if due (every `every`, or `final`).

        Args:
            iteration: Number of finished iterations.
            extra: JSON-serializable loop state, given back by `restore`.
            final: Save even if `iteration` is not a multiple of `every`.

        Returns:
            Whether a checkpoint was written.
        """
        if self._manager is None or not (final or iteration % self.every == 0):
            return False
        self._drop_overwritten()
        state = {"extra": extra or {}, "journal": self._journal, "schema": self._schema,
                 "buffer_rng": None if self.buffer is None else self.buffer.rng_state}
        self._iteration.assign(int(iteration))
        self._state.assign(json.dumps(state))
        self._manager.save(checkpoint_number=int(iteration))
        self._remove_unused_chunks()
        return True

    def _drop_overwritten(self):
        """Forgets the files of adds whose rows were all overwritten by later adds (kept as row counts)."""
        if self.buffer is None:
            return
        later = 0
        for entry in reversed(self._journal):
            if later >= self.buffer.capacity:
                entry[1] = None
            later += entry[0]

    def _replay_buffer(self, rng_state):
        for rows, chunk in self._journal:
            if chunk is None:
                arrays = {k: np.zeros([rows] + shape, np.dtype(dtype))
                          for k, (shape, dtype) in self._schema.items()}
            else:
                with np.load(os.path.join(self.directory, chunk), allow_pickle=False) as data:
                    arrays = {k: data[k] for k in data.files}
            self.buffer.add(arrays)
        self.buffer.rng_state = rng_state

    def _remove_unused_chunks(self):
        used = {chunk for _, chunk in self._journal if chunk is not None}
        for path in glob.glob(os.path.join(glob.escape(self.directory), "buffer-*.npz")):
            if os.path.basename(path) not in used:
                os.remove(path)
