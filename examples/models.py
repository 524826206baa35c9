"""Example models for ptec, in plain PyTorch.

No weights are downloaded: every model is built from a fixed seed, with the
usual initialisation (Kaiming for convolutions) and with BatchNorm statistics
and affine parameters randomised, so that BatchNorm is really exercised and the
outputs are neither vanishing nor huge.

Each builder returns ``(model.eval(), example_inputs)``; ``EXAMPLES`` maps a
name to its builder. Builders take keyword arguments (resolution, width,
number of classes) so tests can use smaller variants than the demo.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, Tuple

import torch
from torch import nn

Example = Tuple[nn.Module, Tuple[torch.Tensor, ...]]


# --------------------------------------------------------------------------
# Initialisation shared by the CNNs
# --------------------------------------------------------------------------

def _init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """Kaiming conv weights, small linear weights, random BatchNorm state.

    BatchNorm gets a running mean near 0, a running variance near 1 and an
    affine scale near 1: far enough from the identity that a wrong BatchNorm
    kernel shows, close enough that activations stay well scaled through a
    deep network.
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_out = m.out_channels * m.kernel_size[0] * m.kernel_size[1] // m.groups
            std = math.sqrt(2.0 / fan_out)
            with torch.no_grad():
                m.weight.normal_(0.0, std, generator=generator)
                if m.bias is not None:
                    m.bias.uniform_(-0.1, 0.1, generator=generator)
        elif isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(torch.empty(n).uniform_(-0.2, 0.2, generator=generator))
                m.running_var.copy_(torch.empty(n).uniform_(0.5, 1.5, generator=generator))
                m.weight.copy_(torch.empty(n).uniform_(0.7, 1.3, generator=generator))
                m.bias.copy_(torch.empty(n).uniform_(-0.2, 0.2, generator=generator))
        elif isinstance(m, nn.Linear):
            bound = 1.0 / math.sqrt(m.in_features)
            with torch.no_grad():
                m.weight.uniform_(-bound, bound, generator=generator)
                if m.bias is not None:
                    m.bias.uniform_(-bound, bound, generator=generator)


def _image_input(generator: torch.Generator, channels: int, resolution: int) -> torch.Tensor:
    return torch.randn(1, channels, resolution, resolution, generator=generator)


# --------------------------------------------------------------------------
# MobileNetV2 (Sandler et al. 2018), as in torchvision
# --------------------------------------------------------------------------

def _make_divisible(value: float, divisor: int = 8) -> int:
    """Round a channel count to a multiple of `divisor`, never dropping below 90%."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


class ConvBNReLU6(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1):
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand_ratio: int):
        super().__init__()
        hidden = int(round(cin * expand_ratio))
        self.use_residual = stride == 1 and cin == cout
        layers = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(cin, hidden, kernel=1))
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_residual:
            return x + self.conv(x)
        return self.conv(x)


class MobileNetV2(nn.Module):
    # expansion t, output channels c, repeats n, first stride s
    SETTINGS = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]

    def __init__(self, num_classes: int = 1000, width_mult: float = 1.0, dropout: float = 0.2):
        super().__init__()
        cin = _make_divisible(32 * width_mult)
        last = _make_divisible(1280 * max(1.0, width_mult))
        features = [ConvBNReLU6(3, cin, stride=2)]
        for t, c, n, s in self.SETTINGS:
            cout = _make_divisible(c * width_mult)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t))
                cin = cout
        features.append(ConvBNReLU6(cin, last, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = nn.functional.adaptive_avg_pool2d(x, 1)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def mobilenet_v2(resolution: int = 224, width_mult: float = 1.0, num_classes: int = 1000,
                 seed: int = 0) -> Example:
    """MobileNetV2 on a 1x3xRxR image; R=224 as published, 96 or 128 for fast tests."""
    g = torch.Generator().manual_seed(seed)
    model = MobileNetV2(num_classes=num_classes, width_mult=width_mult)
    _init_weights(model, g)
    return model.eval(), (_image_input(g, 3, resolution),)


def mobilenet_v2_lrn(resolution: int = 96, width_mult: float = 0.5, num_classes: int = 1000,
                     seed: int = 0) -> Example:
    """MobileNetV2 with a LocalResponseNorm (AlexNet's, size 5) after its stem: a layer
    TOSA has no operator for (it decomposes into pow and a 3-D average pool), so a
    TOSA target runs the network in two delegates with the LRN on the CPU between."""
    model, inputs = mobilenet_v2(resolution, width_mult, num_classes, seed)
    features = list(model.features)
    model.features = nn.Sequential(features[0], nn.LocalResponseNorm(5), *features[1:])
    return model.eval(), inputs


# --------------------------------------------------------------------------
# ResNet-18 (He et al. 2016), as in torchvision
# --------------------------------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers = []
        cin = 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers.append(nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout)))
            cin = cout
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


def resnet18(resolution: int = 224, num_classes: int = 1000, seed: int = 0) -> Example:
    """ResNet-18 on a 1x3xRxR image."""
    g = torch.Generator().manual_seed(seed)
    model = ResNet18(num_classes=num_classes)
    _init_weights(model, g)
    # Zero-init of the last BN in each block is a training trick; keep it random here.
    return model.eval(), (_image_input(g, 3, resolution),)


# --------------------------------------------------------------------------
# DS-CNN keyword spotter (MLPerf Tiny "DS-CNN small", Zhang et al. 2017)
# --------------------------------------------------------------------------

class DSCNN(nn.Module):
    """Input 1x1x49x10 MFCC; conv 10x4/2 to 64 channels, 4 depthwise-separable
    blocks, average pool, fully connected to 12 keywords."""

    def __init__(self, num_classes: int = 12, channels: int = 64, blocks: int = 4):
        super().__init__()
        self.stem = nn.Sequential(
            # TF "same" padding of a 10x4 kernel at stride 2 on 49x10 pads (4,5) x (1,2);
            # PyTorch pads symmetrically, and (5,1) gives the same 25x5 output map.
            nn.Conv2d(1, channels, (10, 4), stride=2, padding=(5, 1)),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )
        layers = []
        for _ in range(blocks):
            layers += [
                nn.Conv2d(channels, channels, 3, 1, 1, groups=channels),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(channels, channels, 1),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
        self.blocks = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.stem(x))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


def ds_cnn(num_classes: int = 12, seed: int = 0) -> Example:
    """DS-CNN small on one 49x10 MFCC frame stack."""
    g = torch.Generator().manual_seed(seed)
    model = DSCNN(num_classes=num_classes)
    _init_weights(model, g)
    return model.eval(), (torch.randn(1, 1, 49, 10, generator=g),)


# --------------------------------------------------------------------------
# Small transformer encoder classifier
# --------------------------------------------------------------------------

class TransformerClassifier(nn.Module):
    def __init__(self, vocab_size: int = 1000, seq_len: int = 16, d_model: int = 64,
                 nhead: int = 4, dim_feedforward: int = 128, num_layers: int = 2,
                 num_classes: int = 10):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab_size, d_model)
        self.position_embedding = nn.Parameter(torch.zeros(1, seq_len, d_model))
        layer = nn.TransformerEncoderLayer(
            d_model, nhead, dim_feedforward, dropout=0.0, activation="gelu", batch_first=True)
        # enable_nested_tensor only matters for padded batches; off keeps export simple.
        self.encoder = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.classifier = nn.Linear(d_model, num_classes)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.token_embedding(tokens) + self.position_embedding[:, : tokens.shape[1]]
        x = self.norm(self.encoder(x))
        return self.classifier(x.mean(dim=1))


def transformer(seq_len: int = 16, vocab_size: int = 1000, num_classes: int = 10,
                seed: int = 0) -> Example:
    """Two-layer encoder (d_model 64, 4 heads, ff 128, GELU) on 1x16 int64 token ids."""
    g = torch.Generator().manual_seed(seed)
    model = TransformerClassifier(vocab_size=vocab_size, seq_len=seq_len, num_classes=num_classes)
    with torch.no_grad():
        model.token_embedding.weight.normal_(0.0, 1.0, generator=g)
        model.position_embedding.normal_(0.0, 0.5, generator=g)
        for name, p in model.named_parameters():
            if name.startswith("encoder") or name.startswith("classifier"):
                if p.dim() >= 2:
                    bound = math.sqrt(6.0 / (p.shape[0] + p.shape[1]))  # Xavier uniform
                    p.uniform_(-bound, bound, generator=g)
                else:
                    p.uniform_(-0.1, 0.1, generator=g)
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.uniform_(0.8, 1.2, generator=g)
                m.bias.uniform_(-0.1, 0.1, generator=g)
    tokens = torch.randint(0, vocab_size, (1, seq_len), generator=g, dtype=torch.int64)
    return model.eval(), (tokens,)


EXAMPLES: Dict[str, Callable[..., Example]] = {
    "mobilenet_v2": mobilenet_v2,
    "resnet18": resnet18,
    "ds_cnn": ds_cnn,
    "transformer": transformer,
}
