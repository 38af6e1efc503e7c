// explain(): the recorded graph between x and y as a DAG, its paths counted, summed and ranked by dynamic
// programming, never enumerated.
#include "tapegrad/explain.hpp"

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <limits>
#include <queue>
#include <sstream>

#include "inspect.hpp"

namespace tg {

namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// The part of the graph on some path from y to x. Node 0 is y, the last node is x; nodes are in
// descending slot order, so every edge goes from a lower to a higher index (a topological order).
struct Dag {
  std::vector<std::uint32_t> slot;
  std::vector<std::uint32_t> off{0};  // CSR: the edges of node u are [off[u], off[u+1])
  std::vector<std::uint32_t> to;
  std::vector<double> w;  // the local derivative d slot[u] / d slot[to]
  std::size_t size() const { return slot.size(); }
};

Dag build_elementary(const Tape& t, std::uint32_t top, std::uint32_t x, std::vector<std::string>& opaque) {
  Dag g;
  if (x > top) return g;
  const std::size_t n = static_cast<std::size_t>(top - x) + 1;
  std::vector<char> keep(n, 0);  // first: reaches y; then: also reached from x
  std::vector<std::uint32_t> ins;
  std::vector<double> ps;
  keep[top - x] = 1;
  for (std::uint32_t i = top; i > x; --i) {
    if (!keep[i - x]) continue;
    if (t.op(i) == Op::Node) {
      if (!detail::slot_inputs(t, i, ins, ps)) {
        opaque.push_back(detail::short_slot(t, i));
        continue;
      }
      for (std::uint32_t s : ins) {
        if (s >= x) keep[s - x] = 1;
      }
      continue;
    }
    for (std::uint32_t k = t.arg_begin(i); k < t.arg_end(i); ++k) {
      const std::uint32_t s = t.arg(k);
      if (s >= x) keep[s - x] = 1;
    }
  }
  if (!keep[0]) return g;
  // Forward from x: a slot stays only if one of its inputs leads down to x.
  std::vector<char> from_x(n, 0);
  from_x[0] = 1;
  auto has_input_from_x = [&](std::uint32_t i) {
    if (t.op(i) == Op::Node) {
      if (!detail::slot_inputs(t, i, ins, ps)) return false;
      return std::any_of(ins.begin(), ins.end(), [&](std::uint32_t s) { return s >= x && from_x[s - x]; });
    }
    for (std::uint32_t k = t.arg_begin(i); k < t.arg_end(i); ++k) {
      const std::uint32_t s = t.arg(k);
      if (s >= x && from_x[s - x]) return true;
    }
    return false;
  };
  for (std::uint32_t i = x + 1; i <= top; ++i) {
    if (keep[i - x] && has_input_from_x(i)) from_x[i - x] = 1;
  }
  std::vector<std::uint32_t> id(n, kNone);
  for (std::uint32_t i = top + 1; i-- > x;) {
    if (keep[i - x] && from_x[i - x]) {
      id[i - x] = static_cast<std::uint32_t>(g.slot.size());
      g.slot.push_back(i);
    }
  }
  auto add_edge = [&](std::uint32_t s, double p) {
    if (s < x || id[s - x] == kNone) return;
    g.to.push_back(id[s - x]);
    g.w.push_back(p);
  };
  for (std::uint32_t i : g.slot) {
    if (i != x) {
      if (t.op(i) == Op::Node) {
        detail::slot_inputs(t, i, ins, ps);
        for (std::size_t k = 0; k < ins.size(); ++k) add_edge(ins[k], ps[k]);
      } else {
        for (std::uint32_t k = t.arg_begin(i); k < t.arg_end(i); ++k) add_edge(t.arg(k), t.partial(k));
      }
    }
    g.off.push_back(static_cast<std::uint32_t>(g.to.size()));
  }
  return g;
}

// Sum over all source-to-sink paths of the product of the weights (or of their magnitudes).
double path_total(const Dag& g, bool magnitude) {
  if (g.size() == 0) return 0.0;
  std::vector<double> acc(g.size(), 0.0);
  acc[0] = 1.0;
  for (std::size_t u = 0; u < g.size(); ++u) {
    for (std::uint32_t e = g.off[u]; e < g.off[u + 1]; ++e) {
      acc[g.to[e]] += (magnitude ? std::abs(g.w[e]) : g.w[e]) * acc[u];
    }
  }
  return acc.back();
}

double path_count(const Dag& g) {
  if (g.size() == 0) return 0.0;
  std::vector<double> cnt(g.size(), 0.0);
  cnt[0] = 1.0;
  for (std::size_t u = 0; u < g.size(); ++u) {
    for (std::uint32_t e = g.off[u]; e < g.off[u + 1]; ++e) cnt[g.to[e]] += cnt[u];
  }
  return cnt.back();
}

double log_mag(double w) {
  const double l = std::log(std::abs(w));
  return std::isnan(l) ? kNegInf : l;
}

double safe_sum(double a, double b) {
  const double s = a + b;
  return std::isnan(s) ? kNegInf : s;
}

// The k paths of largest |product|. best[u] is the largest log|product| from u down to the sink and
// next[u] the edge that achieves it. Every path is the best path with some "sidetracks" (edges off the
// best tree); a candidate is a complete path given by its last sidetrack and the candidate it extends, and
// extending a path can only lower its score, so popping candidates best-first yields the paths in order.
// Only the k - (found) best candidates can still matter, so the frontier never exceeds k entries; each
// found path costs one walk along it. Time O(k * E), memory O(V + k).
std::vector<ExplainPath> top_paths(const Dag& g, std::size_t k) {
  std::vector<ExplainPath> result;
  if (g.size() == 0 || k == 0) return result;
  const std::size_t n = g.size();
  const std::size_t sink = n - 1;
  std::vector<double> best(n, kNegInf);
  std::vector<std::uint32_t> next(n, kNone);
  best[sink] = 0.0;
  for (std::size_t u = n - 1; u-- > 0;) {
    for (std::uint32_t e = g.off[u]; e < g.off[u + 1]; ++e) {
      const double s = safe_sum(log_mag(g.w[e]), best[g.to[e]]);
      if (next[u] == kNone || s > best[u]) {
        best[u] = s;
        next[u] = e;
      }
    }
  }
  struct Cand {
    double score;    // log|product| of the whole path
    double prefix;   // log|product| from the source to the end of the last sidetrack
    std::uint32_t edge;  // the last sidetrack (kNone for the best path itself)
    std::uint32_t from;  // the node the sidetrack leaves
    std::int64_t parent;  // index in `found` of the path it extends
  };
  auto worse = [](const Cand& a, const Cand& b) { return a.score > b.score; };  // min-heap on score
  std::vector<Cand> frontier{{best[0], 0.0, kNone, 0, -1}};
  std::vector<Cand> found;
  while (!frontier.empty() && found.size() < k) {
    auto top = std::max_element(frontier.begin(), frontier.end(),
                                [](const Cand& a, const Cand& b) { return a.score < b.score; });
    const Cand c = *top;
    *top = frontier.back();
    frontier.pop_back();
    std::make_heap(frontier.begin(), frontier.end(), worse);
    found.push_back(c);
    const std::size_t room = k - found.size();
    while (frontier.size() > room) {
      std::pop_heap(frontier.begin(), frontier.end(), worse);
      frontier.pop_back();
    }
    if (room == 0) break;
    // Every sidetrack off the best-path suffix after c's last sidetrack gives a new candidate.
    std::size_t u = c.edge == kNone ? 0 : g.to[c.edge];
    double lp = c.prefix;
    while (u != sink && next[u] != kNone) {
      for (std::uint32_t e = g.off[u]; e < g.off[u + 1]; ++e) {
        if (e == next[u]) continue;
        const double pre = safe_sum(lp, log_mag(g.w[e]));
        const Cand d{safe_sum(pre, best[g.to[e]]), pre, e, static_cast<std::uint32_t>(u),
                     static_cast<std::int64_t>(found.size() - 1)};
        if (frontier.size() < room) {
          frontier.push_back(d);
          std::push_heap(frontier.begin(), frontier.end(), worse);
        } else if (d.score > frontier.front().score) {
          std::pop_heap(frontier.begin(), frontier.end(), worse);
          frontier.back() = d;
          std::push_heap(frontier.begin(), frontier.end(), worse);
        }
      }
      lp = safe_sum(lp, log_mag(g.w[next[u]]));
      u = g.to[next[u]];
    }
  }
  for (std::size_t f = 0; f < found.size(); ++f) {
    std::vector<const Cand*> chain;
    for (std::int64_t j = static_cast<std::int64_t>(f); j >= 0; j = found[static_cast<std::size_t>(j)].parent) {
      chain.push_back(&found[static_cast<std::size_t>(j)]);
    }
    std::reverse(chain.begin(), chain.end());
    ExplainPath p;
    std::size_t j = 1;
    std::size_t u = 0;
    p.slots.push_back(g.slot[0]);
    while (u != sink && next[u] != kNone) {
      std::uint32_t e = next[u];
      if (j < chain.size() && chain[j]->from == u) {
        e = chain[j]->edge;
        ++j;
      }
      p.factors.push_back(g.w[e]);
      p.product *= g.w[e];
      p.log_abs_product = safe_sum(p.log_abs_product, log_mag(g.w[e]));
      u = g.to[e];
      p.slots.push_back(g.slot[u]);
    }
    result.push_back(std::move(p));
  }
  return result;
}

// The graph between labelled nodes: an edge u -> v carries the sum over the sub-paths from u to v whose
// inner nodes are all unlabelled. Each labelled source needs a DP over the unlabelled region below it, and
// in a wide graph with sparse labels those regions overlap almost entirely, so one sweep per source would
// cost (labelled nodes) x (graph). Sources are therefore swept in batches of up to 64 lanes, one lane
// per source: each node of the union of their regions is visited once per batch (in index order, a
// topological order) and updates all lanes together. Per lane the terms are added in the same order as a
// sweep of that source alone, so the result does not depend on the batching.
class Collapser {
 public:
  Collapser(const Tape& t, const Dag& g) : g_(g), cid_(g.size(), kNone), row_(g.size(), kNone) {
    for (std::size_t u = 0; u < g.size(); ++u) {
      if (u == 0 || u + 1 == g.size() || !t.label(g.slot[u]).empty()) {
        cid_[u] = static_cast<std::uint32_t>(labelled_.size());
        labelled_.push_back(static_cast<std::uint32_t>(u));
      }
    }
  }

  Dag run(std::size_t budget, bool& skipped) {
    Dag c;
    for (std::uint32_t u : labelled_) c.slot.push_back(g_.slot[u]);
    std::size_t lanes = kMaxLanes;
    for (std::size_t first = 0; first < labelled_.size();) {
      lanes = std::min(lanes, labelled_.size() - first);
      const std::size_t work_before = work_;
      switch (sweep(first, lanes, budget)) {
        case Sweep::kOverBudget:
          skipped = true;
          return Dag{};
        case Sweep::kOverMemory:
          lanes = std::max<std::size_t>(1, lanes / 8);  // a wide frontier: retry with fewer lanes
          work_ = work_before;  // the retry redoes the same per-source work
          continue;
        case Sweep::kDone:
          break;
      }
      for (std::size_t l = 0; l < lanes; ++l) {
        std::vector<std::pair<std::uint32_t, double>>& out = found_[l];
        std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [to, w] : out) {
          c.to.push_back(to);
          c.w.push_back(w);
        }
        c.off.push_back(static_cast<std::uint32_t>(c.to.size()));
      }
      first += lanes;
    }
    return c;
  }

 private:
  static constexpr std::size_t kMaxLanes = 64;
  // Accumulator rows past this many bytes make a batch retry with fewer lanes, so that a node feeding a
  // huge number of others cannot make memory grow as (frontier) x 64.
  static constexpr std::size_t kMaxPoolBytes = std::size_t{64} << 20;
  enum class Sweep { kDone, kOverBudget, kOverMemory };

  // The accumulator row of node v, allocated (zeroed) on first reach; `lanes` doubles and a lane mask.
  std::uint32_t reach(std::uint32_t v) {
    if (row_[v] != kNone) return row_[v];
    std::uint32_t r;
    if (!free_.empty()) {
      r = free_.back();
      free_.pop_back();
    } else {
      r = static_cast<std::uint32_t>(mask_.size());
      mask_.push_back(0);
      pool_.resize(pool_.size() + lanes_, 0.0);
    }
    row_[v] = r;
    if (cid_[v] == kNone) {
      pending_.push(v);
    } else {
      hit_.push_back(v);
    }
    return r;
  }

  void release(std::uint32_t v) {
    const std::uint32_t r = row_[v];
    std::fill_n(pool_.begin() + static_cast<std::ptrdiff_t>(r * lanes_), lanes_, 0.0);
    mask_[r] = 0;
    free_.push_back(r);
    row_[v] = kNone;
  }

  // Sources labelled_[first .. first + lanes), one lane each.
  Sweep sweep(std::size_t first, std::size_t lanes, std::size_t budget) {
    lanes_ = lanes;
    pool_.clear();
    mask_.clear();
    free_.clear();
    found_.assign(lanes, {});
    const std::uint64_t all = lanes == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << lanes) - 1;
    std::size_t next_source = 0;
    Sweep result = Sweep::kDone;
    while (result == Sweep::kDone) {
      const bool source_left = next_source < lanes;
      const std::uint32_t s = source_left ? labelled_[first + next_source] : kNone;
      if (!source_left && pending_.empty()) break;
      if (source_left && (pending_.empty() || s < pending_.top())) {
        // A source spreads its own lane with weight 1, whatever other lanes reached it.
        const std::size_t lane = next_source++;
        work_ += g_.off[s + 1] - g_.off[s];
        for (std::uint32_t e = g_.off[s]; e < g_.off[s + 1]; ++e) {
          const std::uint32_t r = reach(g_.to[e]);
          mask_[r] |= std::uint64_t{1} << lane;
          pool_[r * lanes_ + lane] += g_.w[e] * 1.0;
        }
      } else {
        const std::uint32_t v = pending_.top();
        pending_.pop();
        spread(v, all);
        release(v);
      }
      if (work_ > budget) result = Sweep::kOverBudget;
      if (pool_.size() * sizeof(double) > kMaxPoolBytes && lanes > 1) result = Sweep::kOverMemory;
    }
    if (result == Sweep::kDone) {
      for (std::uint32_t h : hit_) {
        const std::uint32_t r = row_[h];
        for (std::uint64_t m = mask_[r]; m != 0; m &= m - 1) {
          const auto l = static_cast<std::size_t>(std::countr_zero(m));
          found_[l].emplace_back(cid_[h], pool_[r * lanes_ + l]);
        }
      }
    }
    for (std::uint32_t h : hit_) row_[h] = kNone;
    hit_.clear();
    while (!pending_.empty()) {
      row_[pending_.top()] = kNone;
      pending_.pop();
    }
    return result;
  }

  // Adds node v's lanes, times each edge's weight, to its inputs' lanes.
  void spread(std::uint32_t v, std::uint64_t all) {
    // Work is counted per source, as one sweep per source would do it, so the budget means the same
    // whatever the batching.
    work_ += (g_.off[v + 1] - g_.off[v]) * static_cast<std::size_t>(std::popcount(mask_[row_[v]]));
    for (std::uint32_t e = g_.off[v]; e < g_.off[v + 1]; ++e) {
      const std::uint32_t rt = reach(g_.to[e]);
      const std::size_t rv = row_[v];  // after reach(): the pool may have moved
      const std::uint64_t m = mask_[rv];
      mask_[rt] |= m;
      const double w = g_.w[e];
      const double* a = pool_.data() + rv * lanes_;
      double* acc = pool_.data() + static_cast<std::size_t>(rt) * lanes_;
      if (m == all) {
        for (std::size_t l = 0; l < lanes_; ++l) acc[l] += w * a[l];
      } else {
        // Only the lanes that reached v: others must not receive even a zero (0 * inf is NaN).
        for (std::uint64_t b = m; b != 0; b &= b - 1) {
          const auto l = static_cast<std::size_t>(std::countr_zero(b));
          acc[l] += w * a[l];
        }
      }
    }
  }

  const Dag& g_;
  std::vector<std::uint32_t> cid_;       // node -> its index among labelled nodes, kNone if unlabelled
  std::vector<std::uint32_t> labelled_;  // the labelled nodes (y and x included), ascending
  std::vector<std::uint32_t> row_;       // node -> its accumulator row while reached in this batch
  std::size_t lanes_ = 1;
  std::vector<double> pool_;             // rows of lanes_ accumulators
  std::vector<std::uint64_t> mask_;      // per row: the lanes that reached the node
  std::vector<std::uint32_t> free_;
  std::vector<std::uint32_t> hit_;       // labelled nodes reached in this batch
  std::priority_queue<std::uint32_t, std::vector<std::uint32_t>, std::greater<>> pending_;  // unlabelled, reached
  std::vector<std::vector<std::pair<std::uint32_t, double>>> found_;  // per lane: (target, weight)
  std::size_t work_ = 0;  // edge visits summed over sources
};

Dag collapse(const Tape& t, const Dag& g, std::size_t budget, bool& skipped) {
  if (g.size() == 0) return Dag{};
  return Collapser(t, g).run(budget, skipped);
}

ExplainView make_view(const Dag& g, std::size_t k) {
  ExplainView v;
  v.num_paths = path_count(g);
  v.total = path_total(g, false);
  v.paths = top_paths(g, k);
  return v;
}

}  // namespace

Explanation explain(const Var& y, const Var& x, const ExplainOptions& options) {
  Explanation ex;
  ex.options = options;
  if (x.slot() == 0) {
    throw ValueError("explain: x is a constant (not recorded on a tape), so y does not depend on it through "
                     "the graph; pass a Var created while recording");
  }
  Tape& t = x.tape();
  ex.x_slot = x.slot();
  ex.y_slot = y.slot();
  if (y.slot() == 0) {
    ex.autograd_checked = true;
    return ex;  // a constant output: gradient 0, no paths
  }
  if (y.stamp() != x.stamp()) {
    throw TapeError("explain: y and x were recorded on different tapes (or one tape was reset in between)");
  }
  const Dag g = build_elementary(t, y.slot(), x.slot(), ex.opaque_ops);
  const Dag c = collapse(t, g, options.collapse_budget, ex.collapsed_skipped);
  ex.elementary = make_view(g, options.top_k);
  ex.collapsed = make_view(c, options.top_k);
  ex.gradient = ex.elementary.total;
  try {
    ex.gradient = t.gradient(y.slot(), {x.slot()}, BackwardOptions{.retain_graph = true})[0];
    ex.autograd_checked = true;
  } catch (const TapeError&) {
    ex.autograd_checked = false;  // released by a backward without retain_graph: check the views only
  }
  // Sums taken in different orders differ by rounding: allow 1e-9 of the sum of |contributions|.
  const double scale = path_total(g, true);
  const double tol = 1e-9 * scale + DBL_MIN;
  const bool collapsed_ok = ex.collapsed_skipped || std::abs(ex.collapsed.total - ex.gradient) <= tol;
  ex.consistent = std::abs(ex.elementary.total - ex.gradient) <= tol && collapsed_ok && ex.opaque_ops.empty();
  auto note = [&](std::uint32_t slot) {
    if (ex.slots.count(slot)) return;
    SlotInfo info{detail::slot_op_name(t, slot), t.label(slot), ""};
    info.name = info.label;
    if (info.name.empty()) {
      info.name = info.op;
      info.name += '#';
      info.name += std::to_string(slot);
    }
    ex.slots.emplace(slot, std::move(info));
  };
  note(ex.y_slot);
  note(ex.x_slot);
  for (const ExplainView* v : {&ex.elementary, &ex.collapsed}) {
    for (const ExplainPath& p : v->paths) {
      for (std::uint32_t s : p.slots) note(s);
    }
  }
  return ex;
}

}  // namespace tg
