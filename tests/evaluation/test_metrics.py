import numpy as np
import pytest

from glyphvae.metrics import (
    delta_e,
    kernel_inception_distance,
    laplacian_variance,
    mean_lab,
    nearest_neighbour_distances,
    precision_recall,
)


def test_laplacian_variance_ranks_sharp_above_blurred():
    import cv2

    rng = np.random.default_rng(0)
    sharp = np.zeros((4, 32, 32, 3), np.float32)
    sharp[:, 8:24, 14:18] = 1.0
    sharp += rng.normal(0, 0.01, sharp.shape).astype(np.float32)
    blurred = np.stack([cv2.GaussianBlur(im, (0, 0), 2.0) for im in sharp])
    assert laplacian_variance(sharp).mean() > 5 * laplacian_variance(blurred).mean()
    assert laplacian_variance((sharp.clip(0, 1) * 255).astype(np.uint8)).shape == (4,)


def test_lab_and_delta_e():
    white = np.ones((1, 4, 4, 3), np.float32)
    np.testing.assert_allclose(mean_lab(white), [100, 0, 0], atol=0.5)
    red = np.zeros((1, 4, 4, 3), np.float32)
    red[..., 0] = 1.0
    lab_red = mean_lab(red)
    assert lab_red[1] > 50  # a* strongly positive for red
    assert delta_e(mean_lab(white), mean_lab(white)) == 0.0
    assert delta_e([50, 0, 0], [53, 4, 0]) == pytest.approx(5.0)


def test_kid_is_near_zero_for_the_same_distribution_and_large_otherwise():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, (300, 16)), rng.normal(0, 1, (300, 16))
    shifted = rng.normal(1.0, 1, (300, 16))
    same, _ = kernel_inception_distance(a, b, subsets=20)
    diff, _ = kernel_inception_distance(a, shifted, subsets=20)
    assert abs(same) < 0.05
    assert diff > 10 * abs(same) and diff > 0.2


def test_kid_rejects_mismatched_features():
    with pytest.raises(ValueError, match="feature arrays"):
        kernel_inception_distance(np.zeros((5, 3)), np.zeros((5, 4)))


def test_precision_recall_separate_mode_collapse_from_off_manifold():
    rng = np.random.default_rng(1)
    real = rng.normal(0, 1, (200, 8))
    good = rng.normal(0, 1, (200, 8))
    collapsed = rng.normal(0, 0.05, (200, 8))  # all in one spot of the real manifold
    off = rng.normal(6, 1, (200, 8))
    p, r = precision_recall(real, good)
    assert p > 0.7 and r > 0.7
    p, r = precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.3
    p, r = precision_recall(real, off)
    assert p < 0.05 and r < 0.05


def test_nearest_neighbour_finds_the_copy():
    rng = np.random.default_rng(2)
    reference = rng.random((10, 32, 32, 3)).astype(np.float32)
    queries = np.stack([reference[3], rng.random((32, 32, 3)).astype(np.float32)])
    dist, idx = nearest_neighbour_distances(queries, reference)
    assert idx[0] == 3 and dist[0] == pytest.approx(0.0, abs=1e-6)
    assert dist[1] > 0.2
