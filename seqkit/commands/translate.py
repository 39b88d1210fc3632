"""``seqkit translate``: translate lines of standard input (or a file) with a trained translator.

One output line per input line, in order, streamed in batches with a progress bar on standard error; a blank input
line gets an empty output line. With ``--nbest N`` each input gets N lines ``index ||| hypothesis ||| score`` (Moses
style; a blank line gets one, ``index |||  ||| nan``). ``--plot_attention DIR`` writes one source-by-target
attention heatmap per sentence (``DIR/000001.png``..., none for a blank line; needs matplotlib).
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from jsonargparse.typing import PositiveFloat, PositiveInt

from seqkit.commands.files import atomic_output, check_input, check_output, decoded_lines, is_stdio
from seqkit.errors import ConfigError, DataError


def readable_pieces(pieces: list[str]) -> list[str]:
    """Subword pieces for axis labels: a piece that starts a word (sentencepiece's ``▁``) shows the word part alone,
    a piece that continues a word gets a leading ``·`` (``▁unbelie`` ``vable`` -> ``unbelie`` ``·vable``)."""
    marker = "\u2581"
    if not any(piece.startswith(marker) for piece in pieces):
        return list(pieces)  # word-level tokens: nothing to mark
    return [piece[1:] or marker if piece.startswith(marker) else f"\u00b7{piece}" for piece in pieces]


def save_attention_plot(path: Path, source: list[str], target: list[str], weights) -> None:
    """Save a heatmap of ``weights`` ``(len(target), len(source))``: source tokens across, target tokens down."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    rows, cols = max(1, len(target)), max(1, len(source))
    fig, ax = plt.subplots(figsize=(min(3 + 0.35 * cols, 30), min(2 + 0.35 * rows, 30)))
    image = ax.imshow(weights.numpy() if len(target) and len(source) else [[0.0]], cmap="Greys", vmin=0.0,
                      vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(source)), readable_pieces(source), rotation=90, fontsize=8)
    ax.set_yticks(range(len(target)), readable_pieces(target), fontsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("target")
    ax.set_title("Attention of each target token over the source", fontsize=9)
    fig.colorbar(image, ax=ax, label="attention weight", fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def translate(*, checkpoint: str, input: Path | None = None, output: Path | None = None,
              beam: PositiveInt | None = None, nbest: PositiveInt = 1, batch_size: PositiveInt = 32,
              length_penalty: float | None = None, max_length_ratio: PositiveFloat | None = None,
              max_length_offset: int | None = None, max_length: PositiveInt | None = None,
              plot_attention: Path | None = None, device: str | None = None, quiet: bool = False) -> int:
    """Translate lines of text (standard input or --input) with a trained translation model, one line out per line in.

    Args:
        checkpoint: run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id
        input: source file, one sentence per line (default, or -: standard input)
        output: write translations here (default, or -: standard output)
        beam: beam size; 1 is greedy (default: the run's, usually 5)
        nbest: hypotheses per sentence (at most the beam size), written as ``index ||| text ||| score``
        batch_size: sentences per batch
        length_penalty: GNMT alpha (default: the run's)
        max_length_ratio: longest output per source token (default: the run's)
        max_length_offset: plus this many tokens (default: the run's)
        max_length: longest source in tokens; a longer line is cut to its first ones, with a warning (default: the
            run's max_length, 100 unless its recipe set another)
        plot_attention: folder to write an attention heatmap per sentence to (needs matplotlib)
        device: cpu, cuda, cuda:1... (default: cuda when available)
        quiet: no progress bar
    """

    if beam is not None and nbest > beam:
        raise ConfigError(f"--nbest {nbest} is more than --beam {beam}.")
    path = check_input(input) if input and not is_stdio(input) else None  # None: standard input
    output = check_output(output, [path]) if output else None
    if plot_attention is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError as error:
            raise DataError("--plot_attention needs matplotlib: pip install 'seqkit[plot]'.") from error
        plot_attention.mkdir(parents=True, exist_ok=True)
    import torch

    from seqkit.inference.loading import load
    from seqkit.tasks import Seq2SeqTranslator

    predictor = load(checkpoint, task=Seq2SeqTranslator,
                     device=device or ("cuda" if torch.cuda.is_available() else "cpu"))
    beam = beam or predictor.module.hparams["beam_size"]
    if nbest > beam:
        raise ConfigError(f"--nbest {nbest} is more than the beam size {beam}.")

    with ExitStack() as stack:
        source = stack.enter_context(path.open("rb")) if path else getattr(sys.stdin, "buffer", sys.stdin)
        out: TextIO = stack.enter_context(atomic_output(output))
        bar = None
        if not quiet:
            from tqdm import tqdm

            bar = stack.enter_context(tqdm(unit="sent", file=sys.stderr, desc="Translating", dynamic_ncols=True,
                                           disable=None))  # none when standard error is not a terminal
        lines = decoded_lines(source, str(path) if path else "standard input")
        translations = predictor.iter_translate(
            lines, max_length=max_length, beam=beam, nbest=nbest, batch_size=batch_size, alpha=length_penalty,
            max_length_ratio=max_length_ratio, max_length_offset=max_length_offset,
            return_attention=plot_attention is not None, progress=bar.update if bar is not None else None,
        )
        for index, translation in enumerate(translations, start=1):
            if nbest == 1:
                out.write(translation.text + "\n")
            else:  # a blank line (no n-best list) keeps its index with an empty hypothesis scored nan
                hypotheses = translation.nbest or [("", translation.score)]
                out.writelines(f"{index - 1} ||| {text} ||| {score:.4f}\n" for text, score in hypotheses)
            if plot_attention is not None and translation.nbest:
                save_attention_plot(plot_attention / f"{index:06d}.png", translation.source_pieces,
                               translation.target_pieces, translation.attention)
        out.flush()
    return 0
