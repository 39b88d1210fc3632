"""``seqkit export onnx``: write a trained model as an ONNX graph, checked against PyTorch with onnxruntime."""

from __future__ import annotations

import json
from pathlib import Path

from jsonargparse.typing import PositiveFloat

from seqkit.commands.files import check_output
from seqkit.errors import DataError


def onnx(output: Path, *, checkpoint: str, tolerance: PositiveFloat = 1e-4) -> int:
    """Export a trained model to ONNX, checked against PyTorch with onnxruntime; prints a JSON report.

    Args:
        output: file to write, e.g. model.onnx
        checkpoint: run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id
        tolerance: largest allowed difference between onnxruntime and PyTorch outputs
    """
    path = check_output(output, option="output")  # before the model is loaded: not a folder, in one that exists
    if path.exists() and not path.is_file():
        raise DataError(f"output {path} is not a regular file (a device or a pipe?); an ONNX export is a file "
                        "that onnxruntime reads back: give a file name such as model.onnx.")
    from seqkit.export import export_onnx
    from seqkit.inference.loading import load_model

    model = load_model(checkpoint)
    report = export_onnx(model.module, path, tolerance=tolerance)
    print(json.dumps({"onnx": str(report.path), "inputs": report.inputs, "outputs": report.outputs,
                      "max_abs_diff": report.max_abs_diff, **report.extra}))
    return 0


#: ``seqkit export onnx``
COMMANDS = {"onnx": onnx}
