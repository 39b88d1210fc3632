"""Tutorial 1: an Elman RNN written out by hand, then the same network through seqkit's fused layer.

Run: ``python docs/tutorials/01_rnn_from_scratch.py --out DIR`` (reads SST-2 from ``$SEQKIT_DATA_DIR/sst2``).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqkit.nn import CellRNN, RecurrentEncoder
from seqkit.settings import data_dir


# --8<-- [start:data]
def sst2_text(split: str, sentences: int) -> str:
    """The first ``sentences`` SST-2 sentences of ``split``, one per line."""
    root = data_dir()
    if root is None:
        raise SystemExit("set SEQKIT_DATA_DIR to the folder holding sst2/ (e.g. ../shared/data)")
    table = pq.read_table(root / "sst2" / f"{split}.parquet", columns=["text"])
    return "\n".join(table.column("text").to_pylist()[:sentences]) + "\n"


def encode(text: str, alphabet: list[str]) -> Tensor:
    """Characters -> ids ``(N,)``; id 0 is kept for padding, unknown characters become the last id."""
    index = {c: i + 1 for i, c in enumerate(alphabet)}
    return torch.tensor([index.get(c, len(alphabet) + 1) for c in text])


def windows(stream: Tensor, starts: Tensor, length: int) -> tuple[Tensor, Tensor]:
    """Inputs ``(B, T)`` and next-character targets ``(B, T)`` from windows of the stream."""
    positions = starts[:, None] + torch.arange(length + 1)
    chunk = stream[positions]
    return chunk[:, :-1], chunk[:, 1:]
# --8<-- [end:data]


# --8<-- [start:scratch]
class ScratchElman(nn.Module):
    """``h_t = tanh(W_ih x_t + W_hh h_{t-1} + b)``, one Python step per character; logits ``(B, T, V)``."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        self.w_ih = nn.Parameter(torch.empty(hidden_size, embedding_dim))
        self.w_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(hidden_size))
        bound = 1 / math.sqrt(hidden_size)  # PyTorch's RNN initialisation
        for weight in (self.w_ih, self.w_hh, self.b):
            nn.init.uniform_(weight, -bound, bound)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: Tensor) -> Tensor:
        x = self.embedding(ids)                       # (B, T, E)
        h = x.new_zeros(ids.shape[0], self.w_hh.shape[0])  # (B, H): the state starts at zero
        outputs = []
        for t in range(ids.shape[1]):                 # the recurrence: one step at a time
            h = torch.tanh(x[:, t] @ self.w_ih.T + h @ self.w_hh.T + self.b)
            outputs.append(h)
        return self.head(torch.stack(outputs, dim=1))  # (B, T, H) -> (B, T, V)
# --8<-- [end:scratch]


# --8<-- [start:fused]
class FusedElman(nn.Module):
    """The same network through :class:`seqkit.nn.RecurrentEncoder` (``nn.RNN``'s fused kernel)."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int) -> None:
        super().__init__()
        self.encoder = RecurrentEncoder(vocab_size, embedding_dim, hidden_size, cell="rnn", pad_id=0)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: Tensor) -> Tensor:
        outputs, _ = self.encoder(ids)                # (B, T, H), the whole loop in one call
        return self.head(outputs)

    @torch.no_grad()
    def copy_from(self, scratch: ScratchElman) -> None:
        """Take the hand-written model's weights (the fused layer has two biases: b_ih = b, b_hh = 0)."""
        rnn = self.encoder.rnn
        self.encoder.embedding.weight.copy_(scratch.embedding.weight)
        rnn.weight_ih_l0.copy_(scratch.w_ih)
        rnn.weight_hh_l0.copy_(scratch.w_hh)
        rnn.bias_ih_l0.copy_(scratch.b)
        rnn.bias_hh_l0.zero_()
        self.head.load_state_dict(scratch.head.state_dict())
# --8<-- [end:fused]


def bits_per_char(model: nn.Module, stream: Tensor, length: int) -> float:
    """Mean cross-entropy in bits over consecutive windows of the stream."""
    starts = torch.arange(0, len(stream) - length - 1, length)
    inputs, targets = windows(stream, starts, length)
    with torch.no_grad():
        loss = F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())
    return float(loss) / math.log(2)


# --8<-- [start:train]
def train(model: nn.Module, stream: Tensor, steps: int, batch: int, length: int,
          seed: int) -> tuple[list[float], float]:
    """Adam on random windows; returns the loss (bits/char) of every step and the steps per second."""
    generator = torch.Generator().manual_seed(seed)  # both models see the same batches
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    start = time.perf_counter()
    for _ in range(steps):
        inputs, targets = windows(stream, torch.randint(0, len(stream) - length - 1, (batch,), generator=generator),
                                  length)
        loss = F.cross_entropy(model(inputs).flatten(0, 1), targets.flatten())
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item() / math.log(2))
    return losses, steps / (time.perf_counter() - start)
# --8<-- [end:train]


# --8<-- [start:speed]
def steps_per_second(layer: nn.Module, inputs: Tensor, repeats: int, rounds: int = 3) -> float:
    """Forward + backward passes per second of a recurrent layer on ``inputs`` ``(B, T, E)``: the best of
    ``rounds`` timings of ``repeats`` passes (the least disturbed by whatever else the machine runs)."""
    for _ in range(2):  # warm-up
        layer(inputs)[0].sum().backward()
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            layer(inputs)[0].sum().backward()
        best = max(best, repeats / (time.perf_counter() - start))
    return best


class ScratchLayer(nn.Module):
    """The hand-written loop as a layer: ``(B, T, E) -> ((B, T, H), h_T)``, for the speed comparison."""

    def __init__(self, input_size: int, hidden_size: int) -> None:
        super().__init__()
        self.w_ih = nn.Parameter(torch.randn(hidden_size, input_size) / math.sqrt(hidden_size))
        self.w_hh = nn.Parameter(torch.randn(hidden_size, hidden_size) / math.sqrt(hidden_size))
        self.b = nn.Parameter(torch.zeros(hidden_size))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = x.new_zeros(x.shape[0], self.w_hh.shape[0])
        outputs = []
        for t in range(x.shape[1]):
            h = torch.tanh(x[:, t] @ self.w_ih.T + h @ self.w_hh.T + self.b)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h
# --8<-- [end:speed]


def sample(model: FusedElman, alphabet: list[str], prompt: str, count: int, seed: int) -> str:
    """Continue ``prompt`` by ``count`` characters, sampling at temperature 0.7, carrying the state."""
    generator = torch.Generator().manual_seed(seed)
    ids = encode(prompt, alphabet)[None]
    text = prompt
    with torch.no_grad():
        outputs, state = model.encoder(ids)
        logits = model.head(outputs[:, -1])
        for _ in range(count):
            next_id = torch.multinomial(F.softmax(logits / 0.7, dim=-1), 1, generator=generator)
            index = int(next_id) - 1
            text += alphabet[index] if 0 <= index < len(alphabet) else "?"
            outputs, state = model.encoder(next_id, state=state)
            logits = model.head(outputs[:, -1])
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the figures")
    parser.add_argument("--sentences", type=int, default=6000, help="SST-2 training sentences to learn from")
    parser.add_argument("--steps", type=int, default=250, help="training steps per model")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    train_text, valid_text = sst2_text("train", args.sentences), sst2_text("validation", 400)
    alphabet = sorted({c for c in train_text})
    train_ids, valid_ids = encode(train_text, alphabet), encode(valid_text, alphabet)
    vocab = len(alphabet) + 2  # + padding id 0 and the unknown id
    print(f"data: {args.sentences} SST-2 sentences, {len(train_ids):,} characters, alphabet of {len(alphabet)}")

    # --8<-- [start:same]
    torch.manual_seed(0)
    scratch = ScratchElman(vocab, embedding_dim=32, hidden_size=128)
    fused = FusedElman(vocab, embedding_dim=32, hidden_size=128)
    fused.copy_from(scratch)
    probe = train_ids[:64].view(2, 32)
    difference = (scratch(probe) - fused(probe)).abs().max().item()
    print(f"same weights, same outputs: max |scratch - fused| = {difference:.1e}")
    # --8<-- [end:same]

    batch, length = 32, 64
    print(f"training both for {args.steps} Adam steps, batch {batch} x {length} characters, hidden 128")
    scratch_losses, scratch_rate = train(scratch, train_ids, args.steps, batch, length, seed=1)
    fused_losses, fused_rate = train(fused, train_ids, args.steps, batch, length, seed=1)
    for name, model, rate in (("scratch", scratch, scratch_rate), ("fused", fused, fused_rate)):
        print(f"{name:<8} {rate:6.1f} training steps/s, validation {bits_per_char(model, valid_ids, length):.3f} "
              f"bits/char")
    print("sample:", repr(sample(fused, alphabet, "the film is ", 80, seed=0)))

    # The layers alone, forward + backward on the same (B, T, E) input: where the time goes.
    inputs = torch.randn(batch, length, 32)
    layers = {
        "hand-written loop": ScratchLayer(32, 128),
        "seqkit.nn.CellRNN('elman')": CellRNN("elman", 32, 128),
        "fused nn.RNN (RecurrentEncoder)": nn.RNN(32, 128, batch_first=True),
        "seqkit.nn.CellRNN('lstm')": CellRNN("lstm", 32, 128),
        "fused nn.LSTM": nn.LSTM(32, 128, batch_first=True),
    }
    rates = {name: steps_per_second(layer, inputs, repeats=15) for name, layer in layers.items()}
    for name, rate in rates.items():
        print(f"layer only: {name:<32} {rate:7.1f} forward+backward/s")
    speedup = rates["fused nn.RNN (RecurrentEncoder)"] / rates["hand-written loop"]
    lstm_speedup = rates["fused nn.LSTM"] / rates["seqkit.nn.CellRNN('lstm')"]
    print(f"fused speed-up: Elman {speedup:.1f}x over the hand-written loop, LSTM {lstm_speedup:.1f}x over the "
          "cell loop")

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    window = 10
    for name, losses in (("hand-written loop", scratch_losses), ("seqkit fused layer", fused_losses)):
        smooth = torch.tensor(losses).unfold(0, window, 1).mean(1)
        left.plot(range(window, len(losses) + 1), smooth, label=name)
    left.set(xlabel="training step", ylabel="training loss (bits/char, mean of 10 steps)",
             title="Same weights, same batches: same curve")
    left.legend()
    names = list(rates)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:orange", "tab:green"]
    right.barh(names, [rates[n] for n in names], color=colours)
    right.set(xlabel="forward+backward per second (higher is faster)",
              title=f"Layers alone, B={batch}, T={length}, H=128, 1 thread")
    figure.tight_layout()
    path = args.out / "01_rnn_from_scratch.png"
    figure.savefig(path, dpi=110)
    print(f"wrote {path.name}")


if __name__ == "__main__":
    main()
