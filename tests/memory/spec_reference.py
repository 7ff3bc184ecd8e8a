"""An independent, deliberately naive transcription of docs/memory.md.

Plain Python loops over batch, heads and cells (float64 tensors, indexed element by element),
sharing no code with ``dnc_qa.memory``: the tests compare every backend against it value by
value. The DNC step includes the options of docs/memory.md ("Choices the paper leaves open"):
key/memory masking (``read_masks``/``write_masks`` in the interface), de-allocation
(``deallocation=True``) and link sharpness (``link_sharpness`` in the interface).
"""

from __future__ import annotations

import math

import torch

EPS = 1e-6
EPS_A = 1e-6


def _cos(k, m):
    dot = sum(k[w] * m[w] for w in range(len(k)))
    nk = math.sqrt(sum(float(v) ** 2 for v in k))
    nm = math.sqrt(sum(float(v) ** 2 for v in m))
    return float(dot) / (nk * nm + EPS)


def _content(memory_b, key, beta, mask=None):
    if mask is not None:  # masking: cos(k * m, M[i] * m)
        key = [key[w] * mask[w] for w in range(len(key))]
        memory_b = [[row[w] * mask[w] for w in range(len(row))] for row in memory_b]
    scores = [beta * _cos(key, memory_b[i]) for i in range(len(memory_b))]
    top = max(scores)
    e = [math.exp(s - top) for s in scores]
    z = sum(e)
    return [v / z for v in e]


def _sharpen(weights, s, eps=1e-12):
    """Link sharpness: f^s / sum(f^s) * sum(f), f clamped below at eps before the power."""
    powered = [max(x, eps) ** s for x in weights]
    total, mass = sum(powered), sum(weights)
    return [p / total * mass for p in powered]


def dnc_reference_step(
    iface: dict, state: dict, deallocation: bool = False
) -> tuple[torch.Tensor, dict]:
    """One DNC step on plain nested lists. ``iface`` and ``state`` hold float64 tensors."""
    f = {k: v.tolist() for k, v in iface.items() if v is not None}
    s = {k: v.tolist() for k, v in state.items()}
    B = len(s["memory"])
    N = len(s["memory"][0])
    W = len(s["memory"][0][0])
    R = len(s["read_weights"][0])
    Hw = len(s["write_weights"][0])
    out = {k: [] for k in s}
    reads_all = []
    for b in range(B):
        M = s["memory"][b]
        # 1. retention and usage
        psi = [1.0] * N
        for i in range(R):
            for n in range(N):
                psi[n] *= 1 - f["free_gates"][b][i] * s["read_weights"][b][i][n]
        wprev = []
        for n in range(N):
            p = 1.0
            for j in range(Hw):
                p *= 1 - s["write_weights"][b][j][n]
            wprev.append(1 - p)
        u0 = s["usage"][b]
        usage = [(u0[n] + wprev[n] - u0[n] * wprev[n]) * psi[n] for n in range(N)]
        if deallocation:  # freed cells are erased in proportion to 1 - psi
            M = [[M[n][w] * psi[n] for w in range(W)] for n in range(N)]
        # 2. write content weights
        wmask = f.get("write_masks")
        cw = [
            _content(M, f["write_keys"][b][j], f["write_strengths"][b][j],
                     wmask[b][j] if wmask else None)
            for j in range(Hw)
        ]
        # 3. allocation per write head
        u = list(usage)
        alloc = []
        for j in range(Hw):
            uh = [EPS_A + (1 - EPS_A) * x for x in u]
            phi = sorted(range(N), key=lambda n, uh=uh: uh[n])  # Python's sort is stable
            a = [0.0] * N
            prod = 1.0
            for k in range(N):
                a[phi[k]] = (1 - uh[phi[k]]) * prod
                prod *= uh[phi[k]]
            alloc.append(a)
            g = f["allocation_gates"][b][j] * f["write_gates"][b][j]
            u = [u[n] + (1 - u[n]) * g * a[n] for n in range(N)]
        # 4. write weights
        ww = []
        for j in range(Hw):
            ga, gw = f["allocation_gates"][b][j], f["write_gates"][b][j]
            ww.append([gw * (ga * alloc[j][n] + (1 - ga) * cw[j][n]) for n in range(N)])
        # 5. memory
        newM = []
        for n in range(N):
            row = []
            for w in range(W):
                keep = 1.0
                add = 0.0
                for j in range(Hw):
                    keep *= 1 - ww[j][n] * f["erase_vectors"][b][j][w]
                    add += ww[j][n] * f["write_vectors"][b][j][w]
                row.append(M[n][w] * keep + add)
            newM.append(row)
        # 6. links and precedence
        links, precs = [], []
        for j in range(Hw):
            L0 = s["link"][b][j]
            p0 = s["precedence"][b][j]
            L = [
                [
                    0.0 if a == c else (1 - ww[j][a] - ww[j][c]) * L0[a][c] + ww[j][a] * p0[c]
                    for c in range(N)
                ]
                for a in range(N)
            ]
            links.append(L)
            sw = sum(ww[j])
            precs.append([(1 - sw) * p0[n] + ww[j][n] for n in range(N)])
        # 7.-9. read weights
        rws = []
        rmask = f.get("read_masks")
        sharp = f.get("link_sharpness")
        for i in range(R):
            c = _content(newM, f["read_keys"][b][i], f["read_strengths"][b][i],
                         rmask[b][i] if rmask else None)
            wr0 = s["read_weights"][b][i]
            modes = f["read_modes"][b][i]
            rw = [modes[Hw] * c[n] for n in range(N)]
            for j in range(Hw):
                L = links[j]
                fwd = [sum(L[n][m] * wr0[m] for m in range(N)) for n in range(N)]
                bwd = [sum(L[m][n] * wr0[m] for m in range(N)) for n in range(N)]
                if sharp:
                    fwd, bwd = _sharpen(fwd, sharp[b][i]), _sharpen(bwd, sharp[b][i])
                for n in range(N):
                    rw[n] += modes[j] * bwd[n] + modes[Hw + 1 + j] * fwd[n]
            rws.append(rw)
        # 10. read vectors
        reads = [
            [sum(newM[n][w] * rws[i][n] for n in range(N)) for w in range(W)] for i in range(R)
        ]
        reads_all.append(reads)
        for key, value in [
            ("memory", newM),
            ("usage", usage),
            ("link", links),
            ("precedence", precs),
            ("read_weights", rws),
            ("write_weights", ww),
        ]:
            out[key].append(value)
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    return t(reads_all), {k: t(v) for k, v in out.items()}


def ntm_reference_address(M, w_prev, key, beta, g, shift, gamma):
    N = len(M)
    c = _content(M, key, beta)
    wg = [g * c[n] + (1 - g) * w_prev[n] for n in range(N)]
    k = (len(shift) - 1) // 2
    ws = [sum(wg[(i - o) % N] * shift[o + k] for o in range(-k, k + 1)) for i in range(N)]
    p = [x**gamma for x in ws]
    z = sum(p)
    return [x / z for x in p]


def ntm_reference_step(iface: dict, state: dict) -> tuple[torch.Tensor, dict]:
    f = {k: v.tolist() for k, v in iface.items()}
    s = {k: v.tolist() for k, v in state.items()}
    B = len(s["memory"])
    W = len(s["memory"][0][0])
    N = len(s["memory"][0])
    R = len(s["read_weights"][0])
    Hw = len(s["write_weights"][0])
    out = {"memory": [], "read_weights": [], "write_weights": []}
    reads_all = []
    for b in range(B):
        M = s["memory"][b]
        ww = [
            ntm_reference_address(
                M,
                s["write_weights"][b][j],
                f["write_keys"][b][j],
                f["write_strengths"][b][j],
                f["write_gates"][b][j],
                f["write_shifts"][b][j],
                f["write_sharpen"][b][j],
            )
            for j in range(Hw)
        ]
        newM = []
        for n in range(N):
            row = []
            for w in range(W):
                keep, add = 1.0, 0.0
                for j in range(Hw):
                    keep *= 1 - ww[j][n] * f["erase_vectors"][b][j][w]
                    add += ww[j][n] * f["add_vectors"][b][j][w]
                row.append(M[n][w] * keep + add)
            newM.append(row)
        rw = [
            ntm_reference_address(
                newM,
                s["read_weights"][b][i],
                f["read_keys"][b][i],
                f["read_strengths"][b][i],
                f["read_gates"][b][i],
                f["read_shifts"][b][i],
                f["read_sharpen"][b][i],
            )
            for i in range(R)
        ]
        reads_all.append(
            [[sum(newM[n][w] * rw[i][n] for n in range(N)) for w in range(W)] for i in range(R)]
        )
        out["memory"].append(newM)
        out["read_weights"].append(rw)
        out["write_weights"].append(ww)
    t = lambda x: torch.tensor(x, dtype=torch.float64)  # noqa: E731
    return t(reads_all), {k: t(v) for k, v in out.items()}
