// One whole DNC memory step (spec steps 1-10, one write head), forward and backward, on the CPU.
//
// dnc_step_forward / dnc_step_backward take the activated interface; activate /
// activate_backward (at the end) apply the interface's activations to the controller's raw
// output and take their gradient, with the layout passed in from Python
// (dnc_qa.memory.layout.kernel_layout). dnc_qa.memory.backends.cpp wraps them in
// torch.autograd.Functions and names every input and output (StepInputs, StepOutputs, ...).
// The step functions run over the batch in parallel (at::parallel_for) and, per batch
// element, do the spec's arithmetic in plain loops: no ATen call per operation, no [B, N, N]
// temporaries beyond the link itself. The backward pass is the hand-derived reverse of the forward pass; its
// derivation is written beside each block (g_x is the gradient of the loss w.r.t. x).
//
// Shapes (one write head, Hw = 1, whose dimension the comments below leave out):
//   interface  rk [B,R,W] rs [B,R] wk [B,1,W] ws [B,1] e [B,1,W] v [B,1,W] fg [B,R] ga [B,1]
//              gw [B,1] pi [B,R,3] (backward, content, forward); rmask [B,R,W] and
//              wmask [B,1,W], or empty tensors (no masking)
//   state      M0 [B,N,W] u0 [B,N] L0 [B,1,N,ld] p0 [B,1,N] rw0 [B,R,N] ww0 [B,1,N]
//              (ld = N, or the padded rows described at pad_rows below)
// All contiguous and of one floating dtype; sizes are read from M0 and rw0. The kernels read
// raw memory, so only the element counts of the interface tensors matter, not their shapes.

#include <torch/extension.h>
#include <ATen/Parallel.h>

#include "aligned.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

namespace dnc_step {

// The step's inputs, in the order of StepInputs (dnc_qa/memory/backends/cpp.py): the
// interface fields of dnc_qa.memory.layout.INTERFACE_FIELDS the step reads, then the state.
enum Input : int {
  kReadKeys, kReadStrengths, kWriteKeys, kWriteStrengths, kEraseVectors, kWriteVectors,
  kFreeGates, kAllocationGates, kWriteGates, kReadModes, kReadMasks, kWriteMasks,
  kMemory, kUsage, kLink, kPrecedence, kReadWeights, kWriteWeights, kNumInputs
};
constexpr int kNumInterface = kMemory;  // the interface inputs come first

// dnc_step_forward's outputs: StepOutputs (the reads and the new state), then StepSaved
// (what the backward pass needs besides).
enum Output : int {
  kOutReads, kOutMemory, kOutUsage, kOutLink, kOutPrecedence, kOutReadWeights,
  kOutWriteWeights, kOutPsi, kOutWriteContent, kOutAllocation, kOutOrder, kOutReadContent,
  kOutForward, kOutBackward, kOutContentStats, kNumOutputs
};

// dnc_step_backward's `saved` (SavedForBackward): the forward outputs it needs, in order.
enum SavedIndex : int {
  kSavedMemory, kSavedUsage, kSavedPrecedence, kSavedReadWeights, kSavedWriteWeights,
  kSavedPsi, kSavedWriteContent, kSavedAllocation, kSavedOrder, kSavedReadContent,
  kSavedForward, kSavedBackward, kSavedContentStats, kNumSaved
};
// Which forward output each saved entry is.
constexpr int kSavedFromOutput[kNumSaved] = {
    kOutMemory, kOutUsage, kOutPrecedence, kOutReadWeights, kOutWriteWeights, kOutPsi,
    kOutWriteContent, kOutAllocation, kOutOrder, kOutReadContent, kOutForward, kOutBackward,
    kOutContentStats};

// dnc_step_backward's `grads` (gradients of StepOutputs, any may be empty: zero).
enum GradIndex : int {
  kGradReads, kGradMemory, kGradUsage, kGradLink, kGradPrecedence, kGradReadWeights,
  kGradWriteWeights, kNumGrads
};

constexpr double kContentEps = 1e-6;     // cosine denominator
constexpr double kAllocationEps = 1e-6;  // u_hat = eps + (1 - eps) u

// Scratch vectors: 64-byte aligned, so sums round the same on every call (see aligned.h).
template <typename T>
using Vec = dnc_qa_native::AlignedVector<T>;

// ------------------------------------------------------------------ content addressing

// n rounded up to a whole number of 64-byte lines of T.
template <typename T>
constexpr int64_t aligned_count(int64_t n) {
  constexpr int64_t per_line = 64 / sizeof(T);
  return (n + per_line - 1) / per_line * per_line;
}

// The scratch content_backward needs (entries of T).
template <typename T>
constexpr int64_t content_scratch_size(int64_t N, int64_t W) {
  return 4 * aligned_count<T>(N) + 2 * aligned_count<T>(W);
}

// k' = k*m (m may be null: no mask) into km; returns |k'|.
template <typename T>
T masked_key(const T* k, const T* m, int64_t W, T* km) {
  T kn2 = 0;
  for (int64_t w = 0; w < W; ++w) {
    km[w] = m ? k[w] * m[w] : k[w];
    kn2 += km[w] * km[w];
  }
  return std::sqrt(kn2);
}

// For one memory row M[n]: *dot = <k', M[n]*m>; returns |M[n]*m|^2.
template <typename T>
T masked_row(const T* row, const T* km, const T* m, int64_t W, T* dot) {
  T d = 0, mn2 = 0;
  for (int64_t w = 0; w < W; ++w) {
    const T x = m ? row[w] * m[w] : row[w];
    d += km[w] * x;
    mn2 += x * x;
  }
  *dot = d;
  return mn2;
}

// C[n] = softmax_n(beta * cos(k*m, M[n]*m)),  cos(a, b) = a.b / (|a| |b| + eps).
// Also writes what content_backward needs besides C, the head's content statistics
// (2 N entries): each row's dot product <k*m, M[n]*m> at stats[n], its norm |M[n]*m| at
// stats[N + n]. km: scratch of W entries.
template <typename T>
void content_forward(const T* M, const T* k, T beta, const T* m, int64_t N, int64_t W, T* C,
                     T* stats, T* km) {
  T* dot = stats;
  T* norm = stats + N;
  const T kn = masked_key<T>(k, m, W, km);
  for (int64_t n = 0; n < N; ++n) norm[n] = masked_row<T>(M + n * W, km, m, W, dot + n);
  // the square roots in a loop of their own: vectorised, not one latency per row
  for (int64_t n = 0; n < N; ++n) norm[n] = std::sqrt(norm[n]);
  T mx = -std::numeric_limits<T>::infinity();
  for (int64_t n = 0; n < N; ++n) {
    C[n] = beta * dot[n] / (kn * norm[n] + T(kContentEps));
    mx = std::max(mx, C[n]);
  }
  T total = 0;
  for (int64_t n = 0; n < N; ++n) {
    C[n] = std::exp(C[n] - mx);
    total += C[n];
  }
  for (int64_t n = 0; n < N; ++n) C[n] /= total;
}

// One memory row's part of content_backward: x = M[n]*m, g_x = g_dot k' + g_n x;
// g_k' += g_dot x, g_M[n] += g_x m, g_m += g_x M[n] (when gm is given).
template <typename T>
void content_row_backward(const T* __restrict__ row, const T* __restrict__ km,
                          const T* __restrict__ m, T gd, T gn, int64_t W, T* __restrict__ gkm,
                          T* __restrict__ grow, T* __restrict__ gm) {
  if (gm) {  // one pass for all three (g_x, the gradient of x, is shared)
    for (int64_t w = 0; w < W; ++w) {
      const T x = row[w] * m[w];
      const T gx = gd * km[w] + gn * x;
      gkm[w] += gd * x;
      grow[w] += gx * m[w];
      gm[w] += gx * row[w];
    }
    return;
  }
  for (int64_t w = 0; w < W; ++w) {
    const T x = row[w] * m[w];
    gkm[w] += gd * x;
    grow[w] += (gd * km[w] + gn * x) * m[w];
  }
}

// content_row_backward for four rows (r0 .. r3, their g_M rows g0 .. g3, their g_dot and
// g_n in gd[0..4) and gn[0..4)) in one pass: g_k' and g_m, which every row adds to, are
// loaded and stored once for the four (each still gets the rows' terms in row order), and a
// row no longer waits for the previous row's stores to them. (Each row its own __restrict__
// parameter, as in link_row_heads.)
template <typename T>
__attribute__((noinline)) void content_rows4_backward(
    const T* __restrict__ r0, const T* __restrict__ r1, const T* __restrict__ r2,
    const T* __restrict__ r3, const T* __restrict__ km, const T* __restrict__ m, const T* gd,
    const T* gn, int64_t W, T* __restrict__ gkm, T* __restrict__ g0, T* __restrict__ g1,
    T* __restrict__ g2, T* __restrict__ g3, T* __restrict__ gm) {
  const T d0 = gd[0], d1 = gd[1], d2 = gd[2], d3 = gd[3];
  const T n0 = gn[0], n1 = gn[1], n2 = gn[2], n3 = gn[3];
  for (int64_t w = 0; w < W; ++w) {
    const T mw = m[w], kw = km[w];
    const T y0 = r0[w], y1 = r1[w], y2 = r2[w], y3 = r3[w];
    const T x0 = y0 * mw, x1 = y1 * mw, x2 = y2 * mw, x3 = y3 * mw;
    const T gx0 = d0 * kw + n0 * x0, gx1 = d1 * kw + n1 * x1, gx2 = d2 * kw + n2 * x2,
            gx3 = d3 * kw + n3 * x3;
    gkm[w] = gkm[w] + d0 * x0 + d1 * x1 + d2 * x2 + d3 * x3;
    g0[w] += gx0 * mw;
    g1[w] += gx1 * mw;
    g2[w] += gx2 * mw;
    g3[w] += gx3 * mw;
    if (gm) gm[w] = gm[w] + gx0 * y0 + gx1 * y1 + gx2 * y2 + gx3 * y3;
  }
}

// Reverse of content_forward, given C, its content statistics (stats) and g_C:
//   g_s = C (g_C - <g_C, C>)          (softmax)      g_beta = <g_s, cos>, g_cos = beta g_s
//   cos = dot / D, D = |k'| |M'_n| + eps:  g_dot = g_cos / D,  g_D = -g_cos cos / D
//   g_k' = sum_n g_dot M'_n + g_|k'| k'/|k'|,  g_M'_n = g_dot k' + g_|M'_n| M'_n/|M'_n|
//   k' = k m, M' = M m:  g_k = g_k' m,  g_M += g_M' m,  g_m += g_k' k + sum_n g_M'_n M_n
// A zero norm contributes no gradient through the norm (as torch's vector_norm).
// The per-row part runs as one loop without sums (vectorised), then the two sums, in row
// order. `scratch`: content_scratch_size(N, W) entries, 64-byte aligned (every part of it
// starts on a 64-byte line, so the vectorised sums round the same on every call).
template <typename T>
void content_backward(const T* M, const T* k, T beta, const T* m, const T* C, const T* gC,
                      const T* stats, int64_t N, int64_t W, T* gM, T* gk, T* gbeta, T* gm,
                      T* scratch) {
  const T* dot = stats;
  const T* norm = stats + N;
  const int64_t Np = aligned_count<T>(N);
  T* __restrict__ gdot = scratch;
  T* __restrict__ gmn = scratch + Np;
  T* __restrict__ beta_terms = scratch + 2 * Np;  // g_s cos, summed into g_beta
  T* __restrict__ norm_terms = scratch + 3 * Np;  // g_D |M'_n|, summed into g_|k'|
  T* km = scratch + 4 * Np;
  T* gkm = km + aligned_count<T>(W);
  std::fill(gkm, gkm + W, T(0));
  const T kn = masked_key<T>(k, m, W, km);
  T sdot = 0;
  for (int64_t n = 0; n < N; ++n) sdot += gC[n] * C[n];
  for (int64_t n = 0; n < N; ++n) {
    const T mn = norm[n];
    const T inv_D = T(1) / (kn * mn + T(kContentEps));
    const T cos = dot[n] * inv_D;
    const T gs = C[n] * (gC[n] - sdot);
    const T gcos = gs * beta;
    const T gD = -gcos * cos * inv_D;
    gdot[n] = gcos * inv_D;
    gmn[n] = mn > 0 ? gD * kn / mn : T(0);  // already divided by |M'_n|
    beta_terms[n] = gs * cos;
    norm_terms[n] = gD * mn;
  }
  T g_beta = 0, g_kn = 0;
  for (int64_t n = 0; n < N; ++n) g_beta += beta_terms[n];
  for (int64_t n = 0; n < N; ++n) g_kn += norm_terms[n];
  Vec<T> ones(m ? 0 : W, T(1));
  const T* mw = m ? m : ones.data();
  int64_t n = 0;
  for (; n + 4 <= N; n += 4) {
    const T* row = M + n * W;
    T* grow = gM + n * W;
    content_rows4_backward<T>(row, row + W, row + 2 * W, row + 3 * W, km, mw, gdot + n,
                              gmn + n, W, gkm, grow, grow + W, grow + 2 * W, grow + 3 * W, gm);
  }
  for (; n < N; ++n)
    content_row_backward<T>(M + n * W, km, mw, gdot[n], gmn[n], W, gkm, gM + n * W, gm);
  const T scale = kn > 0 ? g_kn / kn : T(0);
  for (int64_t w = 0; w < W; ++w) {
    gkm[w] += scale * km[w];
    gk[w] = m ? gkm[w] * m[w] : gkm[w];
    if (gm) gm[w] += gkm[w] * k[w];
  }
  *gbeta = g_beta;
}

// ------------------------------------------------------------------ the link's row loop

// Read head i's share of row a of the link's gradient, from f_i[a] = <L[a,:], w_i> and
// b_i[c] += w_i[a] L[a,c]:  G[c] += g_f_i[a] w_i[c] + w_i[a] g_b_i[c],  g_w_i[c] += L[a,c] g_f_i[a];
// returns the g_w_i[a] term <L[a,:], g_b_i>. (For the heads beyond the first three, which
// link_row_heads_backward takes in its one pass.)
template <typename T>
T link_row_grads(const T* __restrict__ ri, const T* __restrict__ gbi, const T* __restrict__ row,
                 T gfa, T ria, int64_t N, T* __restrict__ G, T* __restrict__ dri) {
  T acc = 0;
  for (int64_t c = 0; c < N; ++c) {
    G[c] += gfa * ri[c] + ria * gbi[c];
    dri[c] += row[c] * gfa;
    acc += row[c] * gbi[c];
  }
  return acc;
}

// Up to three read heads' vectors of ld entries (weightings, their gradients, sums), for one
// pass over a link row; heads beyond K are not touched.
template <typename T>
struct Heads3 {
  const T* r[3];  // the heads' read weightings w_i (padded: rows ld apart)
  T* out[3];      // forward: b_i (added to); backward: g_w_i (added to)
  const T* gb[3];  // backward: g_b_i
};

// Row a of the new link and, in the same pass over it, the link products of K = 0..3 read
// heads (spec steps 6 and 8):
//   L[a,c] = (1 - w[a] - w[c]) L0[a,c] + w[a] p0[c],  L[a,a] = 0        (into out)
//   f_i[a] = <L[a,:], w_i>  (into f[i]),   b_i[c] += w_i[a] L[a,c]
// With Update = false, lrow is the new row already and out is not written (the products of
// further heads). lrow and out must not overlap.
// Every array is its own __restrict__ parameter and the function is not inlined: with the
// arrays in a struct, or inlined into its caller, GCC no longer trusts that they do not
// overlap and versions the loop for aliasing or gives up vectorising it.
template <typename T, int K, bool Update>
__attribute__((noinline)) void link_row_heads(
    const T* __restrict__ lrow, const T* __restrict__ w, const T* __restrict__ p0, T wa,
    int64_t a, int64_t ld, const T* __restrict__ r0, const T* __restrict__ r1,
    const T* __restrict__ r2, T* __restrict__ b0, T* __restrict__ b1, T* __restrict__ b2,
    T* __restrict__ out, T* f) {
  const T keep = T(1) - wa;
  T ra0 = 0, ra1 = 0, ra2 = 0, s0 = 0, s1 = 0, s2 = 0;
  if constexpr (K > 0) ra0 = r0[a];
  if constexpr (K > 1) ra1 = r1[a];
  if constexpr (K > 2) ra2 = r2[a];
  for (int64_t c = 0; c < ld; ++c) {
    T x;
    if constexpr (Update) {
      x = c == a ? T(0) : (keep - w[c]) * lrow[c] + wa * p0[c];
      out[c] = x;
    } else {
      x = lrow[c];
    }
    if constexpr (K > 0) {
      s0 += x * r0[c];
      b0[c] += ra0 * x;
    }
    if constexpr (K > 1) {
      s1 += x * r1[c];
      b1[c] += ra1 * x;
    }
    if constexpr (K > 2) {
      s2 += x * r2[c];
      b2[c] += ra2 * x;
    }
  }
  if constexpr (K > 0) f[0] = s0;
  if constexpr (K > 1) f[1] = s1;
  if constexpr (K > 2) f[2] = s2;
}

template <typename T, bool Update>
void link_row_heads_k(int64_t K, const T* lrow, const T* w, const T* p0, T wa, int64_t a,
                      int64_t ld, const Heads3<T>& h, T* out, T* f) {
#define DNC_LINK_ROW_HEADS(k) \
  link_row_heads<T, k, Update>(lrow, w, p0, wa, a, ld, h.r[0], h.r[1], h.r[2], h.out[0], \
                               h.out[1], h.out[2], out, f)
  switch (K) {
    case 0: return DNC_LINK_ROW_HEADS(0);
    case 1: return DNC_LINK_ROW_HEADS(1);
    case 2: return DNC_LINK_ROW_HEADS(2);
    default: return DNC_LINK_ROW_HEADS(3);
  }
#undef DNC_LINK_ROW_HEADS
}

// Row a of the new link into out (rows ld apart, see "padded link rows"; out may be lrow
// itself: the row then goes through `scratch`), and the link products of all R read heads:
// f[i * fs] = f_i[a], b_i += w_i[a] L[a,:] (b: R rows ld apart), three heads per pass.
// r: the read weightings, R rows ld apart.
template <typename T>
void link_row_forward(const T* lrow, const T* w, const T* p0, T wa, int64_t a, int64_t ld,
                      int64_t R, const T* r, T* b, T* f, int64_t fs, T* out, T* scratch) {
  T* dst = out == lrow ? scratch : out;
  T fk[3];
  for (int64_t i = 0; i == 0 || i < R; i += 3) {
    const int64_t K = std::min<int64_t>(R - i, 3);
    Heads3<T> h{};
    for (int64_t k = 0; k < K; ++k) {
      h.r[k] = r + (i + k) * ld;
      h.out[k] = b + (i + k) * ld;
    }
    if (i == 0) {
      link_row_heads_k<T, true>(K, lrow, w, p0, wa, a, ld, h, dst, fk);
    } else {
      link_row_heads_k<T, false>(K, dst, w, p0, wa, a, ld, h, nullptr, fk);
    }
    for (int64_t k = 0; k < K; ++k) f[(i + k) * fs] = fk[k];
  }
  if (dst != out) std::copy(dst, dst + ld, out);
}

// The reverse of link_row_heads (with Update) for the heads of h, in one pass over row a,
// given `base`, the rest of the row's gradient (the incoming g_L row, plus any other heads'
// shares); x is the new row, recomputed from L0:
//   G[c] = base[c] + sum_i (g_f_i[a] w_i[c] + w_i[a] g_b_i[c]),  G[a] = 0
//   g_w_i[c] += x[c] g_f_i[a],  acc[i] = <x, g_b_i>  (the g_w_i[a] term)
//   g_L0[a,c] = (1 - w[a] - w[c]) G[c],  g_w[c] -= G[c] L0[a,c],  g_p0[c] += G[c] w[a]
// returns the g_w[a] term sum_c G[c] (p0[c] - L0[a,c]). gL0 must not overlap base.
// (__restrict__ parameters, not inlined: see link_row_heads.)
template <typename T, int K>
__attribute__((noinline)) T link_row_heads_backward(
    const T* __restrict__ lrow, const T* __restrict__ w, const T* __restrict__ p0, T wa,
    int64_t a, int64_t ld, const T* __restrict__ base, const T* __restrict__ r0,
    const T* __restrict__ r1, const T* __restrict__ r2, const T* __restrict__ gb0,
    const T* __restrict__ gb1, const T* __restrict__ gb2, T* __restrict__ d0,
    T* __restrict__ d1, T* __restrict__ d2, const T* gf, T* __restrict__ gL0,
    T* __restrict__ gw, T* __restrict__ gp0, T* acc) {
  const T keep = T(1) - wa;
  T ra0 = 0, ra1 = 0, ra2 = 0, gf0 = 0, gf1 = 0, gf2 = 0;
  if constexpr (K > 0) ra0 = r0[a], gf0 = gf[0];
  if constexpr (K > 1) ra1 = r1[a], gf1 = gf[1];
  if constexpr (K > 2) ra2 = r2[a], gf2 = gf[2];
  T s0 = 0, s1 = 0, s2 = 0, dwa = 0;
  for (int64_t c = 0; c < ld; ++c) {
    const T l0 = lrow[c];
    const T scale = keep - w[c];
    const T x = c == a ? T(0) : scale * l0 + wa * p0[c];
    T g = base[c];
    if constexpr (K > 0) {
      g += gf0 * r0[c] + ra0 * gb0[c];
      d0[c] += x * gf0;
      s0 += x * gb0[c];
    }
    if constexpr (K > 1) {
      g += gf1 * r1[c] + ra1 * gb1[c];
      d1[c] += x * gf1;
      s1 += x * gb1[c];
    }
    if constexpr (K > 2) {
      g += gf2 * r2[c] + ra2 * gb2[c];
      d2[c] += x * gf2;
      s2 += x * gb2[c];
    }
    g = c == a ? T(0) : g;
    gL0[c] = scale * g;
    dwa += g * (p0[c] - l0);
    gw[c] -= g * l0;
    gp0[c] += g * wa;
  }
  acc[0] = s0;
  acc[1] = s1;
  acc[2] = s2;
  return dwa;
}

// The reverse of link_row_forward for row a (rows ld apart): base is the row's incoming
// gradient (g_L[a,:], or zeros) and may be gL0 (in place: it then goes through `scratch`);
// r, gb, dr: R rows ld apart (the read weightings, g_b_i, and the g_w_i added to); gf[i * fs]
// = g_f_i[a]. Adds to gw and gp0 (ld entries each, gw[a] included) and writes g_L0[a,:].
// `row`: scratch for the recomputed row (heads beyond three only).
template <typename T>
void link_row_backward_all(const T* lrow, const T* w, const T* p0, T wa, int64_t a, int64_t ld,
                           int64_t R, const T* r, const T* gb, T* dr, const T* gf, int64_t fs,
                           const T* base, T* gL0, T* gw, T* gp0, T* scratch, T* row) {
  const T* g = base;
  if (R > 3 || base == gL0) {  // the other heads' shares, or in place: via scratch
    std::copy(base, base + ld, scratch);
    g = scratch;
  }
  if (R > 3) {
    link_row_heads<T, 0, true>(lrow, w, p0, wa, a, ld, nullptr, nullptr, nullptr, nullptr,
                               nullptr, nullptr, row, nullptr);
    for (int64_t i = 3; i < R; ++i) {
      T* dri = dr + i * ld;
      dri[a] += link_row_grads<T>(r + i * ld, gb + i * ld, row, gf[i * fs], r[i * ld + a], ld,
                                  scratch, dri);
    }
  }
  const int64_t K = std::min<int64_t>(R, 3);
  Heads3<T> h{};
  T gfk[3] = {0, 0, 0}, acc[3];
  for (int64_t k = 0; k < K; ++k) {
    h.r[k] = r + k * ld;
    h.gb[k] = gb + k * ld;
    h.out[k] = dr + k * ld;
    gfk[k] = gf[k * fs];
  }
#define DNC_LINK_ROW_HEADS_BACKWARD(k)                                                       \
  link_row_heads_backward<T, k>(lrow, w, p0, wa, a, ld, g, h.r[0], h.r[1], h.r[2], h.gb[0], \
                                h.gb[1], h.gb[2], h.out[0], h.out[1], h.out[2], gfk, gL0, gw, \
                                gp0, acc)
  T dwa;
  switch (K) {
    case 0: dwa = DNC_LINK_ROW_HEADS_BACKWARD(0); break;
    case 1: dwa = DNC_LINK_ROW_HEADS_BACKWARD(1); break;
    case 2: dwa = DNC_LINK_ROW_HEADS_BACKWARD(2); break;
    default: dwa = DNC_LINK_ROW_HEADS_BACKWARD(3); break;
  }
#undef DNC_LINK_ROW_HEADS_BACKWARD
  for (int64_t k = 0; k < K; ++k) dr[k * ld + a] += acc[k];
  gw[a] += dwa;
}

// out[w] = sum_n x[n] M[n,w] (a read vector, spec step 10: M [N,W]), four rows per pass so
// that out stays in registers instead of being stored and reloaded once per row.
template <typename T>
void weighted_rows(const T* __restrict__ x, const T* __restrict__ M, int64_t N, int64_t W,
                   T* __restrict__ out) {
  std::fill(out, out + W, T(0));
  int64_t n = 0;
  for (; n + 4 <= N; n += 4) {
    const T x0 = x[n], x1 = x[n + 1], x2 = x[n + 2], x3 = x[n + 3];
    const T *m0 = M + n * W, *m1 = m0 + W, *m2 = m1 + W, *m3 = m2 + W;
    for (int64_t w = 0; w < W; ++w) out[w] += x0 * m0[w] + x1 * m1[w] + x2 * m2[w] + x3 * m3[w];
  }
  for (; n < N; ++n) {
    const T xn = x[n];
    const T* m = M + n * W;
    for (int64_t w = 0; w < W; ++w) out[w] += xn * m[w];
  }
}

// Reverse of the read vectors r_i = M^T w_i (spec step 10) for K = 1..3 read heads in one
// pass over M's rows (w_i: N entries, g_r_i: W): g_M[n] += sum_i w_i[n] g_r_i (the heads'
// terms in head order), g_w_i[n] += <M[n], g_r_i>. `next`: rows to prefetch while reading
// (the memory the step's backward reads next, N rows of W), or null.
template <typename T, int K>
__attribute__((noinline)) void read_rows_backward(
    const T* __restrict__ M, int64_t N, int64_t W, const T* __restrict__ w0,
    const T* __restrict__ w1, const T* __restrict__ w2, const T* __restrict__ g0,
    const T* __restrict__ g1, const T* __restrict__ g2, T* __restrict__ gM,
    T* __restrict__ gw0, T* __restrict__ gw1, T* __restrict__ gw2, const T* next) {
  constexpr int64_t kLine = 64 / sizeof(T);
  for (int64_t n = 0; n < N; ++n) {
    const T* mrow = M + n * W;
    T* grow = gM + n * W;
    if (next)
      for (int64_t w = 0; w < W; w += kLine) __builtin_prefetch(next + n * W + w);
    const T x0 = w0[n], x1 = K > 1 ? w1[n] : T(0), x2 = K > 2 ? w2[n] : T(0);
    T a0 = 0, a1 = 0, a2 = 0;
    for (int64_t w = 0; w < W; ++w) {
      const T mv = mrow[w];
      T gv = grow[w];
      a0 += mv * g0[w];
      gv += x0 * g0[w];
      if constexpr (K > 1) {
        a1 += mv * g1[w];
        gv += x1 * g1[w];
      }
      if constexpr (K > 2) {
        a2 += mv * g2[w];
        gv += x2 * g2[w];
      }
      grow[w] = gv;
    }
    gw0[n] += a0;
    if constexpr (K > 1) gw1[n] += a1;
    if constexpr (K > 2) gw2[n] += a2;
  }
}

// Row n of M = Md (1 - w e^T) + w v^T, given its gradient g_M[n]: writes g_Md[n], adds to
// g_e and g_v, returns the g_w[n] term <g_M[n], v - Md[n] e>.
template <typename T>
T write_row_backward(const T* __restrict__ gm, const T* __restrict__ md,
                     const T* __restrict__ e, const T* __restrict__ v, T wn, int64_t W,
                     T* __restrict__ gmd, T* __restrict__ ge, T* __restrict__ gv) {
  T acc = 0;
  for (int64_t w = 0; w < W; ++w) {
    gmd[w] = gm[w] * (T(1) - wn * e[w]);
    acc += gm[w] * (v[w] - md[w] * e[w]);
    ge[w] -= gm[w] * md[w] * wn;
    gv[w] += gm[w] * wn;
  }
  return acc;
}

// The memory a step writes to and looks up in: M0 * psi with de-allocation (DNC-D, computed
// into buf), else M0 itself.
template <typename T>
const T* deallocated(bool dealloc, const T* M0, const T* psi, int64_t N, int64_t W, Vec<T>& buf) {
  if (!dealloc) return M0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t w = 0; w < W; ++w) buf[n * W + w] = M0[n * W + w] * psi[n];
  return buf.data();
}

// ------------------------------------------------------------------ pointers of one batch row

template <typename T>
struct Step {
  // interface
  const T *rk, *rs, *wk, *ws, *e, *v, *fg, *ga, *gw, *pi, *rmask, *wmask;
  // incoming state
  const T *M0, *u0, *L0, *p0, *rw0, *ww0;
  int64_t B, N, W, R;
  int64_t ld;  // the link's row stride (its last dimension): N, or more (padded link rows)
  bool dealloc;
};

template <typename T>
T* ptr_or_null(const torch::Tensor& t) {
  return t.numel() > 0 ? t.data_ptr<T>() : nullptr;
}

// The step from raw pointers to its inputs, in the order of Input (the masks null when
// absent), and its sizes.
template <typename T>
Step<T> step_from(const T* const* in, int64_t B, int64_t N, int64_t W, int64_t R, int64_t ld,
                  bool dealloc) {
  Step<T> s;
  s.rk = in[kReadKeys]; s.rs = in[kReadStrengths]; s.wk = in[kWriteKeys];
  s.ws = in[kWriteStrengths]; s.e = in[kEraseVectors]; s.v = in[kWriteVectors];
  s.fg = in[kFreeGates]; s.ga = in[kAllocationGates]; s.gw = in[kWriteGates];
  s.pi = in[kReadModes]; s.rmask = in[kReadMasks]; s.wmask = in[kWriteMasks];
  s.M0 = in[kMemory]; s.u0 = in[kUsage]; s.L0 = in[kLink]; s.p0 = in[kPrecedence];
  s.rw0 = in[kReadWeights]; s.ww0 = in[kWriteWeights];
  s.B = B; s.N = N; s.W = W; s.R = R; s.ld = ld;
  s.dealloc = dealloc;
  return s;
}

template <typename T>
Step<T> make_step(const std::vector<torch::Tensor>& in, bool dealloc) {
  TORCH_CHECK(in.size() == kNumInputs, "dnc_step: expected ", int(kNumInputs), " inputs");
  const T* ptrs[kNumInputs];
  for (int k = 0; k < kNumInputs; ++k)
    ptrs[k] = k == kReadMasks || k == kWriteMasks ? ptr_or_null<T>(in[k]) : in[k].data_ptr<T>();
  const int64_t B = in[kMemory].size(0), N = in[kMemory].size(1), ld = in[kLink].size(-1);
  TORCH_CHECK(ld >= N && in[kLink].numel() == B * N * ld,
              "dnc_step: the link must be [B, 1, N, ld] with ld >= N");
  return step_from<T>(ptrs, B, N, in[kMemory].size(2), in[kReadWeights].size(1), ld, dealloc);
}

// ------------------------------------------------------------------ padded link rows
//
// The link's rows are `ld` >= N entries apart. The per-step path passes ld = N; the C++
// sequence (dnc_sequence.cpp) keeps its links with ld a multiple of 16 and zeros in columns
// N..ld-1, so that every row starts on a 64-byte line and the row loops have no remainder.
// The row loops run over all ld columns and read the N-vectors they combine with a row
// (write weights, precedence, read weights and their gradients) from aligned scratch copies
// of ld entries, zero beyond N. With those zeros, every column beyond N of a new link, of its
// gradient and of every row product stays zero, and the first N columns are what an
// unpadded link gives.

// `rows` rows of n entries (x, n apart) to rows of m >= n entries (out, m apart), zero
// beyond n.
template <typename T>
void pad_rows(const T* x, int64_t rows, int64_t n, int64_t m, T* out) {
  for (int64_t i = 0; i < rows; ++i) {
    std::copy(x + i * n, x + (i + 1) * n, out + i * m);
    std::fill(out + i * m + n, out + (i + 1) * m, T(0));
  }
}

// The reverse: the first n entries of each of `rows` rows m apart, to rows n apart.
template <typename T>
void unpad_rows(const T* x, int64_t rows, int64_t n, int64_t m, T* out) {
  for (int64_t i = 0; i < rows; ++i) std::copy(x + i * m, x + i * m + n, out + i * n);
}

// ------------------------------------------------------------------ forward

// Sorts keys[0..N) by their upper 32 bits, ties in the order they come in: a least
// significant digit radix sort, one pass per byte that is not the same in every key (a pass
// is stable, so the passes together are). tmp: N entries.
inline void radix_sort_upper(uint64_t* keys, int64_t N, uint64_t* tmp) {
  uint32_t counts[4][256] = {};
  for (int64_t n = 0; n < N; ++n)
    for (int d = 0; d < 4; ++d) ++counts[d][(keys[n] >> (32 + 8 * d)) & 0xffu];
  uint64_t* src = keys;
  uint64_t* dst = tmp;
  for (int d = 0; d < 4; ++d) {
    const int shift = 32 + 8 * d;
    if (counts[d][(src[0] >> shift) & 0xffu] == uint32_t(N)) continue;  // one digit: in order
    uint32_t start = 0;
    for (int v = 0; v < 256; ++v) {
      const uint32_t c = counts[d][v];
      counts[d][v] = start;
      start += c;
    }
    for (int64_t n = 0; n < N; ++n) dst[counts[d][(src[n] >> shift) & 0xffu]++] = src[n];
    std::swap(src, dst);
  }
  if (src != keys) std::copy(src, src + N, keys);
}

// Memories of at least this many cells sort their usage by radix (radix_sort_upper), smaller
// ones with std::sort: the same order either way.
constexpr int64_t kRadixSortCells = 64;

// order = the indices of x[0..N) sorted ascending, ties in index order (a stable sort). For
// float, a sort of 64-bit keys (the value's bits, made to order as the values do, above the
// index) in `keys` (2 N entries of scratch); for double, std::stable_sort. (NaN sorts last
// for float.)
template <typename T>
void sort_ascending(const T* x, int64_t N, int64_t* order, uint64_t* keys) {
  if constexpr (std::is_same_v<T, float>) {
    for (int64_t n = 0; n < N; ++n) {
      uint32_t bits;
      std::memcpy(&bits, x + n, sizeof bits);
      bits = bits & 0x80000000u ? ~bits : bits | 0x80000000u;  // sign-magnitude to ordered
      keys[n] = uint64_t(bits) << 32 | uint64_t(n);
    }
    if (N >= kRadixSortCells) {
      radix_sort_upper(keys, N, keys + N);  // (the keys come in index order)
    } else {
      std::sort(keys, keys + N);
    }
    for (int64_t k = 0; k < N; ++k) order[k] = int64_t(keys[k] & 0xffffffffu);
  } else {
    std::iota(order, order + N, int64_t(0));
    std::stable_sort(order, order + N, [&](int64_t a, int64_t b) { return x[a] < x[b]; });
  }
}

// Outputs: r [B,R,W] M [B,N,W] u [B,N] L [B,1,N,ld] p [B,1,N] rw [B,R,N] ww [B,1,N]
// and, for the backward pass: psi [B,N] cw [B,N] alloc [B,N] order [B,N] (int64)
// cr [B,R,N] f [B,R,N] bk [B,R,N] cs [B,R+1,2,N] (content statistics: per read head, then
// the write head, each row's dot product with its key and its norm; see content_forward).
template <typename T>
void forward_kernel(const Step<T>& s, T* r, T* M, T* u, T* L, T* p, T* rw, T* ww, T* psi, T* cw,
                    T* alloc, int64_t* order, T* cr, T* f, T* bk, T* cs) {
  const int64_t N = s.N, W = s.W, R = s.R;
  at::parallel_for(0, s.B, 1, [&](int64_t b0, int64_t b1) {
    const int64_t ld = s.ld;
    Vec<T> Md_buf(s.dealloc ? N * W : 0), uh(N), row_buf(ld), wp(ld), pp(ld), rp(R * ld),
        bp(R * ld), km(W);
    std::vector<uint64_t> keys(2 * N);
    for (int64_t b = b0; b < b1; ++b) {
      const T* M0 = s.M0 + b * N * W;
      const T* u0 = s.u0 + b * N;
      const T* ww0 = s.ww0 + b * N;
      const T* rw0 = s.rw0 + b * R * N;
      const T* fg = s.fg + b * R;
      T* psib = psi + b * N;
      T* ub = u + b * N;
      // 1. psi = prod_i (1 - f_i w^r_{t-1,i});  u = (u0 + w0 - u0 w0) psi
      for (int64_t n = 0; n < N; ++n) {
        T ps = 1;
        for (int64_t i = 0; i < R; ++i) ps *= T(1) - fg[i] * rw0[i * N + n];
        psib[n] = ps;
        ub[n] = (u0[n] + ww0[n] - u0[n] * ww0[n]) * ps;
      }
      // de-allocation (DNC-D): write and look up against M0 * psi
      const T* Md = deallocated<T>(s.dealloc, M0, psib, N, W, Md_buf);
      // 2. write content weights against the previous memory
      T* cwb = cw + b * N;
      T* csb = cs + b * (R + 1) * 2 * N;  // head h's content statistics at csb + 2 h N
      content_forward<T>(Md, s.wk + b * W, s.ws[b], s.wmask ? s.wmask + b * W : nullptr, N, W,
                         cwb, csb + 2 * R * N, km.data());
      // 3. allocation: sort u_hat ascending (stable); a[phi_k] = (1 - u_hat[phi_k]) prod_{m<k}
      T* ab = alloc + b * N;
      int64_t* ob = order + b * N;
      for (int64_t n = 0; n < N; ++n) uh[n] = T(kAllocationEps) + T(1 - kAllocationEps) * ub[n];
      sort_ascending<T>(uh.data(), N, ob, keys.data());
      T prod = 1;
      for (int64_t k = 0; k < N; ++k) {
        const int64_t n = ob[k];
        ab[n] = (T(1) - uh[n]) * prod;
        prod *= uh[n];
      }
      // 4. write weights
      const T ga = s.ga[b], gw = s.gw[b];
      T* wwb = ww + b * N;
      T wsum = 0;
      for (int64_t n = 0; n < N; ++n) {
        wwb[n] = gw * (ga * ab[n] + (T(1) - ga) * cwb[n]);
        wsum += wwb[n];
      }
      // 5. erase and add
      const T* e = s.e + b * W;
      const T* v = s.v + b * W;
      T* Mb = M + b * N * W;
      for (int64_t n = 0; n < N; ++n) {
        const T wn = wwb[n];
        for (int64_t w = 0; w < W; ++w)
          Mb[n * W + w] = Md[n * W + w] * (T(1) - wn * e[w]) + wn * v[w];
      }
      // 6. links (zero diagonal) and precedence; 8. f_i = L w^r_{t-1,i}, b_i = L^T w^r_{t-1,i}
      //    (rows ld apart, over ld columns: see "padded link rows")
      const T* L0 = s.L0 + b * N * ld;
      const T* p0 = s.p0 + b * N;
      T* Lb = L + b * N * ld;
      T* fb = f + b * R * N;
      T* bb = bk + b * R * N;
      pad_rows<T>(wwb, 1, N, ld, wp.data());
      pad_rows<T>(p0, 1, N, ld, pp.data());
      pad_rows<T>(rw0, R, N, ld, rp.data());
      std::fill(bp.begin(), bp.end(), T(0));
      for (int64_t a = 0; a < N; ++a)  // (L may be L0: an in-place update, via row_buf)
        link_row_forward<T>(L0 + a * ld, wp.data(), pp.data(), wwb[a], a, ld, R, rp.data(),
                            bp.data(), fb + a, N, Lb + a * ld, row_buf.data());
      unpad_rows<T>(bp.data(), R, N, ld, bb);
      T* pb = p + b * N;
      for (int64_t n = 0; n < N; ++n) pb[n] = (T(1) - wsum) * p0[n] + wwb[n];
      // 7. read content weights against the new memory; 9. read weights; 10. read vectors
      T* crb = cr + b * R * N;
      T* rwb = rw + b * R * N;
      T* rb = r + b * R * W;
      const T* pi = s.pi + b * R * 3;
      for (int64_t i = 0; i < R; ++i) {
        content_forward<T>(Mb, s.rk + (b * R + i) * W, s.rs[b * R + i],
                           s.rmask ? s.rmask + (b * R + i) * W : nullptr, N, W, crb + i * N,
                           csb + 2 * i * N, km.data());
        const T pb_ = pi[i * 3 + 0], pc = pi[i * 3 + 1], pf = pi[i * 3 + 2];
        T* wi = rwb + i * N;
        for (int64_t n = 0; n < N; ++n)
          wi[n] = pb_ * bb[i * N + n] + pc * crb[i * N + n] + pf * fb[i * N + n];
        weighted_rows<T>(wi, Mb, N, W, rb + i * W);
      }
    }
  });
}

std::vector<torch::Tensor> dnc_step_forward(std::vector<torch::Tensor> in, bool dealloc,
                                            torch::Tensor link_out) {
  const auto& M0 = in[kMemory];
  const int64_t B = M0.size(0), N = M0.size(1), W = M0.size(2), R = in[kReadWeights].size(1);
  auto opt = M0.options();
  auto r = torch::empty({B, R, W}, opt);
  auto M = torch::empty({B, N, W}, opt);
  auto u = torch::empty({B, N}, opt);
  const int64_t ld = in[kLink].size(-1);  // the link's row stride (see "padded link rows")
  auto L = link_out.numel() == B * N * ld ? link_out : torch::empty({B, 1, N, ld}, opt);
  auto p = torch::empty({B, 1, N}, opt);
  auto rw = torch::empty({B, R, N}, opt);
  auto ww = torch::empty({B, 1, N}, opt);
  auto psi = torch::empty({B, N}, opt);
  auto cw = torch::empty({B, N}, opt);
  auto alloc = torch::empty({B, N}, opt);
  auto order = torch::empty({B, N}, opt.dtype(torch::kInt64));
  auto cr = torch::empty({B, R, N}, opt);
  auto f = torch::empty({B, R, N}, opt);
  auto bk = torch::empty({B, R, N}, opt);
  auto cs = torch::empty({B, R + 1, 2, N}, opt);
  AT_DISPATCH_FLOATING_TYPES(M0.scalar_type(), "dnc_step_forward", [&] {
    auto s = make_step<scalar_t>(in, dealloc);
    forward_kernel<scalar_t>(s, r.data_ptr<scalar_t>(), M.data_ptr<scalar_t>(),
                             u.data_ptr<scalar_t>(), L.data_ptr<scalar_t>(),
                             p.data_ptr<scalar_t>(), rw.data_ptr<scalar_t>(),
                             ww.data_ptr<scalar_t>(), psi.data_ptr<scalar_t>(),
                             cw.data_ptr<scalar_t>(), alloc.data_ptr<scalar_t>(),
                             order.data_ptr<int64_t>(), cr.data_ptr<scalar_t>(),
                             f.data_ptr<scalar_t>(), bk.data_ptr<scalar_t>(),
                             cs.data_ptr<scalar_t>());
  });
  return {r, M, u, L, p, rw, ww, psi, cw, alloc, order, cr, f, bk, cs};
}

// ------------------------------------------------------------------ backward

// What the backward pass reads from the forward pass (SavedIndex, all [B, ...] as
// dnc_step_forward returns them), the gradients it is given (GradIndex; null: zero) and where
// it writes the gradient of each input (Input; the masks' null when absent).
template <typename T>
struct SavedPtrs {
  const T* p[kNumSaved];  // p[kSavedOrder] unused: the order is int64
  const int64_t* order;
};
template <typename T>
struct GradPtrs {
  const T* g[kNumGrads];
};
template <typename T>
struct OutPtrs {
  T* g[kNumInputs];
};

// The gradient of every input of one step (see dnc_step_backward). gL0 may be g.L itself:
// row a of gL0 depends only on row a of g.L, which is copied to scratch before it is
// overwritten.
template <typename T>
void backward_kernel(const Step<T>& s, const SavedPtrs<T>& sv, const GradPtrs<T>& gr,
                     const OutPtrs<T>& o) {
  const int64_t N = s.N, W = s.W, R = s.R;
  const T *M = sv.p[kSavedMemory], *ww = sv.p[kSavedWriteWeights], *psi = sv.p[kSavedPsi],
          *cw = sv.p[kSavedWriteContent], *alloc = sv.p[kSavedAllocation],
          *cr = sv.p[kSavedReadContent], *f = sv.p[kSavedForward], *bk = sv.p[kSavedBackward],
          *rw = sv.p[kSavedReadWeights], *u = sv.p[kSavedUsage], *cs = sv.p[kSavedContentStats];
  const int64_t* order = sv.order;
  const T *g_r = gr.g[kGradReads], *g_M = gr.g[kGradMemory], *g_u = gr.g[kGradUsage],
          *g_L = gr.g[kGradLink], *g_p = gr.g[kGradPrecedence], *g_rw = gr.g[kGradReadWeights],
          *g_ww = gr.g[kGradWriteWeights];
  T *grk = o.g[kReadKeys], *grs = o.g[kReadStrengths], *gwk = o.g[kWriteKeys],
    *gws = o.g[kWriteStrengths], *ge = o.g[kEraseVectors], *gv = o.g[kWriteVectors],
    *gfg = o.g[kFreeGates], *gga = o.g[kAllocationGates], *ggw = o.g[kWriteGates],
    *gpi = o.g[kReadModes], *grmask = o.g[kReadMasks], *gwmask = o.g[kWriteMasks];
  T *gM0 = o.g[kMemory], *gu0 = o.g[kUsage], *gL0 = o.g[kLink], *gp0 = o.g[kPrecedence],
    *grw0 = o.g[kReadWeights], *gww0 = o.g[kWriteWeights];

  at::parallel_for(0, s.B, 1, [&](int64_t b0, int64_t b1) {
    const int64_t ld = s.ld;
    Vec<T> gMt(N * W), grwt(R * N), gcr(N), gw_(N), gMd(N * W), Md_buf(s.dealloc ? N * W : 0),
        row(ld), zero_row(ld, T(0)), gcw(N), gal(N), gu_tot(N), P(N), wp(ld), pp(ld),
        rp(R * ld), gbp(R * ld), drp(R * ld), gwp(ld), gpp(ld), rowx(ld),
        content_scratch(content_scratch_size<T>(N, W));
    for (int64_t b = b0; b < b1; ++b) {
      const T* Mb = M + b * N * W;
      const T* csb = cs + b * (R + 1) * 2 * N;  // content statistics (see forward_kernel)
      const T* rwb = rw + b * R * N;
      const T* wwb = ww + b * N;
      const T* rw0 = s.rw0 + b * R * N;
      const T* M0 = s.M0 + b * N * W;
      const T* psib = psi + b * N;
      // 10. r_i = M^T w_i:  g_w_i += M g_r_i,  g_M += sum_i w_i g_r_i^T
      if (g_M) {
        std::copy(g_M + b * N * W, g_M + (b + 1) * N * W, gMt.begin());
      } else {
        std::fill(gMt.begin(), gMt.end(), T(0));
      }
      if (g_rw) {
        std::copy(g_rw + b * R * N, g_rw + (b + 1) * R * N, grwt.begin());
      } else {
        std::fill(grwt.begin(), grwt.end(), T(0));
      }
      if (g_r) {  // three heads per pass over M (the first pass prefetches M0 for step 5)
        for (int64_t i = 0; i < R; i += 3) {
          const int64_t K = std::min<int64_t>(R - i, 3);
          const T* gri = g_r + (b * R + i) * W;
          const T* wi = rwb + i * N;
          T* gwi = grwt.data() + i * N;
          const T* next = i == 0 ? M0 : nullptr;
#define DNC_READ_ROWS_BACKWARD(k)                                                         \
  read_rows_backward<T, k>(Mb, N, W, wi, k > 1 ? wi + N : nullptr,                       \
                           k > 2 ? wi + 2 * N : nullptr, gri, k > 1 ? gri + W : nullptr,  \
                           k > 2 ? gri + 2 * W : nullptr, gMt.data(), gwi,               \
                           k > 1 ? gwi + N : nullptr, k > 2 ? gwi + 2 * N : nullptr, next)
          switch (K) {
            case 1: DNC_READ_ROWS_BACKWARD(1); break;
            case 2: DNC_READ_ROWS_BACKWARD(2); break;
            default: DNC_READ_ROWS_BACKWARD(3); break;
          }
#undef DNC_READ_ROWS_BACKWARD
        }
      }
      // 9. w_i = pi_b b_i + pi_c c_i + pi_f f_i;  7. content backward for c_i
      const T* pi = s.pi + b * R * 3;
      T* gpib = gpi + b * R * 3;
      Vec<T> gf(R * N), gb(R * N);
      for (int64_t i = 0; i < R; ++i) {
        const T* gi = grwt.data() + i * N;
        const T* bi = bk + (b * R + i) * N;
        const T* ci = cr + (b * R + i) * N;
        const T* fi = f + (b * R + i) * N;
        T sb = 0, sc = 0, sf = 0;
        for (int64_t n = 0; n < N; ++n) {
          sb += gi[n] * bi[n];
          sc += gi[n] * ci[n];
          sf += gi[n] * fi[n];
        }
        gpib[i * 3 + 0] = sb;
        gpib[i * 3 + 1] = sc;
        gpib[i * 3 + 2] = sf;
        for (int64_t n = 0; n < N; ++n) {
          gb[i * N + n] = pi[i * 3 + 0] * gi[n];
          gcr[n] = pi[i * 3 + 1] * gi[n];
          gf[i * N + n] = pi[i * 3 + 2] * gi[n];
        }
        const T* rmask = s.rmask ? s.rmask + (b * R + i) * W : nullptr;
        T* grm = grmask ? grmask + (b * R + i) * W : nullptr;
        if (grm) std::fill(grm, grm + W, T(0));
        content_backward<T>(Mb, s.rk + (b * R + i) * W, s.rs[b * R + i], rmask, ci, gcr.data(),
                            csb + 2 * i * N, N, W, gMt.data(), grk + (b * R + i) * W,
                            grs + b * R + i, grm, content_scratch.data());
      }
      // 8. + 6. links (recomputed row by row from L0):
      //   f_i[a] = sum_c L[a,c] w_i[c], b_i[c] = sum_a L[a,c] w_i[a]
      //   G[a,c] = g_L[a,c] + sum_i (g_f_i[a] w_i[c] + w_i[a] g_b_i[c]),  G[a,a] = 0
      //   g_w_i[c] += g_f_i[a] L[a,c];  g_w_i[a] += <L[a,:], g_b_i>
      //   L[a,c] = (1 - w[a] - w[c]) L0[a,c] + w[a] p0[c]:
      //   g_L0 = (1 - w[a] - w[c]) G,  g_w[a] += sum_c G (p0[c] - L0[a,c]),
      //   g_w[c] -= G L0[a,c],  g_p0[c] += G w[a]
      //   (rows ld apart, over ld columns: see "padded link rows")
      const T* L0 = s.L0 + b * N * ld;
      const T* p0 = s.p0 + b * N;
      T* gL0b = gL0 + b * N * ld;
      T* gp0b = gp0 + b * N;
      T* grw0b = grw0 + b * R * N;
      pad_rows<T>(wwb, 1, N, ld, wp.data());
      pad_rows<T>(p0, 1, N, ld, pp.data());
      pad_rows<T>(rw0, R, N, ld, rp.data());
      pad_rows<T>(gb.data(), R, N, ld, gbp.data());
      std::fill(gpp.begin(), gpp.end(), T(0));
      std::fill(drp.begin(), drp.end(), T(0));
      std::fill(gwp.begin(), gwp.end(), T(0));
      for (int64_t a = 0; a < N; ++a)  // (gL0 may be g_L: in place, via the scratch row)
        link_row_backward_all<T>(L0 + a * ld, wp.data(), pp.data(), wwb[a], a, ld, R,
                                 rp.data(), gbp.data(), drp.data(), gf.data() + a, N,
                                 g_L ? g_L + (b * N + a) * ld : zero_row.data(), gL0b + a * ld,
                                 gwp.data(), gpp.data(), row.data(), rowx.data());
      unpad_rows<T>(gpp.data(), 1, N, ld, gp0b);
      unpad_rows<T>(gwp.data(), 1, N, ld, gw_.data());
      unpad_rows<T>(drp.data(), R, N, ld, grw0b);
      // 6. p = (1 - S) p0 + w, S = sum w:  g_p0 += (1 - S) g_p,  g_w += g_p - <g_p, p0>
      T wsum = 0;
      for (int64_t n = 0; n < N; ++n) wsum += wwb[n];
      if (g_p) {
        const T* gpb = g_p + b * N;
        T gpp = 0;
        for (int64_t n = 0; n < N; ++n) gpp += gpb[n] * p0[n];
        for (int64_t n = 0; n < N; ++n) {
          gp0b[n] += (T(1) - wsum) * gpb[n];
          gw_[n] += gpb[n] - gpp;
        }
      }
      if (g_ww)
        for (int64_t n = 0; n < N; ++n) gw_[n] += g_ww[b * N + n];
      // 5. M = Md (1 - w e^T) + w v^T:  g_Md = g_M (1 - w e^T),  g_w += g_M (v - Md e),
      //    g_e = -sum_n g_M Md w,  g_v = sum_n g_M w
      const T* Md = deallocated<T>(s.dealloc, M0, psib, N, W, Md_buf);
      const T* e = s.e + b * W;
      const T* v = s.v + b * W;
      T* geb = ge + b * W;
      T* gvb = gv + b * W;
      std::fill(geb, geb + W, T(0));
      std::fill(gvb, gvb + W, T(0));
      for (int64_t n = 0; n < N; ++n)
        gw_[n] += write_row_backward<T>(gMt.data() + n * W, Md + n * W, e, v, wwb[n], W,
                                        gMd.data() + n * W, geb, gvb);
      // 4. w = gw (ga a + (1 - ga) c_w)
      const T ga = s.ga[b], gwg = s.gw[b];
      const T* ab = alloc + b * N;
      const T* cwb = cw + b * N;
      T sgw = 0, sga = 0;
      for (int64_t n = 0; n < N; ++n) {
        sgw += gw_[n] * (ga * ab[n] + (T(1) - ga) * cwb[n]);
        sga += gw_[n] * (ab[n] - cwb[n]);
        gal[n] = gw_[n] * gwg * ga;
        gcw[n] = gw_[n] * gwg * (T(1) - ga);
      }
      ggw[b] = sgw;
      gga[b] = gwg * sga;
      // 3. allocation, along the sort order phi with s_k = u_hat[phi_k], P_k = prod_{m<k} s_m:
      //    a_k = (1 - s_k) P_k, so g_s_j = P_j (Q_j - g_a_j) with Q_{N-1} = 0 and
      //    Q_{j-1} = g_a_j (1 - s_j) + s_j Q_j;  g_u = (1 - eps) g_u_hat
      const int64_t* ob = order + b * N;
      const T* ub = u + b * N;
      {
        T prod = 1;
        for (int64_t k = 0; k < N; ++k) {
          P[k] = prod;
          prod *= T(kAllocationEps) + T(1 - kAllocationEps) * ub[ob[k]];
        }
        T Q = 0;
        for (int64_t k = N - 1; k >= 0; --k) {
          const int64_t n = ob[k];
          const T sk = T(kAllocationEps) + T(1 - kAllocationEps) * ub[n];
          const T gak = gal[n];
          gu_tot[n] = T(1 - kAllocationEps) * P[k] * (Q - gak);  // g_u through the allocation
          Q = gak * (T(1) - sk) + sk * Q;
        }
      }
      if (g_u)
        for (int64_t n = 0; n < N; ++n) gu_tot[n] += g_u[b * N + n];
      // 2. write content against Md
      {
        const T* wmask = s.wmask ? s.wmask + b * W : nullptr;
        T* gwm = gwmask ? gwmask + b * W : nullptr;
        if (gwm) std::fill(gwm, gwm + W, T(0));
        content_backward<T>(Md, s.wk + b * W, s.ws[b], wmask, cwb, gcw.data(), csb + 2 * R * N,
                            N, W, gMd.data(), gwk + b * W, gws + b, gwm,
                            content_scratch.data());
      }
      // 1. u = q psi with q = u0 + w0 - u0 w0; Md = M0 psi (de-allocation) or M0;
      //    psi = prod_i (1 - f_i w_i):  g_f_i = -sum_n g_psi w_i prod_{j!=i},  g_w_i = -g_psi f_i prod_{j!=i}
      const T* u0 = s.u0 + b * N;
      const T* ww0 = s.ww0 + b * N;
      const T* fg = s.fg + b * R;
      T* gu0b = gu0 + b * N;
      T* gww0b = gww0 + b * N;
      T* gM0b = gM0 + b * N * W;
      T* gfgb = gfg + b * R;
      std::fill(gfgb, gfgb + R, T(0));
      for (int64_t n = 0; n < N; ++n) {
        const T q = u0[n] + ww0[n] - u0[n] * ww0[n];
        const T gq = gu_tot[n] * psib[n];
        T gps = gu_tot[n] * q;
        const T* gmd = gMd.data() + n * W;
        T* gm0 = gM0b + n * W;
        if (s.dealloc) {
          const T* m0 = M0 + n * W;
          T acc = 0;
          for (int64_t w = 0; w < W; ++w) {
            gm0[w] = gmd[w] * psib[n];
            acc += gmd[w] * m0[w];
          }
          gps += acc;
        } else {
          for (int64_t w = 0; w < W; ++w) gm0[w] = gmd[w];
        }
        gu0b[n] = gq * (T(1) - ww0[n]);
        gww0b[n] = gq * (T(1) - u0[n]);
        // prod over the other heads, without division
        for (int64_t i = 0; i < R; ++i) {
          T others = 1;
          for (int64_t j = 0; j < R; ++j)
            if (j != i) others *= T(1) - fg[j] * rw0[j * N + n];
          gfgb[i] -= gps * others * rw0[i * N + n];
          grw0b[i * N + n] -= gps * others * fg[i];
        }
      }
    }
  });
}

// saved: M u p rw ww psi cw alloc order cr f bk cs (forward outputs, see above)
// grads: gr gM gu gL gp grw gww (any may be empty: zero)
// link_grad_out (gL0's storage, or empty: allocate) may be gL itself.
// returns: grk grs gwk gws ge gv gfg gga ggw gpi grmask gwmask gM0 gu0 gL0 gp0 grw0 gww0
std::vector<torch::Tensor> dnc_step_backward(std::vector<torch::Tensor> in, bool dealloc,
                                             std::vector<torch::Tensor> saved,
                                             std::vector<torch::Tensor> grads,
                                             torch::Tensor link_grad_out) {
  TORCH_CHECK(saved.size() == kNumSaved && grads.size() == kNumGrads,
              "dnc_step_backward: expected ", int(kNumSaved), " saved tensors and ",
              int(kNumGrads), " gradients");
  std::vector<torch::Tensor> out;
  for (int k = 0; k < kNumInputs; ++k) {
    if (k == kLink && link_grad_out.numel() == in[kLink].numel()) {
      out.push_back(link_grad_out);
    } else {
      out.push_back(torch::empty_like(in[k]));
    }
  }
  TORCH_CHECK(grads[kGradLink].numel() == 0 || grads[kGradLink].numel() == in[kLink].numel(),
              "dnc_step_backward: the link's gradient must be shaped like the link");
  AT_DISPATCH_FLOATING_TYPES(in[kMemory].scalar_type(), "dnc_step_backward", [&] {
    using T = scalar_t;
    auto s = make_step<T>(in, dealloc);
    SavedPtrs<T> sv{};
    for (int k = 0; k < kNumSaved; ++k)
      if (k != kSavedOrder) sv.p[k] = saved[k].data_ptr<T>();
    sv.order = saved[kSavedOrder].data_ptr<int64_t>();
    GradPtrs<T> gr;
    for (int k = 0; k < kNumGrads; ++k) gr.g[k] = ptr_or_null<T>(grads[k]);
    OutPtrs<T> o;
    for (int k = 0; k < kNumInputs; ++k) o.g[k] = ptr_or_null<T>(out[k]);
    backward_kernel<T>(s, sv, gr, o);
  });
  return out;
}

}  // namespace dnc_step

using dnc_step::dnc_step_backward;
using dnc_step::dnc_step_forward;

// ------------------------------------------------------------------ the interface's activations

namespace dnc_step {

// The flat controller output [B, I] holds the interface fields at the offsets of
// dnc_qa.memory.layout (passed in by Python as kernel_layout: per interface input, in the
// order of Input, `offset, size, activation, group`, then I). A field of size 0 is absent
// (no masking): its tensor is empty.
enum class Act : int64_t { Identity = 0, Oneplus = 1, Sigmoid = 2, Softmax = 3 };

struct Field {
  int64_t offset, size;
  Act act;
  int64_t group;  // a softmax runs over each `group` consecutive entries (a head's read modes)
};

struct Layout {
  std::vector<Field> fields;  // kNumInterface of them
  int64_t size;               // I
};

Layout parse_layout(const std::vector<int64_t>& v) {
  TORCH_CHECK(v.size() == size_t(4 * kNumInterface + 1), "interface layout: expected ",
              4 * kNumInterface + 1, " numbers, got ", v.size());
  Layout l;
  for (int k = 0; k < kNumInterface; ++k)
    l.fields.push_back({v[4 * k], v[4 * k + 1], static_cast<Act>(v[4 * k + 2]), v[4 * k + 3]});
  l.size = v.back();
  return l;
}

// torch.nn.functional.softplus (beta 1, threshold 20) and its derivative
template <typename T>
T softplus(T x) { return x > T(20) ? x : std::log1p(std::exp(x)); }
template <typename T>
T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }

// One field for every batch row: x (stride: the flat vector's length) -> y [B, n].
template <typename T>
void act_forward(const T* x, int64_t stride, int64_t B, const Field& f, T* y) {
  const int64_t n = f.size;
  for (int64_t b = 0; b < B; ++b) {
    const T* xb = x + b * stride + f.offset;
    T* yb = y + b * n;
    if (f.act == Act::Softmax) {
      for (int64_t h = 0; h < n; h += f.group) {
        const T* xh = xb + h;
        T* yh = yb + h;
        T mx = xh[0];
        for (int64_t j = 1; j < f.group; ++j) mx = std::max(mx, xh[j]);
        T total = 0;
        for (int64_t j = 0; j < f.group; ++j) total += (yh[j] = std::exp(xh[j] - mx));
        for (int64_t j = 0; j < f.group; ++j) yh[j] /= total;
      }
      continue;
    }
    for (int64_t k = 0; k < n; ++k) {
      const T v = xb[k];
      yb[k] = f.act == Act::Identity ? v : f.act == Act::Oneplus ? T(1) + softplus(v)
                                                                  : sigmoid(v);
    }
  }
}

// Its reverse: the gradient g [B, n] of y (the activated field) -> gx (in the flat layout).
template <typename T>
void act_backward(const T* x, int64_t stride, const T* y, const T* g, int64_t B,
                  const Field& f, T* gx) {
  const int64_t n = f.size;
  for (int64_t b = 0; b < B; ++b) {
    const T* xb = x + b * stride + f.offset;
    const T* yb = y + b * n;
    const T* gb = g + b * n;
    T* gxb = gx + b * stride + f.offset;
    if (f.act == Act::Softmax) {  // g_x = y (g - <g, y>) per group
      for (int64_t h = 0; h < n; h += f.group) {
        T s = 0;
        for (int64_t j = 0; j < f.group; ++j) s += gb[h + j] * yb[h + j];
        for (int64_t j = 0; j < f.group; ++j) gxb[h + j] = yb[h + j] * (gb[h + j] - s);
      }
      continue;
    }
    for (int64_t k = 0; k < n; ++k) {
      const T gv = gb[k], yv = yb[k], xv = xb[k];
      gxb[k] = f.act == Act::Identity ? gv
               : f.act == Act::Oneplus ? (xv > T(20) ? gv : gv * sigmoid(xv))
                                       : gv * yv * (T(1) - yv);
    }
  }
}

// activate and activate_backward on raw rows: flat [B, I]; out[k] / y[k] / g[k]: field k's
// [B, size] (null: absent, or for g no gradient); gx [B, I] is overwritten.
template <typename T>
void activate_rows(const T* flat, int64_t B, const Layout& l, T* const* out) {
  for (int k = 0; k < kNumInterface; ++k)
    if (l.fields[k].size > 0) act_forward<T>(flat, l.size, B, l.fields[k], out[k]);
}

template <typename T>
void activate_backward_rows(const T* flat, int64_t B, const Layout& l, const T* const* y,
                            const T* const* g, T* gx) {
  std::fill(gx, gx + B * l.size, T(0));
  for (int k = 0; k < kNumInterface; ++k)
    if (l.fields[k].size > 0 && g[k])
      act_backward<T>(flat, l.size, y[k], g[k], B, l.fields[k], gx);
}

// flat [B, I] -> the kNumInterface activated interface fields, in the order of Input, each
// [B, size] (an absent field: an empty tensor). `layout`: see above.
std::vector<torch::Tensor> activate(torch::Tensor flat, std::vector<int64_t> layout) {
  const Layout l = parse_layout(layout);
  TORCH_CHECK(flat.dim() == 2 && flat.size(1) == l.size, "flat interface has the wrong size");
  flat = flat.contiguous();
  const int64_t B = flat.size(0);
  auto opt = flat.options();
  std::vector<torch::Tensor> out;
  for (const auto& f : l.fields)
    out.push_back(f.size > 0 ? torch::empty({B, f.size}, opt) : torch::empty({0}, opt));
  AT_DISPATCH_FLOATING_TYPES(flat.scalar_type(), "activate", [&] {
    scalar_t* ptrs[kNumInterface];
    for (int k = 0; k < kNumInterface; ++k) ptrs[k] = ptr_or_null<scalar_t>(out[k]);
    activate_rows<scalar_t>(flat.data_ptr<scalar_t>(), B, l, ptrs);
  });
  return out;
}

// The gradient of the flat interface from the activated fields (`iface`, activate's output)
// and their gradients (`grads`; empty: zero).
torch::Tensor activate_backward(torch::Tensor flat, std::vector<torch::Tensor> iface,
                                std::vector<torch::Tensor> grads, std::vector<int64_t> layout) {
  const Layout l = parse_layout(layout);
  flat = flat.contiguous();
  const int64_t B = flat.size(0);
  auto gflat = torch::empty_like(flat);
  AT_DISPATCH_FLOATING_TYPES(flat.scalar_type(), "activate_backward", [&] {
    std::vector<torch::Tensor> ys, gs;  // contiguous copies (or the tensors themselves)
    const scalar_t* y[kNumInterface];
    const scalar_t* g[kNumInterface];
    for (int k = 0; k < kNumInterface; ++k) {
      const bool used = l.fields[k].size > 0 && grads[k].numel() > 0;
      ys.push_back(used ? iface[k].contiguous() : torch::Tensor());
      gs.push_back(used ? grads[k].contiguous() : torch::Tensor());
      y[k] = used ? ys[k].data_ptr<scalar_t>() : nullptr;
      g[k] = used ? gs[k].data_ptr<scalar_t>() : nullptr;
    }
    activate_backward_rows<scalar_t>(flat.data_ptr<scalar_t>(), B, l, y, g,
                                     gflat.data_ptr<scalar_t>());
  });
  return gflat;
}

}  // namespace dnc_step

using dnc_step::activate;
using dnc_step::activate_backward;
