"""Store words in a Hopfield network and word pairs in a BAM, then recall them from corrupted versions.

    python examples/hopfield_words.py                 # prints each corrupted word and what the memories recall
    python examples/hopfield_words.py --noise 0.25    # flip a quarter of the bits

Each (position, letter) gets a fixed random bipolar code of 16 bits, so that words sharing letters (and the padding
spaces) still give nearly uncorrelated patterns, which Hebbian storage needs; a word of up to 8 letters is the
concatenation of its codes (128 units). Short words are padded cyclically ("cat cat ") rather than with spaces, for
the same reason: a shared padding would be a common component pulling every recall to the same mixture. A pattern is
decoded letter by letter by the nearest code, up to the first space.
"""

from __future__ import annotations

import argparse
import string

import torch

from seqkit.models.hopfield import BAM, HopfieldNetwork, ModernHopfield

ALPHABET = string.ascii_lowercase + " "
BITS, LETTERS = 16, 8
PAIRS = {"house": "maison", "water": "eau", "cat": "chat", "tree": "arbre", "book": "livre", "night": "nuit"}


def letter_codes(seed: int = 0) -> torch.Tensor:
    """A bipolar code ``(LETTERS, 27, BITS)`` per position and letter (or space)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 2, (LETTERS, len(ALPHABET), BITS), generator=generator).float() * 2 - 1


def encode(words: list[str], codes: torch.Tensor) -> torch.Tensor:
    """Words (up to ``LETTERS - 1`` letters) -> bipolar patterns ``(W, LETTERS * BITS)``."""
    ids = torch.tensor([[ALPHABET.index(c) for c in ((w + " ") * LETTERS)[:LETTERS]] for w in words])
    return codes[torch.arange(LETTERS), ids].flatten(1)


def decode(patterns: torch.Tensor, codes: torch.Tensor) -> list[str]:
    """Patterns ``(W, LETTERS * BITS)`` -> words, letter by nearest code."""
    scores = torch.einsum("wlb,lab->wla", patterns.view(len(patterns), LETTERS, BITS), codes)
    letters = scores.argmax(-1)
    return ["".join(ALPHABET[i] for i in row).split(" ")[0] for row in letters.tolist()]


def corrupt(patterns: torch.Tensor, share: float, generator: torch.Generator) -> torch.Tensor:
    flips = torch.rand(patterns.shape, generator=generator) < share
    return torch.where(flips, -patterns, patterns)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, default=0.2, help="share of bits flipped (default 0.2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    generator = torch.Generator().manual_seed(args.seed)
    codes = letter_codes()
    english, french = list(PAIRS), list(PAIRS.values())
    x, y = encode(english, codes), encode(french, codes)

    hopfield = HopfieldNetwork(x.shape[1])
    hopfield.store(x)
    noisy = corrupt(x, args.noise, generator)
    recalled, energies = hopfield.recall(noisy, "async", generator=generator)
    print(f"Hopfield network, {x.shape[1]} units, {len(x)} words, {args.noise:.0%} of bits flipped:")
    for word, seen, got, e0, e1 in zip(english, decode(noisy, codes), decode(recalled, codes),
                                       energies[0].tolist(), energies[-1].tolist()):
        print(f"  {word:<8} corrupted {seen!r:<12} recalled {got!r:<10} energy {e0:8.1f} -> {e1:8.1f}")

    bam = BAM(x.shape[1], y.shape[1])
    bam.store(x, y)
    _, to_french = bam.recall(x=corrupt(x, args.noise, generator))
    to_english, _ = bam.recall(y=corrupt(y, args.noise, generator))
    print("BAM, English <-> French from corrupted inputs:")
    for word, fr, got_fr, got_en in zip(english, french, decode(to_french, codes), decode(to_english, codes)):
        print(f"  {word:<8} -> {got_fr!r:<10} {fr:<8} -> {got_en!r}")

    modern = ModernHopfield(x.shape[1], beta=0.2)
    many = ["apple", "bread", "chair", "dream", "eagle", "flame", "grape", "heart", "ivory", "jelly", "knife", "lemon",
            "mango", "noble", "ocean", "piano", "queen", "river", "stone", "tiger", "uncle", "voice", "whale", "youth"]
    stored = encode(many, codes)
    retrieved = modern(corrupt(stored, args.noise, generator)[None], stored[None])[0]
    right = sum(a == b for a, b in zip(decode(retrieved, codes), many))
    print(f"Modern Hopfield (one update, beta 0.2): {right}/{len(many)} words retrieved exactly")


if __name__ == "__main__":
    main()
