"""Per-iteration cost of a torch.while_loop compiled by ptec (8 instructions
per iteration: lt, JumpFalseCall, add, mul, add, two copy_, JumpFalseCall),
run by ptec's runtime (with its call cache, the default, and without it:
docs/runtime.md "The call cache") and by ExecuTorch 1.4.1's runtime on the same
.pte. Prints times and the ratios (no assertion on timing); callgrind's counts
of ptec-run are the stable measure on a shared machine (docs/runtime.md).

    .venv/bin/python bench/while_loop.py
"""
import time

import torch
from executorch.runtime import Runtime
from torch._higher_order_ops.while_loop import while_loop

import ptec

ITERATIONS = 10000


class Loop(torch.nn.Module):
    def forward(self, n, x):
        return while_loop(lambda i, x: i < n, lambda i, x: (i + 1, x * 0.999 + 0.001),
                          (torch.zeros_like(n), x))


def best(f, k=5):
    times = []
    for _ in range(k):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main():
    args = (torch.tensor(ITERATIONS), torch.randn(64))
    program = ptec.compile(Loop().eval(), args)
    runner = ptec.load(program.buffer, call_cache=True)
    uncached = ptec.load(program.buffer, call_cache=False)
    method = Runtime.get().load_program(program.buffer).load_method("forward")
    assert torch.equal(runner(*args)[1], method.execute(list(args))[1])
    assert torch.equal(runner(*args)[1], uncached(*args)[1])
    tp = best(lambda: runner(*args))
    tu = best(lambda: uncached(*args))
    te = best(lambda: method.execute(list(args)))
    per = 1e9 / ITERATIONS
    print(f"{ITERATIONS} iterations: ptec {tp * 1e3:.2f} ms ({tp * per:.0f} ns/iter), "
          f"ptec without call cache {tu * 1e3:.2f} ms ({tu * per:.0f} ns/iter), "
          f"ExecuTorch {te * 1e3:.2f} ms ({te * per:.0f} ns/iter), "
          f"ptec/ExecuTorch {tp / te:.2f} (without cache {tu / te:.2f})")


if __name__ == "__main__":
    main()
