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
// copied out. The memory step's link is updated in place in one working buffer; every
// `segment`-th incoming link is kept as a checkpoint, and the backward pass recomputes the links of one
// segment at a time from it (as dnc_qa.memory.link_function.LinkTape does). The backward pass
// also updates the link's gradient in place. The controller's and the interface layer's
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

// Per step, what the backward pass needs from the forward pass (24 tensors): the activated
// interface (dnc_step::kNumInterface, in the order of dnc_step::Input), then what
// dnc_step_backward takes as `saved` (dnc_step::SavedIndex: the step's state M u p rw ww and
// psi cw alloc order cr f bk).
constexpr int64_t kStepSaved = dnc_step::kNumInterface + dnc_step::kNumSaved;

// What the forward pass over one batch chunk keeps for its backward pass: X [T,B,D],
// A [T,B,G] (activated gates, or h for feed-forward), C and TC [T,B,H] (c and tanh c; empty
// for feed-forward), XI [T,B,I] (raw interface), HC [T,B,H] (clipped h), the link
// checkpoints, then kStepSaved per step.
struct Saved {
  std::vector<Tensor> tensors;
};
constexpr int64_t kSequenceSaved = 6;  // X A C TC XI HC

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

// The forward loop (see the top of this file). outputs: hc [T,B,H] (clipped controller
// outputs), rs [T,B,R*W] (read vectors), h_T, c_T (empty for feed-forward), M_T, u_T, L_T,
// p_T, rw_T, ww_T.
void sequence_forward(const Tensor& xg, const Tensor& w_rec, const Tensor& w_if,
                      const Tensor& b_if, const std::vector<Tensor>& state0, const Config& cfg,
                      bool keep, std::vector<Tensor>& outputs, Saved& saved) {
  at::NoGradGuard no_grad;  // grad mode is per thread: this may run on a worker thread
  const int64_t B = xg.size(0), T = xg.size(1), G = xg.size(2), RW = cfg.R * cfg.W;
  const int64_t H = w_if.size(1), D = w_rec.size(1), I = w_if.size(0), N = state0[3].size(1);
  const int64_t ld = link_stride(N);
  auto opt = xg.options();
  auto X = torch::empty({T, B, D}, opt);
  auto A = torch::empty({T, B, G}, opt);  // activated gates (LSTM) or h (feed-forward)
  auto C = torch::empty({cfg.lstm ? T : 0, B, H}, opt);
  auto TC = torch::empty({cfg.lstm ? T : 0, B, H}, opt);
  auto XI = torch::empty({T, B, I}, opt);
  auto HC = torch::empty({T, B, H}, opt);
  auto RS = torch::empty({T, B, RW}, opt);
  const Links links{T, cfg.segment, keep};
  std::vector<Tensor> checkpoints, steps;
  auto work = torch::empty({B, 1, N, ld}, opt);
  const auto w_rec_t = w_rec.t(), w_if_t = w_if.t();
  Tensor h_prev = state0[0], c_prev = state0[1], r_prev = state0[2];
  std::vector<Tensor> mem(state0.begin() + 3, state0.end());  // M u L p rw ww
  mem[2] = padded_link(mem[2], ld);
  for (int64_t t = 0; t < T; ++t) {
    auto Xt = X[t];
    Xt.narrow(1, 0, RW).copy_(r_prev.reshape({B, RW}));
    if (cfg.lstm) Xt.narrow(1, RW, H).copy_(h_prev);
    auto gates = A[t];
    at::addmm_out(gates, xg.select(1, t), Xt, w_rec_t);
    Tensor h;
    if (cfg.lstm) {
      h = torch::empty({B, H}, opt);
      AT_DISPATCH_FLOATING_TYPES(xg.scalar_type(), "dnc_sequence_cell", [&] {
        cell_forward<scalar_t>(gates, c_prev, C[t], TC[t], h);
      });
    } else {
      h = gates.tanh_();
    }
    auto hc = HC[t];
    AT_DISPATCH_FLOATING_TYPES(xg.scalar_type(), "dnc_sequence_clamp", [&] {
      clamp_copy<scalar_t>(h.data_ptr<scalar_t>(), B * H, cfg.has_clip, scalar_t(cfg.clip),
                           hc.data_ptr<scalar_t>());
    });
    auto xi = XI[t];
    at::addmm_out(xi, b_if, hc, w_if_t);
    auto iface = activate(xi, cfg.layout);
    // the incoming link is mem[2]; the new one goes to a fresh checkpoint or to the working
    // buffer: in place, unless it comes from the initial link or a checkpoint
    Tensor dst = work;
    if (links.checkpoint(t + 1)) {
      dst = torch::empty({B, 1, N, ld}, opt);
      checkpoints.push_back(dst);
    }
    std::vector<Tensor> in(iface.begin(), iface.end());
    in.insert(in.end(), mem.begin(), mem.end());
    auto res = dnc_step_forward(in, cfg.dealloc, dst);
    RS[t].copy_(res[dnc_step::kOutReads].reshape({B, RW}));
    if (keep) {
      steps.insert(steps.end(), iface.begin(), iface.end());
      for (int k = 0; k < dnc_step::kNumSaved; ++k)
        steps.push_back(res[dnc_step::kSavedFromOutput[k]]);
    }
    if (cfg.lstm) {
      h_prev = h;
      c_prev = C[t];
    }
    r_prev = res[dnc_step::kOutReads];
    mem = std::vector<Tensor>(res.begin() + dnc_step::kOutMemory,
                              res.begin() + dnc_step::kOutWriteWeights + 1);
  }
  // the final state: copies of what the backward pass keeps (an output held by the autograd
  // node that made it would be a reference cycle); the link is the working buffer
  outputs = {HC, RS, h_prev, keep && cfg.lstm ? c_prev.clone() : c_prev};  // (HC: merge_outputs)
  for (int k = 0; k < 6; ++k)
    outputs.push_back(k == 2 ? unpadded_link(mem[k], N) : keep ? mem[k].clone() : mem[k]);
  if (keep) {
    saved.tensors = {X, A, C, TC, XI, HC};
    saved.tensors.insert(saved.tensors.end(), checkpoints.begin(), checkpoints.end());
    saved.tensors.insert(saved.tensors.end(), steps.begin(), steps.end());
  }
}

// The backward loop. grads: g_hc [T,B,H], g_rs [T,B,RW], g_hT, g_cT, gM, gu, gL, gp, grw, gww
// (any may be empty: zero). Returns the gradients of xg [B,T,G], w_rec, w_if, b_if, then of
// state0 (9; those of h0 and c0 empty for feed-forward).
std::vector<Tensor> sequence_backward(const std::vector<Tensor>& grads, const Tensor& w_rec,
                                      const Tensor& w_if, const std::vector<Tensor>& state0,
                                      const Saved& saved, const Config& cfg) {
  at::NoGradGuard no_grad;  // (see sequence_forward)
  const auto& sv = saved.tensors;
  const auto &X = sv[0], &A = sv[1], &C = sv[2], &TC = sv[3], &XI = sv[4], &HC = sv[5];
  const int64_t T = X.size(0), B = X.size(1), D = X.size(2), G = A.size(2), RW = cfg.R * cfg.W;
  const int64_t H = HC.size(2), I = XI.size(2), N = state0[3].size(1), ld = link_stride(N);
  const Links links{T, cfg.segment, true};
  const int64_t n_ckpt = links.count();
  auto checkpoint = [&](int64_t j) -> const Tensor& { return sv[kSequenceSaved + j - 1]; };
  auto step = [&](int64_t s, int64_t k) -> const Tensor& {  // step s = 0..T-1, entry k
    return sv[kSequenceSaved + n_ckpt + s * kStepSaved + k];
  };
  // the memory state after step s (s = -1: the initial state), k: dnc_step::kSavedMemory
  // (M), ...Usage (u), ...Precedence (p), ...ReadWeights (rw), ...WriteWeights (ww)
  auto state_after = [&](int64_t s, int k) -> const Tensor& {
    static const int in_state0[] = {3, 4, 6, 7, 8};  // state0: h0 c0 r0 M0 u0 L0 p0 rw0 ww0
    return s < 0 ? state0[in_state0[k]] : step(s, dnc_step::kNumInterface + k);
  };
  auto defined = [](const Tensor& g) { return g.numel() > 0; };
  auto opt = X.options();
  auto GG = torch::empty({T, B, G}, opt);
  auto GXI = torch::empty({T, B, I}, opt);
  // carried from step t+1 to step t: the gradients of h_t, c_t (LSTM), r_t and the memory
  auto g_h = defined(grads[2]) ? grads[2].clone() : torch::zeros({cfg.lstm ? B : 0, H}, opt);
  auto g_c = defined(grads[3]) ? grads[3].clone() : torch::zeros({cfg.lstm ? B : 0, H}, opt);
  auto g_r = torch::zeros({B, RW}, opt);
  auto gL = defined(grads[6]) ? padded_link(grads[6], ld).clone()
                              : torch::zeros({B, 1, N, ld}, opt);
  const auto L0 = padded_link(state0[5], ld);
  std::vector<Tensor> gmem = {grads[4], grads[5], gL, grads[7], grads[8], grads[9]};
  auto g_hc = torch::empty({B, H}, opt);
  // the recomputed links of one segment: segment_links[m - 1] = the link after step start+m-1
  const int64_t segment = cfg.segment;
  std::vector<Tensor> segment_links;
  for (int64_t m = 1; m < std::min(segment, T); ++m)
    segment_links.push_back(torch::empty({B, 1, N, ld}, opt));
  const auto no_reads = torch::empty({B, 0, N}, opt);  // link_forward: the update alone
  for (int64_t start = ((T - 1) / segment) * segment; start >= 0; start -= segment) {
    const int64_t end = std::min(start + segment, T);  // this segment: steps start .. end-1
    const Tensor& base = start == 0 ? L0 : checkpoint(start / segment);
    for (int64_t m = 1; m < end - start; ++m)  // step start+m-1 from its incoming link
      link_forward(m == 1 ? base : segment_links[m - 2],
                   state_after(start + m - 2, dnc_step::kSavedPrecedence),
                   state_after(start + m - 1, dnc_step::kSavedWriteWeights), no_reads,
                   segment_links[m - 1]);
    for (int64_t t = end - 1; t >= start; --t) {
      // the step's inputs (dnc_step::Input): its interface, then the incoming state
      std::vector<Tensor> in(dnc_step::kNumInterface);
      for (int k = 0; k < dnc_step::kNumInterface; ++k) in[k] = step(t, k);
      const Tensor& link_in = t == start ? base : segment_links[t - start - 1];
      for (const Tensor* x :
           {&state_after(t - 1, dnc_step::kSavedMemory), &state_after(t - 1, dnc_step::kSavedUsage),
            &link_in, &state_after(t - 1, dnc_step::kSavedPrecedence),
            &state_after(t - 1, dnc_step::kSavedReadWeights),
            &state_after(t - 1, dnc_step::kSavedWriteWeights)})
        in.push_back(*x);
      std::vector<Tensor> step_saved;
      for (int k = dnc_step::kNumInterface; k < kStepSaved; ++k) step_saved.push_back(step(t, k));
      auto g_read = defined(grads[1]) ? g_r + grads[1][t] : g_r;
      std::vector<Tensor> g_out = {g_read.view({B, cfg.R, cfg.W}), gmem[0], gmem[1], gmem[2],
                                   gmem[3], gmem[4], gmem[5]};
      // the link's gradient is updated in place (gmem[2] is both its input and output)
      auto out = dnc_step_backward(in, cfg.dealloc, step_saved, g_out, gmem[2]);
      gmem = std::vector<Tensor>(out.begin() + dnc_step::kMemory, out.end());
      std::vector<Tensor> g_iface(out.begin(), out.begin() + dnc_step::kNumInterface);
      std::vector<Tensor> iface(in.begin(), in.begin() + dnc_step::kNumInterface);
      auto g_xi = GXI[t];
      g_xi.copy_(activate_backward(XI[t], iface, g_iface, cfg.layout));
      if (defined(grads[0])) {
        at::addmm_out(g_hc, grads[0][t], g_xi, w_if);
      } else {
        at::mm_out(g_hc, g_xi, w_if);
      }
      AT_DISPATCH_FLOATING_TYPES(X.scalar_type(), "dnc_sequence_controller_backward", [&] {
        const auto clip = scalar_t(cfg.clip);
        if (cfg.lstm) {
          auto c_prev = (t == 0 ? state0[1] : C[t - 1]).contiguous();
          cell_backward<scalar_t>(A[t].data_ptr<scalar_t>(), TC[t].data_ptr<scalar_t>(),
                                  c_prev.data_ptr<scalar_t>(), g_hc.data_ptr<scalar_t>(),
                                  g_h.data_ptr<scalar_t>(), cfg.has_clip, clip, B, H,
                                  g_c.data_ptr<scalar_t>(), GG[t].data_ptr<scalar_t>());
        } else {
          tanh_backward<scalar_t>(A[t].data_ptr<scalar_t>(), g_hc.data_ptr<scalar_t>(), B * H,
                                  cfg.has_clip, clip, GG[t].data_ptr<scalar_t>());
        }
      });
      auto gX = at::mm(GG[t], w_rec);  // [B, D]: the gradients of r_{t-1} (and h_{t-1})
      g_r = gX.narrow(1, 0, RW).contiguous();
      if (cfg.lstm) g_h = gX.narrow(1, RW, H).contiguous();
    }
  }
  auto GG2 = GG.view({T * B, G});
  auto GXI2 = GXI.view({T * B, I});
  return {GG.permute({1, 0, 2}),
          at::mm(GG2.t(), X.view({T * B, D})),
          at::mm(GXI2.t(), HC.view({T * B, H})),
          GXI2.sum(0),
          g_h,
          g_c,
          g_r.view({B, cfg.R, cfg.W}),
          gmem[0],
          gmem[1],
          unpadded_link(gmem[2], N),
          gmem[3],
          gmem[4],
          gmem[5]};
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
