"""Every trainer under tf.distribute: MirroredStrategy over 2 CPU devices matches one device, and
MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1 keeps the workers equal.

Both need TensorFlow configured before it starts (two logical CPU devices; `TF_CONFIG`), so they
run in subprocesses (`distributed_equivalence.py`, `multiworker_worker.py`), all started at once
by one module fixture so that they share the CPUs.
"""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

from tfdefend.models import register_model  # noqa: F401 - imports (registers) every model class

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TRAINERS = ("classifier", "adversarial_training", "trades", "mart", "fast_adversarial_training", "deep_defense", "distiller", "wgan_gp", "comdefend",
            "uddn_guided", "uneven_batches", "dqn")
TIMEOUT = 600


def _env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _start(args, env):
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _finish(process):
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return process.returncode, output


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Starts the 1-vs-2-replica comparison and the two multi-worker workers together."""
    work = tmp_path_factory.mktemp("multiworker")
    (work / "model").mkdir()
    output = str(work / "model" / "cnn.keras")
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    workers = [_start([os.path.join(HERE, "multiworker_worker.py"), str(work), output],
                      _env(TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})))
               for i in range(2)]
    mirrored = _start([os.path.join(HERE, "distributed_equivalence.py"), *TRAINERS], _env())
    code, text = _finish(mirrored)
    results = [line for line in text.splitlines() if line.startswith("RESULTS ")]
    assert code == 0 and results, text[-4000:]
    return {"mirrored": json.loads(results[-1][len("RESULTS "):]),
            "workers": [_finish(worker) for worker in workers], "work": work, "output": output}


@pytest.mark.parametrize("trainer", TRAINERS)
def test_two_replicas_match_one_device(runs, trainer):
    result = runs["mirrored"][trainer]
    assert "error" not in result, result.get("error")
    assert result["replicas"] == 2
    assert result["start_gap"] == 0.0
    assert result["moved"] > 1e-4, "training did not move the weights"
    # A loss not averaged by the global batch moves the two runs apart by about half a step.
    assert result["gap"] <= 1e-5 + 1e-4 * result["moved"], result


def test_multiworker_workers_end_equal_and_only_chief_writes(runs):
    work = runs["work"]
    for code, text in runs["workers"]:
        assert code == 0, text[-4000:]
    assert sorted(os.listdir(work / "model")) == ["cnn.json", "cnn.keras"]
    saved = [json.loads((work / f"saved_{i}.json").read_text())["path"] for i in range(2)]
    assert saved[0] == os.path.abspath(runs["output"])
    assert os.path.dirname(saved[1]) != os.path.dirname(saved[0])
    assert not os.path.exists(saved[1]) and not os.path.exists(os.path.dirname(saved[1]))
    chief, other = (np.load(work / f"weights_{i}.npz") for i in range(2))
    assert len(chief.files) == len(other.files) > 0
    for key in chief.files:
        np.testing.assert_allclose(chief[key], other[key], rtol=0, atol=1e-6)
    model = keras.models.load_model(runs["output"], compile=False)
    for saved_weight, key in zip(model.get_weights(), chief.files):
        np.testing.assert_allclose(saved_weight, chief[key], rtol=0, atol=0)
    metrics = json.loads((work / "model" / "cnn.json").read_text())
    assert metrics["strategy"] == "multiworker" and metrics["replicas"] == 2
