"""Iterations of an attack as unrolled chunks of compiled steps instead of one `tf.while_loop`.

Why not a while loop: with oneDNN on (TensorFlow's default on x86), the
graph pass that swaps in oneDNN kernels does not reliably rewrite the
backward ops inside a while-loop body. Measured on TF 2.21: a model's
`MaxPoolGrad` stays TensorFlow's own kernel in some processes and becomes
`_MklNativeMaxPoolGrad` in others (same code, same `PYTHONHASHSEED`), and
the former is ~40x slower, so PGD-10 on a small CNN took 1.5x the time of
the same ten steps unrolled, depending on the process. Straight-line
graphs are rewritten every time. So the loop runs in Python over compiled
chunks of 8, 4, 2 and 1 unrolled steps (the binary decomposition of
`steps`): at most 4 traces per input shape, whatever `steps` is, and
`steps // 8 + 3` calls at most.
"""

import tensorflow as tf

CHUNKS = (8, 4, 2, 1)
_CONCRETE_CACHE = 64  # concrete functions kept per loop (chunk sizes x input signatures)


def chunk_plan(steps):
    """The chunk sizes (from `CHUNKS`) that add up to `steps`, largest first.

    Args:
        steps: Python int >= 0.

    Returns:
        A list of ints, e.g. `[8, 2]` for 10 and `[8, 8, 8, 4, 1]` for 29.
    """
    plan, left = [], int(steps)
    for size in CHUNKS:
        count, left = divmod(left, size)
        plan.extend([size] * count)
    return plan


class UnrolledLoop:
    """`steps` applications of `step(i, state, constants) -> state`, run as compiled unrolled chunks.

    Args:
        step: A function of tensors: `i` (int32 scalar, the iteration's index
            counted from 0), `state` (a tensor or nested structure of tensors,
            the same structure in and out) and `constants` (a nested structure
            of tensors the loop does not change).
        prologue: Optional `prologue(constants) -> constants`, run once at the
            start of each chunk (e.g. to compute a projection's bounds once,
            not in every step).

    Each chunk is a `tf.function(reduce_retracing=True)`, so it is traced once
    per input shape (and once more, generalized, if the shape changes).
    """

    def __init__(self, step, prologue=None):
        self._step = step
        self._prologue = prologue
        self._chunks = {}
        self._concrete = {}  # (size, input shapes and dtypes) -> concrete function
        self._op_types = set()

    def _chunk(self, size):
        fn = self._chunks.get(size)
        if fn is None:
            step, prologue, op_types = self._step, self._prologue, self._op_types

            @tf.function(reduce_retracing=True)
            def fn(i, state, constants):
                if prologue is not None:
                    constants = prologue(constants)
                for k in range(size):  # unrolled: a straight-line graph
                    state = step(i + k, state, constants)
                op_types.update(op.type for op in tf.compat.v1.get_default_graph().get_operations())
                return state

            self._chunks[size] = fn
        return fn

    def __call__(self, state, constants, steps, *, until=None):
        """Runs `steps` iterations from `state`.

        Args:
            state: The initial state (tensors).
            constants: The loop's constant tensors.
            steps: Python int >= 0.
            until: Optional `until(state) -> bool` checked between chunks; True
                ends the loop early (e.g. when every image is done).

        Returns:
            The final state.
        """
        i = 0
        for size in chunk_plan(steps):
            if until is not None and until(state):
                break
            state = self._run_chunk(size, tf.constant(i, tf.int32), state, constants)
            i += size
        return state

    def _run_chunk(self, size, i, state, constants):
        """Calls the chunk of `size` through its concrete function for these input shapes.

        A concrete function skips the `tf.function`'s argument matching (about a third of
        a batch-1 call's dispatch); it is found once per chunk size and input signature.
        """
        flat = tf.nest.flatten((state, constants))
        key = (size, tuple((tuple(t.shape), t.dtype) for t in flat))
        concrete = self._concrete.get(key)
        if concrete is None:
            concrete = self._chunk(size).get_concrete_function(i, state, constants)
            self._concrete[key] = concrete
            while len(self._concrete) > _CONCRETE_CACHE:
                self._concrete.pop(next(iter(self._concrete)))
        return concrete(i, state, constants)

    def traced_op_types(self):
        """The op types of every chunk graph traced so far (e.g. to check that none holds a `While`)."""
        return frozenset(self._op_types)

    def tracing_count(self):
        """The largest tracing count among the compiled chunks (0 before the first call)."""
        return max((fn.experimental_get_tracing_count() for fn in self._chunks.values()), default=0)


def as_kernel(run, loop, *functions):
    """Marks `run` as a cached attack kernel: `run.loop` is its `UnrolledLoop`, and `run.tracing_count()` the
    largest tracing count of the loop's chunks and of the other compiled `functions` it calls (e.g. a start).

    Returns:
        `run`.
    """
    run.loop = loop
    run.tracing_count = lambda: max([loop.tracing_count()] + [f.experimental_get_tracing_count() for f in functions])
    return run
