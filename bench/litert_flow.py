"""LiteRT's flow for bench/cpu_kernels.py, run in LiteRT's own venv (bench/README.md: its
converter's dependencies do not fit the project's venv).

    LITERT_PYTHON bench/litert_flow.py MODEL --threads 1,2 --repeat N

Converts the example model with litert-torch (fp32), runs the .tflite with ai-edge-litert's
interpreter on each thread count, best of N, and prints one JSON line {threads: ms}.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("--threads", default="1")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--config", default="{}", help="the model's keyword arguments, JSON")
    args = parser.parse_args()
    import litert_torch
    from ai_edge_litert.interpreter import Interpreter
    from models import EXAMPLES

    model, inputs = EXAMPLES[args.model](**json.loads(args.config))
    model.eval()
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "model.tflite")
        litert_torch.convert(model, tuple(inputs)).export(path)
        for n in (int(t) for t in args.threads.split(",")):
            interpreter = Interpreter(model_path=path, num_threads=n)
            interpreter.allocate_tensors()
            for detail, x in zip(interpreter.get_input_details(), inputs):
                interpreter.set_tensor(detail["index"], x.numpy().astype(detail["dtype"]))
            interpreter.invoke()
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                interpreter.invoke()
                best = min(best, time.perf_counter() - t0)
            times[n] = best * 1e3
    print(json.dumps(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
