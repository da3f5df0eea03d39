import keras
import numpy as np
import pytest

from tfdefend.training import OneCycleSchedule


def test_rises_to_the_peak_then_falls_to_final():
    schedule = OneCycleSchedule(0.01, 100, warmup=0.4, initial=0.0, final=0.001)
    rates = np.array([float(schedule(step)) for step in range(0, 121, 10)])
    np.testing.assert_allclose(rates[:5], [0.0, 0.0025, 0.005, 0.0075, 0.01], atol=1e-7)
    assert np.all(np.diff(rates[4:11]) < 0) and rates[10] == pytest.approx(0.001)
    assert rates[-1] == pytest.approx(0.001)  # flat after the last step


def test_serializes_and_drives_an_optimizer():
    schedule = OneCycleSchedule(0.2, 50, warmup=0.2)
    clone = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(schedule))
    assert isinstance(clone, OneCycleSchedule) and clone.get_config() == schedule.get_config()
    optimizer = keras.optimizers.SGD(schedule)
    variable = keras.Variable(1.0)
    for _ in range(5):
        optimizer.apply([keras.ops.ones(())], [variable])
    assert float(optimizer.learning_rate) == pytest.approx(float(schedule(5)))


def test_rejects_bad_arguments():
    for kwargs, error, name in (({"peak": 0.0}, ValueError, "peak"), ({"total_steps": 0}, ValueError, "total_steps"),
                                ({"warmup": 0.0}, ValueError, "warmup"), ({"warmup": 1.0}, ValueError, "warmup"),
                                ({"final": -1.0}, ValueError, "final"), ({"peak": "big"}, TypeError, "peak")):
        with pytest.raises(error, match=name):
            OneCycleSchedule(**{"peak": 0.1, "total_steps": 10, **kwargs})
