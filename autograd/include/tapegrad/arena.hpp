// A block bump allocator for tape nodes: allocation is a pointer bump, reset frees everything in one step.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace tg {

namespace detail {
/// Throws TapeError when the active tape's recording plus extra_bytes would pass the memory cap
/// (set_tape_memory_limit); `what` names what asked for the memory. Defined in tape.cpp.
void check_tape_memory(std::size_t extra_bytes, const char* what = nullptr);
}  // namespace detail

/// Bump allocator in 64 KiB blocks. Objects with non-trivial destructors are destroyed on reset(), in
/// reverse order of creation; trivially destructible ones cost nothing to free. Blocks are kept for
/// reuse, so a steady-state training loop allocates no heap memory after its first step.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() {
    reset();
    std::free(dtors_);
  }

  /// Constructs a T in the arena and returns a pointer valid until reset().
  template <class T, class... Args>
  T* make(Args&&... args) {
    // Room for the destructor record first: once T is constructed, registering it cannot fail.
    if constexpr (!std::is_trivially_destructible_v<T>) {
      if (ndtors_ == cap_dtors_) [[unlikely]] grow_dtors();
    }
    void* mem = allocate(sizeof(T), alignof(T));
    T* obj = ::new (mem) T(std::forward<Args>(args)...);
    if constexpr (!std::is_trivially_destructible_v<T>) {
      dtors_[ndtors_++] = {obj, [](void* p) { static_cast<T*>(p)->~T(); }};
    }
    return obj;
  }

  /// Raw aligned storage valid until reset().
  void* allocate(std::size_t bytes, std::size_t align) {
    std::size_t pos = (used_ + align - 1) & ~(align - 1);
    if (!started_ || pos + bytes > blocks_[block_].size) {
      next_block(bytes + align);
      pos = 0;
    }
    used_ = pos + bytes;
    bytes_in_use_ += bytes;
    return blocks_[block_].data.get() + pos;
  }

  /// Destroys every object (newest first) and makes all blocks reusable. O(objects with destructors).
  void reset() noexcept {
    for (std::size_t i = ndtors_; i-- > 0;) dtors_[i].destroy(dtors_[i].obj);
    ndtors_ = 0;
    block_ = 0;
    used_ = 0;
    bytes_in_use_ = 0;
    started_ = false;
  }

  /// Bytes handed out since the last reset.
  std::size_t bytes_in_use() const { return bytes_in_use_; }
  /// Bytes reserved from the heap, in use or kept for reuse.
  std::size_t bytes_reserved() const {
    std::size_t n = 0;
    for (const auto& b : blocks_) n += b.size;
    return n;
  }

 private:
  struct Block {
    std::unique_ptr<std::byte[]> data;
    std::size_t size;
  };
  struct Dtor {
    void* obj;
    void (*destroy)(void*);
  };
  static constexpr std::size_t kBlock = 64 * 1024;

  void next_block(std::size_t need) {
    // Blocks in use always form a prefix of blocks_, so reset() can restart from block 0.
    // make_block may throw (memory cap): the state changes only after it succeeded.
    const std::size_t i = started_ ? block_ + 1 : 0;
    if (i < blocks_.size() && blocks_[i].size < need) {
      blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(i), make_block(need));
    } else if (i == blocks_.size()) {
      blocks_.push_back(make_block(need));
    }
    started_ = true;
    block_ = i;
  }

  // A plain growable array rather than std::vector: make() then inlines one compare and one store.
  void grow_dtors() {
    const std::size_t cap = cap_dtors_ ? 2 * cap_dtors_ : 256;
    void* p = std::realloc(dtors_, cap * sizeof(Dtor));
    if (p == nullptr) throw std::bad_alloc();
    dtors_ = static_cast<Dtor*>(p);
    cap_dtors_ = cap;
  }

  static Block make_block(std::size_t need) {
    std::size_t size = need > kBlock ? need : kBlock;
    // Tensor nodes and their saved shapes live here, so a recording of tensor ops meets the cap too.
    detail::check_tape_memory(size, "the arena of recorded nodes");
    return {std::make_unique<std::byte[]>(size), size};
  }

  std::vector<Block> blocks_;
  Dtor* dtors_ = nullptr;  // malloc'ed; Dtor is trivially copyable
  std::size_t ndtors_ = 0;
  std::size_t cap_dtors_ = 0;
  std::size_t block_ = 0;
  std::size_t used_ = 0;
  std::size_t bytes_in_use_ = 0;
  bool started_ = false;
};

}  // namespace tg
