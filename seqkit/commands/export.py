"""``seqkit export onnx``: write a trained model as an ONNX graph, checked against PyTorch with onnxruntime."""

from __future__ import annotations

import argparse
import json

HELP = "Export a trained model (run directory, checkpoint, published folder or Hub id) to ONNX."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seqkit export", description=HELP)
    p.add_argument("format", choices=["onnx"], help="export format")
    p.add_argument("output", help="file to write, e.g. model.onnx")
    p.add_argument("--checkpoint", required=True,
                   help="run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="largest allowed difference between onnxruntime and PyTorch outputs")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from seqkit.export import export_onnx
    from seqkit.inference.loading import load_model

    model = load_model(args.checkpoint)
    report = export_onnx(model.module, args.output, tolerance=args.tolerance)
    print(json.dumps({"onnx": str(report.path), "inputs": report.inputs, "outputs": report.outputs,
                      "max_abs_diff": report.max_abs_diff, **report.extra}))
    return 0
