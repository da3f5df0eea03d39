import numpy as np
import pytest
import tensorflow as tf

from tfdefend.training import ReplayBuffer


def _rows(start, n):
    ids = np.arange(start, start + n)
    return {"id": ids.astype(np.int64), "image": np.repeat(ids, 4).reshape(n, 2, 2).astype(np.float32),
            "done": ids % 2 == 0}


def test_add_and_len_until_full_then_ring_overwrite():
    buffer = ReplayBuffer(5, seed=0)
    assert len(buffer) == 0
    assert buffer.add(_rows(0, 3)) == 3
    assert len(buffer) == 3
    buffer.add(_rows(3, 4))  # ids 0..6: the two oldest (0, 1) are overwritten
    assert len(buffer) == 5
    ids = buffer.sample(5)["id"]
    assert sorted(ids.tolist()) == [2, 3, 4, 5, 6]


def test_adding_more_than_capacity_keeps_the_last_rows():
    buffer = ReplayBuffer(4)
    assert buffer.add(_rows(0, 10)) == 4
    assert sorted(buffer.sample(4)["id"].tolist()) == [6, 7, 8, 9]


def test_sample_rows_stay_consistent_across_fields():
    buffer = ReplayBuffer(100, seed=1)
    buffer.add(_rows(0, 50))
    batch = buffer.sample(20)
    assert batch["image"].shape == (20, 2, 2) and batch["image"].dtype == np.float32
    assert batch["done"].dtype == bool
    np.testing.assert_array_equal(batch["image"][:, 0, 0], batch["id"].astype(np.float32))
    np.testing.assert_array_equal(batch["done"], batch["id"] % 2 == 0)
    assert len(set(batch["id"].tolist())) == 20  # without replacement


def test_sampling_is_seeded_and_uniform():
    a, b = ReplayBuffer(10, seed=3), ReplayBuffer(10, seed=3)
    for buffer in (a, b):
        buffer.add(_rows(0, 10))
    np.testing.assert_array_equal(a.sample(6)["id"], b.sample(6)["id"])
    counts = np.bincount(np.concatenate([a.sample(5)["id"] for _ in range(400)]), minlength=10)
    assert counts.min() > 120 and counts.max() < 280  # 200 expected per row


def test_sample_with_replacement_may_exceed_size():
    buffer = ReplayBuffer(10)
    buffer.add(_rows(0, 2))
    assert buffer.sample(8, replace=True)["id"].shape == (8,)
    with pytest.raises(ValueError, match="batch_size"):
        buffer.sample(8)


def test_accepts_tensors_and_returns_copies():
    buffer = ReplayBuffer(4)
    buffer.add({k: tf.constant(v) for k, v in _rows(0, 2).items()})
    batch = buffer.sample(2)
    batch["id"][:] = -1
    assert (buffer.sample(2)["id"] >= 0).all()


def test_clear():
    buffer = ReplayBuffer(4)
    buffer.add(_rows(0, 3))
    buffer.clear()
    assert len(buffer) == 0 and buffer.fields == ("id", "image", "done")


@pytest.mark.parametrize("capacity, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError),
                                             (True, TypeError)])
def test_bad_capacity(capacity, error):
    with pytest.raises(error, match="capacity"):
        ReplayBuffer(capacity)


def test_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        ReplayBuffer(3, seed=-1)


def test_bad_adds():
    buffer = ReplayBuffer(8)
    with pytest.raises(TypeError, match="dict"):
        buffer.add([1, 2])
    with pytest.raises(TypeError, match="dict"):
        buffer.add({})
    with pytest.raises(ValueError, match="leading dimension"):
        buffer.add({"a": np.zeros(3), "b": np.zeros(2)})
    with pytest.raises(ValueError, match="scalar"):
        buffer.add({"a": np.float32(1.0)})
    buffer.add(_rows(0, 2))
    with pytest.raises(ValueError, match="fields"):
        buffer.add({"id": np.zeros(2, np.int64)})
    bad_shape = _rows(0, 2)
    bad_shape["image"] = np.zeros((2, 3, 3), np.float32)
    with pytest.raises(ValueError, match="image"):
        buffer.add(bad_shape)
    bad_dtype = _rows(0, 2)
    bad_dtype["id"] = np.zeros(2, np.float32)
    with pytest.raises(TypeError, match="dtype"):
        buffer.add(bad_dtype)


def test_bad_samples():
    buffer = ReplayBuffer(4)
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(1)
    buffer.add(_rows(0, 3))
    with pytest.raises(ValueError, match="batch_size"):
        buffer.sample(0)
    with pytest.raises(TypeError, match="replace"):
        buffer.sample(1, replace="yes")
