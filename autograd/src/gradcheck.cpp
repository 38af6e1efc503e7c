// gradcheck and check_gradient: autograd against float64 central differences.
#include "tapegrad/gradcheck.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <sstream>

#include "gradcheck_impl.hpp"
#include "inspect.hpp"

namespace tg {

namespace {

// cbrt(eps) * max(1, |x|), nudged so that x + h is exactly representable (then (x+h) - (x-h) == 2h).
double exact_step(double x, double h) {
  volatile double xp = x + h;
  return xp - x;
}

double step_for(double x, const GradcheckOptions& o) {
  return exact_step(x, o.step > 0 ? o.step : std::cbrt(DBL_EPSILON) * std::max(1.0, std::abs(x)));
}

double rel_error(double a, double n) {
  const double d = std::abs(a - n);
  if (d == 0.0) return 0.0;
  return d / std::max(std::abs(a), std::abs(n));
}

bool within(double a, double n, const GradcheckOptions& o) {
  return std::abs(a - n) <= o.atol + o.rtol * std::abs(n);
}

std::string input_name(const GradcheckOptions& o, std::size_t i) {
  if (i < o.names.size()) return o.names[i];
  std::string name = "x";
  name += std::to_string(i);
  return name;
}

// f evaluated with recording off: the numeric side never touches a tape.
double eval_plain(const VarFunction& f, std::span<const double> x) {
  NoGradGuard off;
  std::vector<Var> v;
  v.reserve(x.size());
  for (double xi : x) v.push_back(Var::constant(xi));
  return f(v).value();
}

// d phi / dx at x0 by central differences. The standard step comes first; near a singularity (log at
// 1e-4) its truncation error can exceed the tolerance, so up to three tenfold smaller steps get a chance to
// agree with `expect` before a disagreement is declared: a real error fails them all. Returns the finite
// estimate closest to `expect`, or NaN when phi is not finite around x0.
template <class Phi>
double central(Phi phi, double x0, double expect, const GradcheckOptions& o) {
  double best = std::nan("");
  for (int attempt = 0; attempt < 4; ++attempt) {
    const double h = exact_step(x0, step_for(x0, o) * std::pow(10.0, -attempt));
    const double d = (phi(x0 + h) - phi(x0 - h)) / (2 * h);
    if (!std::isfinite(d)) continue;
    if (std::isnan(best) || std::abs(expect - d) < std::abs(expect - best)) best = d;
    if (within(expect, best, o)) break;
  }
  return best;
}

std::vector<double> numeric_gradient(const VarFunction& f, std::span<const double> x0,
                                     const std::vector<double>& expect, const GradcheckOptions& o) {
  std::vector<double> x(x0.begin(), x0.end());
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    auto phi = [&](double xi) {
      x[i] = xi;
      const double v = eval_plain(f, x);
      x[i] = x0[i];
      return v;
    };
    g[i] = central(phi, x0[i], expect[i], o);
  }
  return g;
}

std::string shape_text(const std::vector<std::int64_t>& s) { return shape_str(s); }

// The first recorded op whose own backward disagrees with numeric differences of its own forward.
void localize(const Tape& tape, GradcheckResult& r) {
  LocalOp lop;
  for (std::uint32_t i = 1; i <= tape.size(); ++i) {
    const Node* n = tape.op(i) == Op::Node ? tape.node_at(i) : tape.attached(i);
    lop = LocalOp{};
    const bool runnable = n ? n->local_op(lop) : detail::statement_local_op(tape, i, lop);
    if (!runnable) {
      // Leaves are inputs, not ops; every other slot skipped here is listed, so a clean localisation
      // never hides unchecked parts of the graph.
      if (lop.unavailable.empty() && n) {
        lop.unavailable = "the node does not describe itself for a re-run (Node::local_op)";
      }
      if (!lop.unavailable.empty()) r.not_checked.push_back(detail::short_slot(tape, i) + ": " + lop.unavailable);
      continue;
    }
    ++r.ops_checked;
    OpCheck c = check_local_op(lop, r.options);
    if (c.ok) continue;
    c.slot = i;
    c.label = tape.label(i);
    if (c.label.empty()) c.label = lop.label;
    r.fault = std::move(c);
    return;
  }
}

}  // namespace

namespace detail {

double gc_central(const std::function<double(double)>& phi, double x0, double expect, const GradcheckOptions& o) {
  return central(phi, x0, expect, o);
}
bool gc_within(double a, double n, const GradcheckOptions& o) { return within(a, n, o); }
double gc_rel_error(double a, double n) { return rel_error(a, n); }
std::string gc_input_name(const GradcheckOptions& o, std::size_t i) { return input_name(o, i); }
void gc_localize(const Tape& tape, GradcheckResult& r) { localize(tape, r); }
std::vector<std::int64_t> unravel(std::size_t flat, const std::vector<std::int64_t>& shape) {
  std::vector<std::int64_t> idx(shape.size(), 0);
  for (std::size_t d = shape.size(); d-- > 0;) {
    const auto n = static_cast<std::size_t>(std::max<std::int64_t>(shape[d], 1));
    idx[d] = static_cast<std::int64_t>(flat % n);
    flat /= n;
  }
  return idx;
}

}  // namespace detail

std::string OpCheck::describe() const {
  std::ostringstream os;
  os << "'" << op << "'";
  if (!label.empty()) os << " (label '" << label << "')";
  if (slot != 0) os << " at tape slot " << slot;
  os << ", input shapes";
  for (std::size_t k = 0; k < input_shapes.size(); ++k) os << (k ? ", " : " ") << shape_text(input_shapes[k]);
  os << ": worst at input " << worst_input << " element " << worst_element;
  if (worst_input < input_shapes.size() && !input_shapes[worst_input].empty()) {
    os << " (index " << shape_text(detail::unravel(worst_element, input_shapes[worst_input])) << ")";
  }
  os << ": backward gives " << analytic
     << ", numeric differences give " << numeric << " (abs error " << abs_error << ", rel error "
     << rel_error << ")";
  return os.str();
}

OpCheck check_local_op(const LocalOp& op, const GradcheckOptions& o) {
  OpCheck c;
  c.op = op.name;
  c.input_shapes = op.input_shapes;
  std::vector<double> x = op.inputs;
  const std::vector<double> y0 = op.forward(x);
  // A fixed, uneven output gradient: every output element gets a distinct weight, so one vector-Jacobian
  // product tests all of the Jacobian's rows at once.
  std::vector<double> v(y0.size());
  for (std::size_t j = 0; j < v.size(); ++j) v[j] = 1.0 + 0.37 * static_cast<double>(j % 7) - 0.11 * (j % 3);
  const std::vector<double> analytic = op.backward(x, v);
  auto project = [&](const std::vector<double>& y) {
    double s = 0.0;
    for (std::size_t j = 0; j < y.size() && j < v.size(); ++j) s += v[j] * y[j];
    return s;
  };
  // Element k belongs to input `owner[k]` at flat position `pos[k]`.
  std::vector<std::size_t> owner(x.size(), 0);
  std::vector<std::size_t> pos(x.size(), 0);
  {
    std::size_t k = 0;
    for (std::size_t in = 0; in < op.input_shapes.size(); ++in) {
      std::size_t count = 1;
      for (std::int64_t d : op.input_shapes[in]) count *= static_cast<std::size_t>(d);
      for (std::size_t e = 0; e < count && k < x.size(); ++e, ++k) {
        owner[k] = in;
        pos[k] = e;
      }
    }
  }
  double worst = -1.0;
  for (std::size_t k = 0; k < x.size(); ++k) {
    const double ana = k < analytic.size() ? analytic[k] : std::nan("");
    const double x0 = x[k];
    auto phi = [&](double xk) {
      x[k] = xk;
      const double projected = project(op.forward(x));
      x[k] = x0;
      return projected;
    };
    const double num = central(phi, x0, ana, o);
    if (std::isnan(num)) continue;  // the forward is not finite around x: nothing to compare with
    const double err = std::abs(ana - num);
    if (!within(ana, num, o)) c.ok = false;
    if (err > worst || std::isnan(err)) {
      worst = std::isnan(err) ? INFINITY : err;
      c.worst_input = owner[k];
      c.worst_element = pos[k];
      c.analytic = ana;
      c.numeric = num;
      c.abs_error = err;
      c.rel_error = rel_error(ana, num);
    }
  }
  if (analytic.size() != x.size()) c.ok = false;
  return c;
}

GradcheckResult gradcheck(const VarFunction& f, std::span<const double> inputs, const GradcheckOptions& options) {
  GradcheckResult r;
  r.options = options;
  std::vector<double> analytic(inputs.size(), 0.0);
  {
    ScopedTape scope(TapeOptions{.keep_values = true});
    std::vector<Var> xs;
    xs.reserve(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      xs.emplace_back(inputs[i]);
      xs.back().label(input_name(options, i));
    }
    const Var y = f(xs);
    if (y.requires_grad()) {
      if (y.stamp() != scope.tape().stamp()) {
        throw TapeError("gradcheck: the function returned a Var recorded on another tape than its inputs");
      }
      analytic = grad(y, std::span<const Var>(xs), BackwardOptions{.retain_graph = true});
    }
    const std::vector<double> numeric = numeric_gradient(f, inputs, analytic, options);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      InputError e;
      e.name = input_name(options, i);
      e.analytic = analytic[i];
      e.numeric = numeric[i];
      e.max_abs_error = std::abs(analytic[i] - numeric[i]);
      e.max_rel_error = rel_error(analytic[i], numeric[i]);
      e.ok = within(analytic[i], numeric[i], options);
      r.ok = r.ok && e.ok;
      r.inputs.push_back(std::move(e));
    }
    if (!r.ok && options.localize) localize(scope.tape(), r);
  }
  return r;
}

GradcheckResult gradcheck(const VarFunction& f, std::initializer_list<double> inputs,
                          const GradcheckOptions& options) {
  return gradcheck(f, std::span<const double>(inputs.begin(), inputs.size()), options);
}

std::string GradcheckResult::report() const {
  std::ostringstream os;
  os << "gradcheck: " << (ok ? "passed" : "FAILED") << " (atol " << options.atol << ", rtol " << options.rtol
     << ")\n";
  for (const std::string& note : notes) os << "  note: " << note << "\n";
  for (const InputError& e : inputs) {
    os << "  input " << e.name;
    if (!e.shape.empty()) os << " " << shape_text(e.shape);
    os << ": " << (e.ok ? "ok" : "WRONG") << ", max abs error " << e.max_abs_error << ", max rel error "
       << e.max_rel_error << ", worst element " << e.worst_element;
    if (!e.worst_index.empty()) os << " " << shape_text(e.worst_index);
    os << " (autograd " << e.analytic << ", numeric " << e.numeric << ")\n";
  }
  if (fault) {
    os << "  first op whose backward is wrong: " << fault->describe() << "\n";
  } else if (!ok && options.localize) {
    os << "  no recorded op that can be re-run disagrees with its own forward (" << ops_checked
       << " checked; statements that folded in a constant, such as x * 3, cannot be re-run): the function "
          "may not be differentiable at this point\n";
  }
  if (!ok) {
    for (const std::string& skipped : not_checked) os << "  not re-run alone: " << skipped << "\n";
  }
  return os.str();
}

GradientComparison check_gradient(const VarFunction& f, const HandGradient& hand, std::span<const double> inputs,
                                  const GradcheckOptions& options) {
  GradientComparison c;
  GradcheckOptions quiet = options;
  quiet.localize = false;
  const GradcheckResult g = gradcheck(f, inputs, quiet);
  const std::vector<double> h = hand(inputs);
  std::ostringstream verdict;
  if (h.size() != inputs.size()) {
    c.ok = false;
    verdict << "the hand gradient has " << h.size() << " elements for " << inputs.size()
            << " inputs; it must have one per input";
    c.verdict = verdict.str();
    return c;
  }
  std::vector<std::pair<double, std::string>> wrong;
  std::vector<std::string> autograd_wrong;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    GradientRow row;
    row.name = g.inputs[i].name;
    row.hand = h[i];
    row.autograd = g.inputs[i].analytic;
    row.numeric = g.inputs[i].numeric;
    row.hand_ok = within(row.hand, row.numeric, options);
    row.autograd_ok = g.inputs[i].ok;
    if (!row.hand_ok) wrong.emplace_back(std::abs(row.hand - row.numeric), row.name);
    if (!row.autograd_ok) autograd_wrong.push_back(row.name);
    c.rows.push_back(row);
  }
  std::stable_sort(wrong.begin(), wrong.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& w : wrong) c.wrong.push_back(w.second);
  c.ok = wrong.empty();
  if (c.ok) {
    verdict << "PASS: the hand gradient agrees with numeric differences on all " << inputs.size()
            << " elements";
    verdict << (autograd_wrong.empty() ? " (and with autograd)" : "");
  } else {
    const GradientRow* worst = nullptr;
    for (const GradientRow& row : c.rows) {
      if (row.name == c.wrong.front()) worst = &row;
    }
    verdict << "FAIL: the hand gradient is wrong at " << c.wrong.size() << " of " << inputs.size()
            << " elements; worst at " << worst->name << ": hand " << worst->hand << ", autograd "
            << worst->autograd << ", numeric " << worst->numeric;
    if (c.wrong.size() > 1) {
      verdict << "; also wrong:";
      for (std::size_t k = 1; k < c.wrong.size(); ++k) verdict << " " << c.wrong[k];
    }
  }
  if (!autograd_wrong.empty()) {
    verdict << ". Note: autograd itself disagrees with numeric differences at";
    for (const auto& n : autograd_wrong) verdict << " " << n;
    verdict << " (a wrong custom backward, or a point where the function is not differentiable); run "
               "tg::gradcheck to find the op";
  }
  c.verdict = verdict.str();
  return c;
}

GradientComparison check_gradient(const VarFunction& f, const HandGradient& hand,
                                  std::initializer_list<double> inputs, const GradcheckOptions& options) {
  return check_gradient(f, hand, std::span<const double>(inputs.begin(), inputs.size()), options);
}

std::string GradientComparison::report() const {
  std::ostringstream os;
  os.precision(10);
  os << "element        hand            autograd        numeric\n";
  for (const GradientRow& r : rows) {
    os.width(14);
    os << std::left << r.name << " ";
    os.width(15);
    os << r.hand << " ";
    os.width(15);
    os << r.autograd << " ";
    os.width(15);
    os << r.numeric << (r.hand_ok ? "" : "  <- hand gradient wrong") << "\n";
  }
  os << verdict << "\n";
  return os.str();
}

}  // namespace tg
