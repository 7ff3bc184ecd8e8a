"""The implementations the harness compares, each behind one small adapter.

An adapter builds a model for a :class:`Config` and exposes ``train_step()`` (forward,
backward and one Adam step on a fixed random batch, MSE against a random target) and
``infer_step()`` (forward under ``torch.no_grad``). Both synchronise the device before
returning, so wall-clock timing around them is honest on CUDA too.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class Config:
    """One benchmark configuration (defaults: the reference config the speed targets name)."""

    name: str = "ref"
    batch: int = 16
    steps: int = 64
    input_size: int = 64
    hidden: int = 256
    cells: int = 128
    width: int = 32
    reads: int = 4

    def as_dict(self) -> dict:
        return asdict(self)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Adapter:
    """Common driver: a model whose ``forward(x)`` returns ``[B, T, out]`` logits."""

    label = "?"

    def __init__(self, cfg: Config, device: torch.device, seed: int = 0) -> None:
        self.cfg = cfg
        self.device = device
        gen = torch.Generator().manual_seed(seed)
        shape = (cfg.batch, cfg.steps, cfg.input_size)
        self.x = torch.randn(shape, generator=gen).to(device)
        self.target = torch.randn(shape, generator=gen).to(device)
        self.model = self.build().to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-4)
        self.setup_seconds = 0.0

    def build(self) -> torch.nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)[0]

    def train_step(self) -> float:
        self.opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(self.forward(self.x), self.target)
        loss.backward()
        self.opt.step()
        _sync(self.device)
        return float(loss.detach())

    def infer_step(self) -> None:
        with torch.no_grad():
            self.forward(self.x)
        _sync(self.device)


class Ours(Adapter):
    """``dnc_qa.models.DNC``: LSTM controller that sees its reads, one write head; the memory
    backend ``"auto"`` chooses (:meth:`backend` says which and why)."""

    label = "dnc_qa"
    memory_options: dict = {}

    def backend(self):
        """The :class:`~dnc_qa.memory.backends.BackendChoice` of a training pass."""
        return self.model.backend_for(self.x)

    def build(self) -> torch.nn.Module:
        from dnc_qa.models import DNC

        c = self.cfg
        return DNC(
            c.input_size,
            c.input_size,
            hidden_size=c.hidden,
            num_cells=c.cells,
            cell_width=c.width,
            num_reads=c.reads,
            num_writes=1,
            **self.memory_options,
        )


class OursUnfused(Ours):
    """``dnc_qa`` with ``backend="torch"``: the PyTorch step, the same arithmetic as ~150
    small tensor operations per step."""

    label = "dnc_qa unfused"
    memory_options = {"backend": "torch"}


class OursStepwise(Ours):
    """``dnc_qa`` with ``backend="cpp"``: the time loop in Python, one C++ memory step per
    timestep (not the whole pass in C++)."""

    label = "dnc_qa per-step"
    memory_options = {"backend": "cpp"}


class OursSparse(Ours):
    """``DNC(..., link="sparse", link_k=8)``: SDNC-style sparse temporal links."""

    label = "dnc_qa sparse"
    memory_options = {"link": "sparse", "link_k": 8}


class OursCompiled(Ours):
    """``DNC(..., compile=True)``: the memory step under ``torch.compile``."""

    label = "dnc_qa compiled"

    def build(self) -> torch.nn.Module:
        model = super().build()
        model.compile_step()
        return model

    def warm(self) -> None:
        start = time.perf_counter()
        self.train_step()
        self.infer_step()
        self.setup_seconds = time.perf_counter() - start


class OursGraphed(Ours):
    """``dnc_qa`` on CUDA with the whole training step (forward, backward, Adam) and the
    forward pass each captured once as a CUDA graph and replayed
    (:mod:`dnc_qa.models.cuda_graph`; Adam with ``capturable=True``). The capture and its
    warm-up steps are the setup time."""

    label = "dnc_qa CUDA graph"

    def warm(self) -> None:
        from dnc_qa.models.cuda_graph import GraphedForward, GraphedTrainStep

        start = time.perf_counter()
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-4, capturable=True)
        loss_fn = torch.nn.functional.mse_loss
        self.graphed_train = GraphedTrainStep(self.model, self.opt, loss_fn, self.x, self.target)
        self.graphed_forward = GraphedForward(self.model, self.x)
        _sync(self.device)
        self.setup_seconds = time.perf_counter() - start

    def train_step(self) -> float:
        loss = self.graphed_train(self.x, self.target)
        _sync(self.device)
        return float(loss)

    def infer_step(self) -> None:
        self.graphed_forward(self.x)
        _sync(self.device)


class Peer(Adapter):
    """pip ``dnc==1.1.0`` configured as close to ours as its API allows.

    ``num_layers=1, num_hidden_layers=1, batch_first=True``. Remaining differences: its
    controller input is ``[x_t, r_0]`` (it never feeds the reads back), keys use ``tanh``,
    there is one write head and an ``nn.LSTM`` call per timestep.
    """

    label = "pip dnc 1.1.0"

    def build(self) -> torch.nn.Module:
        from dnc import DNC as PeerDNC

        c = self.cfg
        gpu_id = self.device.index or 0 if self.device.type == "cuda" else -1
        return PeerDNC(
            c.input_size,
            c.hidden,
            rnn_type="lstm",
            num_layers=1,
            num_hidden_layers=1,
            nr_cells=c.cells,
            read_heads=c.reads,
            cell_size=c.width,
            batch_first=True,
            gpu_id=gpu_id,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, (None, None, None), reset_experience=True)[0]


IMPLS: dict[str, type[Adapter]] = {
    "ours": Ours,
    "unfused": OursUnfused,
    "stepwise": OursStepwise,
    "sparse": OursSparse,
    "compiled": OursCompiled,
    "graphed": OursGraphed,
    "peer": Peer,
}
