"""The kernels together, on the blocks of the target models (MobileNetV2,
ResNet-18, DS-CNN, nn.TransformerEncoder), contiguous and channels-last.
The whole example models are in test_examples.py; these are small enough
to run every layout quickly and to compare with tight tolerances."""
import pytest
import torch
from torch import nn

from op_testing import check_module, randint, randn


def randomize_bn(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
    return module.eval()


class InvertedResidual(nn.Module):
    def __init__(self, c: int, expand: int = 4):
        super().__init__()
        h = c * expand
        self.body = nn.Sequential(
            nn.Conv2d(c, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
            nn.Conv2d(h, h, 3, padding=1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
            nn.Conv2d(h, c, 1, bias=False), nn.BatchNorm2d(c))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                                  nn.Linear(c, 10))

    def forward(self, x):
        return self.head(x + self.body(x))


class BasicBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c, 7, 2, 3, bias=False), nn.BatchNorm2d(c),
                                  nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        self.conv = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c),
                                  nn.ReLU(), nn.Conv2d(c, c, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c))
        self.fc = nn.Linear(c, 5)

    def forward(self, x):
        x = self.stem(x)
        x = torch.relu(x + self.conv(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class DsCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, (10, 4), (2, 2), (5, 1)), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 16, 1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.AvgPool2d((5, 3)), nn.Flatten(), nn.Linear(16 * 2 * 1, 12))

    def forward(self, x):
        return self.net(x)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_mobilenet_v2_block(seed, channels_last):
    model = randomize_bn(InvertedResidual(8))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    check_module(model, (randn(2, 8, 12, 12, channels_last=channels_last),), terms=32 * 9,
                 atol=1e-4)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_resnet_block(seed, channels_last):
    model = randomize_bn(BasicBlock(8))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    check_module(model, (randn(1, 3, 32, 32, channels_last=channels_last),), terms=8 * 9,
                 atol=1e-4)


@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_ds_cnn(seed, channels_last):
    model = randomize_bn(DsCnn())
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    check_module(model, (randn(1, 1, 20, 10, channels_last=channels_last),), terms=160,
                 atol=1e-4)


class TinyTransformer(nn.Module):
    def __init__(self, vocab=50, d=32, heads=4, layers=2, norm_first=False):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.pos = nn.Parameter(torch.randn(1, 12, d) * 0.1)
        layer = nn.TransformerEncoderLayer(d, heads, 64, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 7)

    def forward(self, tokens):
        x = self.embed(tokens) + self.pos[:, :tokens.shape[1]]
        x = self.norm(self.encoder(x))
        return self.head(x.mean(dim=1)), torch.softmax(x[:, 0] @ x[:, 1].T, -1)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder(seed, norm_first):
    model = TinyTransformer(norm_first=norm_first).eval()
    tokens = randint(0, 50, 2, 12)
    check_module(model, (tokens,), terms=64, atol=1e-4)
