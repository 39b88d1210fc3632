"""ONNX export of trained seqkit models, checked against PyTorch with onnxruntime.

- Classifier: ``input_ids`` ``(B, T)`` int64, ``input_lengths`` ``(B,)`` int64 -> ``logits`` ``(B, C)``.
- Language model: ``input_ids`` ``(B, T)`` and the per-layer state ``h_l{i}`` (and ``c_l{i}`` for LSTM),
  ``(1, B, H_i)`` float (zeros to start) -> ``logits`` ``(B, T, V)`` and the next state ``h_out_l{i}``...
  Feed the returned state back in to continue a text step by step.
- Translator: two graphs, the encoder and one decoder step (see :func:`export_translator`).
- Speech: ``features`` ``(B, T, F)`` float (the model's log-mel or MFCC frames, normalised as in training: see
  :class:`~seqkit.data.features.LogMelFrontend`) and ``feature_lengths`` ``(B,)`` int64 -> ``logits`` ``(B, C)``
  (word classifier) or ``log_probs`` ``(B, T', C+1)`` and ``step_lengths`` ``(B,)`` (CTC; decode them with
  :func:`~seqkit.search.ctc_greedy_decode` or any CTC decoder, blank 0). The recurrent layers already run without
  packing, so they export as they are.

Batch size and length are dynamic. Packed sequences do not export faithfully, so the classifier's recurrent
encoder is exported through :class:`LengthAwareRNN`: the same weights run on the padded batch, each sequence reversed
within its own length for the backward direction, outputs past each length zeroed, and final states read at each
sequence's last real token (the encoder's outputs and final hidden states; the LSTM cell state is not exported).
Needs the ``onnx`` extra: ``pip install 'seqkit[onnx]'``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from seqkit.errors import SeqkitError
from seqkit.nn.recurrent import FUSED_LAYERS, RecurrentEncoder
from seqkit.tasks import (
    CTCSpeechRecognizer,
    HierarchicalClassifier,
    LanguageModel,
    Seq2SeqTranslator,
    SequenceClassifier,
    SpeechClassifier,
)


class ExportError(SeqkitError, RuntimeError):
    """A model cannot be exported, or the exported graph does not reproduce it."""


# ---------------------------------------------------------------------------------------------- building blocks
class LengthAwareRNN(nn.Module):
    """A stacked (bi)directional ``nn.LSTM``/``nn.GRU``/``nn.RNN`` run on padded batches without packing.

    Gives the outputs and final hidden states of the packed computation (``RecurrentEncoder`` in eval mode) with
    plain tensor operations only, so it exports to ONNX with dynamic batch size and length.

    Args:
        rnn: The trained fused RNN (``batch_first=True``); its weights are copied per layer and direction.
    """

    def __init__(self, rnn: nn.RNNBase) -> None:
        super().__init__()
        kind = {nn.LSTM: "lstm", nn.GRU: "gru", nn.RNN: "rnn"}.get(type(rnn))
        if kind is None or not rnn.batch_first:
            raise ExportError(f"Cannot export a {type(rnn).__name__} (batch_first nn.LSTM/GRU/RNN only).")
        self.kind = kind
        self.num_layers = rnn.num_layers
        self.num_directions = 2 if rnn.bidirectional else 1
        self.hidden_size = rnn.hidden_size
        extra = {"nonlinearity": rnn.nonlinearity} if kind == "rnn" else {}
        self.layers = nn.ModuleList()
        for layer in range(self.num_layers):
            size = rnn.input_size if layer == 0 else self.hidden_size * self.num_directions
            for direction in range(self.num_directions):
                single = FUSED_LAYERS[kind](size, self.hidden_size, batch_first=True, bias=rnn.bias, **extra)
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                with torch.no_grad():
                    for name in ("weight_ih", "weight_hh", *(("bias_ih", "bias_hh") if rnn.bias else ())):
                        getattr(single, f"{name}_l0").copy_(getattr(rnn, name + suffix))  # parametrized: eval value
                self.layers.append(single)

    def forward(self, embedded: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """``embedded`` ``(B, T, E)``, ``lengths`` ``(B,)`` -> outputs ``(B, T, D*H)`` (zero past each length) and
        final hidden states ``(L*D, B, H)`` (zero for empty sequences)."""
        steps = torch.arange(embedded.shape[1], device=embedded.device)[None, :]  # (1, T)
        lengths = lengths.to(embedded.device)[:, None]  # (B, 1)
        mask = steps < lengths  # (B, T)
        reverse = torch.where(mask, lengths - 1 - steps, steps)  # (B, T): each sequence reversed within its length
        last = (lengths - 1).clamp(min=0)  # (B, 1)
        nonempty = (lengths > 0).to(embedded.dtype)  # (B, 1)
        finals: list[Tensor] = []
        hidden = embedded
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                rnn = self.layers[layer * self.num_directions + direction]
                inputs = hidden if direction == 0 else _gather_steps(hidden, reverse)
                out, _ = rnn(inputs)  # (B, T, H); padding comes after the real steps in both directions
                finals.append(_gather_steps(out, last).squeeze(1) * nonempty)  # the last real step, in run order
                outputs.append(_gather_steps(out, reverse) if direction else out)
            hidden = torch.cat(outputs, dim=-1) * mask[..., None].to(embedded.dtype)
        return hidden, torch.stack(finals)


def _gather_steps(values: Tensor, index: Tensor) -> Tensor:
    """``values[b, index[b, t]]`` for ``values`` ``(B, T, F)`` and ``index`` ``(B, T')`` -> ``(B, T', F)``."""
    return values.gather(1, index[..., None].expand(-1, -1, values.shape[-1]))


class LengthAwareEncoder(nn.Module):
    """Drop-in export replacement of a :class:`~seqkit.nn.RecurrentEncoder` (eval mode): the same embeddings and
    weights, run by :class:`LengthAwareRNN`. The final state holds the hidden states (what pooling, ``last_hidden``
    and the translator's bridge read); an LSTM's cell state is returned as zeros."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()

        if not isinstance(encoder, RecurrentEncoder):
            raise ExportError(f"ONNX export supports RecurrentEncoder encoders, not {type(encoder).__name__}.")
        self.embedding = encoder.embedding
        self.rnn = LengthAwareRNN(encoder.rnn)
        self.num_layers, self.num_directions = encoder.num_layers, encoder.num_directions
        self.hidden_size, self.output_size = encoder.hidden_size, encoder.output_size

    def forward(self, ids: Tensor, lengths: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """``ids`` ``(B, T)``, ``lengths`` ``(B,)`` -> outputs ``(B, T, D*H)`` and the final state."""
        outputs, hidden = self.rnn(self.embedding(ids), lengths)
        return outputs, (hidden, torch.zeros_like(hidden)) if self.rnn.kind == "lstm" else hidden

    def last_hidden(self, final: Any) -> Tensor:

        return RecurrentEncoder.last_hidden(self, final)


class _Classifier(nn.Module):
    """Export view of a :class:`~seqkit.tasks.SequenceClassifier`: ids and lengths -> logits."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module
        self.encoder = LengthAwareEncoder(module.network.encoder)

    def forward(self, input_ids: Tensor, input_lengths: Tensor) -> Tensor:
        outputs, final = self.encoder(input_ids, input_lengths)
        return self.module.network.head(self.module.network.pool(outputs, final, input_lengths))


class _TranslatorEncoder(nn.Module):
    """Export view of a translator's ``encode``: ``(memory, keys, mask, hidden, feed)``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.model = copy.copy(module.network)  # a shallow copy whose encoder is swapped; the weights are shared
        self.model.encoder = LengthAwareEncoder(module.network.encoder)

    def forward(self, src_ids: Tensor, src_lengths: Tensor) -> tuple[Tensor, ...]:
        return self.model.encode(src_ids, src_lengths)


class _TranslatorStep(nn.Module):
    """Export view of a translator's ``decode_step``: ``(log_probs, hidden, feed, weights)``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.model = module.network

    def forward(self, prev_tokens: Tensor, hidden: Tensor, feed: Tensor, memory: Tensor, keys: Tensor,
                mask: Tensor) -> tuple[Tensor, ...]:
        return self.model.decode_step(prev_tokens, hidden, feed, memory, keys, mask)


def _copy_trained(model: nn.Module) -> nn.Module:
    """``copy.deepcopy`` of a model that has trained: a fused RNN keeps the weights of its last forward in
    ``_flat_weights``, and with weight drop those are computed (non-leaf) tensors, which deepcopy refuses. They are
    copied as detached values; the copy refreshes them from its own parameters when run."""
    memo: dict[int, Any] = {}
    for submodule in model.modules():
        for tensor in getattr(submodule, "_flat_weights", None) or []:
            if isinstance(tensor, Tensor) and not tensor.is_leaf:
                memo[id(tensor)] = tensor.detach().clone()
    return copy.deepcopy(model, memo)


class _LanguageModel(nn.Module):
    """Export view of a :class:`~seqkit.tasks.LanguageModel`: ids and a flat state -> logits and the next state."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        from torch.nn.utils import parametrize

        model = _copy_trained(module.network).eval()
        if model.adaptive is not None:
            raise ExportError("ONNX export of a language model with an adaptive softmax is not supported.")
        for layer in model.layers:  # weight drop is the identity in eval: bake the plain weights in
            for name in list(getattr(layer, "parametrizations", {}) or {}):
                parametrize.remove_parametrizations(layer, name, leave_parametrized=True)
        self.model = model
        self.lstm = model.config.cell == "lstm"

    def state_names(self, prefix: str = "") -> list[str]:
        names = []
        for i in range(len(self.model.layers)):
            names += [f"h{prefix}_l{i}", f"c{prefix}_l{i}"] if self.lstm else [f"h{prefix}_l{i}"]
        return names

    def zero_state(self, batch: int) -> list[Tensor]:
        return [torch.zeros(1, batch, layer.hidden_size) for layer in self.model.layers
                for _ in range(2 if self.lstm else 1)]

    def forward(self, input_ids: Tensor, *flat_state: Tensor) -> tuple[Tensor, ...]:
        step = 2 if self.lstm else 1
        state = [tuple(flat_state[i : i + 2]) if self.lstm else flat_state[i] for i in range(0, len(flat_state), step)]
        output, new_state, _ = self.model(input_ids, state)
        flat = [t for s in new_state for t in (s if isinstance(s, tuple) else (s,))]
        return (self.model.logits(output), *flat)


# ---------------------------------------------------------------------------------------------- export
@dataclass
class ExportReport:
    """What :func:`export_onnx` wrote and how closely onnxruntime reproduces PyTorch."""

    path: Path
    inputs: list[str]
    outputs: list[str]
    max_abs_diff: float
    #: Further graphs written beside ``path`` (the translator's decoder step).
    extra: dict[str, Any] = field(default_factory=dict)


def _export(wrapper: nn.Module, args: tuple[Tensor, ...], path: Path, inputs: list[str], outputs: list[str],
            dynamic: dict[str, dict[int, str]]) -> None:
    import warnings

    try:
        import onnx  # noqa: F401
    except ImportError:
        raise ExportError("ONNX export needs the onnx extra: pip install 'seqkit[onnx]'.") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript exporter (deprecated in torch, still shipped): a tiny classifier took ~1-3 s on a 2-core
        # CPU against ~12 s through torch.export (dynamo=True, equal outputs), whose language-model graph then
        # refused another batch shape in onnxruntime. The graphs have no data-dependent control flow, and every
        # export is checked on shapes other than the traced ones.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*")
        torch.onnx.export(wrapper, args, str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=17, dynamo=False)


def _check(path: Path, reference: Any, cases: list[tuple[Tensor, ...]], inputs: list[str]) -> float:
    """Largest absolute difference between onnxruntime and the original PyTorch computation over ``cases``."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise ExportError("Checking the export needs onnxruntime: pip install 'seqkit[onnx]'.") from None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    worst = 0.0
    with torch.no_grad():
        for case in cases:
            expected = reference(*case)
            expected = expected if isinstance(expected, tuple) else (expected,)
            got = session.run(None, {name: t.numpy() for name, t in zip(inputs, case, strict=True)})
            for e, g in zip(expected, got, strict=True):
                g = torch.from_numpy(g)
                if e.shape != g.shape:
                    raise ExportError(f"{path}: onnxruntime returned shape {tuple(g.shape)}, PyTorch {tuple(e.shape)}.")
                worst = max(worst, float((e.double() - g.double()).abs().max()) if e.numel() else 0.0)
    return worst


def _random_ids(vocab_size: int, batch: int, length: int, generator: torch.Generator) -> Tensor:
    return torch.randint(4 if vocab_size > 4 else 0, vocab_size, (batch, length), generator=generator)


def export_classifier(module: nn.Module, path: str | Path, tolerance: float = 1e-4) -> ExportReport:
    """Export a :class:`~seqkit.tasks.SequenceClassifier` and check it on random batches of several shapes."""
    wrapper = _Classifier(module.eval()).eval()
    vocab = module.network.encoder.embedding.num_embeddings
    generator = torch.Generator().manual_seed(0)
    inputs, outputs = ["input_ids", "input_lengths"], ["logits"]
    example = (_random_ids(vocab, 3, 7, generator), torch.tensor([7, 4, 1]))
    _export(wrapper, example, Path(path), inputs, outputs,
            {"input_ids": {0: "batch", 1: "time"}, "input_lengths": {0: "batch"}, "logits": {0: "batch"}})
    cases = [example, (_random_ids(vocab, 5, 12, generator), torch.tensor([12, 3, 9, 1, 12])),
             (_random_ids(vocab, 1, 2, generator), torch.tensor([2]))]
    return _report(Path(path), module, cases, inputs, outputs, tolerance)  # against the packed computation


def export_language_model(module: nn.Module, path: str | Path, tolerance: float = 1e-4) -> ExportReport:
    """Export a :class:`~seqkit.tasks.LanguageModel` (one step over a chunk, with its state in and out)."""
    wrapper = _LanguageModel(module.eval()).eval()
    vocab = wrapper.model.embedding.num_embeddings
    generator = torch.Generator().manual_seed(0)
    states, new_states = wrapper.state_names(), wrapper.state_names("_out")
    inputs, outputs = ["input_ids", *states], ["logits", *new_states]
    dynamic = {"input_ids": {0: "batch", 1: "time"}, "logits": {0: "batch", 1: "time"}}
    dynamic.update({name: {1: "batch"} for name in states + new_states})
    example = (_random_ids(vocab, 2, 5, generator), *wrapper.zero_state(2))
    _export(wrapper, example, Path(path), inputs, outputs, dynamic)
    carried = [torch.randn(s.shape[0], 4, s.shape[2], generator=generator) * 0.5 for s in wrapper.zero_state(4)]
    cases = [example, (_random_ids(vocab, 4, 9, generator), *carried)]
    return _report(Path(path), wrapper, cases, inputs, outputs, tolerance)


def _report(path: Path, reference: Any, cases: list[tuple[Tensor, ...]], inputs: list[str], outputs: list[str],
            tolerance: float) -> ExportReport:
    diff = _check(path, reference, cases, inputs)
    if not diff <= tolerance:
        raise ExportError(f"{path}: onnxruntime differs from PyTorch by {diff:.2e} (> {tolerance:.0e}).")
    return ExportReport(path, inputs, outputs, diff)


def export_translator(module: nn.Module, path: str | Path, tolerance: float = 1e-4) -> ExportReport:
    """Export a :class:`~seqkit.tasks.translation.Seq2SeqTranslator` as two graphs: ``path`` (the encoder,
    ``src_ids``/``src_lengths`` -> ``memory, keys, mask, hidden, feed``) and ``<path stem>.decoder_step.onnx``
    (``prev_tokens, hidden, feed, memory, keys, mask`` -> ``log_probs, hidden_out, feed_out, weights``): run
    the encoder once, then the step once per target token, as greedy or beam search does."""
    module.eval()
    path = Path(path)
    step_path = path.with_name(f"{path.stem}.decoder_step.onnx")
    encoder, step = _TranslatorEncoder(module).eval(), _TranslatorStep(module).eval()
    vocab = module.hparams.src_vocab_size
    generator = torch.Generator().manual_seed(0)
    enc_in, enc_out = ["src_ids", "src_lengths"], ["memory", "keys", "mask", "hidden", "feed"]
    example = (_random_ids(vocab, 3, 7, generator), torch.tensor([7, 4, 1]))
    _export(encoder, example, path, enc_in, enc_out, {
        "src_ids": {0: "batch", 1: "source"}, "src_lengths": {0: "batch"}, "memory": {0: "batch", 1: "source"},
        "keys": {0: "batch", 1: "source"}, "mask": {0: "batch", 1: "source"}, "hidden": {1: "batch"},
        "feed": {0: "batch"}})
    cases = [example, (_random_ids(vocab, 4, 10, generator), torch.tensor([10, 2, 7, 10]))]
    encoder_report = _report(path, module.encode, cases, enc_in, enc_out, tolerance)

    step_in = ["prev_tokens", "hidden", "feed", "memory", "keys", "mask"]
    step_out = ["log_probs", "hidden_out", "feed_out", "weights"]
    with torch.no_grad():
        states = [encoder(*case) for case in cases]
    step_cases = [(torch.full((case[0].shape[0],), module.hparams.bos_id), state[3], state[4], state[0], state[1],
                   state[2]) for case, state in zip(cases, states, strict=True)]
    _export(step, step_cases[0], step_path, step_in, step_out, {
        "prev_tokens": {0: "rows"}, "hidden": {1: "rows"}, "feed": {0: "rows"}, "memory": {0: "rows", 1: "source"},
        "keys": {0: "rows", 1: "source"}, "mask": {0: "rows", 1: "source"}, "log_probs": {0: "rows"},
        "hidden_out": {1: "rows"}, "feed_out": {0: "rows"}, "weights": {0: "rows", 1: "source"}})
    step_report = _report(step_path, module.decode_step, step_cases, step_in, step_out, tolerance)
    return ExportReport(path, enc_in, enc_out, max(encoder_report.max_abs_diff, step_report.max_abs_diff),
                        extra={"decoder_step": {"onnx": str(step_path), "inputs": step_in, "outputs": step_out}})


class _SpeechNetwork(nn.Module):
    """Export view of a speech task: feature frames and their counts -> its network's outputs."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.network = module.network

    def forward(self, features: Tensor, feature_lengths: Tensor) -> Any:
        return self.network(features, feature_lengths)


def export_speech(module: nn.Module, path: str | Path, tolerance: float = 1e-4) -> ExportReport:
    """Export a :class:`~seqkit.tasks.SpeechClassifier` or :class:`~seqkit.tasks.CTCSpeechRecognizer` (from
    feature frames: see the module docstring) and check it on batches of several shapes."""
    wrapper = _SpeechNetwork(module.eval()).eval()
    width = module.hparams.num_features
    generator = torch.Generator().manual_seed(0)
    ctc = isinstance(module, CTCSpeechRecognizer)
    inputs = ["features", "feature_lengths"]
    outputs = ["log_probs", "step_lengths"] if ctc else ["logits"]
    dynamic = {"features": {0: "batch", 1: "frames"}, "feature_lengths": {0: "batch"}}
    dynamic.update({"log_probs": {0: "batch", 1: "steps"}, "step_lengths": {0: "batch"}} if ctc
                   else {"logits": {0: "batch"}})
    example = (torch.randn(3, 37, width, generator=generator), torch.tensor([37, 20, 5]))
    _export(wrapper, example, Path(path), inputs, outputs, dynamic)
    cases = [example, (torch.randn(4, 58, width, generator=generator), torch.tensor([58, 13, 40, 1])),
             (torch.randn(1, 9, width, generator=generator), torch.tensor([9]))]
    return _report(Path(path), wrapper, cases, inputs, outputs, tolerance)


#: Why a task has no ONNX export.
UNSUPPORTED = {
    HierarchicalClassifier: "its input is documents split into sentences by seqkit's Python sentence splitter and "
                              "batched in two levels, which no single ONNX graph reproduces; use seqkit.load or "
                              "seqkit explain (see docs/checkpoints.md)",
}


def export_onnx(module: Any, path: str | Path, tolerance: float = 1e-4) -> ExportReport:
    """Export a language model, classifier, translator or speech task module to ONNX (see docs/checkpoints.md)."""
    exporters = {LanguageModel: export_language_model, SequenceClassifier: export_classifier,
                 Seq2SeqTranslator: export_translator, SpeechClassifier: export_speech,
                 CTCSpeechRecognizer: export_speech}
    exporter = next((exporters[k] for k in type(module).__mro__ if k in exporters), None)
    if exporter is None:
        why = UNSUPPORTED.get(type(module), "seqkit has no ONNX exporter for this task")
        raise ExportError(f"ONNX export is not available for {type(module).__name__}: {why}.")
    return exporter(module, path, tolerance=tolerance)
