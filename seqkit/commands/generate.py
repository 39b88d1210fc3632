"""``seqkit generate``: continue a prompt with a trained language model, printing tokens as they come."""

from __future__ import annotations

import argparse
import sys

HELP = "Generate text from a trained language model (a run directory, checkpoint, published folder or Hub id)."


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="seqkit generate", description=HELP)
    p.add_argument("--checkpoint", required=True,
                   help="run directory (uses checkpoints/best.ckpt), .ckpt file, published model folder or Hub id")
    p.add_argument("--prompt", default="", help="text to continue (default: start a new line)")
    p.add_argument("--max-new-tokens", type=int, default=50)
    p.add_argument("--temperature", type=float, default=1.0, help="0 for greedy decoding")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument("--top-p", type=float, default=None)
    p.add_argument("--seed", type=int, default=None, help="makes the sampling reproducible")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from seqkit.errors import DataError
    from seqkit.search import check_sampling

    try:
        args.prompt.encode("utf-8")
    except UnicodeEncodeError:
        raise DataError("--prompt is not UTF-8 text.") from None
    try:  # before the model is loaded
        check_sampling(args.max_new_tokens, args.temperature, args.top_k, args.top_p)
    except DataError as error:
        raise DataError(f"--{str(error).replace('_', '-')}") from None
    from seqkit.inference.loading import load
    from seqkit.tasks import CharCNNLanguageModel, LanguageModel

    predictor = load(args.checkpoint, task=(LanguageModel, CharCNNLanguageModel))
    sys.stdout.write(args.prompt)
    for text in predictor.stream(args.prompt, args.max_new_tokens, args.temperature, args.top_k, args.top_p,
                                 seed=args.seed):
        sys.stdout.write(text)
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0
