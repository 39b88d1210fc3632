"""Parts 4 and 5 of ``seqkit bench gpu``, on the language model directly: cuDNN with and without weight drop, and
deterministic algorithms."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import warnings

import torch

from seqkit.bench.timing import synchronize
from seqkit.models.rnn_lm import RNNLanguageModel, RNNLMConfig

#: cuBLAS needs this set before its first use in the process for deterministic algorithms (part 5); the separate
#: processes of part 2 run without it, as a user's would.
OWN_CUBLAS_SETTING = "CUBLAS_WORKSPACE_CONFIG" not in os.environ
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")


# ---------------------------------------------------------------------------------------------- 4 and 5: kernels
def _language_model(settings: dict, weight_drop: float, device: str) -> torch.nn.Module:
    torch.manual_seed(settings["seed"])
    config = RNNLMConfig(embedding_dim=settings["hidden"], hidden_size=settings["hidden"],
                         num_layers=settings["layers"], weight_drop=weight_drop, dropout=0.4, dropout_input=0.4,
                         dropout_hidden=0.25, dropout_embedding=0.0)
    return RNNLanguageModel(settings["vocab"], config).to(device).train()


def _train_steps(model: torch.nn.Module, settings: dict, steps: int, device: str) -> float:
    """Seconds for ``steps`` steps of forward, backward and SGD on random chunks (the first two untimed)."""
    generator = torch.Generator().manual_seed(settings["seed"])
    shape = (settings["batch_size"], settings["bptt"] + 1)
    batches = [torch.randint(0, settings["vocab"], shape, generator=generator).to(device) for _ in range(4)]
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    started = 0.0
    for step in range(steps + 2):
        if step == 2:
            synchronize(device)
            started = time.perf_counter()
        ids = batches[step % len(batches)]
        output, _, _ = model(ids[:, :-1])
        loss = model.loss(output, ids[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    synchronize(device)
    return time.perf_counter() - started


def weight_drop_cost(settings: dict, steps: int) -> dict:
    """Part 4: steps/s of the language model on cuDNN without and with weight drop 0.5, and how often the weights
    were re-packed into one buffer (``flatten_parameters``) or cuDNN warned that they are not."""
    rows = []
    flatten = torch.nn.LSTM.flatten_parameters
    for weight_drop in (0.0, 0.5):
        model = _language_model(settings, weight_drop, "cuda")
        packs = [0]

        def counting(self, packs=packs) -> None:
            packs[0] += 1
            flatten(self)

        torch.nn.LSTM.flatten_parameters = counting
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                seconds = _train_steps(model, settings, steps, "cuda")
        finally:
            torch.nn.LSTM.flatten_parameters = flatten
        chunk = [w for w in caught if "contiguous chunk" in str(w.message)]
        rows.append({"weight drop": weight_drop, "steps/s": f"{steps / seconds:.2f}",
                     "re-packs per step": f"{packs[0] / (steps + 2):.2f}", "cuDNN weight warnings": len(chunk)})
    slower = float(rows[0]["steps/s"]) / float(rows[1]["steps/s"])
    return {"rows": rows, "notes": [f"Weight drop costs {slower:.2f}x the time of a step (fp32, forward+backward+SGD "
                                    "of the whole model)."]}


def _digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode() + tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


def determinism(settings: dict, steps: int, cuda: bool) -> dict:
    """Part 5: the same short training twice, with deterministic algorithms on and off: are the weights equal?"""
    device = "cuda" if cuda else "cpu"
    rows = []
    for deterministic in (True, False):
        digests, error = [], None
        with _deterministic(deterministic):
            try:
                for _ in range(2):
                    model = _language_model(settings, 0.5, device)
                    _train_steps(model, settings, steps, device)
                    digests.append(_digest(model))
            except RuntimeError as failure:
                error = str(failure).splitlines()[0][:200]
        rows.append({"deterministic algorithms": "on" if deterministic else "off",
                     "two runs' weights": error or ("identical" if digests[0] == digests[1] else "differ")})
    notes = ["`seqkit fit --trainer.deterministic true` turns them on (cuDNN's included), for runs and resumes that "
             "repeat to the bit on a GPU."]
    return {"rows": rows, "notes": notes}


@contextlib.contextmanager
def _deterministic(on: bool):
    before = torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic
    torch.use_deterministic_algorithms(on)
    torch.backends.cudnn.deterministic = on
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0])
        torch.backends.cudnn.deterministic = before[1]
