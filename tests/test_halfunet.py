"""HalfUNetDecoder architectures: exact output shapes, the switch at latent 1024,
gradient checkpointing."""

from __future__ import annotations

import pytest
import torch

from neurocine.decoders import ComplexLargeUNetDecoderOnly, HalfUNetDecoder, UNetDecoderOnly


@pytest.mark.parametrize("output_channels", [1, 3])
@pytest.mark.parametrize("output_shape", [(64, 128), (128, 256), (256, 512), (50, 70)])
@pytest.mark.parametrize("latent_dim", [None, 256, 1024])
def test_output_shape_is_exact(output_channels, output_shape, latent_dim):
    dec = HalfUNetDecoder(input_dim=32, output_channels=output_channels, output_shape=output_shape,
                          latent_dim=latent_dim)
    with torch.no_grad():
        out = dec(torch.randn(2, 32))
    assert out.shape == (2, output_channels) + output_shape


def test_architecture_switch_at_1024():
    assert isinstance(HalfUNetDecoder(16, latent_dim=1023, output_shape=(32, 64)).decoder, UNetDecoderOnly)
    assert isinstance(HalfUNetDecoder(16, latent_dim=1024, output_shape=(32, 64)).decoder, ComplexLargeUNetDecoderOnly)
    assert isinstance(HalfUNetDecoder(2048, output_shape=(32, 64)).decoder,
                      ComplexLargeUNetDecoderOnly)  # None -> input_dim
    assert HalfUNetDecoder(16, output_shape=(32, 64)).latent_dim == 16


def test_gradient_checkpointing_gives_same_gradients():
    torch.manual_seed(0)
    a = HalfUNetDecoder(8, output_shape=(32, 64), latent_dim=1024)
    b = HalfUNetDecoder(8, output_shape=(32, 64), latent_dim=1024, gradient_checkpointing=True)
    b.load_state_dict(a.state_dict())
    z = torch.randn(3, 8)
    a(z).square().mean().backward()
    b(z).square().mean().backward()
    for (n, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6, msg=n)


