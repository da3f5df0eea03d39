import keras
import numpy as np

from tfdefend.utils import call_model


def test_keras_models_run_in_inference_mode_and_callables_plainly():
    layer = keras.layers.Dropout(0.99)
    x = np.ones((4, 8), np.float32)
    np.testing.assert_array_equal(call_model(layer, x), x)  # training=False: dropout off
    assert np.count_nonzero(np.asarray(call_model(layer, x, training=True))) < x.size
    assert call_model(lambda v: v * 2, 3) == 6  # a plain callable gets no `training` argument
