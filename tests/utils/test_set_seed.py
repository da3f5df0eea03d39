"""Tests for `set_seed`: bit-for-bit repeatable attacks and training on CPU.

Op determinism is process-global and cannot be switched off, so everything
that calls `set_seed(..., deterministic=True)` runs in a subprocess
(`determinism_run.py`); this process only ever seeds without it.
"""

import os
import subprocess
import sys

import numpy as np
import pytest

from tfdefend.utils import draw_seed, set_global_seed, set_seed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_attacks_and_fit_repeat_bit_for_bit_and_differ_across_seeds(tmp_path):
    script = os.path.join(ROOT, "tests", "utils", "determinism_run.py")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, script, str(tmp_path), "0", "1", "0"], env=env,
                          capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, other, again = (np.load(tmp_path / name) for name in
                           ("run0_seed0.npz", "run1_seed1.npz", "run2_seed0.npz"))
    assert set(first.files) >= {"x_adv", "loss", "weight0"}
    for key in first.files:
        assert np.array_equal(first[key], again[key]), f"{key} differs between two runs with seed 0"
    for key in ("x_adv", "loss", "weight0"):  # the attack and the training both depend on the seed
        assert not np.array_equal(first[key], other[key]), f"{key} does not depend on the seed"
    assert (tmp_path / "op_determinism.txt").read_text() in ("True", "None")


def test_set_global_seed_is_a_deprecated_set_seed_without_op_determinism():
    with pytest.warns(DeprecationWarning, match="set_seed"):
        set_global_seed(5)
    a = (np.random.rand(3), draw_seed())
    set_seed(5, deterministic=False)
    b = (np.random.rand(3), draw_seed())
    assert np.array_equal(a[0], b[0]) and a[1] == b[1]
    set_seed(6, deterministic=False)
    assert not np.array_equal(a[0], np.random.rand(3))


@pytest.mark.parametrize("fn", [set_seed, set_global_seed])
def test_bad_seeds_are_refused(fn):
    with pytest.raises(TypeError, match="seed"):
        fn("1")
    with pytest.raises(TypeError, match="seed"):
        fn(True)
    with pytest.raises(ValueError, match="seed"):
        fn(-1)
    with pytest.raises(ValueError, match="seed"):
        fn(2 ** 32)


def test_bad_deterministic_flag_is_refused():
    with pytest.raises(TypeError, match="deterministic"):
        set_seed(0, deterministic="yes")
