"""Sentences/s of batched beam search against sentence-at-a-time beam search, same model and inputs."""

from __future__ import annotations

from pathlib import Path

import torch
from jsonargparse.typing import PositiveInt

from seqkit.bench.timing import clocks


def _run_test_sources(run: str, limit: int) -> list[str]:
    """Source sentences of the test split the run was configured with (its ``config.yaml``)."""
    import yaml

    from seqkit.data.sources import DataSource, load_splits
    from seqkit.runs import find_checkpoint

    _, run_dir = find_checkpoint(run)
    data = (yaml.safe_load((run_dir / "config.yaml").read_text())["data"] or {}).get("init_args") or {}
    source = DataSource(**{k: v for k, v in (data.get("source") or {}).items() if v is not None})
    split = (data.get("splits") or {}).get("test") or data.get("test_split") or "test"  # older runs: flat
    column = source.column("source", data.get("source_lang", "de"))
    return load_splits(source, [split])[split][column][:limit]


def _fresh_model(sentences: int, seed: int):
    """An untrained small model and random sources: the search does the same work, only the outputs are noise."""
    from seqkit.models.seq2seq import AttentionalSeq2Seq, Seq2SeqConfig

    torch.manual_seed(seed)
    config = Seq2SeqConfig(embedding_dim=128, hidden_size=128, decoder_hidden_size=128, share_embeddings=True)
    model = AttentionalSeq2Seq(4000, 4000, config).eval()
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(5, 25, (sentences,), generator=generator).tolist()
    rows = [torch.randint(4, 4000, (n,), generator=generator).tolist() for n in lengths]
    return model, rows


def bench(*, checkpoint: str | None = None, input: Path | None = None, sentences: PositiveInt = 200,
          beam: PositiveInt = 5, batch_size: PositiveInt = 64, threads: PositiveInt | None = None,
          seed: int = 0, device: str = "cpu") -> int:
    """Sentences/s of batched beam search against sentence-at-a-time beam search, same model and inputs.

    Args:
        checkpoint: trained run (default: an untrained small model on random token ids)
        input: source sentences, one per line (default: the run's test split)
        sentences: sentences to translate in each mode
        beam: beam size
        batch_size: sentences per batch in batched mode
        threads: torch.set_num_threads (default: torch's)
        seed: seed of the untrained model and its random sources
        device: where the model runs (cpu, cuda)
    """
    if threads:
        torch.set_num_threads(threads)
    from seqkit.inference.loading import load
    from seqkit.inference.translate import pad_sources
    from seqkit.search import beam_search
    from seqkit.tasks import Seq2SeqTranslator

    if checkpoint:
        predictor = load(checkpoint, task=Seq2SeqTranslator)
        module, src_tokenizer, tgt_tokenizer = predictor.module, predictor.tokenizer, predictor.target_tokenizer
        texts = (Path(input).read_text(encoding="utf-8").splitlines()[: sentences] if input
                 else _run_test_sources(checkpoint, sentences))
        rows = src_tokenizer.encode_batch(texts)
        bos, eos, pad = tgt_tokenizer.bos_id, tgt_tokenizer.eos_id, src_tokenizer.pad_id
        net = module.hparams["network"]
        what = f"{checkpoint} ({net['cell']} {net['hidden_size']}, {net['attention']} attention)"
    else:
        module, rows = _fresh_model(sentences, seed)
        bos, eos, pad = 2, 3, 0
        what = "untrained GRU 128 model, random sources of 5-24 tokens"
    module.eval().to(device)
    # A trained translator's search settings; an untrained network searches with beam_search's defaults.
    hparams = getattr(module, "hparams", {})
    options = {"beam_size": beam, **{name: hparams[key] for name, key in (
        ("alpha", "length_penalty"), ("max_length_ratio", "max_length_ratio"),
        ("max_length_offset", "max_length_offset")) if key in hparams}}

    def batched() -> list:
        order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
        results = [None] * len(rows)
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            src, lengths = pad_sources([rows[i] for i in indices], pad, device)
            for i, found in zip(indices, beam_search(module, src, lengths, bos, eos, **options), strict=True):
                results[i] = found[0]
        return results

    def one_at_a_time() -> list:
        results = []
        for row in rows:
            src, lengths = pad_sources([row], pad, device)
            results.append(beam_search(module, src, lengths, bos, eos, **options)[0][0])
        return results

    timings, outputs = {}, {}
    with torch.inference_mode():
        for name, fn in (("batched", batched), ("one at a time", one_at_a_time)):
            start = clocks()
            outputs[name] = fn()
            end = clocks()
            timings[name] = (end[0] - start[0], end[1] - start[1])
    same = sum(a.tokens == b.tokens for a, b in zip(outputs["batched"], outputs["one at a time"], strict=True))
    n = len(rows)
    print(f"seqkit bench translate: {what}")
    penalty = options.get('alpha', 'default')
    print(f"  {n} sentences, beam {beam}, batch {batch_size}, length penalty {penalty}; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, {device}")
    print(f"  {'mode':<22} {'wall s':>8} {'sent/s wall':>12} {'cpu s':>8} {'sent/s cpu':>11}")
    for name, (wall, cpu) in timings.items():
        label = f"batched ({batch_size})" if name == "batched" else name
        print(f"  {label:<22} {wall:>8.2f} {n / wall:>12.1f} {cpu:>8.2f} {n / cpu:>11.1f}")
    wall = timings["one at a time"][0] / timings["batched"][0]
    cpu = timings["one at a time"][1] / timings["batched"][1]
    print(f"  speed-up of batched search: {wall:.1f}x wall, {cpu:.1f}x cpu; identical best hypotheses: {same}/{n}")
    return 0
