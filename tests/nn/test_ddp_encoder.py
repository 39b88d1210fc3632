"""RecurrentEncoder under DistributedDataParallel (gloo, 2 CPU processes): gradients agree, no weight warnings."""

from __future__ import annotations

import socket
import warnings

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from seqkit.nn import RecurrentEncoder


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _worker(rank: int, port: int, results) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    torch.set_num_threads(1)
    try:
        torch.manual_seed(rank)  # different initial weights: DDP must broadcast rank 0's
        encoder = RecurrentEncoder(30, 8, 8, 2, "lstm", True, 0.0, 0, weight_dropout=0.3)
        model = DistributedDataParallel(encoder)
        torch.manual_seed(100 + rank)
        ids = torch.randint(1, 30, (4, 40))
        lengths = torch.tensor([40, 33, 20, 5])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):
                outputs, final = model(ids, lengths)
                (outputs.sum() + encoder.last_hidden(final).sum()).backward()
        grads = torch.cat([p.grad.flatten() for p in encoder.parameters() if p.grad is not None])
        weights = torch.cat([p.detach().flatten() for p in encoder.parameters()])
        gathered = [torch.zeros_like(grads) for _ in range(2)]
        dist.all_gather(gathered, grads)
        same_weights = [torch.zeros_like(weights) for _ in range(2)]
        dist.all_gather(same_weights, weights)
        results[rank] = (
            torch.equal(gathered[0], gathered[1]),
            torch.equal(same_weights[0], same_weights[1]),
            [str(w.message) for w in caught if "contiguous" in str(w.message)],
        )
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_encoder_under_ddp():
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_worker, args=(_free_port(), results), nprocs=2, join=True)
        results = dict(results)
    for rank in (0, 1):
        grads_equal, weights_equal, weight_warnings = results[rank]
        assert grads_equal and weights_equal and weight_warnings == []
