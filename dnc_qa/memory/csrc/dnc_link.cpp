// The temporal link alone (spec steps 6 and 8), forward and backward, on the CPU, for every
// configuration the whole fused step (dnc_step.cpp) does not take: several write heads, link
// sharpness, the PyTorch step's link node (dnc_qa.memory.link_function.LinkStep), and the
// link recomputation of the C++ sequence's backward pass (dnc_sequence.cpp).
//
// One pass over each N x N link slice does what the eager path needs several B x Hw x N x N
// temporaries for, with the row loops of dnc_step.cpp (compiled before this file):
//   link_forward:  L = (1 - w_a - w_b) Lp + w_a p_b (zero diagonal), f_i = L r_i, b_i = L^T r_i
//   link_backward: recomputes L row by row from Lp and returns the gradients with respect to
//                  Lp, p, w and the read weights r.
// Slices (batch x write head) run in parallel with at::parallel_for.
//
// Shapes: Lp, L [B, H, N, N] (link_forward also takes rows ld >= N apart: [B, H, N, ld]); p, w [B, H, N]; r [B, R, N]; f, b [B, H, R, N]. Slice s = (batch
// s / H, write head s % H). `out`: a buffer shaped like Lp to write into (an empty tensor:
// allocate) so that callers can recycle N x N buffers; it must not be Lp itself.

#include <torch/extension.h>
#include <ATen/Parallel.h>

#include "aligned.h"

#include <vector>

namespace dnc_link {

template <typename T>
using Vec = dnc_qa_native::AlignedVector<T>;

// Rows of Lp and L are ld >= N apart; the row loops run over ld columns with the vectors
// padded (dnc_step.cpp, "padded link rows").
template <typename T>
void forward_slices(const T* Lp, const T* p, const T* w, const T* r, T* L, T* f, T* b,
                    int64_t S, int64_t H, int64_t N, int64_t ld, int64_t R) {
  at::parallel_for(0, S, 1, [&](int64_t s0, int64_t s1) {
    Vec<T> wp(ld), pp(ld), rp(R * ld), bp(R * ld), row(ld);
    for (int64_t s = s0; s < s1; ++s) {
      const T* lp = Lp + s * N * ld;
      T* l = L + s * N * ld;
      const T* ws = w + s * N;
      const T* rs = r + (s / H) * R * N;
      T* fs = f + s * R * N;
      dnc_step::pad_rows<T>(ws, 1, N, ld, wp.data());
      dnc_step::pad_rows<T>(p + s * N, 1, N, ld, pp.data());
      dnc_step::pad_rows<T>(rs, R, N, ld, rp.data());
      std::fill(bp.begin(), bp.end(), T(0));
      for (int64_t a = 0; a < N; ++a)
        dnc_step::link_row_forward<T>(lp + a * ld, wp.data(), pp.data(), ws[a], a, ld, R,
                                      rp.data(), bp.data(), fs + a, N, l + a * ld, row.data());
      dnc_step::unpad_rows<T>(bp.data(), R, N, ld, b + s * R * N);
    }
  });
}

// G (may be null: no incoming gradient of L), gf, gb [B, H, R, N] -> dLp, dp, dw, and
// dr [B, H, R, N] (the caller sums it over the write heads).
template <typename T>
void backward_slices(const T* Lp, const T* p, const T* w, const T* r, const T* G, const T* gf,
                     const T* gb, T* dLp, T* dp, T* dw, T* dr, int64_t S, int64_t H, int64_t N,
                     int64_t R) {
  at::parallel_for(0, S, 1, [&](int64_t s0, int64_t s1) {
    Vec<T> row(N), g(N), zero(N, T(0));
    for (int64_t s = s0; s < s1; ++s) {
      const T* lp = Lp + s * N * N;
      const T* gs = G ? G + s * N * N : nullptr;
      T* dl = dLp + s * N * N;
      const T* ps = p + s * N;
      const T* ws = w + s * N;
      const T* rs = r + (s / H) * R * N;
      const T* gfs = gf + s * R * N;
      const T* gbs = gb + s * R * N;
      T* dps = dp + s * N;
      T* dws = dw + s * N;
      T* drs = dr + s * R * N;
      std::fill(dps, dps + N, T(0));
      std::fill(dws, dws + N, T(0));
      std::fill(drs, drs + R * N, T(0));
      for (int64_t a = 0; a < N; ++a)
        dnc_step::link_row_backward_all<T>(lp + a * N, ws, ps, ws[a], a, N, R, rs, gbs, drs,
                                           gfs + a, N, gs ? gs + a * N : zero.data(),
                                           dl + a * N, dws, dps, g.data(), row.data());
    }
  });
}

}  // namespace dnc_link

// Returns (L, f, b); see the top of this file. Lp may have padded rows ([B, H, N, ld], ld >= N;
// zero beyond N), and then so does L.
std::vector<torch::Tensor> link_forward(torch::Tensor Lp, torch::Tensor p, torch::Tensor w,
                                        torch::Tensor r, torch::Tensor out) {
  const int64_t B = r.size(0), R = r.size(1), N = r.size(2);
  const int64_t H = Lp.size(1), S = B * H, ld = Lp.size(-1);
  TORCH_CHECK(ld >= N && Lp.numel() == S * N * ld, "link_forward: Lp must be [B, H, N, ld >= N]");
  auto L = out.numel() == Lp.numel() ? out : torch::empty_like(Lp);
  TORCH_CHECK(L.data_ptr() != Lp.data_ptr(),
              "link_forward: `out` must not be the incoming link");
  auto f = torch::empty({B, H, R, N}, Lp.options());
  auto b = torch::empty({B, H, R, N}, Lp.options());
  AT_DISPATCH_FLOATING_TYPES(Lp.scalar_type(), "link_forward", [&] {
    dnc_link::forward_slices<scalar_t>(Lp.data_ptr<scalar_t>(), p.data_ptr<scalar_t>(),
                                       w.data_ptr<scalar_t>(), r.data_ptr<scalar_t>(),
                                       L.data_ptr<scalar_t>(), f.data_ptr<scalar_t>(),
                                       b.data_ptr<scalar_t>(), S, H, N, ld, R);
  });
  return {L, f, b};
}

// Returns (dLp, dp, dw, dr [B, H, R, N]); G may be empty (no gradient of L).
std::vector<torch::Tensor> link_backward(torch::Tensor Lp, torch::Tensor p, torch::Tensor w,
                                         torch::Tensor r, torch::Tensor G, torch::Tensor gf,
                                         torch::Tensor gb, torch::Tensor out) {
  const int64_t B = r.size(0), R = r.size(1), N = r.size(2);
  const int64_t H = Lp.size(1), S = B * H;
  TORCH_CHECK(Lp.numel() == S * N * N, "link_backward: Lp must be [B, H, N, N]");
  auto dLp = out.numel() == Lp.numel() ? out : torch::empty_like(Lp);
  auto dp = torch::empty_like(p);
  auto dw = torch::empty_like(w);
  auto dr = torch::empty({B, H, R, N}, Lp.options());
  const bool has_g = G.defined() && G.numel() > 0;
  AT_DISPATCH_FLOATING_TYPES(Lp.scalar_type(), "link_backward", [&] {
    dnc_link::backward_slices<scalar_t>(
        Lp.data_ptr<scalar_t>(), p.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(),
        r.data_ptr<scalar_t>(), has_g ? G.data_ptr<scalar_t>() : nullptr,
        gf.data_ptr<scalar_t>(), gb.data_ptr<scalar_t>(), dLp.data_ptr<scalar_t>(),
        dp.data_ptr<scalar_t>(), dw.data_ptr<scalar_t>(), dr.data_ptr<scalar_t>(), S, H, N, R);
  });
  return {dLp, dp, dw, dr};
}
