"""``seqkit translate``: translate lines of standard input (or a file) with a trained translator.

One output line per input line, in order, streamed in batches with a progress bar on standard error. With
``--nbest N`` each input gets N lines ``index ||| hypothesis ||| score`` (Moses style). ``--plot-attention DIR``
writes one source-by-target attention heatmap per sentence (``DIR/000001.png``...; needs matplotlib).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

HELP = "Translate text with a trained translation model (a run directory, checkpoint, published folder or Hub id)."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seqkit translate", description=HELP)
    p.add_argument("--checkpoint", required=True,
                   help="run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id")
    p.add_argument("--input", default=None, help="source file, one sentence per line (default: standard input)")
    p.add_argument("--output", default=None, help="write translations here (default: standard output)")
    p.add_argument("--beam", type=int, default=None, help="beam size; 1 is greedy (default: the run's, usually 5)")
    p.add_argument("--nbest", type=int, default=1, help="hypotheses per sentence (at most --beam)")
    p.add_argument("--batch-size", type=int, default=32, help="sentences per batch")
    p.add_argument("--length-penalty", type=float, default=None, help="GNMT alpha (default: the run's)")
    p.add_argument("--max-length-ratio", type=float, default=None, help="longest output per source token")
    p.add_argument("--max-length-offset", type=int, default=None, help="plus this many tokens")
    p.add_argument("--plot-attention", default=None, metavar="DIR", help="write an attention heatmap per sentence")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1... (default: cuda when available)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def readable_pieces(pieces: list[str]) -> list[str]:
    """Subword pieces for axis labels: a piece that starts a word (sentencepiece's ``▁``) shows the word part alone,
    a piece that continues a word gets a leading ``·`` (``▁unbelie`` ``vable`` -> ``unbelie`` ``·vable``)."""
    marker = "\u2581"
    if not any(piece.startswith(marker) for piece in pieces):
        return list(pieces)  # word-level tokens: nothing to mark
    return [piece[1:] or marker if piece.startswith(marker) else f"\u00b7{piece}" for piece in pieces]


def plot_attention(path: Path, source: list[str], target: list[str], weights) -> None:
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


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.batch_size < 1 or args.nbest < 1 or (args.beam is not None and args.beam < 1):
        parser().error("--batch-size, --beam and --nbest must be at least 1")
    if args.beam is not None and args.nbest > args.beam:
        parser().error(f"--nbest {args.nbest} is more than --beam {args.beam}")
    from seqkit.commands.files import atomic_output, check_output, decoded_lines
    from seqkit.errors import DataError

    path = Path(args.input).expanduser() if args.input else None
    if path is not None and not path.is_file():
        raise DataError(f"Input file {path} does not exist.")
    output = check_output(args.output, [path]) if args.output else None
    plots = Path(args.plot_attention) if args.plot_attention else None
    if plots is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError as error:
            raise DataError("--plot-attention needs matplotlib: pip install 'seqkit[plot]'.") from error
        plots.mkdir(parents=True, exist_ok=True)
    import torch

    from seqkit.inference.loading import load
    from seqkit.tasks import Seq2SeqTranslator

    predictor = load(args.checkpoint, task=Seq2SeqTranslator,
                     device=args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    beam = args.beam or predictor.module.hparams["beam_size"]
    if args.nbest > beam:
        parser().error(f"--nbest {args.nbest} is more than the beam size {beam}")

    with ExitStack() as stack:
        source = stack.enter_context(path.open("rb")) if path else getattr(sys.stdin, "buffer", sys.stdin)
        out: TextIO = stack.enter_context(atomic_output(output))
        bar = None
        if not args.quiet:
            from tqdm import tqdm

            bar = stack.enter_context(tqdm(unit="sent", file=sys.stderr, desc="Translating", dynamic_ncols=True,
                                           disable=None))  # none when standard error is not a terminal
        lines = decoded_lines(source, str(path) if path else "standard input")
        translations = predictor.iter_translate(
            lines, beam=beam, nbest=args.nbest,
            batch_size=args.batch_size, alpha=args.length_penalty, max_length_ratio=args.max_length_ratio,
            max_length_offset=args.max_length_offset, return_attention=plots is not None,
            progress=bar.update if bar is not None else None,
        )
        for index, translation in enumerate(translations, start=1):
            if args.nbest == 1:
                out.write(translation.text + "\n")
            else:
                out.writelines(f"{index - 1} ||| {text} ||| {score:.4f}\n" for text, score in translation.nbest)
            if plots is not None:
                plot_attention(plots / f"{index:06d}.png", translation.source_pieces, translation.target_pieces,
                               translation.attention)
        out.flush()
    return 0
