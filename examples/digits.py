#!/usr/bin/env python3
"""Handwritten digits, trained in seconds, quantized to int8, run on ptec's C runtime.

    python examples/digits.py            # train, quantize, compile, evaluate
    python examples/digits.py --save DIR # also write digits_fp32.pte, digits_int8.pte

scikit-learn's bundled digits (1797 8x8 images, no download) are split into
a training set and a held-out set with a fixed seed. A small CNN (conv-BN-ReLU
x2, max pool, conv-ReLU, global average pool, linear) trains for a few
epochs; then it is compiled twice with ptec: in float32, and in int8 with
ptec.Int8 calibrated on a subset of the training images. Both programs run
on the C runtime over the whole held-out set, one image per run (batch 1,
as on a device), and the script prints the accuracies side by side with
the file sizes.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))
import ptec  # noqa: E402

SEED = 0
HELD_OUT = 0.25          # fraction of the images kept for evaluation
EPOCHS = 20
BATCH = 64
CALIBRATION_IMAGES = 128


class DigitsCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
            nn.MaxPool2d(2),                                   # 8x8 -> 4x4
            nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
        )
        self.classifier = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def load_data() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Train and held-out images ([N, 1, 8, 8] in [0, 1]) and labels."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.tensor(digits.target, dtype=torch.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=HELD_OUT, random_state=SEED, stratify=labels)
    return x_train, y_train, x_test, y_test


def train(x: torch.Tensor, y: torch.Tensor) -> DigitsCNN:
    torch.manual_seed(SEED)
    model = DigitsCNN()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, EPOCHS)
    generator = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(EPOCHS):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), BATCH):
            batch = order[start:start + BATCH]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        schedule.step()
    return model.eval()


def accuracy_torch(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def predictions_ptec(program: ptec.CompiledProgram, x: torch.Tensor) -> torch.Tensor:
    """Class of each image, one C-runtime run per image."""
    runner = ptec.load(program.buffer)
    return torch.tensor([int(runner(x[i:i + 1])[0].argmax()) for i in range(len(x))])


def main(save: Path | None = None, verbose: bool = True) -> dict:
    """Trains, quantizes, compiles and evaluates; returns the numbers it prints."""
    # One PyTorch thread: the tensors are tiny, and intra-op threads only wait
    # for each other (for many seconds on a busy machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _main(save, verbose)
    finally:
        torch.set_num_threads(threads)


def _main(save: Path | None, verbose: bool) -> dict:
    say = print if verbose else (lambda *a, **k: None)
    t0 = time.perf_counter()
    x_train, y_train, x_test, y_test = load_data()
    model = train(x_train, y_train)
    t_train = time.perf_counter() - t0
    example = (x_test[:1],)

    fp32 = ptec.compile(model, example)
    calibration = [(x_train[i:i + 1],) for i in range(CALIBRATION_IMAGES)]
    int8 = ptec.compile(model, example, quantize=ptec.Int8(calibration=calibration))
    t_compile = time.perf_counter() - t0 - t_train

    fp32_pred = predictions_ptec(fp32, x_test)
    int8_pred = predictions_ptec(int8, x_test)
    with torch.no_grad():
        torch_pred = model(x_test).argmax(1)
    result = {
        "train_images": len(x_train),
        "held_out_images": len(x_test),
        "fp32_torch_accuracy": (torch_pred == y_test).float().mean().item(),
        "fp32_ptec_accuracy": (fp32_pred == y_test).float().mean().item(),
        "int8_ptec_accuracy": (int8_pred == y_test).float().mean().item(),
        "fp32_ptec_agrees_with_torch": (fp32_pred == torch_pred).float().mean().item(),
        "int8_agrees_with_fp32": (int8_pred == torch_pred).float().mean().item(),
        "fp32_pte_bytes": len(fp32.buffer),
        "int8_pte_bytes": len(int8.buffer),
        "seconds": time.perf_counter() - t0,
    }
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        fp32.save(save / "digits_fp32.pte")
        int8.save(save / "digits_int8.pte")

    say(f"digits: {result['train_images']} training images, "
        f"{result['held_out_images']} held out; trained in {t_train:.1f} s, "
        f"compiled in {t_compile:.1f} s")
    say(f"{'':24}{'accuracy':>10}{'.pte bytes':>12}")
    say(f"{'fp32, PyTorch':24}{result['fp32_torch_accuracy']:>10.2%}{'':>12}")
    say(f"{'fp32, ptec C runtime':24}{result['fp32_ptec_accuracy']:>10.2%}"
        f"{result['fp32_pte_bytes']:>12,}")
    say(f"{'int8, ptec C runtime':24}{result['int8_ptec_accuracy']:>10.2%}"
        f"{result['int8_pte_bytes']:>12,}")
    say(f"int8 predictions equal fp32's on {result['int8_agrees_with_fp32']:.2%} of the images; "
        f"{result['seconds']:.1f} s in all")
    return result


if __name__ == "__main__":
    # torch.export's own deprecation noise, not this script's business.
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)`")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", type=Path, help="directory for the two .pte files")
    main(parser.parse_args().save)
