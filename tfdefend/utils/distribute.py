"""`tf.distribute` helpers: a strategy by name, the chief, global-batch losses, per-replica draws.

Every trainer of `tfdefend.training` runs unchanged under
`tf.distribute.MirroredStrategy` (several GPUs, or CPU devices, of one
machine) and `tf.distribute.MultiWorkerMirroredStrategy` (several machines):
build and compile the models inside `strategy.scope()` and call `fit` with
the *global* batch size. Each replica runs `train_step` (attacks included)
on its share of the batch; Keras sums the replicas' gradients, so every
hand-written loss is passed through `scale_for_replicas` (the replica's
mean times its share of the global batch), and every random draw inside
`train_step` goes through `replica_rows` (each replica takes its own rows
of one draw for the global batch: different noise per replica, and the same
numbers as on one device).

Multi-worker: start the same command on every machine, each with a
`TF_CONFIG` naming all the workers and its own place among them, e.g. on the
first of two machines

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                "task": {"type": "worker", "index": 0}}' \\
    tfdefend train --model small_cnn --dataset fashion_mnist --epochs 5 \\
        --batch-size 256 --output runs/cnn.keras --strategy multiworker

and `"index": 1` on the second. Worker 0 (or the task of type "chief", if
the cluster has one) writes the model and its metrics; the others save to a
temporary directory that they delete (saving reads the replicas' variables
with collective ops, so every worker must take part).
"""

import contextlib
import json
import os
import shutil
import tempfile

STRATEGIES = ("default", "mirrored", "multiworker")

# One strategy of each kind per process: TF allows one MultiWorkerMirroredStrategy, and two
# MirroredStrategy objects over the same devices can clash in their collective-op keys.
_CREATED = {}


def get_strategy(name="default"):
    """Returns the `tf.distribute` strategy called `name`.

    Args:
        name: "default" (`tf.distribute.get_strategy()`: the current
            strategy, or one device), "mirrored" (`MirroredStrategy` over
            all local GPUs, or all logical CPU devices if there is no GPU)
            or "multiworker" (`MultiWorkerMirroredStrategy` from the
            `TF_CONFIG` environment variable; create it before any other
            TensorFlow work of the process).

    Returns:
        A `tf.distribute.Strategy`; use `with strategy.scope():` to build
        and compile models. "mirrored" and "multiworker" are created once
        per process and then returned again.

    Raises:
        TypeError: If `name` is not a string.
        ValueError: If `name` is unknown, or for "multiworker" if
            `TF_CONFIG` is missing or invalid.
    """
    if not isinstance(name, str):
        raise TypeError(f"`name` must be a string, one of {list(STRATEGIES)}, got {type(name).__name__}.")
    if name not in STRATEGIES:
        raise ValueError(f"`name` must be one of {list(STRATEGIES)}, got {name!r}.")
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name not in _CREATED:
        if name == "mirrored":
            devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
            _CREATED[name] = tf.distribute.MirroredStrategy([device.name for device in devices])
        else:
            tf_config()  # fail early and clearly on a missing or bad TF_CONFIG
            try:
                _CREATED[name] = _multi_worker_strategy()
            except RuntimeError as exc:
                raise RuntimeError(f"Could not create MultiWorkerMirroredStrategy ({exc}); create it at the "
                                   "start of the program, before any other TensorFlow work.") from exc
    return _CREATED[name]


def _multi_worker_strategy():
    """A `MultiWorkerMirroredStrategy` (from `TF_CONFIG`) whose `reduce` takes what Keras 3 gives it.

    Keras 3's `fit` (3.15, keras-team/keras#20585) reduces the first (x, y)
    batch as one nested structure to build the model, which
    `MirroredStrategy` accepts but `MultiWorkerMirroredStrategy` does not,
    and reduces the scalar logs of every step with `axis=0`. This `reduce`
    maps over nested structures and reduces scalars across the replicas
    only (`axis=None`); anything else is the parent's `reduce`.
    """
    import tensorflow as tf

    class KerasMultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
        def reduce(self, reduce_op, value, axis=None):
            parent = super().reduce

            def reduce_one(v):
                local = self.experimental_local_results(v)[0] if isinstance(
                    v, tf.distribute.DistributedValues) else v
                scalar = getattr(getattr(local, "shape", None), "rank", None) == 0
                return parent(reduce_op, v, axis=None if scalar else axis)

            return tf.nest.map_structure(reduce_one, value)

    return KerasMultiWorkerMirroredStrategy()


def tf_config():
    """The parsed `TF_CONFIG` environment variable, checked.

    Returns:
        A dict with "cluster" (task type -> list of "host:port") and "task"
        ({"type": ..., "index": ...}).

    Raises:
        ValueError: If `TF_CONFIG` is missing, not JSON, or does not name
            this task within the cluster.
    """
    raw = os.environ.get("TF_CONFIG", "")
    if not raw.strip():
        raise ValueError("The 'multiworker' strategy needs the TF_CONFIG environment variable, e.g. "
                         '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                         '"task": {"type": "worker", "index": 0}}.')
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"TF_CONFIG is not valid JSON ({exc}): {raw!r}.") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster or not all(
            isinstance(hosts, list) and hosts and all(isinstance(h, str) for h in hosts)
            for hosts in cluster.values()):
        raise ValueError(f"TF_CONFIG needs a 'cluster' mapping task types to lists of 'host:port', got {raw!r}.")
    if not {"worker", "chief"} & set(cluster):
        raise ValueError(f"TF_CONFIG's cluster needs 'worker' (and optionally 'chief') tasks, got {sorted(cluster)}.")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise ValueError(f"TF_CONFIG needs a 'task' whose 'type' is one of {sorted(cluster)}, got {task!r}.")
    index = task.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[task["type"]]):
        raise ValueError(f"TF_CONFIG's task index must be an int in [0, {len(cluster[task['type']])}), "
                         f"got {index!r}.")
    return {"cluster": cluster, "task": {"type": task["type"], "index": index}}


def is_chief(strategy=None):
    """Whether this process writes the outputs (models, metrics, checkpoints).

    Args:
        strategy: Optional `tf.distribute.Strategy`; if given, its own answer
            (`strategy.extended.should_checkpoint`: True for one-machine
            strategies). Without it, from `TF_CONFIG`: True without
            `TF_CONFIG`, else for the "chief" task, or worker 0 when the
            cluster has no chief.

    Raises:
        ValueError: If `TF_CONFIG` is set but invalid.
    """
    if strategy is not None:
        return bool(strategy.extended.should_checkpoint)
    if not os.environ.get("TF_CONFIG", "").strip():
        return True
    config = tf_config()
    task_type, index = config["task"]["type"], config["task"]["index"]
    if task_type == "chief":
        return True
    return task_type == "worker" and index == 0 and "chief" not in config["cluster"]


@contextlib.contextmanager
def chief_output_path(path, strategy=None):
    """Yields where this worker saves `path`: `path` itself on the chief, else a temporary file.

    The standard multi-worker pattern: every worker saves (saving may run
    collective ops), but only the chief's file is kept; a non-chief's
    temporary directory is deleted on exit.

    Args:
        path: The output file.
        strategy: Passed to `is_chief`.
    """
    if is_chief(strategy):
        yield path
        return
    temp_dir = tempfile.mkdtemp(prefix="tfdefend_worker_")
    try:
        yield os.path.join(temp_dir, os.path.basename(str(path)))
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)


def scale_for_replicas(loss, batch_size=None):
    """Turns a replica's batch-mean loss into its share of the global-batch mean.

    Keras sums the gradients of the replicas, so a loss averaged over the
    replica's `batch_size` examples is multiplied by `batch_size / global
    batch` (the global batch all-reduced over the replicas, so uneven last
    batches are weighted right, and a replica with no examples, whose mean
    is NaN, contributes 0), or by `1 / num_replicas` without `batch_size`.
    Outside a multi-replica context the loss is returned as is. Track the
    unscaled loss in metrics. Call it after the forward passes (it syncs
    the replicas).

    Args:
        loss: Scalar loss tensor (a mean over the replica's batch).
        batch_size: The replica's batch size (int or scalar tensor), or None.

    Returns:
        The scaled loss, same dtype.
    """
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return loss
    loss = tf.convert_to_tensor(loss)
    if batch_size is None:
        return loss * tf.cast(1.0 / context.num_replicas_in_sync, loss.dtype)
    local = tf.cast(batch_size, tf.float32)
    total = context.all_reduce(tf.distribute.ReduceOp.SUM, local)
    scaled = loss * tf.cast(tf.math.divide_no_nan(local, total), loss.dtype)
    return tf.where(local > 0, scaled, tf.zeros_like(scaled))


def global_mean(per_example, sample_weight=None):
    """The replica's share of the global-batch mean of per-example values.

    `sum(sample_weight * per_example) / global_batch` (per-example values of
    rank > 1 are first averaged per example), the loss to differentiate in
    a custom `train_step`; summed over the replicas it is the mean over the
    global batch. On one replica it is the plain (weighted) batch mean.

    Args:
        per_example: Values `[N, ...]`.
        sample_weight: Optional weights `[N]`.
    """
    import tensorflow as tf

    per_example = tf.convert_to_tensor(per_example)
    if per_example.shape.rank and per_example.shape.rank > 1:
        per_example = tf.reduce_mean(per_example, axis=list(range(1, per_example.shape.rank)))
    if sample_weight is not None:
        per_example = per_example * tf.reshape(tf.cast(sample_weight, per_example.dtype), [-1])
    return scale_for_replicas(tf.reduce_mean(per_example), tf.shape(per_example)[0])


def replica_rows(draw, batch_size):
    """This replica's rows of a random draw made for the whole global batch.

    Every replica calls `draw(batch_size * num_replicas)` (with the same,
    mirrored seed state) and keeps the rows `replica_id * batch_size` on,
    which are its own examples when the replicas hold equal shares of the
    global batch (`tf.distribute` gives replica 0 the first rows). So the
    replicas get different random numbers, and the same ones as a single
    device would for the same global batch. (In an uneven last batch the
    draws are still valid, but not the single-device ones, and a row may
    repeat another replica's.) It runs no collective op, so it is safe
    inside a layer's `call`: a cross-replica sync in a forward pass would
    interleave the replicas' tracing, and Keras keeps layer losses
    (`add_loss`) on the layer, shared by the replicas. Outside a
    multi-replica context it is `draw(batch_size)`.

    Args:
        draw: A function of the number of rows (int or scalar int tensor)
            returning a tensor `[rows, ...]`.
        batch_size: The replica's batch size (int or scalar tensor).

    Returns:
        A tensor `[batch_size, ...]`.
    """
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return draw(batch_size)
    local = tf.cast(batch_size, tf.int32)
    offset = local * tf.cast(context.replica_id_in_sync_group, tf.int32)
    values = draw(local * context.num_replicas_in_sync)
    return values[offset:offset + local]

