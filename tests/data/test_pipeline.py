import numpy as np
import pytest

from glyphvae.data.pipeline import AugmentConfig, make_dataset


def _images(n=10, size=32, seed=0):
    rng = np.random.default_rng(seed)
    imgs = np.empty((n, size, size, 3), np.uint8)
    imgs[...] = (200, 150, 90)
    imgs[:, 12:20, 8:24] = rng.integers(0, 60, (n, 8, 16, 3))
    return imgs


def test_validation_batches_are_the_images_unchanged():
    imgs = _images()
    batches = [b.numpy() for b in make_dataset(imgs, batch_size=4, training=False)]
    assert [b.shape[0] for b in batches] == [4, 4, 2]
    out = np.concatenate(batches)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, imgs / 255.0, atol=1e-6)


def test_training_batches_are_seeded_and_jittered():
    imgs = _images()
    a = np.concatenate([b.numpy() for b in make_dataset(imgs, batch_size=5, training=True, seed=7)])
    b = np.concatenate([b.numpy() for b in make_dataset(imgs, batch_size=5, training=True, seed=7)])
    c = np.concatenate([b.numpy() for b in make_dataset(imgs, batch_size=5, training=True, seed=8)])
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (10, 32, 32, 3)
    assert a.min() >= 0.0 and a.max() <= 1.0
    # jitter moves the ink but keeps the paper colour: per-channel means barely change
    np.testing.assert_allclose(a.mean((0, 1, 2)), (imgs / 255.0).mean((0, 1, 2)), atol=0.02)
    # the jitter really moved something (not an identity pipeline)
    sorted_in = np.sort((imgs / 255.0).reshape(10, -1), axis=1)
    sorted_out = np.sort(a.reshape(10, -1), axis=1)
    assert not np.allclose(sorted_out.mean(0), sorted_in.mean(0), atol=1e-4)


def test_no_augment_training_only_shuffles():
    imgs = _images()
    out = np.concatenate(
        [
            b.numpy()
            for b in make_dataset(
                imgs, batch_size=3, training=True, seed=0, augment=AugmentConfig.none()
            )
        ]
    )
    got = sorted(np.rint(x * 255).astype(np.uint8).tobytes() for x in out)
    assert got == sorted(x.tobytes() for x in imgs)


def test_new_epoch_reshuffles():
    ds = make_dataset(
        _images(12), batch_size=12, training=True, seed=0, augment=AugmentConfig.none()
    )
    first = next(iter(ds)).numpy()
    second = next(iter(ds)).numpy()
    assert not np.array_equal(first, second)


@pytest.mark.parametrize(
    ("arr", "match"),
    [
        (np.zeros((0, 32, 32, 3), np.uint8), "non-empty"),
        (np.zeros((2, 32, 16, 3), np.uint8), "square RGB"),
        (np.zeros((2, 32, 32, 3), np.float32), "uint8"),
    ],
)
def test_bad_arrays_are_rejected(arr, match):
    with pytest.raises(ValueError, match=match):
        make_dataset(arr)


def test_labels_travel_with_their_images():
    imgs = _images(9)
    labels = np.arange(9)
    imgs[:, 0, 0, 0] = labels * 10  # tag each image with its label
    for augment in (AugmentConfig.none(), None):
        ds = make_dataset(imgs, labels, batch_size=4, training=True, seed=1, augment=augment)
        seen = []
        for x, y in ds:
            assert x.shape[0] == y.shape[0]
            seen.extend(y.numpy().tolist())
            if augment is not None:
                np.testing.assert_allclose(x.numpy()[:, 0, 0, 0] * 255, y.numpy() * 10, atol=0.5)
        assert sorted(seen) == list(range(9))
    with pytest.raises(ValueError, match="one label per image"):
        make_dataset(imgs, labels[:3])
