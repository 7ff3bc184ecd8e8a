// Scratch vectors 64-byte aligned, as torch's own buffers are, for both native kernel sources.
//
// How the compiler splits a vectorised sum (and so how it rounds) depends on the alignment of
// the arrays; malloc's alignment varies from call to call and process to process. With aligned
// scratch the kernels give the same bits every call (gradcheck's re-entrancy check) and in
// every process (exact --resume).
#pragma once

#include <cstddef>
#include <new>
#include <vector>

namespace dnc_qa_native {

template <typename T>
struct Aligned64 {
  using value_type = T;
  Aligned64() = default;
  template <typename U>
  Aligned64(const Aligned64<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p, std::align_val_t(64)); }
  template <typename U>
  bool operator==(const Aligned64<U>&) const { return true; }
  template <typename U>
  bool operator!=(const Aligned64<U>&) const { return false; }
};

template <typename T>
using AlignedVector = std::vector<T, Aligned64<T>>;

}  // namespace dnc_qa_native
