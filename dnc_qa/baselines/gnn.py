"""A small message-passing baseline (torch-geometric) for the three graph tasks.

Each query is cut into *hops*; a hop is one graph with node and edge features and a set of
candidate nodes, of which some are right. The network scores every node after a few rounds
of message passing and is trained with ``-log`` of the probability (softmax over the
candidates) of the right ones:

* traversal: node feature "is the current node", edge feature "has the queried label"; one
  round; candidates: every node; right: the next node. A walk is chained from the network's
  own predictions.
* shortest path: node features "current", "goal"; edges in both directions with a direction
  flag; six rounds (enough to carry the goal 4-5 steps back); candidates: the current node's
  successors; right: those one step closer. Rolled out with the network's own moves.
* inference: node feature "start", edge feature the digit label (one-hot 10), the relation
  (one of 400) as a learned embedding added to every message; five rounds; candidates: all
  nodes; right: the answer. The relation's meaning must be learned, as for the DNC.

Unlike the DNC, the GNN reads the graph as a graph (no description phase, no memory to
learn to write), so it is a strong but not like-for-like reference.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import networkx as nx
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch as PygBatch
from torch_geometric.data import Data
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import softmax as group_softmax

RELATIONS = 400
FIRST_RELATION = 10


@dataclass(frozen=True)
class GnnSpec:
    """Feature sizes and depth for one task."""

    node_in: int
    edge_in: int
    rounds: int
    relations: int = 0


SPECS = {
    "traversal": GnnSpec(node_in=1, edge_in=1, rounds=1),
    "shortest_path": GnnSpec(node_in=2, edge_in=2, rounds=6),
    "inference": GnnSpec(node_in=1, edge_in=10, rounds=5, relations=RELATIONS),
}


class Layer(MessagePassing):
    """``h_v <- relu(A h_v + sum_u MLP([h_u, e_uv, c]))``."""

    def __init__(self, hidden: int, edge_in: int) -> None:
        super().__init__(aggr="add")
        self.message_mlp = nn.Sequential(nn.Linear(2 * hidden + edge_in, hidden), nn.ReLU(),
                                         nn.Linear(hidden, hidden))
        self.self_loop = nn.Linear(hidden, hidden)

    def forward(self, h: Tensor, edge_index: Tensor, edge_attr: Tensor, ctx: Tensor) -> Tensor:
        agg = self.propagate(edge_index, h=h, edge_attr=edge_attr, ctx=ctx)
        return torch.relu(self.self_loop(h) + agg)

    def message(self, h_j: Tensor, edge_attr: Tensor, ctx_j: Tensor) -> Tensor:  # type: ignore[override]
        return self.message_mlp(torch.cat([h_j, edge_attr, ctx_j], dim=-1))


class HopGNN(nn.Module):
    """Scores the nodes of a batch of hop graphs (``data.x``, ``edge_index``, ``edge_attr``,
    ``rel`` per graph); returns one logit per node."""

    def __init__(self, spec: GnnSpec, hidden: int = 64) -> None:
        super().__init__()
        self.spec = spec
        self.encode = nn.Linear(spec.node_in, hidden)
        self.relation = nn.Embedding(max(spec.relations, 1), hidden)
        self.layer = Layer(hidden, spec.edge_in)  # shared over rounds
        self.score = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, data: Data) -> Tensor:
        ctx = self.relation(data.rel)[data.batch]
        if self.spec.relations == 0:
            ctx = torch.zeros_like(ctx)
        h = torch.relu(self.encode(data.x))
        for _ in range(self.spec.rounds):
            h = self.layer(h, data.edge_index, data.edge_attr, ctx)
        return self.score(torch.cat([h, ctx], dim=-1)).squeeze(-1)


def hop_loss(logits: Tensor, data: Data) -> Tensor:
    """Mean over hops of ``-log sum_{right} p`` with ``p`` a softmax over the candidates."""
    masked = logits.masked_fill(~data.cand, -1e9)
    p = group_softmax(masked, data.batch)
    right = torch.zeros(data.num_graphs).index_add_(0, data.batch, p * data.right.float())
    return -torch.log(right.clamp_min(1e-9)).mean()


def choose(logits: Tensor, data: Data) -> list[int]:
    """Per graph, the local index of the best-scoring candidate."""
    masked = logits.masked_fill(~data.cand, float("-inf"))
    out = []
    for g in range(data.num_graphs):
        idx = (data.batch == g).nonzero().squeeze(-1)
        out.append(int(masked[idx].argmax().item()))
    return out


# ------------------------------------------------------------------ hop graphs


class Indexed:
    """A graph's nodes in a fixed order, with its edges as tensors."""

    def __init__(self, graph: nx.MultiDiGraph) -> None:
        self.graph = graph
        self.nodes = sorted(graph.nodes)
        self.index = {n: i for i, n in enumerate(self.nodes)}
        edges = sorted((self.index[u], self.index[v], k) for u, v, k in graph.edges(keys=True))
        self.src = torch.tensor([e[0] for e in edges], dtype=torch.long)
        self.dst = torch.tensor([e[1] for e in edges], dtype=torch.long)
        self.keys = [e[2] for e in edges]

    def flag(self, *nodes: str) -> Tensor:
        x = torch.zeros(len(self.nodes))
        for n in nodes:
            x[self.index[n]] = 1.0
        return x

    def mask(self, nodes: Sequence[str]) -> Tensor:
        return self.flag(*nodes) > 0


def traversal_hop(g: Indexed, node: str, edge: str, nxt: str | None) -> Data:
    match = torch.tensor([[float(k == edge)] for k in g.keys]).view(-1, 1)
    n = len(g.nodes)
    right = g.mask([nxt]) if nxt is not None else torch.zeros(n, dtype=torch.bool)
    return Data(x=g.flag(node).view(-1, 1), edge_index=torch.stack([g.src, g.dst]),
                edge_attr=match, cand=torch.ones(n, dtype=torch.bool), right=right,
                rel=torch.zeros(1, dtype=torch.long), num_nodes=n)


def path_hop(g: Indexed, node: str, goal: str, distance: dict[str, int]) -> Data:
    succ = sorted({v for _, v in g.graph.out_edges(node)})
    d = distance.get(node)
    good = [v for v in succ if d is not None and distance.get(v, -1) == d - 1]
    both = torch.cat([torch.stack([g.src, g.dst]), torch.stack([g.dst, g.src])], dim=1)
    e = len(g.keys)
    attr = torch.cat([torch.tensor([[1.0, 0.0]]).repeat(e, 1),
                      torch.tensor([[0.0, 1.0]]).repeat(e, 1)])
    x = torch.stack([g.flag(node), g.flag(goal)], dim=-1)
    return Data(x=x, edge_index=both, edge_attr=attr, cand=g.mask(succ), right=g.mask(good),
                rel=torch.zeros(1, dtype=torch.long), num_nodes=len(g.nodes))


def inference_hop(g: Indexed, start: str, relation: int, answer: str | None) -> Data:
    attr = torch.zeros(len(g.keys), 10)
    for i, k in enumerate(g.keys):
        attr[i, int(k)] = 1.0
    n = len(g.nodes)
    right = g.mask([answer]) if answer is not None else torch.zeros(n, dtype=torch.bool)
    return Data(x=g.flag(start).view(-1, 1), edge_index=torch.stack([g.src, g.dst]),
                edge_attr=attr, cand=torch.ones(n, dtype=torch.bool), right=right,
                rel=torch.tensor([relation - FIRST_RELATION]), num_nodes=n)


def batch_of(hops: Sequence[Data]) -> Data:
    return PygBatch.from_data_list(list(hops))


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i: i + size]
