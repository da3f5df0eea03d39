import numpy as np
import pytest

from tfdefend.utils import check_batch_images, check_clip, check_eps, check_labels, check_norm


def test_norm_aliases():
    assert check_norm(np.inf) == check_norm("linf") == check_norm("inf") == "inf"
    assert check_norm(2) == check_norm("L2") == "l2"
    with pytest.raises(ValueError, match="norm"):
        check_norm(1)
    with pytest.raises(ValueError, match="norm"):
        check_norm("l3")


@pytest.mark.parametrize("bad, error, match", [
    (-0.1, ValueError, "eps"), (8.0, ValueError, "8/255"), (float("nan"), ValueError, "finite"),
    ("0.1", TypeError, "eps"), (True, TypeError, "eps"),
])
def test_eps(bad, error, match):
    with pytest.raises(error, match=match):
        check_eps(bad)


def test_l2_eps_may_exceed_one():
    assert check_eps(2.0, norm="l2") == 2.0


def test_images():
    x = check_batch_images(np.zeros((2, 4, 4, 1), np.uint8))
    assert x.dtype.name == "float32"
    with pytest.raises(ValueError, match="rank 4"):
        check_batch_images(np.zeros((4, 4, 1)))
    with pytest.raises(ValueError, match="NaN"):
        check_batch_images(np.full((1, 2, 2, 1), np.nan))
    with pytest.raises(ValueError, match="clip range"):
        check_batch_images(np.full((1, 2, 2, 1), 255.0))
    with pytest.raises(TypeError, match="numeric"):
        check_batch_images(np.array([[[["a"]]]]))
    with pytest.raises(ValueError, match="empty"):
        check_batch_images(np.zeros((0, 2, 2, 1)))


def test_labels_and_clip():
    assert check_labels(np.array([0, 3]), 2).numpy().tolist() == [0, 3]
    with pytest.raises(ValueError, match="2 labels but the batch has 3"):
        check_labels([0, 1], 3)
    with pytest.raises(ValueError, match="< 3"):
        check_labels([0, 3], 2, num_classes=3)
    with pytest.raises(TypeError, match="integer"):
        check_labels([0.5, 1.0], 2)
    with pytest.raises(ValueError, match="min < max"):
        check_clip((1.0, 0.0))
    assert check_clip(None)[0] == -np.inf
