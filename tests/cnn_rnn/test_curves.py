"""Learning curves read from run directories' metrics.csv."""

from __future__ import annotations

import pytest

from seqkit.diagnostics.curves import main, read_curve
from seqkit.errors import DataError


def _run(folder, rows: str):
    folder.mkdir()
    (folder / "metrics.csv").write_text("epoch,step,train_loss,val_ppl\n" + rows)
    return folder


def test_curves_read_only_rows_with_the_metric_and_plot(tmp_path):
    first = _run(tmp_path / "a", "0,10,5.1,\n0,20,,300.5\n1,40,,200.25\n")
    second = _run(tmp_path / "b", "0,20,,310\n")
    assert read_curve(first, "val_ppl") == ([20.0, 40.0], [300.5, 200.25])
    out = tmp_path / "curves.png"
    assert main([str(first), str(second), "--labels", "A", "B", "--metric", "val_ppl", "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(DataError, match="logged no 'val_acc'"):
        read_curve(first, "val_acc")
