"""Ctrl-C and a reader that goes away end a command with one line (or none), never a traceback."""

from __future__ import annotations

import pytest

from seqkit.cli import main


class _Predictor:
    def __init__(self, error: type[BaseException]) -> None:
        self.error = error

    def stream(self, *args, **kwargs):
        yield " the"
        raise self.error()


@pytest.mark.parametrize(("error", "status", "said"), [(KeyboardInterrupt, 130, "seqkit: interrupted\n"),
                                                        (BrokenPipeError, 141, "")])
def test_generate_ends_with_its_status_and_at_most_one_line(monkeypatch, capsys, error, status, said):
    monkeypatch.setattr("seqkit.inference.loading.load", lambda *args, **kwargs: _Predictor(error))
    assert main(["generate", "--checkpoint", "anything", "--prompt", "once"]) == status
    captured = capsys.readouterr()
    assert captured.err == said and captured.out.startswith("once the")
