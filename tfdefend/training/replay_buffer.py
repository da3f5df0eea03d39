"""`ReplayBuffer`: a fixed-capacity NumPy ring buffer of named transition arrays (for DQN)."""

import numpy as np

from tfdefend.utils.validation import check_positive_int, check_seed


class ReplayBuffer:
    """Uniform experience replay over named arrays, overwriting the oldest rows when full.

    Transitions are dicts of arrays sharing their leading (row) dimension,
    e.g. `{"image": [N, H, W, C], "action": [N], "reward": [N], ...}`. The
    first `add` fixes the field names, per-row shapes and dtypes; storage is
    allocated once (`capacity` rows per field). Later adds must match them.
    Once `capacity` rows have been added, each new row overwrites the oldest.

    Args:
        capacity: Maximum number of stored rows (>= 1).
        seed: Seed (int >= 0, or None) of the sampling generator.

    Raises:
        TypeError: If an argument has the wrong type.
        ValueError: If `capacity` < 1 or `seed` < 0.
    """

    def __init__(self, capacity, seed=0):
        self.capacity = check_positive_int(capacity, "capacity")
        self.seed = check_seed(seed)
        self._rng = np.random.default_rng(self.seed)
        self._storage = None  # name -> array [capacity, ...]
        self._next = 0  # row written by the next add
        self._size = 0

    def __len__(self):
        return self._size

    @property
    def fields(self):
        """The stored field names (empty before the first `add`)."""
        return tuple(self._storage) if self._storage is not None else ()

    @property
    def rng_state(self):
        """The state of the sampling generator (a JSON-serializable dict), e.g. for a checkpoint."""
        return self._rng.bit_generator.state

    @rng_state.setter
    def rng_state(self, state):
        self._rng.bit_generator.state = state

    def _check(self, transitions):
        if not isinstance(transitions, dict) or not transitions:
            raise TypeError("`transitions` must be a non-empty dict of arrays with the same leading "
                            f"dimension, got {type(transitions).__name__}.")
        arrays = {}
        for name, value in transitions.items():
            if not isinstance(name, str):
                raise TypeError(f"`transitions` keys must be strings, got {name!r}.")
            array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
            if array.ndim == 0:
                raise ValueError(f"`transitions[{name!r}]` must have a leading (row) dimension, "
                                 "got a scalar.")
            arrays[name] = array
        rows = {name: a.shape[0] for name, a in arrays.items()}
        if len(set(rows.values())) != 1:
            raise ValueError(f"`transitions` arrays must share their leading dimension, got {rows}.")
        if self._storage is not None:
            if set(arrays) != set(self._storage):
                raise ValueError(f"`transitions` has fields {sorted(arrays)} but the buffer stores "
                                 f"{sorted(self._storage)}.")
            for name, array in arrays.items():
                stored = self._storage[name]
                if array.shape[1:] != stored.shape[1:]:
                    raise ValueError(f"`transitions[{name!r}]` rows have shape {array.shape[1:]}, "
                                     f"the buffer stores {stored.shape[1:]}.")
                if not np.can_cast(array.dtype, stored.dtype, casting="same_kind"):
                    raise TypeError(f"`transitions[{name!r}]` has dtype {array.dtype}, "
                                    f"the buffer stores {stored.dtype}.")
        return arrays, next(iter(rows.values()))

    def add(self, transitions):
        """Appends the rows of `transitions`, overwriting the oldest rows when full.

        Args:
            transitions: Dict of arrays (NumPy arrays or tensors) with the
                same leading dimension; after the first call, the same
                fields, row shapes and compatible dtypes.

        Returns:
            The number of rows added (adding more rows than `capacity` at
            once keeps only the last `capacity`).

        Raises:
            TypeError: If `transitions` is not a dict of arrays, or a dtype
                does not match the stored one.
            ValueError: If the leading dimensions differ or the fields or
                row shapes do not match the stored ones.
        """
        arrays, n = self._check(transitions)
        if self._storage is None:
            self._storage = {name: np.zeros((self.capacity,) + a.shape[1:], a.dtype)
                             for name, a in arrays.items()}
        if n == 0:
            return 0
        if n > self.capacity:
            arrays = {name: a[-self.capacity:] for name, a in arrays.items()}
            n = self.capacity
        rows = (self._next + np.arange(n)) % self.capacity
        for name, array in arrays.items():
            self._storage[name][rows] = array
        self._next = int((self._next + n) % self.capacity)
        self._size = min(self._size + n, self.capacity)
        return n

    def sample(self, batch_size, replace=False):
        """Draws `batch_size` stored rows uniformly at random.

        Args:
            batch_size: Number of rows (>= 1).
            replace: Sample with replacement; without it, `batch_size` must
                not exceed `len(self)`.

        Returns:
            A dict `name -> array [batch_size, ...]` (copies).

        Raises:
            ValueError: If the buffer is empty, or `batch_size` is larger
                than `len(self)` without replacement.
        """
        batch_size = check_positive_int(batch_size, "batch_size")
        if not isinstance(replace, (bool, np.bool_)):
            raise TypeError(f"`replace` must be a bool, got {type(replace).__name__}.")
        if self._size == 0:
            raise ValueError("Cannot sample from an empty ReplayBuffer: call `add` first.")
        if not replace and batch_size > self._size:
            raise ValueError(f"`batch_size`={batch_size} is larger than the {self._size} stored rows; "
                             "pass replace=True or add more transitions.")
        rows = self._rng.choice(self._size, size=batch_size, replace=bool(replace))
        return {name: array[rows] for name, array in self._storage.items()}

    def clear(self):
        """Drops every stored row (the field layout is kept)."""
        self._next = 0
        self._size = 0

    def __repr__(self):
        return f"ReplayBuffer(capacity={self.capacity}, size={self._size}, fields={list(self.fields)})"
