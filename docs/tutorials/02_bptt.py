"""Tutorial 2: backpropagation through time, truncation, stateful batches, vanishing and exploding gradients.

Run: ``python docs/tutorials/02_bptt.py --out DIR`` (reads WikiText-2 from ``$SEQKIT_DATA_DIR/wikitext2``).
"""

from __future__ import annotations

import argparse
import math
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqkit.data.language_modeling import stream_rows
from seqkit.diagnostics import plot_gradient_norms
from seqkit.nn import RecurrentEncoder, detach_state, gradient_norms_through_time
from seqkit.settings import data_dir


# --8<-- [start:data]
def wikitext_tokens(split: str, lines: int, vocab: dict[str, int] | None = None) -> tuple[Tensor, dict[str, int]]:
    """Word ids of the first ``lines`` lines of WikiText-2 ``split`` (``<eos>`` ends each line), and the vocabulary
    (``<pad>``, ``<unk>`` and the 1,998 commonest words, built from ``split`` when ``vocab`` is None)."""
    root = data_dir()
    if root is None:
        raise SystemExit("set SEQKIT_DATA_DIR to the folder holding wikitext2/ (e.g. ../shared/data)")
    text = pq.read_table(root / "wikitext2" / f"{split}.parquet").column("text").to_pylist()[:lines]
    words = [word for line in text if line.strip() for word in [*line.split(), "<eos>"]]
    if vocab is None:
        common = [word for word, _ in Counter(words).most_common(1999) if word != "<unk>"][:1998]
        vocab = {"<pad>": 0, "<unk>": 1} | {word: i + 2 for i, word in enumerate(common)}
    return torch.tensor([vocab.get(word, 1) for word in words]), vocab
# --8<-- [end:data]


class WordLM(nn.Module):
    """Embedding -> one recurrent layer (``lstm``, ``gru`` or ``rnn``) -> logits ``(B, T, V)``."""

    def __init__(self, vocab_size: int, cell: str, hidden_size: int = 128) -> None:
        super().__init__()
        self.encoder = RecurrentEncoder(vocab_size, 64, hidden_size, cell=cell, pad_id=0)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: Tensor, state=None):
        outputs, state = self.encoder(ids, state=state)
        return self.head(outputs), state


# --8<-- [start:tbptt]
def train_tbptt(model: WordLM, rows: Tensor, k: int, steps: int, carry_state: bool, clip: float | None = 1.0,
                lr: float = 3e-3, optimizer: str = "adam") -> tuple[list[float], list[float]]:
    """Truncated BPTT over the stream laid out as ``rows`` ``(B, N)``: chunk ``i`` is ``rows[:, i*k:(i+1)*k]``.

    With ``carry_state`` the final state of chunk ``i`` starts chunk ``i+1`` (stateful batches), detached so that
    backpropagation stops at the chunk boundary; without it every chunk starts from zeros. Returns the loss and the
    gradient norm (before clipping) of every step.
    """
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    losses, norms, state = [], [], None
    for step in range(steps):
        start = (step * k) % (rows.shape[1] - k - 1)
        if start < k:
            state = None  # wrapped around to the beginning of the stream
        inputs, targets = rows[:, start:start + k], rows[:, start + 1:start + k + 1]
        logits, state = model(inputs, state if carry_state else None)
        state = detach_state(state)  # keep the values, drop the graph: this is the truncation
        loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
        opt.zero_grad()
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), clip if clip else float("inf"))
        opt.step()
        losses.append(loss.item())
        norms.append(float(norm))
    return losses, norms
# --8<-- [end:tbptt]


def perplexity(model: WordLM, rows: Tensor, k: int) -> float:
    """Validation perplexity, state carried across chunks (as it is evaluated in seqkit's language models)."""
    total, count, state = 0.0, 0, None
    with torch.no_grad():
        for start in range(0, rows.shape[1] - 1, k):
            inputs, targets = rows[:, start:start + k], rows[:, start + 1:start + k + 1]
            inputs = inputs[:, : targets.shape[1]]
            logits, state = model(inputs, state)
            total += F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum").item()
            count += targets.numel()
    return math.exp(total / count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the figures")
    parser.add_argument("--lines", type=int, default=2000, help="WikiText-2 training lines to use")
    parser.add_argument("--steps", type=int, default=100, help="training steps per model")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    train_ids, vocab = wikitext_tokens("train", args.lines)
    valid_ids, _ = wikitext_tokens("validation", 400, vocab)
    # --8<-- [start:layout]
    rows = stream_rows(train_ids, rows=16)      # (B, N): 16 contiguous slices of the text, side by side
    valid_rows = stream_rows(valid_ids, rows=16)
    # --8<-- [end:layout]
    print(f"data: {len(train_ids):,} WikiText-2 training words ({args.lines} lines), vocabulary {len(vocab):,}; "
          f"stream laid out as {tuple(rows.shape)}")

    # 1. What truncation drops: the gradient of chunk 2's loss w.r.t. chunk 1's embeddings.
    # --8<-- [start:drop]
    torch.manual_seed(0)
    model, k = WordLM(len(vocab), "lstm"), 20
    embedded = model.encoder.embedding(rows[:, : 2 * k]).detach().requires_grad_(True)
    first, second = embedded[:, :k], embedded[:, k:]
    _, state = model.encoder.rnn(first)
    for name, carried in (("full BPTT (state not detached)", state), ("truncated (state detached)",
                                                                       detach_state(state))):
        outputs, _ = model.encoder.rnn(second, carried)
        loss = F.cross_entropy(model.head(outputs).flatten(0, 1), rows[:, k + 1:2 * k + 1].flatten())
        (grad,) = torch.autograd.grad(loss, embedded)
        print(f"{name:<32} |dL(chunk 2)/d(chunk 1 inputs)| = {grad[:, :k].norm():.2e}, "
              f"|dL(chunk 2)/d(chunk 2 inputs)| = {grad[:, k:].norm():.2e}")
    # --8<-- [end:drop]

    # 2. What carrying the state buys: stateful vs reset-every-chunk, same steps, same data.
    results = {}
    for carry in (True, False):
        torch.manual_seed(0)
        model = WordLM(len(vocab), "lstm")
        losses, _ = train_tbptt(model, rows, k=20, steps=args.steps, carry_state=carry)
        results[carry] = perplexity(model, valid_rows, 20)
        print(f"LSTM, k=20, {args.steps} steps, state {'carried' if carry else 'reset  '}: "
              f"validation perplexity {results[carry]:.1f}")

    # 3. The gradient through time: ||dL/dh_t|| for the loss of the LAST word only, Elman vs LSTM vs GRU.
    # --8<-- [start:through_time]
    probe = rows[:, :50]  # (B, 50): predict word 50 from the 49 before it

    def last_word_loss(model: WordLM) -> Tensor:
        logits, _ = model(probe[:, :-1])
        return F.cross_entropy(logits[:, -1], probe[:, -1])

    curves = {"at initialisation": {}, f"after {args.steps} steps of training": {}}
    for cell, label in (("rnn", "Elman"), ("lstm", "LSTM"), ("gru", "GRU")):
        torch.manual_seed(0)
        model = WordLM(len(vocab), cell)
        curves["at initialisation"][label] = gradient_norms_through_time(model, lambda m=model: last_word_loss(m))[
            "encoder.rnn"]
        train_tbptt(model, rows, k=20, steps=args.steps, carry_state=True)
        curve = gradient_norms_through_time(model, lambda m=model: last_word_loss(m))["encoder.rnn"]
        curves[f"after {args.steps} steps of training"][label] = curve
        print(f"{label:<6} ||dL/dh_t|| at t=1 / t=49 after training: {curve[0]:.1e} / {curve[-1]:.1e} "
              f"(ratio {float(curve[0] / curve[-1]):.1e})")
    # --8<-- [end:through_time]
    plot_gradient_norms(curves, args.out / "02_bptt_gradient_through_time.png",
                        title="WikiText-2, loss of the last word: gradient w.r.t. each hidden state h_t")
    print("wrote 02_bptt_gradient_through_time.png")

    # 4. Exploding gradients: an Elman LM with doubled recurrent weights, plain SGD, with and without clipping.
    # --8<-- [start:explode]
    runs = {}
    for clip in (None, 0.25):
        torch.manual_seed(0)
        model = WordLM(len(vocab), "rnn")
        with torch.no_grad():
            model.encoder.rnn.weight_hh_l0.mul_(2.0)  # larger recurrent weights: gradients grow through time
        losses, norms = train_tbptt(model, rows, k=35, steps=args.steps, carry_state=True, clip=clip,
                                    lr=5.0, optimizer="sgd")
        runs[clip] = (losses, norms)
        finite = [x for x in losses if math.isfinite(x)]
        print(f"Elman, W_hh x2, SGD lr 5, clip {clip}: gradient norm max {max(norms):.1e}, "
              f"median {sorted(norms)[len(norms) // 2]:.1e}; loss first/last {losses[0]:.2f} / {losses[-1]:.2f}"
              f"{'' if len(finite) == len(losses) else ' (non-finite losses!)'}")
    # --8<-- [end:explode]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for clip, (losses, norms) in runs.items():
        label = "no clipping" if clip is None else f"clip_grad_norm_({clip})"
        left.plot(norms, label=label)
        right.plot(losses, label=label)
    left.set(yscale="log", xlabel="training step", ylabel="gradient norm (before clipping)",
             title="Elman LM, W_hh x 2, SGD lr 5: gradient norm")
    right.set(xlabel="training step", ylabel="training loss (nats/word)", title="Training loss")
    left.legend()
    right.legend()
    figure.tight_layout()
    figure.savefig(args.out / "02_bptt_clipping.png", dpi=110)
    print("wrote 02_bptt_clipping.png")


if __name__ == "__main__":
    main()
