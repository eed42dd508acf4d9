"""utils.resnet: output shapes, parameter count, gradients reach every layer, a tiny overfit,
argument checks, and agreement with the from-scratch version in notebook 6.2."""

from __future__ import annotations

import pytest
import torch

from utils.resnet import BasicBlock, ResNet, count_parameters

NOTEBOOK = "chapters/06_cnns/02_lenet_to_resnet.ipynb"


def test_block_shapes_and_shortcut():
    x = torch.randn(2, 8, 16, 16)
    same = BasicBlock(8, 8)
    assert isinstance(same.shortcut, torch.nn.Identity)
    assert same(x).shape == (2, 8, 16, 16)
    down = BasicBlock(8, 16, stride=2)
    assert isinstance(down.shortcut, torch.nn.Sequential)
    assert down(x).shape == (2, 16, 8, 8)


def test_resnet_output_and_features():
    model = ResNet(in_channels=1, num_classes=6, widths=(8, 16), blocks=(2, 1))
    x = torch.randn(3, 1, 8, 8)
    assert model(x).shape == (3, 6)
    assert model.features(x).shape == (3, 16)


def test_parameter_count():
    # stem 3*16*9 + 2*16; block1 2*(16*16*9) + 4*16; block2 16*32*9 + 32*32*9 + 4*32
    # + projection 16*32 + 2*32; block3 32*64*9 + 64*64*9 + 4*64 + 32*64 + 2*64; fc 64*10 + 10
    expected = (432 + 32) + (4608 + 64) + (4608 + 9216 + 128 + 512 + 64) \
        + (18432 + 36864 + 256 + 2048 + 128) + 650
    assert count_parameters(ResNet()) == expected


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = ResNet(num_classes=4, widths=(4, 8, 8))
    loss = torch.nn.functional.cross_entropy(model(torch.randn(4, 3, 16, 16)),
                                             torch.tensor([0, 1, 2, 3]))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_tiny_overfit():
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 8, 8), torch.arange(16) % 4
    model = ResNet(num_classes=4, widths=(8, 16), blocks=(1, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    model.eval()
    assert (model(x).argmax(1) == y).float().mean() == 1.0
    assert loss.item() < 0.1


@pytest.mark.parametrize("kwargs", [dict(num_classes=1), dict(in_channels=0),
                                    dict(widths=(8, 16), blocks=(1,)), dict(blocks=(1, 0, 1))])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        ResNet(**kwargs)
    with pytest.raises(ValueError):
        BasicBlock(4, 4, stride=3)


def test_notebook_matches_utils():
    from tests.nbcode import definitions

    defs = definitions(NOTEBOOK, ["ResidualBlock", "SmallResNet"])
    torch.manual_seed(0)
    for scratch, ours in [(defs["ResidualBlock"](8, 16, stride=2), BasicBlock(8, 16, stride=2)),
                          (defs["ResidualBlock"](8, 8), BasicBlock(8, 8))]:
        ours.load_state_dict(scratch.state_dict())
        x = torch.randn(2, 8, 12, 12)
        torch.testing.assert_close(scratch(x), ours(x))
    scratch = defs["SmallResNet"](in_channels=3, num_classes=6, widths=(8, 16, 32))
    ours = ResNet(in_channels=3, num_classes=6, widths=(8, 16, 32))
    ours.load_state_dict(scratch.state_dict())
    x = torch.randn(4, 3, 32, 32)
    scratch.train(), ours.train()
    torch.testing.assert_close(scratch(x), ours(x))
    scratch.eval(), ours.eval()
    torch.testing.assert_close(scratch(x), ours(x))
