"""A word-level LSTM language model on WikiText-2 with seqkit's model and a plain PyTorch loop (no Lightning).

seqkit's ``models`` layer stands on its own: :class:`~seqkit.models.rnn_lm.RNNLanguageModel` is an ``nn.Module``
configured by one dataclass. This script does what ``recipes/lm/wikitext2.yaml`` does, in the style of PyTorch's
``word_language_model`` example: a vocabulary from the training words, the corpus cut into ``batch_size`` streams,
truncated backpropagation through time with the hidden state carried from chunk to chunk, SGD with the rate divided
by 4 when validation loss stops improving, and test perplexity at the end.

    python examples/lm_minimal.py                       # $SEQKIT_DATA_DIR/wikitext2/ if present, else the Hub
    python examples/lm_minimal.py --epochs 1 --max_tokens 20000 --hidden_size 64   # a one-minute check
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import torch
from datasets import load_dataset

from seqkit.models.rnn_lm import RNNLanguageModel, RNNLMConfig, detach_layer_states

HUB_ID, HUB_CONFIG, HUB_REVISION = "Salesforce/wikitext", "wikitext-2-v1", "b08601e04326c79dfdd32d625aee71d232d685c3"


def read_lines(data_dir: Path | None) -> dict[str, list[str]]:
    """The ``text`` column of each split: from ``data_dir/{split}.parquet`` when given, else from the Hub."""
    if data_dir is not None:
        files = {split: str(data_dir / f"{split}.parquet") for split in ("train", "validation", "test")}
        splits = load_dataset("parquet", data_files=files)
    else:
        splits = load_dataset(HUB_ID, HUB_CONFIG, revision=HUB_REVISION)
    return {split: splits[split]["text"] for split in ("train", "validation", "test")}


def tokenize(lines: list[str], vocab: dict[str, int], max_tokens: int | None) -> torch.Tensor:
    """Ids ``(N,)`` of the words of every non-blank line, each line ended by ``<eos>`` (as pytorch/examples)."""
    ids = [vocab[word] for line in lines if line.strip() for word in line.split() + ["<eos>"]]
    return torch.tensor(ids[:max_tokens], dtype=torch.long)


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``(N,)`` -> ``(batch_size, N // batch_size)``: each row one contiguous stream of the corpus."""
    length = ids.numel() // batch_size
    return ids[: length * batch_size].view(batch_size, length)


def evaluate(model: RNNLanguageModel, streams: torch.Tensor, bptt: int) -> float:
    """Mean cross-entropy (nats per token) over ``streams`` ``(B, L)``, the state carried across chunks."""
    model.eval()
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for start in range(0, streams.shape[1] - 1, bptt):
            inputs = streams[:, start: start + bptt]
            targets = streams[:, start + 1: start + 1 + inputs.shape[1]]
            inputs = inputs[:, : targets.shape[1]]
            output, state, _ = model(inputs, state)
            total += model.loss(output, targets).item() * targets.numel()
            count += targets.numel()
    return total / count


def train_epoch(model: RNNLanguageModel, streams: torch.Tensor, optimizer: torch.optim.Optimizer, bptt: int,
                clip: float) -> float:
    """One pass over ``streams`` ``(B, L)`` in chunks of ``bptt`` tokens; returns the mean training loss."""
    model.train()
    total, steps, state = 0.0, 0, None
    for start in range(0, streams.shape[1] - 1, bptt):
        inputs = streams[:, start: start + bptt]
        targets = streams[:, start + 1: start + 1 + inputs.shape[1]]
        inputs = inputs[:, : targets.shape[1]]
        state = detach_layer_states(state)  # truncated BPTT: gradients stop at the chunk's start
        output, state, _ = model(inputs, state)
        loss = model.loss(output, targets)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        total, steps = total + loss.item(), steps + 1
    return total / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_dir = Path(os.environ.get("SEQKIT_DATA_DIR", "data")) / "wikitext2"
    parser.add_argument("--data_dir", type=Path, default=default_dir if default_dir.is_dir() else None,
                        help="folder with {train,validation,test}.parquet (column `text`); default: the Hub")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hidden_size", type=int, default=650, help="embedding and hidden size (tied)")
    parser.add_argument("--lr", type=float, default=20.0)
    parser.add_argument("--bptt", type=int, default=35)
    parser.add_argument("--batch_size", type=int, default=20)
    parser.add_argument("--max_tokens", type=int, default=None, help="use only the first N tokens of each split")
    parser.add_argument("--seed", type=int, default=1111)
    args = parser.parse_args()
    torch.manual_seed(args.seed)

    lines = read_lines(args.data_dir)
    words = sorted({word for line in lines["train"] for word in line.split()} | {"<eos>"})
    vocab = {word: index for index, word in enumerate(words)}  # WikiText-2 v1 maps rare words to <unk> already
    train, validation, test = (batchify(tokenize(lines[split], vocab, args.max_tokens), size) for split, size in
                               (("train", args.batch_size), ("validation", 10), ("test", 10)))
    config = RNNLMConfig(embedding_dim=args.hidden_size, hidden_size=args.hidden_size, num_layers=2, cell="lstm",
                         dropout=0.5, dropout_input=0.5, dropout_hidden=0.5, dropout_embedding=0.0, weight_drop=0.0,
                         tie_weights=True)
    model = RNNLanguageModel(len(vocab), config)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.25, patience=0)
    print(f"vocabulary {len(vocab):,}, train tokens {train.numel():,}, "
          f"parameters {sum(p.numel() for p in model.parameters()):,}")

    best, best_state = math.inf, None
    for epoch in range(1, args.epochs + 1):
        started = time.perf_counter()
        train_loss = train_epoch(model, train, optimizer, args.bptt, clip=0.25)
        val_loss = evaluate(model, validation, args.bptt)
        scheduler.step(val_loss)
        print(f"epoch {epoch:3d} | {time.perf_counter() - started:6.1f} s | train ppl {math.exp(train_loss):8.2f} "
              f"| val ppl {math.exp(val_loss):8.2f} | lr {optimizer.param_groups[0]['lr']:g}")
        if val_loss < best:
            best, best_state = val_loss, {k: v.clone() for k, v in model.state_dict().items()}
    model.load_state_dict(best_state)
    print(f"test ppl {math.exp(evaluate(model, test, args.bptt)):.2f} (best validation ppl {math.exp(best):.2f})")


if __name__ == "__main__":
    main()
