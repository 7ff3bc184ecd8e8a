// A whole DNC sequence on the CPU, forward and backward, as one C++ loop over the timesteps:
// a one-layer controller (LSTM or feed-forward), its clipping, the interface layer and the
// fused memory step (dnc_step.cpp and dnc_link.cpp, compiled into the same module, before
// this file). dnc_qa.memory.backends.cpp_sequence wraps the two calls in one
// torch.autograd.Function.
//
// Per timestep t (Graves et al. 2016, Methods; dnc_qa.models.memory_net and .controller;
// activate reads the interface layout passed in from Python):
//   LSTM:  X_t = [r_{t-1}, h_{t-1}]  [B, RW + H];  gates = xg_t + X_t W_rec^T  [B, 4H]
//          i, f, o = sigmoid, g = tanh (order i f g o);  c_t = f c_{t-1} + i g;  h_t = o tanh(c_t)
//   feed-forward:  X_t = r_{t-1}  [B, RW];  h_t = tanh(xg_t + X_t W_rec^T)  [B, H]
//   (xg = the x part of the gates or pre-activations, bias included, all t at once in Python)
//   hc_t = clamp(h_t, -clip, clip) (or h_t);  xi_t = hc_t W_if^T + b_if
//   r_t, memory_t = memory step(activate(xi_t), memory_{t-1})
// The LSTM's recurrent state carries the unclipped h_t (as the Python controller does).
//
// The links are kept with padded rows ([B, 1, N, ld], ld = N rounded up to 16; see
// dnc_step.cpp): the caller's initial link and link gradient are copied in, the final ones
// copied out. The memory step reads its link from one of two working buffers and writes the
// new one to the other; every `segment`-th incoming link is kept as a checkpoint, and the
// backward pass recomputes the links of one segment at a time from it (as
// dnc_qa.memory.link_function.LinkTape does). The link's gradient alternates between two
// buffers the same way in the backward pass. The controller's and the interface layer's
// weight gradients are one matrix product each over all T B rows after the loop.
//
// Shapes: xg [B,T,G] (G = 4H or H); w_rec [G, D] (D = RW + H or RW); w_if [I,H]; b_if [I];
// state0: h0 [B,H] c0 [B,H] (empty for feed-forward) r0 [B,R,W], then the memory state
// M0 u0 L0 p0 rw0 ww0 (dnc_step.cpp).

#include <memory>
#include <mutex>
#include <unordered_set>

namespace dnc_sequence {

using torch::Tensor;

// The sequence's fixed settings (SequenceSettings in dnc_qa.memory.backends.cpp_sequence,
// then the segment).
struct Config {
  std::vector<int64_t> layout;  // the interface layout (dnc_qa.memory.layout.kernel_layout)
  int64_t R, W;  // read heads, cell width
  bool dealloc;
  double clip;
  bool has_clip;
  bool lstm;  // else a one-layer feed-forward (tanh) controller
  int64_t segment;  // link checkpoint spacing
};

// gates [B,4H] pre-activation in, activated (sigmoid i f o, tanh g; order i f g o) out;
// c = f c_prev + i g;  tc = tanh(c);  h = o tc. The activations run through ATen (vectorised).
template <typename T>
void cell_forward(Tensor gates, const Tensor& c_prev, Tensor c, Tensor tc, Tensor h) {
  const int64_t B = gates.size(0), H = gates.size(1) / 4;
  gates.narrow(1, 0, 2 * H).sigmoid_();
  gates.narrow(1, 2 * H, H).tanh_();
  gates.narrow(1, 3 * H, H).sigmoid_();
  const auto cp = c_prev.contiguous();
  const T* a = gates.data_ptr<T>();
  const T* c0 = cp.data_ptr<T>();
  T* cn = c.data_ptr<T>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j)
      cn[b * H + j] =
          a[b * 4 * H + H + j] * c0[b * H + j] + a[b * 4 * H + j] * a[b * 4 * H + 2 * H + j];
  at::tanh_out(tc, c);
  const T* t = tc.data_ptr<T>();
  T* hn = h.data_ptr<T>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) hn[b * H + j] = a[b * 4 * H + 3 * H + j] * t[b * H + j];
}

// Whether clamp(h, -clip, clip) passes h's gradient on (as torch.clamp's backward: at the
// bounds too).
template <typename T>
inline bool unclipped(T h, bool has_clip, T clip) {
  return !has_clip || (h >= -clip && h <= clip);
}

// Reverse of cell_forward and of the clamp (tcs: the saved tanh(c)). In: g_hc (gradient of
// the clipped output), g_h (of the unclipped h, from the next step's input; may be null),
// g_c (of c_t, in/out: becomes that of c_{t-1}). Out: gg [B,4H] the gradient of the
// pre-activation gates.
//   h = o tanh(c):  g_o = g_h tanh(c),  g_c += g_h o (1 - tanh(c)^2)
//   c = f c_prev + i g:  g_i = g_c g,  g_f = g_c c_prev,  g_g = g_c i,  g_c_prev = g_c f
//   sigmoid' = s (1 - s), tanh' = 1 - g^2;  clamp: g_h += g_hc where -clip <= h <= clip
template <typename T>
void cell_backward(const T* acts, const T* tcs, const T* c_prev, const T* g_hc, const T* g_h,
                   bool has_clip, T clip, int64_t B, int64_t H, T* g_c, T* gg) {
  for (int64_t b = 0; b < B; ++b) {
    const T* a = acts + b * 4 * H;
    T* out = gg + b * 4 * H;
    for (int64_t j = 0; j < H; ++j) {
      const int64_t k = b * H + j;
      const T i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
      const T tc = tcs[k];
      T gh = g_h ? g_h[k] : T(0);
      if (unclipped(o * tc, has_clip, clip)) gh += g_hc[k];  // h = o tc, as cell_forward
      const T gc = g_c[k] + gh * o * (T(1) - tc * tc);
      out[j] = gc * g * i * (T(1) - i);
      out[H + j] = gc * c_prev[k] * f * (T(1) - f);
      out[2 * H + j] = gc * i * (T(1) - g * g);
      out[3 * H + j] = gh * tc * o * (T(1) - o);
      g_c[k] = gc * f;
    }
  }
}

template <typename T>
void clamp_copy(const T* h, int64_t n, bool has_clip, T clip, T* out) {
  for (int64_t k = 0; k < n; ++k) out[k] = has_clip ? std::min(std::max(h[k], -clip), clip) : h[k];
}

// Reverse of the feed-forward controller and the clamp: h = tanh(pre), hc = clamp(h):
//   g_pre = g_hc (1 - h^2) where -clip <= h <= clip (else 0)
template <typename T>
void tanh_backward(const T* h, const T* g_hc, int64_t n, bool has_clip, T clip, T* g_pre) {
  for (int64_t k = 0; k < n; ++k)
    g_pre[k] = unclipped(h[k], has_clip, clip) ? g_hc[k] * (T(1) - h[k] * h[k]) : T(0);
}

// Which tensor holds the link after step s (s = 0: the initial link), forward and backward
// alike: checkpoints at s = segment, 2 segment, ... (s < T); the working buffer otherwise.
struct Links {
  int64_t T, segment;
  bool keep;  // false: no backward pass, no checkpoints
  bool checkpoint(int64_t s) const { return keep && s > 0 && s < T && s % segment == 0; }
  int64_t count() const { return keep ? (T - 1) / segment : 0; }
};

// What the forward pass over one batch chunk keeps for its backward pass: X [T,B,D],
// A [T,B,G] (activated gates, or h for feed-forward), C and TC [T,B,H] (c and tanh c; empty
// for feed-forward), XI [T,B,I] (raw interface), HC [T,B,H] (clipped h), the link
// checkpoints, then the steps' buffers (StepBuffers).
struct Saved {
  std::vector<Tensor> tensors;
};
constexpr int64_t kSequenceSaved = 6;  // X A C TC XI HC

// Every step's activated interface (dnc_step::Input's first kNumInterface fields, each
// [B, size]) and what dnc_step_forward returns for the backward pass (dnc_step::SavedIndex:
// M u p rw ww psi cw alloc order cr f bk cs): a few buffers per field for the whole sequence
// instead of some 25 tensors per step. S slots: T when the backward pass needs them, else 2
// that the steps alternate between (step t reads the state of step t - 1). Each field is
// kept in blocks of `block` consecutive slots ([block, B, ...], the last one shorter), sized
// so that no block passes kBlockBytes: the allocator then recycles the blocks from call to
// call (one buffer for a long sequence would be mapped fresh, page by page, every call).
constexpr int64_t kBlockBytes = int64_t(4) << 20;

struct StepBuffers {
  int64_t slots = 0, block = 1;
  std::vector<std::vector<Tensor>> iface, saved;  // [field][block]

  // Slots per block for these sizes (the largest field per slot is M, [B, N, W], or the
  // content statistics, [B, R + 1, 2, N]).
  static int64_t block_for(int64_t B, int64_t N, int64_t W, int64_t R, int64_t item) {
    const int64_t per_slot = B * std::max(N * W, 2 * (R + 1) * N) * item;
    return std::max<int64_t>(1, kBlockBytes / std::max<int64_t>(per_slot, 1));
  }
  int64_t blocks() const { return (slots + block - 1) / block; }

  StepBuffers(const dnc_step::Layout& l, int64_t S, int64_t B, int64_t N, int64_t W, int64_t R,
              const torch::TensorOptions& opt)
      : slots(S), block(block_for(B, N, W, R, opt.dtype().itemsize())) {
    auto fields = [&](std::vector<int64_t> shape, const torch::TensorOptions& o) {
      std::vector<Tensor> out;
      for (int64_t j = 0; j < blocks(); ++j) {
        shape[0] = std::min(block, slots - j * block);
        out.push_back(torch::empty(shape, o));
      }
      return out;
    };
    for (const auto& f : l.fields) iface.push_back(fields({0, B, f.size}, opt));
    saved = {fields({0, B, N, W}, opt), fields({0, B, N}, opt),    fields({0, B, 1, N}, opt),
             fields({0, B, R, N}, opt), fields({0, B, 1, N}, opt), fields({0, B, N}, opt),
             fields({0, B, N}, opt),    fields({0, B, N}, opt),
             fields({0, B, N}, opt.dtype(torch::kInt64)),
             fields({0, B, R, N}, opt), fields({0, B, R, N}, opt), fields({0, B, R, N}, opt),
             fields({0, B, R + 1, 2, N}, opt)};
  }

  // The blocks of `first`, ... as flat() gave them (the backward pass's view).
  StepBuffers(std::vector<Tensor>::const_iterator first, int64_t S, int64_t blk)
      : slots(S), block(blk) {
    for (int k = 0; k < dnc_step::kNumInterface + dnc_step::kNumSaved; ++k) {
      std::vector<Tensor> f(first, first + blocks());
      first += blocks();
      (k < dnc_step::kNumInterface ? iface : saved).push_back(std::move(f));
    }
  }

  // Every block, field by field (what the backward pass keeps).
  std::vector<Tensor> flat() const {
    std::vector<Tensor> out;
    for (const auto* group : {&iface, &saved})
      for (const auto& f : *group) out.insert(out.end(), f.begin(), f.end());
    return out;
  }

  // Slot s of a field as a raw pointer (null for an empty field), and as a tensor.
  template <typename T>
  T* at(const std::vector<Tensor>& field, int64_t s) const {
    const Tensor& b = field[s / block];
    return b.numel() > 0 ? b.data_ptr<T>() + (s % block) * (b.numel() / b.size(0)) : nullptr;
  }
  Tensor tensor(const std::vector<Tensor>& field, int64_t s) const {
    return field[s / block].select(0, s % block);
  }
};

// The memory step's inputs (dnc_step::Step) at step t: its interface from the buffers, the
// incoming state M u p rw ww from `prev` (each [B, ...]), the link from L0.
template <typename T>
dnc_step::Step<T> step_inputs(const StepBuffers& sb, int64_t s, const T* const* prev,
                              const T* L0, int64_t B, int64_t N, int64_t W, int64_t R,
                              int64_t ld, bool dealloc) {
  const T* in[dnc_step::kNumInputs];
  for (int k = 0; k < dnc_step::kNumInterface; ++k) in[k] = sb.at<T>(sb.iface[k], s);
  in[dnc_step::kMemory] = prev[0];
  in[dnc_step::kUsage] = prev[1];
  in[dnc_step::kLink] = L0;
  in[dnc_step::kPrecedence] = prev[2];
  in[dnc_step::kReadWeights] = prev[3];
  in[dnc_step::kWriteWeights] = prev[4];
  return dnc_step::step_from<T>(in, B, N, W, R, ld, dealloc);
}

// The row-major [B, n] rows of x (rows `stride` apart) to out (rows `out_stride` apart).
template <typename T>
void copy_rows(const T* x, int64_t stride, int64_t B, int64_t n, T* out, int64_t out_stride) {
  for (int64_t b = 0; b < B; ++b)
    std::copy(x + b * stride, x + b * stride + n, out + b * out_stride);
}

// ------------------------------------------------------------------ small matrix products
// The per-step products of the batch's few rows with a weight matrix:
//   C[m, :] = init[m * init_stride + :] (zero when init is null) + sum_k A[m, k] B[k, :]
// A [M, K] with rows lda apart, B [K, N] with rows ldb apart, C [M, N] contiguous. BLAS
// serves so few rows slowly (it repacks B on every call): called from Python, 4 x 192 x 128
// takes 5.9 us through torch.addmm and 3.2 us this way, 4 x 658 x 128 15.7 and 8.3 us
// (python -m benchmarks.small_gemm). Tiles of up to
// 4 rows by 64 columns are accumulated over k in registers.
template <typename T, int MB, int64_t NB>
inline void gemm_tile(int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                      int64_t ldc, const T* init, int64_t init_stride, int64_t n0,
                      int64_t nb) {
  T acc[MB][NB];
  for (int r = 0; r < MB; ++r)
    for (int64_t j = 0; j < NB; ++j)
      acc[r][j] = (init != nullptr && j < nb) ? init[r * init_stride + n0 + j] : T(0);
  if (nb == NB) {
    for (int64_t k = 0; k < K; ++k) {
      const T* b = B + k * ldb + n0;
      for (int r = 0; r < MB; ++r) {
        const T a = A[r * lda + k];
        for (int64_t j = 0; j < NB; ++j) acc[r][j] += a * b[j];
      }
    }
  } else {  // the last columns, fewer than NB
    for (int64_t k = 0; k < K; ++k) {
      const T* b = B + k * ldb + n0;
      for (int r = 0; r < MB; ++r) {
        const T a = A[r * lda + k];
        for (int64_t j = 0; j < nb; ++j) acc[r][j] += a * b[j];
      }
    }
  }
  for (int r = 0; r < MB; ++r)
    for (int64_t j = 0; j < nb; ++j) C[r * ldc + n0 + j] = acc[r][j];
}

template <typename T, int MB>
void gemm_rows(int64_t N, int64_t K, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
               const T* init, int64_t init_stride) {
  int64_t n0 = 0;
  for (; n0 + 64 <= N; n0 += 64)
    gemm_tile<T, MB, 64>(K, A, lda, B, ldb, C, N, init, init_stride, n0, 64);
  // the last columns through the same tile, its loop cut short (faster here than tiles of
  // 16 columns)
  if (n0 < N) gemm_tile<T, MB, 64>(K, A, lda, B, ldb, C, N, init, init_stride, n0, N - n0);
}

template <typename T>
void small_gemm(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* B,
                int64_t ldb, T* C, const T* init, int64_t init_stride) {
  int64_t m = 0;
  auto at_row = [&](int64_t r) { return init != nullptr ? init + r * init_stride : nullptr; };
  for (; m + 4 <= M; m += 4)
    gemm_rows<T, 4>(N, K, A + m * lda, lda, B, ldb, C + m * N, at_row(m), init_stride);
  switch (M - m) {
    case 3: gemm_rows<T, 3>(N, K, A + m * lda, lda, B, ldb, C + m * N, at_row(m), init_stride);
      break;
    case 2: gemm_rows<T, 2>(N, K, A + m * lda, lda, B, ldb, C + m * N, at_row(m), init_stride);
      break;
    case 1: gemm_rows<T, 1>(N, K, A + m * lda, lda, B, ldb, C + m * N, at_row(m), init_stride);
      break;
    default: break;
  }
}

// Batches of at most this many rows (the sizes measured against at::addmm) use small_gemm;
// the forward pass also needs T >= kSmallMinSteps, to pay for its transposed weight copies.
constexpr int64_t kSmallRows = 16;
constexpr int64_t kSmallMinSteps = 4;

// w [n, k] as the rows of w^T, [k, ld] with ld = n rounded up to 16 (zeros beyond n), so
// that small_gemm's tiles start on 64-byte lines.
Tensor padded_transpose(const Tensor& w) {
  const int64_t n = w.size(0), ld = (n + 15) / 16 * 16;
  auto out = torch::zeros({w.size(1), ld}, w.options());
  out.narrow(1, 0, n).copy_(w.t());
  return out;
}

// small_gemm as an op (for the tests): a [M, K] contiguous, b [K, N] with unit column
// stride, init empty (no init), [N] (every row) or [M, N] with unit column stride.
Tensor small_matmul(Tensor a, Tensor b, Tensor init) {
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(1) == b.size(0), "small_matmul: shapes");
  TORCH_CHECK(b.stride(1) == 1 && b.dtype() == a.dtype(), "small_matmul: b");
  a = a.contiguous();
  const int64_t M = a.size(0), K = a.size(1), N = b.size(1);
  auto out = torch::empty({M, N}, a.options());
  const bool has_init = init.numel() > 0;
  TORCH_CHECK(!has_init || (init.size(-1) == N && init.stride(-1) == 1 &&
                            init.dtype() == a.dtype() &&
                            (init.dim() == 1 || (init.dim() == 2 && init.size(0) == M))),
              "small_matmul: init");
  const int64_t init_stride = has_init && init.dim() == 2 ? init.stride(0) : 0;
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "small_matmul", [&] {
    small_gemm<scalar_t>(M, N, K, a.data_ptr<scalar_t>(), K, b.data_ptr<scalar_t>(),
                         b.stride(0), out.data_ptr<scalar_t>(),
                         has_init ? init.data_ptr<scalar_t>() : nullptr, init_stride);
  });
  return out;
}

// The row stride of the sequence's links: N rounded up to 16 (dnc_step.cpp, "padded link
// rows"): every link buffer here is [B, 1, N, ld] with zeros in columns N..ld-1.
inline int64_t link_stride(int64_t N) { return (N + 15) / 16 * 16; }

// A [B, 1, N, N] link (the caller's state or gradient) with rows ld apart; itself if ld = N.
Tensor padded_link(const Tensor& L, int64_t ld) {
  if (L.size(-1) == ld) return L;
  auto out = torch::zeros({L.size(0), L.size(1), L.size(2), ld}, L.options());
  out.narrow(3, 0, L.size(-1)).copy_(L);
  return out;
}

// The caller's [B, 1, N, N] view of a padded link (a copy; itself if ld = N).
Tensor unpadded_link(const Tensor& L, int64_t N) {
  return L.size(-1) == N ? L : L.narrow(3, 0, N).contiguous();
}

// The memory state fields a step reads and writes besides the link, as SavedIndex numbers
// them (M u p rw ww), and where the initial state keeps them (state0: h0 c0 r0 M0 u0 L0 p0
// rw0 ww0).
constexpr int kStateSaved[5] = {dnc_step::kSavedMemory, dnc_step::kSavedUsage,
                                dnc_step::kSavedPrecedence, dnc_step::kSavedReadWeights,
                                dnc_step::kSavedWriteWeights};
constexpr int kStateInState0[5] = {3, 4, 6, 7, 8};

// The forward loop (see the top of this file). outputs: hc [T,B,H] (clipped controller
// outputs), rs [T,B,R*W] (read vectors), h_T, c_T (empty for feed-forward), M_T, u_T, L_T,
// p_T, rw_T, ww_T.
template <typename T>
void sequence_forward_impl(const Tensor& xg, const Tensor& w_rec, const Tensor& w_if,
                           const Tensor& b_if, const std::vector<Tensor>& state0,
                           const Config& cfg, bool keep, std::vector<Tensor>& outputs,
                           Saved& saved) {
  const int64_t B = xg.size(0), TT = xg.size(1), G = xg.size(2), RW = cfg.R * cfg.W;
  const int64_t H = w_if.size(1), D = w_rec.size(1), I = w_if.size(0), N = state0[3].size(1);
  const int64_t W = cfg.W, R = cfg.R, ld = link_stride(N);
  const auto layout = dnc_step::parse_layout(cfg.layout);
  auto opt = xg.options();
  auto X = torch::empty({TT, B, D}, opt);
  auto A = torch::empty({TT, B, G}, opt);  // activated gates (LSTM) or h (feed-forward)
  auto C = torch::empty({cfg.lstm ? TT : 0, B, H}, opt);
  auto TC = torch::empty({cfg.lstm ? TT : 0, B, H}, opt);
  auto XI = torch::empty({TT, B, I}, opt);
  auto HC = torch::empty({TT, B, H}, opt);
  auto RS = torch::empty({TT, B, RW}, opt);
  StepBuffers sb(layout, keep ? std::max<int64_t>(TT, 1) : 2, B, N, W, R, opt);
  const Links links{TT, cfg.segment, keep};
  std::vector<Tensor> checkpoints;
  // two working buffers, alternating: each step reads the link from one and writes the new
  // one to the other (a step's row pass reads and writes different rows of memory)
  Tensor work[2] = {torch::empty({B, 1, N, ld}, opt), torch::empty({B, 1, N, ld}, opt)};
  const auto w_rec_t = w_rec.t(), w_if_t = w_if.t();
  // few rows and enough steps: the per-step products through small_gemm, from padded
  // transposed copies of the weights
  const bool small = B <= kSmallRows && TT >= kSmallMinSteps;
  const Tensor w_rec_rows = small ? padded_transpose(w_rec) : Tensor();  // [D, >= G]
  const Tensor w_if_rows = small ? padded_transpose(w_if) : Tensor();    // [H, >= I]
  const Tensor xgc = xg.contiguous(), b_ifc = b_if.contiguous();
  const auto r0 = state0[2].contiguous();
  Tensor h_prev = state0[0], c_prev = state0[1];
  Tensor link = padded_link(state0[5], ld);  // the incoming link of the next step
  std::vector<Tensor> mem0;
  for (int k = 0; k < 5; ++k) mem0.push_back(state0[kStateInState0[k]].contiguous());
  const T clip = T(cfg.clip);
  for (int64_t t = 0; t < TT; ++t) {
    const int64_t s = keep ? t : t % 2, s_prev = keep ? t - 1 : (t + 1) % 2;
    T* Xt = X.data_ptr<T>() + t * B * D;
    copy_rows<T>(t == 0 ? r0.data_ptr<T>() : RS.data_ptr<T>() + (t - 1) * B * RW, RW, B, RW, Xt,
                 D);
    if (cfg.lstm) {
      const auto hp = h_prev.contiguous();
      copy_rows<T>(hp.data_ptr<T>(), H, B, H, Xt + RW, D);
    }
    auto gates = A[t];
    if (small) {
      small_gemm<T>(B, G, D, Xt, D, w_rec_rows.data_ptr<T>(), w_rec_rows.size(1),
                    gates.data_ptr<T>(), xgc.data_ptr<T>() + t * G, TT * G);
    } else {
      at::addmm_out(gates, xg.select(1, t), X[t], w_rec_t);
    }
    Tensor h;
    if (cfg.lstm) {
      h = torch::empty({B, H}, opt);
      cell_forward<T>(gates, c_prev, C[t], TC[t], h);
    } else {
      h = gates.tanh_();
    }
    auto hc = HC[t];
    clamp_copy<T>(h.data_ptr<T>(), B * H, cfg.has_clip, clip, hc.data_ptr<T>());
    auto xi = XI[t];
    if (small) {
      small_gemm<T>(B, I, H, hc.data_ptr<T>(), H, w_if_rows.data_ptr<T>(), w_if_rows.size(1),
                    xi.data_ptr<T>(), b_ifc.data_ptr<T>(), 0);
    } else {
      at::addmm_out(xi, b_if, hc, w_if_t);
    }
    T* fields[dnc_step::kNumInterface];
    for (int k = 0; k < dnc_step::kNumInterface; ++k) fields[k] = sb.at<T>(sb.iface[k], s);
    dnc_step::activate_rows<T>(xi.data_ptr<T>(), B, layout, fields);
    // the incoming link is `link`; the new one goes to a fresh checkpoint or to the working
    // buffer it is not in
    Tensor dst = work[link.is_same(work[0]) ? 1 : 0];
    if (links.checkpoint(t + 1)) {
      dst = torch::empty({B, 1, N, ld}, opt);
      checkpoints.push_back(dst);
    }
    const T* prev[5];
    for (int k = 0; k < 5; ++k)
      prev[k] = t == 0 ? mem0[k].data_ptr<T>() : sb.at<T>(sb.saved[kStateSaved[k]], s_prev);
    const auto st = step_inputs<T>(sb, s, prev, link.data_ptr<T>(), B, N, W, R, ld, cfg.dealloc);
    T* out[dnc_step::kNumSaved];
    for (int k = 0; k < dnc_step::kNumSaved; ++k)
      if (k != dnc_step::kSavedOrder) out[k] = sb.at<T>(sb.saved[k], s);
    int64_t* order = sb.at<int64_t>(sb.saved[dnc_step::kSavedOrder], s);
    dnc_step::forward_kernel<T>(
        st, RS.data_ptr<T>() + t * B * RW, out[dnc_step::kSavedMemory],
        out[dnc_step::kSavedUsage], dst.data_ptr<T>(), out[dnc_step::kSavedPrecedence],
        out[dnc_step::kSavedReadWeights], out[dnc_step::kSavedWriteWeights],
        out[dnc_step::kSavedPsi], out[dnc_step::kSavedWriteContent],
        out[dnc_step::kSavedAllocation], order, out[dnc_step::kSavedReadContent],
        out[dnc_step::kSavedForward], out[dnc_step::kSavedBackward],
        out[dnc_step::kSavedContentStats]);
    link = dst;
    if (cfg.lstm) {
      h_prev = h;
      c_prev = C[t];
    }
  }
  // the final state: copies (an output held by the autograd node that made it would be a
  // reference cycle, and without the backward pass the buffers alternate); the link is a
  // working buffer
  const int64_t last = keep ? TT - 1 : (TT - 1) % 2;
  auto final_field = [&](int k) -> Tensor {
    if (TT == 0) return state0[kStateInState0[k]];
    return sb.tensor(sb.saved[kStateSaved[k]], last).clone();
  };
  outputs = {HC, RS, h_prev, keep && cfg.lstm ? c_prev.clone() : c_prev};  // (HC: merge_outputs)
  outputs.push_back(final_field(0));
  outputs.push_back(final_field(1));
  outputs.push_back(unpadded_link(link, N));
  outputs.push_back(final_field(2));
  outputs.push_back(final_field(3));
  outputs.push_back(final_field(4));
  if (keep) {
    saved.tensors = {X, A, C, TC, XI, HC};
    saved.tensors.insert(saved.tensors.end(), checkpoints.begin(), checkpoints.end());
    const auto blocks = sb.flat();
    saved.tensors.insert(saved.tensors.end(), blocks.begin(), blocks.end());
  }
}

void sequence_forward(const Tensor& xg, const Tensor& w_rec, const Tensor& w_if,
                      const Tensor& b_if, const std::vector<Tensor>& state0, const Config& cfg,
                      bool keep, std::vector<Tensor>& outputs, Saved& saved) {
  at::NoGradGuard no_grad;  // grad mode is per thread: this may run on a worker thread
  AT_DISPATCH_FLOATING_TYPES(xg.scalar_type(), "dnc_sequence_forward", [&] {
    sequence_forward_impl<scalar_t>(xg, w_rec, w_if, b_if, state0, cfg, keep, outputs, saved);
  });
}

// The backward loop. grads: g_hc [T,B,H], g_rs [T,B,RW], g_hT, g_cT, gM, gu, gL, gp, grw, gww
// (any may be empty: zero). Returns the gradients of xg [B,T,G], w_rec, w_if, b_if, then of
// state0 (9; those of h0 and c0 empty for feed-forward).
template <typename T>
std::vector<Tensor> sequence_backward_impl(const std::vector<Tensor>& grads, const Tensor& w_rec,
                                           const Tensor& w_if, const std::vector<Tensor>& state0,
                                           const Saved& saved, const Config& cfg) {
  const auto& sv = saved.tensors;
  const auto &X = sv[0], &A = sv[1], &C = sv[2], &TC = sv[3], &XI = sv[4], &HC = sv[5];
  const int64_t TT = X.size(0), B = X.size(1), D = X.size(2), G = A.size(2), RW = cfg.R * cfg.W;
  const int64_t H = HC.size(2), I = XI.size(2), N = state0[3].size(1), ld = link_stride(N);
  const int64_t W = cfg.W, R = cfg.R;
  const auto layout = dnc_step::parse_layout(cfg.layout);
  const Links links{TT, cfg.segment, true};
  const int64_t n_ckpt = links.count();
  auto checkpoint = [&](int64_t j) -> const Tensor& { return sv[kSequenceSaved + j - 1]; };
  const StepBuffers sb(sv.begin() + kSequenceSaved + n_ckpt, std::max<int64_t>(TT, 1),
                       StepBuffers::block_for(B, N, W, R, X.element_size()));
  std::vector<Tensor> mem0;
  for (int k = 0; k < 5; ++k) mem0.push_back(state0[kStateInState0[k]].contiguous());
  // the memory state after step s (s = -1: the initial state), k: index into kStateSaved
  auto state_after = [&](int64_t s, int k) -> T* {
    return s < 0 ? mem0[k].data_ptr<T>() : sb.at<T>(sb.saved[kStateSaved[k]], s);
  };
  auto state_tensor = [&](int64_t s, int k) -> Tensor {
    return s < 0 ? mem0[k] : sb.tensor(sb.saved[kStateSaved[k]], s);
  };
  auto defined = [](const Tensor& g) { return g.numel() > 0; };
  auto opt = X.options();
  auto GG = torch::empty({TT, B, G}, opt);
  auto GXI = torch::empty({TT, B, I}, opt);
  // carried from step t+1 to step t: the gradients of h_t, c_t (LSTM), r_t and the memory
  Tensor g_h = defined(grads[2]) ? grads[2].clone() : torch::zeros({cfg.lstm ? B : 0, H}, opt);
  Tensor g_c = defined(grads[3]) ? grads[3].clone() : torch::zeros({cfg.lstm ? B : 0, H}, opt);
  auto g_r = torch::zeros({B, RW}, opt);     // from the controller of step t+1
  auto g_read = torch::empty({B, RW}, opt);  // g_r plus the read vectors' own gradient
  auto gX = torch::empty({B, D}, opt);
  const Tensor g_rs = defined(grads[1]) ? grads[1].contiguous() : grads[1];
  auto gL = defined(grads[6]) ? padded_link(grads[6], ld).clone()
                              : torch::zeros({B, 1, N, ld}, opt);
  const auto L0 = padded_link(state0[5], ld);
  // the memory state's gradients (M u p rw ww, as kStateSaved; the link's in gL_work): the
  // incoming ones (the caller's at first; empty: zero) and two buffers the steps alternate
  // between
  std::vector<Tensor> gmem = {grads[4], grads[5], grads[7], grads[8], grads[9]};
  for (auto& g : gmem)
    if (defined(g)) g = g.contiguous();
  std::vector<Tensor> gmem_buf[2];
  for (int j = 0; j < 2; ++j)
    for (int k = 0; k < 5; ++k) gmem_buf[j].push_back(torch::empty_like(mem0[k]));
  Tensor gL_work[2] = {gL, torch::empty({B, 1, N, ld}, opt)};
  // the interface's gradients of one step
  std::vector<Tensor> g_iface;
  for (const auto& f : layout.fields) g_iface.push_back(torch::empty({B, f.size}, opt));
  auto g_hc = torch::empty({B, H}, opt);
  const bool small = B <= kSmallRows;  // the per-step products through small_gemm
  const auto w_if_c = w_if.contiguous(), w_rec_c = w_rec.contiguous();
  // the recomputed links of one segment: segment_links[m - 1] = the link after step start+m-1
  const int64_t segment = cfg.segment;
  std::vector<Tensor> segment_links;
  for (int64_t m = 1; m < std::min(segment, TT); ++m)
    segment_links.push_back(torch::empty({B, 1, N, ld}, opt));
  const auto no_reads = torch::empty({B, 0, N}, opt);  // link_forward: the update alone
  const T clip = T(cfg.clip);
  int64_t parity = 0;
  for (int64_t start = ((TT - 1) / segment) * segment; start >= 0; start -= segment) {
    const int64_t end = std::min(start + segment, TT);  // this segment: steps start .. end-1
    const Tensor& base = start == 0 ? L0 : checkpoint(start / segment);
    for (int64_t m = 1; m < end - start; ++m)  // step start+m-1 from its incoming link
      link_forward(m == 1 ? base : segment_links[m - 2], state_tensor(start + m - 2, 2),
                   state_tensor(start + m - 1, 4), no_reads, segment_links[m - 1]);
    for (int64_t t = end - 1; t >= start; --t) {
      const Tensor& link_in = t == start ? base : segment_links[t - start - 1];
      const T* prev[5];
      for (int k = 0; k < 5; ++k) prev[k] = state_after(t - 1, k);
      const auto st = step_inputs<T>(sb, t, prev, link_in.data_ptr<T>(), B, N, W, R, ld,
                                     cfg.dealloc);
      dnc_step::SavedPtrs<T> saved_t{};
      for (int k = 0; k < dnc_step::kNumSaved; ++k)
        if (k != dnc_step::kSavedOrder) saved_t.p[k] = sb.at<T>(sb.saved[k], t);
      saved_t.order = sb.at<int64_t>(sb.saved[dnc_step::kSavedOrder], t);
      // the read vectors' gradient: from step t+1's controller and from the caller
      {
        const T* a = g_r.data_ptr<T>();
        const T* c = defined(g_rs) ? g_rs.data_ptr<T>() + t * B * RW : nullptr;
        T* o = g_read.data_ptr<T>();
        for (int64_t k = 0; k < B * RW; ++k) o[k] = c ? a[k] + c[k] : a[k];
      }
      // this step's incoming gradients are the previous one's outputs (or the caller's); its
      // own go to the other buffers
      using dnc_step::ptr_or_null;
      const dnc_step::GradPtrs<T> g_in{  // (in GradIndex order: r M u L p rw ww)
          {g_read.data_ptr<T>(), ptr_or_null<T>(gmem[0]), ptr_or_null<T>(gmem[1]),
           gL_work[parity].data_ptr<T>(), ptr_or_null<T>(gmem[2]), ptr_or_null<T>(gmem[3]),
           ptr_or_null<T>(gmem[4])}};
      const auto& outb = gmem_buf[parity];
      const Tensor& gL_out = gL_work[1 - parity];
      dnc_step::OutPtrs<T> o;
      for (int k = 0; k < dnc_step::kNumInterface; ++k) o.g[k] = ptr_or_null<T>(g_iface[k]);
      o.g[dnc_step::kMemory] = outb[0].data_ptr<T>();
      o.g[dnc_step::kUsage] = outb[1].data_ptr<T>();
      o.g[dnc_step::kLink] = gL_out.data_ptr<T>();
      o.g[dnc_step::kPrecedence] = outb[2].data_ptr<T>();
      o.g[dnc_step::kReadWeights] = outb[3].data_ptr<T>();
      o.g[dnc_step::kWriteWeights] = outb[4].data_ptr<T>();
      dnc_step::backward_kernel<T>(st, saved_t, g_in, o);
      gmem = outb;
      parity = 1 - parity;
      // the interface's activations, then the controller
      T* g_xi = GXI.data_ptr<T>() + t * B * I;
      const T* ys[dnc_step::kNumInterface];
      const T* gs[dnc_step::kNumInterface];
      for (int k = 0; k < dnc_step::kNumInterface; ++k) {
        ys[k] = sb.at<T>(sb.iface[k], t);
        gs[k] = o.g[k];
      }
      dnc_step::activate_backward_rows<T>(XI.data_ptr<T>() + t * B * I, B, layout, ys, gs, g_xi);
      if (small) {
        const Tensor g0 = defined(grads[0]) ? grads[0][t].contiguous() : Tensor();
        small_gemm<T>(B, H, I, g_xi, I, w_if_c.data_ptr<T>(), H, g_hc.data_ptr<T>(),
                      defined(g0) ? g0.data_ptr<T>() : nullptr,
                      defined(g0) ? g0.stride(0) : 0);
      } else if (defined(grads[0])) {
        at::addmm_out(g_hc, grads[0][t], GXI[t], w_if);
      } else {
        at::mm_out(g_hc, GXI[t], w_if);
      }
      if (cfg.lstm) {
        auto c_prev = (t == 0 ? state0[1] : C[t - 1]).contiguous();
        cell_backward<T>(A[t].data_ptr<T>(), TC[t].data_ptr<T>(), c_prev.data_ptr<T>(),
                         g_hc.data_ptr<T>(), g_h.data_ptr<T>(), cfg.has_clip, clip, B, H,
                         g_c.data_ptr<T>(), GG.data_ptr<T>() + t * B * G);
      } else {
        tanh_backward<T>(A.data_ptr<T>() + t * B * G, g_hc.data_ptr<T>(), B * H, cfg.has_clip,
                         clip, GG.data_ptr<T>() + t * B * G);
      }
      // [B, D]: the gradients of r_{t-1} (and h_{t-1})
      if (small) {
        small_gemm<T>(B, D, G, GG.data_ptr<T>() + t * B * G, G, w_rec_c.data_ptr<T>(), D,
                      gX.data_ptr<T>(), nullptr, 0);
      } else {
        at::mm_out(gX, GG[t], w_rec);
      }
      copy_rows<T>(gX.data_ptr<T>(), D, B, RW, g_r.data_ptr<T>(), RW);
      if (cfg.lstm) copy_rows<T>(gX.data_ptr<T>() + RW, D, B, H, g_h.data_ptr<T>(), H);
    }
  }
  auto GG2 = GG.view({TT * B, G});
  auto GXI2 = GXI.view({TT * B, I});
  return {GG.permute({1, 0, 2}),
          at::mm(GG2.t(), X.view({TT * B, D})),
          at::mm(GXI2.t(), HC.view({TT * B, H})),
          GXI2.sum(0),
          g_h,
          g_c,
          g_r.view({B, cfg.R, cfg.W}),
          gmem[0],
          gmem[1],
          unpadded_link(gL_work[parity], N),
          gmem[2],
          gmem[3],
          gmem[4]};
}

std::vector<Tensor> sequence_backward(const std::vector<Tensor>& grads, const Tensor& w_rec,
                                      const Tensor& w_if, const std::vector<Tensor>& state0,
                                      const Saved& saved, const Config& cfg) {
  at::NoGradGuard no_grad;  // (see sequence_forward)
  std::vector<Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(w_rec.scalar_type(), "dnc_sequence_backward", [&] {
    out = sequence_backward_impl<scalar_t>(grads, w_rec, w_if, state0, saved, cfg);
  });
  return out;
}

// ------------------------------------------------------------------ batch chunks in parallel

// The batch is cut into one chunk per thread and each chunk's whole sequence runs on its own
// thread (single-threaded inside: ATen and MKL run serially within a parallel region). The
// per-step work is small (B = 16 rows of matrix products, element-wise loops over B x H):
// splitting each operation over threads, as the kernels' parallel_for and MKL would, cost
// more in synchronisation (64 steps x ~20 parallel sections) than it saved. The results
// depend on the number of chunks only through the order of the weight-gradient sums.
struct Chunk {
  int64_t begin, size;
  Saved saved;
};
struct SequenceSaved {
  std::vector<Chunk> chunks;
};

// The saved state travels to Python as a one-byte tensor that owns it (its storage's deleter
// deletes it): the autograd.Function saves that tensor with save_for_backward, so autograd
// frees everything when it frees the node's saved tensors — after a backward pass without
// retain_graph, or with the graph — exactly as for tensors saved the usual way. A registry
// of the live ones lets the backward pass refuse a tensor that is not one (e.g. a copy made
// by a saved-tensor hook) instead of reading garbage.
std::mutex registry_mutex;
std::unordered_set<const void*> registry;

void delete_saved(void* p) {
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry.erase(p);
  }
  delete static_cast<SequenceSaved*>(p);
}

Tensor saved_handle(std::unique_ptr<SequenceSaved> saved) {
  void* p = saved.release();
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry.insert(p);
  }
  return torch::from_blob(p, {1}, delete_saved, torch::TensorOptions().dtype(torch::kUInt8));
}

// How many sequences' saved states are alive (for the tests: none may outlive its graph).
int64_t dnc_sequence_live() {
  std::lock_guard<std::mutex> lock(registry_mutex);
  return int64_t(registry.size());
}

const SequenceSaved& from_handle(const Tensor& handle) {
  const void* p = handle.storage().data_ptr().get();
  std::lock_guard<std::mutex> lock(registry_mutex);
  TORCH_CHECK(registry.count(p) == 1,
              "dnc_qa C++ sequence: its saved state was replaced (a saved-tensor hook that "
              "copies tensors?); build the model with backend='cpp' for such hooks");
  return *static_cast<const SequenceSaved*>(p);
}

std::vector<Chunk> batch_chunks(int64_t B) {
  const int64_t threads = at::in_parallel_region() ? 1 : at::get_num_threads();
  const int64_t P = std::max<int64_t>(1, std::min<int64_t>(threads, B));
  std::vector<Chunk> chunks(P);
  for (int64_t p = 0; p < P; ++p) {
    chunks[p].begin = p * B / P;
    chunks[p].size = (p + 1) * B / P - chunks[p].begin;
  }
  return chunks;
}

std::vector<Tensor> rows(const std::vector<Tensor>& ts, int64_t dim, const Chunk& c) {
  std::vector<Tensor> out;
  for (const auto& t : ts) out.push_back(t.numel() > 0 ? t.narrow(dim, c.begin, c.size) : t);
  return out;
}

// outputs[k] of every chunk -> one tensor, concatenated along the batch dimension (dim 1 for
// the [T,B,...] outputs hc and rs, else 0). With one chunk and `keep`, hc is still copied: the
// chunk's own is saved for the backward pass, and an output kept by its own node would be a
// cycle.
std::vector<Tensor> merge_outputs(const std::vector<std::vector<Tensor>>& outs, bool keep) {
  std::vector<Tensor> merged;
  for (size_t k = 0; k < outs[0].size(); ++k) {
    const int64_t dim = k < 2 ? 1 : 0;
    if (outs.size() == 1) {
      merged.push_back(k == 0 && keep ? outs[0][k].clone() : outs[0][k]);
      continue;
    }
    std::vector<Tensor> parts;
    for (const auto& o : outs) parts.push_back(o[k]);
    merged.push_back(at::cat(parts, dim));
  }
  return merged;
}

// Python entry points: the loops run without the GIL. The settings come as
// (layout, R, W, deallocation, clip, has_clip, lstm, segment).

Config make_config(std::vector<int64_t> layout, int64_t R, int64_t W, bool dealloc,
                   double clip, bool has_clip, bool lstm, int64_t segment) {
  return Config{std::move(layout), R, W, dealloc, clip, has_clip, lstm, segment};
}

// Returns (outputs, saved): see sequence_forward; saved is the handle tensor (see
// saved_handle; an empty tensor without `keep`).
std::tuple<std::vector<Tensor>, Tensor> dnc_sequence_forward(
    Tensor xg, Tensor w_rec, Tensor w_if, Tensor b_if, std::vector<Tensor> state0,
    std::vector<int64_t> layout, int64_t R, int64_t W, bool dealloc, double clip, bool has_clip,
    bool lstm, int64_t segment, bool keep) {
  const Config cfg = make_config(layout, R, W, dealloc, clip, has_clip, lstm, segment);
  auto saved = std::make_unique<SequenceSaved>();
  saved->chunks = batch_chunks(xg.size(0));
  auto& chunks = saved->chunks;
  std::vector<std::vector<Tensor>> outs(chunks.size());
  std::vector<Tensor> outputs;
  {
    py::gil_scoped_release no_gil;
    at::parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const Chunk& c = chunks[p];
        sequence_forward(xg.narrow(0, c.begin, c.size), w_rec, w_if, b_if, rows(state0, 0, c),
                         cfg, keep, outs[p], chunks[p].saved);
      }
    });
    outputs = merge_outputs(outs, keep);
  }
  return {outputs, keep ? saved_handle(std::move(saved)) : torch::empty({0}, torch::kUInt8)};
}

// Returns the gradients of xg, w_rec, w_if, b_if, then of state0 (see sequence_backward).
std::vector<Tensor> dnc_sequence_backward(std::vector<Tensor> grads, Tensor w_rec, Tensor w_if,
                                          std::vector<Tensor> state0, Tensor saved,
                                          std::vector<int64_t> layout, int64_t R, int64_t W,
                                          bool dealloc, double clip, bool has_clip, bool lstm,
                                          int64_t segment) {
  const Config cfg = make_config(layout, R, W, dealloc, clip, has_clip, lstm, segment);
  const SequenceSaved& s = from_handle(saved);
  py::gil_scoped_release no_gil;
  const auto& chunks = s.chunks;
  std::vector<std::vector<Tensor>> outs(chunks.size());
  at::parallel_for(0, int64_t(chunks.size()), 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const Chunk& c = chunks[p];
      // g_hc and g_rs are [T,B,...]: their batch dimension is 1
      std::vector<Tensor> g = rows({grads[0], grads[1]}, 1, c);
      for (const auto& x : rows({grads.begin() + 2, grads.end()}, 0, c)) g.push_back(x);
      outs[p] = sequence_backward(g, w_rec, w_if, rows(state0, 0, c), c.saved, cfg);
    }
  });
  if (outs.size() == 1) return outs[0];
  std::vector<Tensor> merged;
  for (size_t k = 0; k < outs[0].size(); ++k) {
    std::vector<Tensor> parts;
    for (const auto& o : outs) parts.push_back(o[k]);
    if (k >= 1 && k <= 3) {  // the weights' gradients: a sum over the chunks, in chunk order
      auto total = parts[0].clone();
      for (size_t p = 1; p < parts.size(); ++p) total.add_(parts[p]);
      merged.push_back(total);
    } else {
      merged.push_back(at::cat(parts, 0));
    }
  }
  return merged;
}

}  // namespace dnc_sequence

using dnc_sequence::dnc_sequence_backward;
using dnc_sequence::dnc_sequence_forward;
using dnc_sequence::dnc_sequence_live;
using dnc_sequence::small_matmul;
