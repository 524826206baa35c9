"""Shared pytest fixtures.

Randomised tests take their seed from the `seed` fixture: it is printed with
every test (so a failure shows it) and can be fixed with PTEC_SEED=<n>.
"""
import os
import random
import zlib

import numpy as np
import pytest
import torch


@pytest.fixture
def seed(request):
    """A per-test seed: PTEC_SEED if set, else derived from the test's id."""
    fixed = os.environ.get("PTEC_SEED")
    value = int(fixed) if fixed else zlib.crc32(request.node.nodeid.encode()) ^ int(
        os.environ.get("PTEC_SEED_SALT", "0"))
    print(f"\n[seed] {request.node.nodeid}: PTEC_SEED={value}")
    random.seed(value)
    np.random.seed(value % (2**32))
    torch.manual_seed(value)
    return value


def pytest_report_header(config):
    return "ptec: set PTEC_SEED=<n> to replay a randomised test"
