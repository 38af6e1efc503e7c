// Tape bookkeeping: epochs, the per-thread registry of live tapes, and the reverse sweep.
#include "tapegrad/tape.hpp"

#include <algorithm>
#include <atomic>
#include <limits>
#include <sstream>

namespace tg {

namespace {

// A stamp is (thread number << 40) | the thread's count of stamps drawn, so stamps never repeat and an
// error can tell a Var of another thread's tape from one whose tape was reset. Thread numbers wrap after
// 2^24 threads; a clash then needs an old handle whose count also matches, and only blurs a message.
constexpr int kStampCountBits = 40;
std::atomic<std::uint64_t> g_next_thread{0};
thread_local std::uint64_t tl_thread_no = 0;
thread_local std::uint64_t tl_stamp_count = 0;

std::uint64_t thread_no() {
  if (tl_thread_no == 0) [[unlikely]] {
    tl_thread_no = g_next_thread.fetch_add(1, std::memory_order_relaxed) % ((std::uint64_t{1} << 24) - 1) + 1;
  }
  return tl_thread_no;
}

std::uint64_t draw_stamp() { return (thread_no() << kStampCountBits) | ++tl_stamp_count; }

// The live tapes of this thread form an intrusive list, newest first; Var::grad() looks its tape up by
// stamp here, so a Var never holds a pointer that could dangle.
thread_local Tape* tl_newest_tape = nullptr;

const char* const kOpNames[] = {
    "leaf", "node", "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "sqrt", "sin", "cos",
    "tan", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "softplus", "abs", "min", "max", "clamp",
    "sum", "dot", "custom", "log1p", "expm1", "atan", "asin", "acos", "sinh", "cosh", "square", "cbrt",
    "hypot", "atan2", "expr"};

// A create_graph sweep reached scalar statement i: name it and say what to use instead.
[[noreturn]] void refuse_second_order(const Tape& tape, std::uint32_t i) {
  const Node* info = tape.attached(i);
  std::ostringstream os;
  os << "backward(create_graph): " << (info ? info->name() : op_name(tape.op(i)));
  if (auto l = tape.label(i); !l.empty()) os << " ('" << l << "')";
  os << " (scalar Var op, tape slot " << i
     << ") is first-order only: its recorded partials are numbers, not a differentiable formula; use "
        "tg::Tensor functions for higher derivatives";
  throw TapeError(os.str());
}

}  // namespace

struct TapeRegistry {
  static void add(Tape* t) {
    t->prev_in_thread_ = tl_newest_tape;
    tl_newest_tape = t;
  }
  static void remove(Tape* t) {
    Tape** p = &tl_newest_tape;
    while (*p != nullptr && *p != t) p = &(*p)->prev_in_thread_;
    if (*p == t) *p = t->prev_in_thread_;
  }
};

const char* op_name(Op op) {
  const auto i = static_cast<std::size_t>(op);
  return i < std::size(kOpNames) ? kOpNames[i] : "?";
}

namespace detail {

Tape& default_tape() {
  thread_local Tape tape;
  tl_active_tape = &tape;
  return tape;
}

void check_tape_memory(std::size_t extra_bytes, const char* what) {
  const std::size_t limit = tape_memory_limit();
  if (limit == 0) return;
  // The tape being grown is the active one; none is active while a thread's default tape is still being
  // built, whose first pushes must not ask Tape::active() (that would build it again, recursively).
  const Tape* active = detail::tl_active_tape;
  if (active == nullptr) return;
  const std::size_t now = active->bytes();
  if (now + extra_bytes > limit) {
    std::ostringstream os;
    os << "tape: memory limit exceeded: the recording holds " << now << " bytes and needs " << extra_bytes
       << " more";
    if (what != nullptr) os << " for " << what;
    os << ", over the limit of " << limit
       << " bytes (set_tape_memory_limit); reset the tape between steps or raise the limit";
    throw TapeError(os.str());
  }
}

}  // namespace detail

void set_tape_memory_limit(std::size_t bytes) {
  detail::g_tape_memory_limit.store(bytes, std::memory_order_relaxed);
}

Tape::Tape(TapeOptions opts)
    : opts_(opts), fuse_(opts.fuse_expressions && !opts.keep_values), stamp_(draw_stamp()) {
  slots_.push(Op::Leaf, 0);  // slot 0 is reserved: index 0 means "constant"
  values_.push(0.0);
  TapeRegistry::add(this);
}

Tape::~Tape() {
  TapeRegistry::remove(this);
  if (detail::tl_active_tape == this) detail::tl_active_tape = nullptr;
}

void Tape::reset() {
  arena_.reset();
  nodes_.clear();
  slots_.truncate(1);
  attached_.clear();
  values_.truncate(1);
  args_.truncate(0);
  grad_.clear();
  grad_is_adj_ = false;
  labels_.clear();
  released_upto_ = 0;
  saved_bytes_ = 0;
  saved_storages_.clear();
  stamp_ = draw_stamp();
  refresh_room();
}

void Tape::shrink() {
  reset();
  args_.release();
  fast_end_ = 0;
  std::vector<double>().swap(adj_);
  std::vector<double>().swap(grad_);
  grad_is_adj_ = false;
}

void Tape::set_fuse_expressions(bool on) {
  opts_.fuse_expressions = on;
  fuse_ = on && !opts_.keep_values;
}

void Tape::expr_grow(std::size_t k) {
  // As push_slow: grow ahead, so that the fast path then runs for a while.
  constexpr std::size_t kAhead = 4096;
  slots_.reserve_more(kAhead);
  args_.reserve_more(2 * kAhead + k);
  refresh_room();
  if (slots_.size() + (k + 1) / 2 > fast_end_) too_many_slots();
}

void Tape::set_keep_values(bool on) {
  opts_.keep_values = on;
  fuse_ = opts_.fuse_expressions && !on;
  if (on) {
    // Keep values_ aligned with the slots, so value(i) stays the value of slot i.
    while (values_.size() < slots_.size()) values_.push(std::numeric_limits<double>::quiet_NaN());
  }
  refresh_room();
}

std::uint32_t Tape::push_slow(Op op, double v, std::size_t nargs, const std::uint32_t* idx,
                              const double* p) {
  // Grow every array ahead, so that the fast path then runs for at least kAhead statements: leaves use
  // slots but no arguments, and fast_end_ is bounded by the fullest array.
  constexpr std::size_t kAhead = 4096;
  slots_.reserve_more(kAhead);
  args_.reserve_more(2 * kAhead + nargs);
  const std::size_t at = args_.extend(nargs);
  std::uint32_t* ia = args_.first() + at;
  double* pp = args_.second() + at;
  for (std::size_t k = 0; k < nargs; ++k) {
    ia[k] = idx[k];
    pp[k] = p[k];
  }
  const std::uint32_t slot = push_stmt(op, v, nargs);
  refresh_room();
  return slot;
}

std::uint32_t Tape::push_leaves(const double* values, std::size_t n) {
  if (n == 0) return 0;
  if (n > kMaxSlots - std::min(kMaxSlots, slots_.size())) too_many_slots();
  // Leaves have no arguments: every one ends where the arguments end now.
  const std::size_t first = slots_.extend(n);
  const auto end = static_cast<std::uint32_t>(args_.size());
  std::fill_n(slots_.first() + first, n, Op::Leaf);
  std::fill_n(slots_.second() + first, n, end);
  if (opts_.keep_values) {
    double* v = values_.extend(n);
    std::copy_n(values, n, v);
  }
  refresh_room();
  return static_cast<std::uint32_t>(first);
}

void Tape::refresh_room() {
  if (opts_.keep_values) {
    fast_end_ = 0;  // every push takes the slow path, which records the value
    node_end_ = 0;
    return;
  }
  const std::size_t slots = slots_.room();
  const std::size_t args = args_.room() / 2;
  const std::size_t below_limit = kMaxSlots - std::min(kMaxSlots, slots_.size());
  fast_end_ = slots_.size() + std::min({slots, args, below_limit});
  node_end_ = slots_.size() + std::min(slots, below_limit);
}

std::size_t Tape::bytes() const {
  return slots_.capacity_bytes() + args_.capacity_bytes() + values_.capacity_bytes() +
         arena_.bytes_reserved() + nodes_.capacity() * sizeof(nodes_[0]) + saved_bytes_;
}

void Tape::note_saved(const void* storage, std::size_t nbytes, const char* op) {
  const std::size_t limit = tape_memory_limit();
  if (limit == 0 || saved_storages_.contains(storage)) return;
  // The tensors an op saves are the activations a tape really holds (parameters saved by an op count
  // too); a storage saved by several ops (an input and the output of the next op, say) is counted once.
  if (bytes() + nbytes > limit && detail::tl_active_tape == this) {
    const std::string what = std::string("the tensors saved for backward by '") + op + "'";
    detail::check_tape_memory(nbytes, what.c_str());
  }
  saved_storages_.insert(storage);
  saved_bytes_ += nbytes;
}

void Tape::too_many_slots() {
  throw TapeError("tape: more than 4294967280 recorded operations; reset the tape between steps");
}

std::uint32_t Tape::push_node_slow() {
  const std::uint32_t slot = push_stmt(Op::Node, 0.0, 0);
  refresh_room();
  return slot;
}

double Tape::value(std::uint32_t i) const {
  if (!opts_.keep_values) {
    throw TapeError("tape: values are not kept; record with TapeOptions{.keep_values = true}");
  }
  return values_[i];
}

Node* Tape::node_at(std::uint32_t i) const {
  auto it = std::lower_bound(nodes_.begin(), nodes_.end(), i,
                             [](const auto& p, std::uint32_t s) { return p.first < s; });
  return it != nodes_.end() && it->first == i ? it->second : nullptr;
}

void Tape::attach(std::uint32_t i, Node* info) {
  // Attached right after recording, slots arrive in increasing order; anything else is kept sorted.
  auto it = std::lower_bound(attached_.begin(), attached_.end(), i,
                             [](const auto& p, std::uint32_t s) { return p.first < s; });
  if (it != attached_.end() && it->first == i) {
    it->second = info;
  } else {
    attached_.insert(it, {i, info});
  }
}

Node* Tape::attached(std::uint32_t i) const {
  auto it = std::lower_bound(attached_.begin(), attached_.end(), i,
                             [](const auto& p, std::uint32_t s) { return p.first < s; });
  return it != attached_.end() && it->first == i ? it->second : nullptr;
}

std::string Tape::label(std::uint32_t i) const {
  auto it = labels_.find(i);
  return it == labels_.end() ? std::string() : it->second;
}

void Tape::zero_grad() {
  grad_.clear();  // grad(i) reads 0 past the end, so an empty grad_ is all zeros
  grad_is_adj_ = false;
}

std::string Tape::why_gone(std::uint64_t stamp) {
  if (stamp >> kStampCountBits != thread_no()) {
    return "belongs to a tape of another thread: each thread records on its own tape, and recorded values "
           "cannot cross threads (pass plain values, or .detach() them)";
  }
  return "belongs to a tape that was reset or destroyed, so its graph is gone";
}

Tape* Tape::find(std::uint64_t stamp) {
  for (Tape* t = tl_newest_tape; t != nullptr; t = t->prev_in_thread_) {
    if (t->stamp_ == stamp) return t;
  }
  return nullptr;
}

void Tape::check_released(std::uint32_t top) const {
  // A slot at or below the watermark was swept by an earlier backward that freed the graph. Leaves and
  // constants carry no graph, so only an operation reached by the new sweep is an error.
  const std::uint32_t lo = std::min(top, released_upto_);
  for (std::uint32_t i = lo; i >= 1; --i) {
    Node* n = nullptr;
    if (op(i) == Op::Node) {
      n = node_at(i);
      if (!n->has_grad() && adj_[i] == 0.0) continue;
    } else if (adj_[i] == 0.0 || op(i) == Op::Leaf) {
      continue;
    }
    std::ostringstream os;
    os << "backward: the graph through '" << (n ? n->name() : op_name(op(i))) << "'";
    if (auto l = label(i); !l.empty()) os << " (" << l << ")";
    os << " at tape slot " << i
       << " was already released by an earlier backward(); pass BackwardOptions{.retain_graph = true} "
          "to the first backward, or record the forward again";
    throw TapeError(os.str());
  }
}

void Tape::prepare_sweep(std::uint32_t top, double seed) {
  if (top == 0 || top > size()) {
    throw TapeError("backward: the output is not recorded on this tape (a constant, or created under "
                    "NoGradGuard); it has no gradient to propagate");
  }
  if (grad_is_adj_) {
    grad_.swap(adj_);  // the accumulated gradients move to grad_ before adj_ is reused
    grad_is_adj_ = false;
  }
  adj_.assign(static_cast<std::size_t>(top) + 1, 0.0);
  adj_[top] = seed;
}

namespace {
// The sweep skips a statement whose adjoint is 0 unless it lies on a path from the output (so that an
// unused log(0), partial inf, cannot turn a gradient into 0 * inf = NaN). A slot whose adjoint ends
// nonzero is swept anyway, so only a write that leaves 0 behind needs to say the slot was reached: the
// last write to a slot decides, and a store per argument becomes a rarely taken branch.
[[gnu::always_inline]] inline void mark_if_zero(std::uint8_t* reached, std::uint32_t x, double v) {
  if (v == 0.0) [[unlikely]] reached[x] = 1;
}
}  // namespace

void Tape::sweep(std::uint32_t top, std::uint32_t bottom, double* adj, bool create_graph) {
  BackwardContext ctx{adj, this, create_graph};
  // Nodes are found by index, not iterator: a backward that records (create_graph, or a custom op) appends
  // to nodes_ and may move it. What it appends lies above `top`, so this sweep never visits it.
  std::size_t node_k = static_cast<std::size_t>(
      std::upper_bound(nodes_.begin(), nodes_.end(), top,
                       [](std::uint32_t s, const auto& p) { return s < p.first; }) -
      nodes_.begin());
  if (create_graph) [[unlikely]] {
    // Scalar statements hold numbers, not a recordable formula, so they cannot be differentiated twice:
    // refuse the first one the sweep reaches instead of returning a second derivative missing its terms.
    for (std::uint32_t i = top; i > bottom; --i) {
      if (node_k > 0 && nodes_[node_k - 1].first == i) {
        --node_k;
        Node* n = nodes_[node_k].second;
        if (n->has_grad()) n->backward(ctx);
      } else if (adj[i] != 0.0 && op(i) != Op::Leaf) {
        refuse_second_order(*this, i);
      }
    }
    return;
  }
  std::uint32_t next_node = node_k == 0 ? 0 : nodes_[node_k - 1].first;
  reached_.assign(static_cast<std::size_t>(top) + 1, 0);
  reached_[top] = 1;
  std::uint8_t* reached = reached_.data();
  std::uint32_t i = top;
  while (i > bottom) {
    // The run of scalar statements down to the next node (or the bottom) needs no per-slot node test.
    // Pointers are taken per run: a node's backward may record, and so move the arrays.
    const std::uint32_t* end = slots_.second();
    const std::uint32_t* args = args_.first();
    const double* partials = args_.second();
    const std::uint32_t stop = std::max(bottom, next_node);
    std::uint32_t hi = end[i];
    // The adjoint just written to slot `carried` (the statement below the one swept), kept in a register:
    // in a chain such as s += w * h each statement feeds the next one down, and reading the adjoint back
    // from memory would put a store-to-load round trip on the sweep's critical path.
    std::uint32_t carried = 0;
    double carry = 0.0;
    for (; i > stop; --i) {
      // Leaves, unary and binary statements are nearly all of a scalar tape: straight-line code for
      // them instead of a loop whose trip count the branch predictor would have to guess.
      const std::uint32_t lo = end[i - 1];
      const std::uint32_t n = hi - lo;
      if (n == 0) continue;  // a leaf (or an argument-free statement): nothing to pass on, hi stays lo
      const double a = carried == i ? carry : adj[i];
      // A statement on no path to the output is skipped, so an unused log(0) (partial inf) cannot turn a
      // gradient into 0 * inf = NaN; one on a path is swept even with a zero adjoint, so 0 * inf along a
      // real path gives NaN, as in PyTorch. Nodes that write scalar adjoints write nonzero values.
      if (a == 0.0 && reached[i] == 0) {
        hi = lo;
        continue;
      }
      if (n == 2) {  // in argument order, as the loop would (x * x adds twice into one adjoint)
        const std::uint32_t x0 = args[lo];
        const std::uint32_t x1 = args[lo + 1];
        const double v0 = adj[x0] + partials[lo] * a;
        adj[x0] = v0;
        const double v1 = adj[x1] + partials[lo + 1] * a;
        adj[x1] = v1;
        mark_if_zero(reached, x0, v0);
        mark_if_zero(reached, x1, v1);
        // v1 is x1's final value (it includes v0 when x0 == x1); v0 is x0's when the two differ.
        const bool second = x1 == i - 1 || x0 == x1;
        carried = second ? x1 : x0;
        carry = second ? v1 : v0;
      } else if (n == 1) {
        const std::uint32_t x0 = args[lo];
        carry = adj[x0] + partials[lo] * a;
        adj[x0] = carry;
        mark_if_zero(reached, x0, carry);
        carried = x0;
      } else if (n == 3) {  // a fused statement such as s += w * h (TapeOptions::fuse_expressions)
        const std::uint32_t x0 = args[lo];
        const std::uint32_t x1 = args[lo + 1];
        const std::uint32_t x2 = args[lo + 2];
        const double v0 = adj[x0] + partials[lo] * a;
        adj[x0] = v0;
        const double v1 = adj[x1] + partials[lo + 1] * a;
        adj[x1] = v1;
        const double v2 = adj[x2] + partials[lo + 2] * a;
        adj[x2] = v2;
        mark_if_zero(reached, x0, v0);
        mark_if_zero(reached, x1, v1);
        mark_if_zero(reached, x2, v2);
        // Carry the slot below with the last value written to it (an argument may repeat, as in x * x).
        const std::uint32_t below = i - 1;
        carried = x2 == below || x1 == below || x0 == below ? below : 0;
        carry = x2 == below ? v2 : (x1 == below ? v1 : v0);
      } else {
        for (std::uint32_t k = lo; k < hi; ++k) {
          const double v = adj[args[k]] + partials[k] * a;
          adj[args[k]] = v;
          mark_if_zero(reached, args[k], v);
        }
        carried = 0;  // an argument of this statement may be the carried slot: read it from memory
      }
      hi = lo;
    }
    if (i == bottom) break;
    --node_k;  // i == next_node
    Node* n = nodes_[node_k].second;
    if (n->has_grad()) n->backward(ctx);
    next_node = node_k == 0 ? 0 : nodes_[node_k - 1].first;
    --i;
  }
}

void Tape::backward(std::uint32_t top, double seed, BackwardOptions opts) {
  prepare_sweep(top, seed);
  const std::uint32_t bottom = std::min(top, released_upto_);
  // Anomaly mode runs a checked copy of the sweep that names the first op producing NaN/Inf.
  if (detail::tl_anomaly && !opts.create_graph) [[unlikely]] {
    detail::anomaly_sweep(*this, top, bottom, adj_.data());
  } else {
    sweep(top, bottom, adj_.data(), opts.create_graph);
  }
  if (bottom > 0) check_released(top);
  if (grad_.empty()) {
    // First backward since reset or zero_grad(): the accumulated gradients are this sweep's adjoints,
    // so read them where they are instead of zero-filling grad_ and adding (two passes saved).
    grad_is_adj_ = true;
  } else {
    if (grad_.size() < adj_.size()) grad_.resize(adj_.size(), 0.0);
    for (std::size_t i = 0; i < adj_.size(); ++i) grad_[i] += adj_[i];
  }
  if (!opts.retain_graph && !opts.create_graph) release_upto(top);
}

void Tape::release_upto(std::uint32_t top) {
  for (auto& [slot, node] : nodes_) {
    if (slot > top) break;
    if (slot > released_upto_) node->release();
  }
  released_upto_ = std::max(released_upto_, top);
}

std::vector<double> Tape::gradient(std::uint32_t top, const std::vector<std::uint32_t>& wrt,
                                   BackwardOptions opts) {
  prepare_sweep(top, 1.0);
  const std::uint32_t bottom = std::min(top, released_upto_);
  // Anomaly mode runs a checked copy of the sweep that names the first op producing NaN/Inf.
  if (detail::tl_anomaly && !opts.create_graph) [[unlikely]] {
    detail::anomaly_sweep(*this, top, bottom, adj_.data());
  } else {
    sweep(top, bottom, adj_.data(), opts.create_graph);
  }
  if (bottom > 0) check_released(top);
  std::vector<double> out;
  out.reserve(wrt.size());
  for (std::uint32_t w : wrt) out.push_back(w < adj_.size() ? adj_[w] : 0.0);
  if (!opts.retain_graph && !opts.create_graph) release_upto(top);
  return out;
}

ScopedTape::ScopedTape(TapeOptions opts)
    : tape_(std::make_unique<Tape>(opts)), previous_(detail::tl_active_tape) {
  detail::tl_active_tape = tape_.get();
}

ScopedTape::~ScopedTape() { detail::tl_active_tape = previous_; }

}  // namespace tg
