// The sparse (SDNC) temporal link step on the CPU: the link update with its selection of kept
// entries and the forward / backward directional weightings (sparse_link_forward), and its
// reverse (sparse_link_backward). dnc_qa.memory.sparse_link wraps them in a
// torch.autograd.Function; the PyTorch version there (_select and _SparseLinkStep) is the
// reference these loops reproduce: the same kept entries in the same slots (ties included, see
// topk_like_torch), values equal up to the order of floating-point summation.
//
// Shapes (S = B * H slices; slice s is batch s / H, write head s % H):
//   link, new_link  [B,H,N,2K] packed: [..., :K] values, [..., K:] column indices as exact
//                   integers in the link's dtype; an empty slot holds 0 at the diagonal
//   p, w            [B,H,N]    previous precedence, this step's write weights
//   r               [B,R,N]    previous read weights
//   fwd, bwd        [B,R,H,N]  f_i = L r_i and b_i = L^T r_i
//   src             [B,H,N,K]  int32: where each kept slot came from (below), -1: it holds 0
//   p_idx           [B,H,kp]   int64: torch.topk(p, kp) indices, kp = min(K, N)
// All contiguous, one floating dtype. Slices run in parallel (at::parallel_for), each on one
// thread with per-thread scratch.
//
// One row a of one slice (the module docstring of sparse_link.py):
//   candidates, K + kp of them:
//     old slot k < K, column c = idx[a,k]:  (1 - w_a - w_c) V[a,k] + w_a p~_c   (valid: c != a)
//     new entry j < kp, column c = p_idx[j]: w_a p_val[j]   (valid: c != a and the row does
//                                            not hold c already; an invalid one points at a)
//   p~ is p restricted to its support p_idx; an invalid candidate has value 0.
//   kept: torch.topk(candidates, K) -> src[a, :] (position among the candidates)
//   column cut (K < N): a kept slot whose column c = p_idx[j] is dropped (value 0) when its value
//   is below the K-th largest of column c over all rows (0 where a row does not hold c);
//   slots in other columns are dropped when negative. A slot holding 0 points at the diagonal.
// src[a,k] = -1 where the slot's value is the constant 0 (invalid or dropped): no gradient.

#include <torch/extension.h>
#include <ATen/Parallel.h>

#include "aligned.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace sparse_link {

template <typename T>
using Vec = dnc_qa_native::AlignedVector<T>;

// v as rounded to T: the compiler may neither fuse the operation that made it into the next one
// (an FMA) nor reassociate across it (-fassociative-math). The candidates' values are computed
// one rounded operation at a time, as PyTorch's elementwise kernels compute them, so that equal
// values there are equal here and ties meet the same tie-breaking.
template <typename T>
inline T rounded(T v) {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
  asm("" : "+x"(v));
#elif defined(__GNUC__) && defined(__aarch64__)
  asm("" : "+w"(v));
#else
  volatile T keep = v;
  v = keep;
#endif
  return v;
}

// torch.topk(x[0:n], k) (largest, sorted) as ATen's CPU kernel computes it
// (ATen/native/TopKImpl.h, topk_impl_loop): the same std algorithms with the same comparator
// over the same (value, position) queue, so that ties resolve to the same positions in the same
// order. out[0:k]: positions.
template <typename T>
void topk_like_torch(const T* x, int64_t n, int64_t k, std::vector<std::pair<T, int64_t>>& q,
                     int32_t* out) {
  using E = std::pair<T, int64_t>;
  q.resize(n);
  for (int64_t j = 0; j < n; ++j) q[j] = E(x[j], j);
  auto cmp = [](const E& a, const E& b) -> bool {
    return (std::isnan(a.first) && !std::isnan(b.first)) || (a.first > b.first);
  };
  if (k * 64 <= n) {
    std::partial_sort(q.begin(), q.begin() + k, q.end(), cmp);
  } else {
    std::nth_element(q.begin(), q.begin() + k - 1, q.end(), cmp);
    std::sort(q.begin(), q.begin() + k - 1, cmp);
  }
  for (int64_t i = 0; i < k; ++i) out[i] = static_cast<int32_t>(q[i].second);
}

// The top k of x[0:n] (n > k) when they are unambiguous: k distinct values, all larger than
// every other one, so that any selection returns the same positions in the same order. Returns
// false when ties (or NaNs) decide; then topk_like_torch. best, out: k scratch / positions.
template <typename T>
bool topk_distinct(const T* x, int64_t n, int64_t k, T* best, int32_t* out) {
  int64_t cnt = 0;
  T rest = -std::numeric_limits<T>::infinity();  // the largest value not selected
  for (int64_t j = 0; j < n; ++j) {
    const T v = x[j];
    if (cnt == k) {
      if (!(v > best[k - 1])) {
        if (!(v <= rest)) rest = v;  // NaN too
        continue;
      }
      if (!(best[k - 1] <= rest)) rest = best[k - 1];
      --cnt;
    }
    int64_t pos = cnt;
    while (pos > 0 && best[pos - 1] < v) {
      best[pos] = best[pos - 1];
      out[pos] = out[pos - 1];
      --pos;
    }
    best[pos] = v;
    out[pos] = static_cast<int32_t>(j);
    ++cnt;
  }
  for (int64_t i = 0; i + 1 < k; ++i)
    if (!(best[i] > best[i + 1])) return false;
  return best[k - 1] > rest;
}

// Per-thread scratch for one slice.
template <typename T>
struct Scratch {
  std::vector<int32_t> slot;  // [N] slot of column c in p's support, kp: not in it
  Vec<T> pval;                // [kp] p at p_idx
  std::vector<uint8_t> dup;   // [kp] the row holds p_idx[j] already
  Vec<T> cand;                // [K + kp] candidate values
  std::vector<int64_t> ccol;  // [K + kp] candidate columns
  std::vector<uint8_t> valid; // [K + kp]
  Vec<T> best;                // [K]
  std::vector<int32_t> sel;   // [K]
  std::vector<std::pair<T, int64_t>> queue;
  Vec<T> top;                 // [kp, K] each support column's K largest values, descending
  std::vector<int64_t> count; // [kp] rows that hold the column
  Vec<T> thr;                 // [kp + 1] column thresholds (the last: other columns)
  std::vector<int64_t> col;   // [K] a row's columns after the cut

  Scratch(int64_t N, int64_t K, int64_t kp)
      : slot(N, static_cast<int32_t>(kp)), pval(kp), dup(kp), cand(K + kp), ccol(K + kp),
        valid(K + kp), best(K), sel(K), top(kp * K), count(kp), thr(kp + 1), col(K) {}

  // slot / pval for a slice's support (and the previous slice's support reset)
  void set_support(const int64_t* pidx, const T* p, int64_t kp) {
    for (int64_t j = 0; j < kp; ++j) {
      slot[pidx[j]] = static_cast<int32_t>(j);
      pval[j] = p[pidx[j]];
    }
  }
  void clear_support(const int64_t* pidx, int64_t kp) {
    for (int64_t j = 0; j < kp; ++j) slot[pidx[j]] = static_cast<int32_t>(kp);
  }
};

// ------------------------------------------------------------------------------ forward

template <typename T>
void forward_slice(const T* link, const T* p, const T* w, const T* r, const int64_t* pidx,
                   int64_t N, int64_t K, int64_t kp, int64_t R, int64_t fstride, T* out,
                   T* fw, T* bw, int32_t* src, Scratch<T>& sc) {
  const int64_t n = K + kp;
  const bool cut = K < N;
  sc.set_support(pidx, p, kp);
  const int32_t* slot = sc.slot.data();
  if (cut) {
    std::fill(sc.top.begin(), sc.top.end(), -std::numeric_limits<T>::infinity());
    std::fill(sc.count.begin(), sc.count.end(), 0);
  }
  // a support column's K largest values so far (descending; rows without it are added below)
  auto push = [&](int32_t j, T v) {
    ++sc.count[j];
    T* t = sc.top.data() + j * K;
    if (v > t[K - 1]) {
      int64_t pos = K - 1;
      while (pos > 0 && t[pos - 1] < v) {
        t[pos] = t[pos - 1];
        --pos;
      }
      t[pos] = v;
    }
  };
  // pass 1: each row's candidates and its K largest; the support columns' K largest values
  for (int64_t a = 0; a < N; ++a) {
    const T* lv = link + a * 2 * K;
    const T* li = lv + K;
    T* ov = out + a * 2 * K;
    T* oi = ov + K;
    int32_t* sa = src + a * K;
    const T wa = w[a];
    // An empty row (at large N most are) outside p's support: its candidates are the K new
    // entries w_a p_val[j] and K zeros. When those values are distinct and positive they are
    // its K largest, already in descending order: no selection needed.
    if (kp == K && slot[a] == kp) {
      bool empty = true;
      for (int64_t k = 0; k < K; ++k) empty = empty && static_cast<int64_t>(li[k]) == a;
      if (empty) {
        bool ordered = true;
        T prev = std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < K; ++j) {
          const T v = rounded<T>(wa * sc.pval[j]);
          ordered = ordered && v < prev;
          prev = v;
          ov[j] = v;
        }
        if (ordered && prev > T(0)) {
          for (int64_t j = 0; j < K; ++j) {
            oi[j] = static_cast<T>(pidx[j]);
            sa[j] = static_cast<int32_t>(K + j);
            if (cut) push(static_cast<int32_t>(j), ov[j]);
          }
          continue;
        }
      }
    }
    std::fill(sc.dup.begin(), sc.dup.end(), 0);
    for (int64_t k = 0; k < K; ++k) {
      const int64_t c = static_cast<int64_t>(li[k]);
      const int32_t j = slot[c];
      if (j < kp) sc.dup[j] = 1;  // (an empty slot at the diagonal marks column a: invalid)
      sc.ccol[k] = c;
      sc.valid[k] = c != a;
      const T pc = j < kp ? sc.pval[j] : T(0);
      // (1 - w_a - w_c) V + w_a p~_c, rounded as _select rounds it
      const T decay = rounded<T>(rounded<T>(T(1) - wa) - w[c]);
      sc.cand[k] = c != a ? rounded<T>(decay * lv[k]) + rounded<T>(wa * pc) : T(0);
    }
    for (int64_t j = 0; j < kp; ++j) {
      const int64_t c = sc.dup[j] ? a : pidx[j];
      sc.ccol[K + j] = c;
      sc.valid[K + j] = c != a;
      sc.cand[K + j] = c != a ? wa * sc.pval[j] : T(0);
    }
    int32_t* sel = sc.sel.data();
    if (!topk_distinct<T>(sc.cand.data(), n, K, sc.best.data(), sel))
      topk_like_torch<T>(sc.cand.data(), n, K, sc.queue, sel);
    for (int64_t k = 0; k < K; ++k) {
      const int32_t s = sel[k];
      const T v = sc.cand[s];
      const int64_t c = sc.ccol[s];
      ov[k] = v;
      oi[k] = static_cast<T>(c);  // before the cut and the reset of empty slots
      sa[k] = sc.valid[s] ? s : -1;
      if (cut && sc.valid[s] && slot[c] < kp) push(slot[c], v);
    }
  }
  // thresholds: the K-th largest of each support column (rows without it count as 0)
  if (cut) {
    for (int64_t j = 0; j < kp; ++j) {
      T* t = sc.top.data() + j * K;
      const int64_t zeros = std::min<int64_t>(K, N - sc.count[j]);
      for (int64_t z = 0; z < zeros && T(0) > t[K - 1]; ++z) {
        int64_t pos = K - 1;
        while (pos > 0 && t[pos - 1] < T(0)) {
          t[pos] = t[pos - 1];
          --pos;
        }
        t[pos] = T(0);
      }
      sc.thr[j] = t[K - 1];
    }
    sc.thr[kp] = T(0);
  }
  // pass 2: the cut, empty slots to the diagonal; f_i = L r_i, b_i = L^T r_i
  for (int64_t i = 0; i < R; ++i)
    for (int64_t c = 0; c < N; ++c) bw[i * fstride + c] = T(0);
  int64_t* col = sc.col.data();
  for (int64_t a = 0; a < N; ++a) {
    T* ov = out + a * 2 * K;
    T* oi = ov + K;
    int32_t* sa = src + a * K;
    bool any = false;
    for (int64_t k = 0; k < K; ++k) {
      int64_t c = static_cast<int64_t>(oi[k]);
      if (cut && !(ov[k] >= sc.thr[slot[c]])) {
        ov[k] = T(0);
        sa[k] = -1;
      }
      if (ov[k] == T(0)) c = a;
      col[k] = c;
      oi[k] = static_cast<T>(c);
      any = any || ov[k] != T(0);
    }
    for (int64_t i = 0; i < R; ++i) {
      const T* ri = r + i * N;
      T* fi = fw + i * fstride;
      if (!any) {
        fi[a] = T(0);
        continue;
      }
      T* bi = bw + i * fstride;
      const T ria = ri[a];
      T acc = 0;
      for (int64_t k = 0; k < K; ++k) {
        const T v = ov[k];
        if (v == T(0)) continue;
        acc += v * ri[col[k]];
        bi[col[k]] += v * ria;
      }
      fi[a] = acc;
    }
  }
  sc.clear_support(pidx, kp);
}

// link [B,H,N,2K], p, w [B,H,N], r [B,R,N] -> {new_link, fwd [B,R,H,N], bwd, src, p_idx}
std::vector<torch::Tensor> sparse_link_forward(torch::Tensor link, torch::Tensor p,
                                               torch::Tensor w, torch::Tensor r) {
  const int64_t B = link.size(0), H = link.size(1), N = link.size(2), K = link.size(3) / 2;
  const int64_t R = r.size(1), S = B * H, kp = std::min(K, N);
  TORCH_CHECK(link.is_contiguous() && p.is_contiguous() && w.is_contiguous() &&
                  r.is_contiguous(),
              "sparse_link_forward: contiguous inputs");
  // p's support exactly as torch.topk picks it (ties among zeros included)
  auto p_idx = std::get<1>(at::topk(p, kp, -1, true, true)).contiguous();
  auto out = torch::empty_like(link);
  auto fw = torch::empty({B, R, H, N}, link.options());
  auto bw = torch::empty({B, R, H, N}, link.options());
  auto src = torch::empty({B, H, N, K}, link.options().dtype(torch::kInt32));
  AT_DISPATCH_FLOATING_TYPES(link.scalar_type(), "sparse_link_forward", [&] {
    const scalar_t* L = link.data_ptr<scalar_t>();
    const scalar_t* P = p.data_ptr<scalar_t>();
    const scalar_t* Wt = w.data_ptr<scalar_t>();
    const scalar_t* Rd = r.data_ptr<scalar_t>();
    const int64_t* PI = p_idx.data_ptr<int64_t>();
    scalar_t* O = out.data_ptr<scalar_t>();
    scalar_t* F = fw.data_ptr<scalar_t>();
    scalar_t* Bk = bw.data_ptr<scalar_t>();
    int32_t* SR = src.data_ptr<int32_t>();
    at::parallel_for(0, S, 1, [&](int64_t s0, int64_t s1) {
      Scratch<scalar_t> sc(N, K, kp);
      for (int64_t s = s0; s < s1; ++s) {
        const int64_t b = s / H, h = s % H;
        forward_slice<scalar_t>(L + s * N * 2 * K, P + s * N, Wt + s * N, Rd + b * R * N,
                                PI + s * kp, N, K, kp, R, H * N, O + s * N * 2 * K,
                                F + (b * R * H + h) * N, Bk + (b * R * H + h) * N,
                                SR + s * N * K, sc);
      }
    });
  });
  return {out, fw, bw, src, p_idx};
}

// ----------------------------------------------------------------------------- backward
//
// With g_v the gradient of a kept slot's value v (column c, reset index e: c, or a when v = 0):
//   f_i[a] = sum_k v r_i[e]:    g_v += g_f_i[a] r_i[e],   g_r_i[e] += v g_f_i[a]
//   b_i[e] += v r_i[a]:         g_v += r_i[a] g_b_i[e],   g_r_i[a] += v g_b_i[e]
//   v = (1 - w_a - w_c) V_src + w_a p~_c   (src >= 0; V_src = 0 for a new entry):
//     g_V_src = g_v (1 - w_a - w_c),  g_w_a += g_v (p~_c - V_src),  g_w_c -= g_v V_src,
//     g_p_c += g_v w_a  (c in p's support only; p~ is 0 elsewhere).
// g_r is per slice here ([B,H,R,N]) and summed over the write heads at the end.

template <typename T>
void backward_slice(const T* link, const T* p, const T* w, const T* r, const T* nl,
                    const int32_t* src, const int64_t* pidx, const T* gl, const T* gf,
                    const T* gb, int64_t N, int64_t K, int64_t kp, int64_t R, int64_t fstride,
                    T* glink, T* gp, T* gw, T* gr, Scratch<T>& sc) {
  sc.set_support(pidx, p, kp);
  const int32_t* slot = sc.slot.data();
  std::fill(glink, glink + N * 2 * K, T(0));
  std::fill(gp, gp + N, T(0));
  std::fill(gw, gw + N, T(0));
  std::fill(gr, gr + R * N, T(0));
  for (int64_t a = 0; a < N; ++a) {
    const T* nv = nl + a * 2 * K;
    const T* ni = nv + K;
    const int32_t* sa = src + a * K;
    const T wa = w[a];
    for (int64_t k = 0; k < K; ++k) {
      const T v = nv[k];
      const int32_t s = sa[k];
      if (s < 0) continue;  // the constant 0 (such a slot holds 0): no gradient
      const int64_t e = static_cast<int64_t>(ni[k]);
      T g = gl ? gl[a * 2 * K + k] : T(0);
      for (int64_t i = 0; i < R; ++i) {
        const T* ri = r + i * N;
        T* gri = gr + i * N;
        if (gf) {
          const T gfa = gf[i * fstride + a];
          g += gfa * ri[e];
          gri[e] += v * gfa;
        }
        if (gb) {
          const T gbe = gb[i * fstride + e];
          g += ri[a] * gbe;
          gri[a] += v * gbe;
        }
      }
      int64_t c;
      T vsrc;
      if (s < K) {
        c = static_cast<int64_t>(link[a * 2 * K + K + s]);
        vsrc = link[a * 2 * K + s];
      } else {
        c = pidx[s - K];
        vsrc = T(0);
      }
      const int32_t j = slot[c];
      const T pc = j < kp ? sc.pval[j] : T(0);
      if (s < K) glink[a * 2 * K + s] = g * (T(1) - wa - w[c]);
      gw[a] += g * (pc - vsrc);
      gw[c] -= g * vsrc;
      if (j < kp) gp[c] += g * wa;
    }
  }
  sc.clear_support(pidx, kp);
}

// gl (the new link's gradient [B,H,N,2K]), gf, gb ([B,R,H,N]): empty tensors for none.
// -> {g_link [B,H,N,2K] (index half 0), g_p [B,H,N], g_w [B,H,N], g_r [B,R,N]}
std::vector<torch::Tensor> sparse_link_backward(torch::Tensor link, torch::Tensor p,
                                                torch::Tensor w, torch::Tensor r,
                                                torch::Tensor new_link, torch::Tensor src,
                                                torch::Tensor p_idx, torch::Tensor gl,
                                                torch::Tensor gf, torch::Tensor gb) {
  const int64_t B = link.size(0), H = link.size(1), N = link.size(2), K = link.size(3) / 2;
  const int64_t R = r.size(1), S = B * H, kp = std::min(K, N);
  const bool has_gl = gl.numel() > 0, has_gf = gf.numel() > 0, has_gb = gb.numel() > 0;
  TORCH_CHECK((!has_gl || gl.is_contiguous()) && (!has_gf || gf.is_contiguous()) &&
                  (!has_gb || gb.is_contiguous()),
              "sparse_link_backward: contiguous gradients");
  auto glink = torch::empty_like(link);
  auto gp = torch::empty_like(p);
  auto gw = torch::empty_like(w);
  auto gr = torch::empty({B, H, R, N}, link.options());
  AT_DISPATCH_FLOATING_TYPES(link.scalar_type(), "sparse_link_backward", [&] {
    const scalar_t* L = link.data_ptr<scalar_t>();
    const scalar_t* P = p.data_ptr<scalar_t>();
    const scalar_t* Wt = w.data_ptr<scalar_t>();
    const scalar_t* Rd = r.data_ptr<scalar_t>();
    const scalar_t* NL = new_link.data_ptr<scalar_t>();
    const int32_t* SR = src.data_ptr<int32_t>();
    const int64_t* PI = p_idx.data_ptr<int64_t>();
    const scalar_t* GL = has_gl ? gl.data_ptr<scalar_t>() : nullptr;
    const scalar_t* GF = has_gf ? gf.data_ptr<scalar_t>() : nullptr;
    const scalar_t* GB = has_gb ? gb.data_ptr<scalar_t>() : nullptr;
    scalar_t* OL = glink.data_ptr<scalar_t>();
    scalar_t* OP = gp.data_ptr<scalar_t>();
    scalar_t* OW = gw.data_ptr<scalar_t>();
    scalar_t* OR = gr.data_ptr<scalar_t>();
    at::parallel_for(0, S, 1, [&](int64_t s0, int64_t s1) {
      Scratch<scalar_t> sc(N, K, kp);
      for (int64_t s = s0; s < s1; ++s) {
        const int64_t b = s / H, h = s % H;
        const int64_t f0 = (b * R * H + h) * N;
        backward_slice<scalar_t>(L + s * N * 2 * K, P + s * N, Wt + s * N, Rd + b * R * N,
                                 NL + s * N * 2 * K, SR + s * N * K, PI + s * kp,
                                 GL ? GL + s * N * 2 * K : nullptr, GF ? GF + f0 : nullptr,
                                 GB ? GB + f0 : nullptr, N, K, kp, R, H * N,
                                 OL + s * N * 2 * K, OP + s * N, OW + s * N, OR + s * R * N, sc);
      }
    });
  });
  auto g_r = H == 1 ? gr.squeeze(1) : gr.sum(1);
  return {glink, gp, gw, g_r};
}

}  // namespace sparse_link

using sparse_link::sparse_link_backward;
using sparse_link::sparse_link_forward;
