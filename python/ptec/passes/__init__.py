"""Graph passes: each one a function that rewrites an FX graph module in place.

A target's pass list (ptec.targets) is a tuple of these functions; the
compiler runs them in order after export and before memory planning.
"""
from typing import Callable

import torch

from .fold_batch_norm import fold_batch_norm
from .fold_constants import fold_constants
from .out_variants import select_out_variants
from .pool3d_as_2d import avg_pool3d_as_2d
from .remove_asserts import remove_graph_asserts
from .remove_noop_copies import remove_noop_copies
from .scalar_overloads import use_scalar_overloads
from .views_to_copies import replace_views_with_copies

GraphPass = Callable[[torch.fx.GraphModule], None]

__all__ = [
    "GraphPass", "avg_pool3d_as_2d", "fold_batch_norm", "fold_constants", "remove_graph_asserts",
    "remove_noop_copies", "replace_views_with_copies", "select_out_variants", "use_scalar_overloads",
]
