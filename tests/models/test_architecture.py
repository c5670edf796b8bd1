import pytest

from glyphvae.models import GlyphVAE
from glyphvae.models.architecture import default_architecture


@pytest.mark.parametrize("size", range(32, 257, 16))
def test_default_architecture_fits_every_supported_size(size):
    channels, res_blocks = default_architecture(size)
    assert len(channels) == len(res_blocks)
    bottleneck = size // 2 ** len(channels)
    assert size % 2 ** len(channels) == 0
    assert 3 <= bottleneck <= 15  # sizes like 240 = 16 x 15 cannot halve further
    assert channels[-1] == 128 and min(channels) >= 8
    assert list(channels) == sorted(channels)


def test_model_uses_the_default_for_its_size():
    model = GlyphVAE(image_size=128, latent_dim=4)
    assert model.channels == (8, 16, 32, 64, 128)
    assert model.res_blocks == (0, 0, 1, 1, 1)
    explicit = GlyphVAE(image_size=32, latent_dim=4, channels=(8, 16))
    assert explicit.res_blocks == (0, 0)
