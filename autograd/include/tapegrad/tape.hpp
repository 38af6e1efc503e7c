// The tape: records every differentiable operation of a thread in creation order and sweeps it backwards.
//
// Scalar operations are stored as compact statements (input indices and their local partial derivatives,
// Adept/CoDiPack style), so the reverse sweep is a multiply-add loop with no virtual call. Coarse operations
// (tensor ops, user-defined ops) are `Node` objects living in the tape's arena; each one also occupies one
// statement slot, so scalars and tensors share a single creation order.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "tapegrad/arena.hpp"
#include "tapegrad/error.hpp"

namespace tg {

class Tape;
struct LocalOp;

namespace detail {

/// A growable array of trivially copyable values: push is one compare and one store, clear() is O(1) and
/// keeps the capacity, so a tape recorded afresh each step reuses its memory.
template <class T>
class PodStack {
 public:
  PodStack() = default;
  PodStack(const PodStack&) = delete;
  PodStack& operator=(const PodStack&) = delete;
  ~PodStack() { std::free(data_); }

  void push(T v) {
    if (size_ == cap_) [[unlikely]] grow(size_ + 1);
    data_[size_++] = v;
  }
  /// Makes room for n more pushes without a check each.
  T* extend(std::size_t n) {
    if (size_ + n > cap_) [[unlikely]] grow(size_ + n);
    T* out = data_ + size_;
    size_ += n;
    return out;
  }
  void clear() { size_ = 0; }
  void truncate(std::size_t n) { size_ = n; }
  std::size_t size() const { return size_; }
  std::size_t capacity_bytes() const { return cap_ * sizeof(T); }
  T* data() { return data_; }
  const T* data() const { return data_; }
  T& operator[](std::size_t i) { return data_[i]; }
  const T& operator[](std::size_t i) const { return data_[i]; }
  /// Releases the memory (used by Tape::shrink()).
  void release() {
    std::free(data_);
    data_ = nullptr;
    size_ = cap_ = 0;
  }

 private:
  void grow(std::size_t need);
  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};


template <class T>
void PodStack<T>::grow(std::size_t need) {
  std::size_t cap = cap_ ? cap_ * 2 : 1024;
  while (cap < need) cap *= 2;
  check_tape_memory((cap - cap_) * sizeof(T));
  T* p = static_cast<T*>(std::realloc(data_, cap * sizeof(T)));
  if (!p) throw std::bad_alloc();
  data_ = p;
  cap_ = cap;
}

/// Two parallel growable arrays sharing one size and capacity, so that recording a statement bumps one
/// counter for its opcode and argument end, and one for its arguments' slots and partials. The arrays
/// stay separate (no padding: 5 bytes per slot, 12 per argument).
template <class A, class B>
class PodPair {
 public:
  PodPair() = default;
  PodPair(const PodPair&) = delete;
  PodPair& operator=(const PodPair&) = delete;
  ~PodPair() { release(); }

  /// Appends one entry (a, b), growing as needed.
  void push(A a, B b) {
    if (size_ == cap_) [[unlikely]] grow(size_ + 1);
    a_[size_] = a;
    b_[size_] = b;
    ++size_;
  }
  /// Makes room for n more entries and returns the index of the first.
  std::size_t extend(std::size_t n) {
    if (size_ + n > cap_) [[unlikely]] grow(size_ + n);
    return bump(n);
  }
  /// Takes n more entries the caller has already made room for (no check); returns the first index.
  std::size_t bump(std::size_t n) {
    const std::size_t at = size_;
    size_ += n;
    return at;
  }
  /// Grows, if needed, so that n more entries fit.
  void reserve_more(std::size_t n) {
    if (size_ + n > cap_) grow(size_ + n);
  }
  /// How many more entries fit without growing.
  std::size_t room() const { return cap_ - size_; }
  /// Keeps the first n entries (and all the capacity).
  void truncate(std::size_t n) { size_ = n; }
  /// Number of entries.
  std::size_t size() const { return size_; }
  /// Bytes held by both arrays.
  std::size_t capacity_bytes() const { return cap_ * (sizeof(A) + sizeof(B)); }
  /// The first array.
  A* first() { return a_; }
  const A* first() const { return a_; }
  /// The second array.
  B* second() { return b_; }
  const B* second() const { return b_; }
  /// Releases the memory (used by Tape::shrink()).
  void release() {
    std::free(a_);
    std::free(b_);
    a_ = nullptr;
    b_ = nullptr;
    size_ = cap_ = 0;
  }

 private:
  void grow(std::size_t need) {
    std::size_t cap = cap_ ? cap_ * 2 : 1024;
    while (cap < need) cap *= 2;
    check_tape_memory((cap - cap_) * (sizeof(A) + sizeof(B)));
    A* a = static_cast<A*>(std::realloc(a_, cap * sizeof(A)));
    if (!a) throw std::bad_alloc();
    a_ = a;
    B* b = static_cast<B*>(std::realloc(b_, cap * sizeof(B)));
    if (!b) throw std::bad_alloc();
    b_ = b;
    cap_ = cap;
  }
  A* a_ = nullptr;
  B* b_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace detail

/// What a Node's backward sees: the scalar adjoint array of this sweep and whether the sweep itself is
/// being recorded (for gradients of gradients).
struct BackwardContext {
  double* adj;
  Tape* tape;
  bool create_graph;
};

/// A coarse operation on the tape (a tensor op or a user-defined op). Lives in the tape's arena; its
/// destructor runs when the tape is reset.
class Node {
 public:
  virtual ~Node() = default;
  /// Pushes the gradient of this node's output(s) into its inputs. It must consume what it read (leave
  /// has_grad() false), so that a retained graph can be swept again from a clean state.
  virtual void backward(BackwardContext& ctx) = 0;
  /// The op's name, as it appears in errors, explanations and graphs.
  virtual const char* name() const = 0;
  /// Drops saved buffers after a backward that did not retain the graph.
  virtual void release() {}
  /// True when no gradient reached this node's output in the current sweep (it is then skipped).
  virtual bool has_grad() const { return true; }

  // Introspection for the tools (explain, gradcheck, anomaly mode, graph export). The defaults describe
  // an opaque node; a node that overrides them becomes visible to those tools. None is on a hot path.

  /// Appends the tape slots this node reads (its inputs), in order. Default: unknown (appends nothing).
  virtual void input_slots(std::vector<std::uint32_t>& out) const { (void)out; }
  /// For a node with one scalar output: appends d(output)/d(input k) for each slot of input_slots().
  /// Returns false (the default) when the node's local Jacobian is not a list of scalars.
  virtual bool local_partials(std::vector<double>& out) const {
    (void)out;
    return false;
  }
  /// The node's forward value when it has a scalar output (for graphs and reports); NaN if unknown.
  virtual double scalar_value() const { return std::numeric_limits<double>::quiet_NaN(); }
  /// Describes the node as a re-runnable float64 function of its recorded inputs, so gradcheck can test
  /// its backward against numeric differences (see gradcheck.hpp). Returns false (default) if it cannot.
  virtual bool local_op(LocalOp& out) const {
    (void)out;
    return false;
  }
  /// The statement slot this node occupies on its tape (set by Tape::push_node).
  std::uint32_t slot = 0;
};

/// Opcodes of the scalar statements: they name each recorded op in explanations and graphs.
enum class Op : std::uint8_t {
  Leaf, Node, Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sqrt, Sin, Cos, Tan, Tanh, Sigmoid, Relu,
  LeakyRelu, Elu, Softplus, Abs, Min, Max, Clamp, Sum, Dot, Custom, Log1p, Expm1, Atan, Asin, Acos,
  Sinh, Cosh, Square, Cbrt, Hypot, Atan2,
  Expr  // a fused expression statement (TapeOptions::fuse_expressions)
};

/// The name of a scalar opcode ("mul", "sigmoid", ...).
const char* op_name(Op op);

/// Options of a tape.
struct TapeOptions {
  /// Also store every recorded value (8 more bytes per op): needed by graph export and gradcheck's
  /// fault localisation, off by default to keep the tape small.
  bool keep_values = false;
  /// Record each Var assignment such as `s += (a * b + c) / d` as one statement whose arguments are the
  /// expression's leaves (named "expr"), instead of one statement per operator: fewer statements, a
  /// smaller tape and a faster sweep (bench/scalar), the gradients equal up to rounding. Explanations and
  /// graphs then show an assignment as one step. Ignored while keep_values or anomaly mode is on, which
  /// need every operator's result.
  bool fuse_expressions = false;
};

/// Options of a backward sweep.
struct BackwardOptions {
  /// Keep the graph so that backward can run again through it (as PyTorch's retain_graph).
  bool retain_graph = false;
  /// Record the backward pass itself, so that the gradients it produces can be differentiated again
  /// (tensor ops only; scalar Var statements refuse). Implies retain_graph.
  bool create_graph = false;
};

/// A recording of operations. Each thread has a default tape; ScopedTape pushes a fresh one for a scope.
/// A Var or Tensor remembers the tape *epoch* it was recorded in: after reset() it is stale, and using it
/// throws a TapeError instead of reading freed memory.
class Tape {
 public:
  explicit Tape(TapeOptions opts = {});
  Tape(const Tape&) = delete;
  Tape& operator=(const Tape&) = delete;
  ~Tape();

  /// Forgets everything recorded, in O(1) for scalar statements (plus one destructor per coarse node).
  /// Memory is kept for the next recording; every Var recorded so far becomes stale.
  void reset();
  /// Like reset(), and also returns the memory to the system.
  void shrink();

  /// Number of statement slots recorded (leaves, scalar ops and nodes), excluding the reserved slot 0.
  std::size_t size() const { return slots_.size() - 1; }
  /// Bytes the recording occupies now (statements, partials, values, arena, and, while a memory limit is
  /// set, the tensor storage that recorded ops keep alive for backward), excluding gradients.
  std::size_t bytes() const;
  /// Counts a tensor storage of nbytes kept alive by a recorded op (once per storage) against the memory
  /// limit; `op` names the op in the error. Does nothing while no limit is set.
  void note_saved(const void* storage, std::size_t nbytes, const char* op);
  /// The epoch stamp; a new one is drawn on every reset, and no two tapes ever share one.
  std::uint64_t stamp() const { return stamp_; }
  const TapeOptions& options() const { return opts_; }
  /// Turns keep_values on or off from now on; slots recorded while it was off read as NaN in value().
  void set_keep_values(bool on);
  /// Turns fuse_expressions on or off from now on (see TapeOptions).
  void set_fuse_expressions(bool on);
  /// True when Var expressions are recorded one statement per assignment now.
  bool fuses() const { return fuse_; }

  /// Gradient accumulated for slot i by the backward passes since the last zero_grad() (0 if none).
  double grad(std::uint32_t i) const {
    const std::vector<double>& g = grad_is_adj_ ? adj_ : grad_;
    return i < g.size() ? g[i] : 0.0;
  }
  /// The accumulated gradients of slots [0, n) as one array (n may be less than size() + 1: slots past n
  /// have received no gradient yet). Valid until the next backward, zero_grad or reset.
  std::span<const double> grads() const { return grad_is_adj_ ? std::span<const double>(adj_) : grad_; }
  /// The adjoint of slot i in the current (or last) sweep, 0 if the sweep did not reach it. Nodes that
  /// bridge to scalar Vars read it in has_grad(), which gets no BackwardContext.
  double adjoint(std::uint32_t i) const { return i < adj_.size() ? adj_[i] : 0.0; }
  /// Sets every accumulated scalar gradient to zero.
  void zero_grad();
  /// Runs the reverse sweep seeded with `seed` at slot `top`, accumulating into the scalar gradients.
  void backward(std::uint32_t top, double seed, BackwardOptions opts = {});
  /// Gradients of slot `top` with respect to slots `wrt`, without touching the accumulated gradients.
  std::vector<double> gradient(std::uint32_t top, const std::vector<std::uint32_t>& wrt,
                               BackwardOptions opts = {});

  /// Attaches a label (name) to a slot; it appears in explanations, errors and graphs.
  void set_label(std::uint32_t i, std::string name) { labels_[i] = std::move(name); }
  /// The label of a slot, or an empty string.
  std::string label(std::uint32_t i) const;

  // --- recording (used by ops; not needed in user code) ---------------------------------------------
  // Leaves, unary and binary statements (the bulk of any scalar recording) take a fast path with a single
  // test: below slot fast_end_, a statement of up to two arguments fits in every array without growing.
  // Everything else (growth, the memory limit, the slot limit, keep_values) is the slow path's business;
  // with keep_values fast_end_ stays 0, so every push takes the slow path, which also records the value.
  std::uint32_t push_leaf(double v) {
    if (slots_.size() >= fast_end_) [[unlikely]] return push_slow(Op::Leaf, v, 0, nullptr, nullptr);
    return append(Op::Leaf, args_.size());
  }
  std::uint32_t push1(Op op, double v, std::uint32_t a, double pa) {
    if (slots_.size() >= fast_end_) [[unlikely]] return push_slow(op, v, 1, &a, &pa);
    const std::size_t k = args_.bump(1);
    args_.first()[k] = a;
    args_.second()[k] = pa;
    return append(op, k + 1);
  }
  std::uint32_t push2(Op op, double v, std::uint32_t a, double pa, std::uint32_t b, double pb) {
    if (slots_.size() >= fast_end_) [[unlikely]] {
      const std::uint32_t idx[2] = {a, b};
      const double p[2] = {pa, pb};
      return push_slow(op, v, 2, idx, p);
    }
    const std::size_t k = args_.bump(2);
    std::uint32_t* ia = args_.first() + k;
    double* pp = args_.second() + k;
    ia[0] = a;
    ia[1] = b;
    pp[0] = pa;
    pp[1] = pb;
    return append(op, k + 2);
  }
  /// Records n leaves with the given values in consecutive slots and returns the first (bulk push_leaf:
  /// one capacity check and one fill instead of n pushes).
  std::uint32_t push_leaves(const double* values, std::size_t n);
  /// Records an n-ary statement; the caller fills the returned index and partial arrays.
  std::uint32_t pushn(Op op, double v, std::size_t n, std::uint32_t** idx, double** partials) {
    const std::size_t k = args_.extend(n);
    *idx = args_.first() + k;
    *partials = args_.second() + k;
    const std::uint32_t slot = push_stmt(op, v, n);
    refresh_room();
    return slot;
  }
  /// Makes room for a fused expression statement of up to k arguments (var_expr.hpp): its arguments are
  /// written at expr_idx() / expr_partials() and count once expr_commit() takes them.
  void expr_reserve(std::size_t k) {
    // Below fast_end_ every slot may take two arguments, so ceil(k / 2) slots of room hold k arguments.
    if (slots_.size() + (k + 1) / 2 > fast_end_) [[unlikely]] expr_grow(k);
  }
  std::uint32_t* expr_idx() { return args_.first() + args_.size(); }
  double* expr_partials() { return args_.second() + args_.size(); }
  /// Records the fused statement whose n arguments were written after expr_reserve(); returns its slot.
  std::uint32_t expr_commit(std::size_t n, Op op) {
    const std::uint32_t slot = append(op, args_.bump(n) + n);
    // Statements past two arguments use up the room fast_end_ promised to later ones.
    if (n > 2) fast_end_ -= std::min(fast_end_, (n - 1) / 2);
    return slot;
  }
  /// Records a coarse node; the node is owned by the tape's arena. Returns its slot.
  std::uint32_t push_node(Node* node) {
    // A node takes a slot and no arguments: below node_end_ it fits without any check.
    const std::uint32_t slot =
        slots_.size() < node_end_ ? append(Op::Node, args_.size()) : push_node_slow();
    node->slot = slot;
    nodes_.emplace_back(slot, node);
    return slot;
  }
  /// The arena that owns nodes and their saved data until reset().
  Arena& arena() { return arena_; }
  /// Attaches a describing node (arena-owned, never swept) to the scalar statement at slot i, so that the
  /// tools can name it and re-run it; custom ops (custom_op.hpp) record a statement plus such a node.
  void attach(std::uint32_t i, Node* info);
  /// The node attached to statement i with attach(), or nullptr.
  Node* attached(std::uint32_t i) const;

  // --- inspection (explain, gradcheck, graph export) --------------------------------------------------
  Op op(std::uint32_t i) const { return slots_.first()[i]; }
  std::uint32_t arg_begin(std::uint32_t i) const { return slots_.second()[i - 1]; }
  std::uint32_t arg_end(std::uint32_t i) const { return slots_.second()[i]; }
  std::uint32_t arg(std::uint32_t k) const { return args_.first()[k]; }
  double partial(std::uint32_t k) const { return args_.second()[k]; }
  /// The recorded value of slot i; throws unless the tape keeps values.
  double value(std::uint32_t i) const;
  /// The node occupying slot i, or nullptr for a scalar statement.
  Node* node_at(std::uint32_t i) const;

  /// The active tape of this thread (the innermost ScopedTape, or the thread's default tape).
  static Tape& active();
  /// The live tape of this thread with this stamp, or nullptr when it was reset or destroyed.
  static Tape* find(std::uint64_t stamp);
  /// For an error message, why find(stamp) failed: "belongs to a tape of another thread: ..." or
  /// "belongs to a tape that was reset or destroyed, ...".
  static std::string why_gone(std::uint64_t stamp);

 private:
  // The fast path's tail: one slot whose arguments end at `end`. Capacity was checked through fast_end_.
  std::uint32_t append(Op op, std::size_t end) {
    const std::size_t slot = slots_.bump(1);
    slots_.first()[slot] = op;
    slots_.second()[slot] = static_cast<std::uint32_t>(end);
    return static_cast<std::uint32_t>(slot);
  }
  std::uint32_t push_slow(Op op, double v, std::size_t nargs, const std::uint32_t* idx, const double* p);
  std::uint32_t push_node_slow();
  void expr_grow(std::size_t k);
  void refresh_room();
  std::uint32_t push_stmt(Op op, double v, std::size_t nargs) {
    (void)nargs;
    slots_.push(op, static_cast<std::uint32_t>(args_.size()));
    if (opts_.keep_values) [[unlikely]] values_.push(v);
    const std::size_t slot = slots_.size() - 1;
    if (slot >= kMaxSlots) [[unlikely]] too_many_slots();
    return static_cast<std::uint32_t>(slot);
  }
  [[noreturn]] void too_many_slots();
  void sweep(std::uint32_t top, std::uint32_t bottom, double* adj, bool create_graph);
  void prepare_sweep(std::uint32_t top, double seed);
  void check_released(std::uint32_t top) const;
  void release_upto(std::uint32_t top);

  static constexpr std::size_t kMaxSlots = 0xFFFFFFF0u;

  TapeOptions opts_;
  bool fuse_ = false;                        // fuse_expressions and not keep_values
  std::uint64_t stamp_;
  std::size_t fast_end_ = 0;                 // slot count below which the fast path may record
  // The same for nodes, which need no argument room (a tape of tensor ops never grows the arguments).
  std::size_t node_end_ = 0;
  // Per slot: opcode, and the end offset of its arguments (slot i's are [end[i-1], end[i]); end[0] = 0).
  detail::PodPair<Op, std::uint32_t> slots_;
  // Per argument: its slot and the local partial derivative.
  detail::PodPair<std::uint32_t, double> args_;
  detail::PodStack<double> values_;          // recorded values, only with keep_values
  std::vector<double> adj_;                  // scratch adjoints of the current sweep
  std::vector<std::uint8_t> reached_;        // scratch: slot i lies on a path from the sweep's output
  std::vector<double> grad_;                 // accumulated gradients, as PyTorch's .grad
  // True after the first backward since a reset or zero_grad(): the accumulated gradients are then
  // exactly that sweep's adjoints, so they are read from adj_ instead of being copied into grad_. The
  // next sweep (or zero_grad) hands the buffer over to grad_ first.
  bool grad_is_adj_ = false;
  std::vector<std::pair<std::uint32_t, Node*>> nodes_;  // coarse nodes by slot, ascending
  std::unordered_map<std::uint32_t, std::string> labels_;
  std::vector<std::pair<std::uint32_t, Node*>> attached_;  // describing nodes by slot, ascending (attach)
  std::uint32_t released_upto_ = 0;          // slots <= this were swept without retain_graph
  std::size_t saved_bytes_ = 0;              // tensor storage held for backward (note_saved)
  std::unordered_set<const void*> saved_storages_;  // the storages counted in saved_bytes_
  Arena arena_;
  Tape* prev_in_thread_ = nullptr;           // registry of live tapes of this thread
  friend class ScopedTape;
  friend struct TapeRegistry;
};

/// Records on a fresh tape for the lifetime of this object (one training step, say), then restores the
/// previously active tape. Scopes nest. Vars recorded inside become stale when the scope ends.
class ScopedTape {
 public:
  explicit ScopedTape(TapeOptions opts = {});
  ScopedTape(const ScopedTape&) = delete;
  ScopedTape& operator=(const ScopedTape&) = delete;
  ~ScopedTape();
  /// The tape this scope records on.
  Tape& tape() { return *tape_; }

 private:
  std::unique_ptr<Tape> tape_;
  Tape* previous_;
};

namespace detail {
/// The thread's default tape, created on first use.
Tape& default_tape();
inline thread_local Tape* tl_active_tape = nullptr;
inline thread_local bool tl_grad_enabled = true;
/// Anomaly mode (anomaly.hpp): Var::record and Tape::backward test this flag once, on their slow path.
inline thread_local bool tl_anomaly = false;
/// The reverse sweep with a NaN/Inf check after every step (anomaly mode); defined in anomaly.cpp.
void anomaly_sweep(Tape& tape, std::uint32_t top, std::uint32_t bottom, double* adj);
}  // namespace detail

/// True when operations are being recorded on this thread (false inside a NoGradGuard).
inline bool grad_enabled() { return detail::tl_grad_enabled; }

/// Turns recording off for the current thread within a scope, as torch::NoGradGuard: results are plain
/// values that no backward will reach. Nests; restores the previous state on exit.
class NoGradGuard {
 public:
  NoGradGuard() : prev_(detail::tl_grad_enabled) { detail::tl_grad_enabled = false; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
  ~NoGradGuard() { detail::tl_grad_enabled = prev_; }

 private:
  bool prev_;
};

/// Resets the active tape of this thread (see Tape::reset).
inline void reset_tape() { Tape::active().reset(); }

/// Sets the byte limit of any one tape's recording (0 = unlimited, the default); a tape that outgrows it
/// throws a TapeError instead of exhausting the machine's memory.
void set_tape_memory_limit(std::size_t bytes);
namespace detail {
/// The limit behind set_tape_memory_limit; inline so that every tensor op's save() reads it in place.
inline std::atomic<std::size_t> g_tape_memory_limit{0};
}  // namespace detail

/// The current limit set by set_tape_memory_limit (0 = unlimited).
inline std::size_t tape_memory_limit() { return detail::g_tape_memory_limit.load(std::memory_order_relaxed); }

inline Tape& Tape::active() {
  Tape* t = detail::tl_active_tape;
  if (t == nullptr) [[unlikely]] {
    return detail::default_tape();
  }
  return *t;
}

}  // namespace tg
