// gradcheck for tensor functions: autograd (one vector-Jacobian product) against float64 central
// differences, element by element, with the fault pinned to the first wrong recorded op.
#include <cmath>
#include <sstream>

#include "gradcheck_impl.hpp"
#include "tapegrad/ops.hpp"
#include "tapegrad/tensor_tools.hpp"

namespace tg {

namespace {

// A fixed seed: the projection weights, hence the report, are the same on every run.
constexpr std::uint64_t kWeightSeed = 0x5eed6c4ec4ull;

std::vector<Tensor> make_inputs(const std::vector<std::vector<double>>& values, const std::vector<Shape>& shapes) {
  std::vector<Tensor> xs;
  for (std::size_t i = 0; i < values.size(); ++i) {
    xs.push_back(tensor(std::span<const double>(values[i]), shapes[i], {.dtype = kFloat64}));
  }
  return xs;
}

}  // namespace

GradcheckResult gradcheck(const TensorListFunction& f, const std::vector<Tensor>& inputs, const GradcheckOptions& o) {
  GradcheckResult r;
  r.options = o;
  std::vector<std::vector<double>> values;
  std::vector<Shape> shapes;
  bool converted = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& t = inputs[i];
    if (!t.defined()) throw ValueError("gradcheck: input " + std::to_string(i) + " is undefined");
    if (!is_floating(t.dtype())) {
      throw DtypeError(std::string("gradcheck: input ") + std::to_string(i) + " has dtype " + dtype_name(t.dtype()) +
                       "; only float inputs can be differentiated (pass index tensors through the function)");
    }
    converted = converted || t.dtype() == kFloat32;
    NoGradGuard off;
    values.push_back(t.detach().to(kFloat64).to_vector<double>());
    shapes.push_back(t.shape());
  }
  if (converted) r.notes.push_back("float32 inputs were converted to float64; the check runs in float64");

  ScopedTape scope(TapeOptions{.keep_values = true});
  TensorTraceGuard trace;
  std::vector<Tensor> xs = make_inputs(values, shapes);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    xs[i].requires_grad_(true);
    xs[i].label(detail::gc_input_name(o, i));
  }
  const Tensor y = f(xs);
  if (!y.defined() || !is_floating(y.dtype())) {
    throw DtypeError("gradcheck: the function must return a defined float tensor");
  }
  if (y.dtype() == kFloat32) {
    r.notes.push_back("the function returned float32 from float64 inputs: it rounds to float32 inside, so "
                      "expect errors near 1e-7 relative");
  }
  Tensor w;
  if (y.numel() == 1) {
    w = ones_like(y);
  } else {
    Generator gen(kWeightSeed);
    w = randn(y.shape(), {.dtype = y.dtype()}, &gen);
    r.notes.push_back("the output has shape " + shape_str(y.shape()) +
                      ": checking the gradient of sum(out * w) for fixed random weights w");
  }
  std::vector<Tensor> analytic;
  if (y.requires_grad()) {
    analytic = grad({y}, xs, {w}, BackwardOptions{.retain_graph = true});
  } else {
    for (const Tensor& x : xs) analytic.push_back(zeros_like(x));
  }
  const std::vector<double> wv = w.to(kFloat64).to_vector<double>();
  auto projected = [&](const std::vector<std::vector<double>>& vals) {
    NoGradGuard off;
    const std::vector<double> out = f(make_inputs(vals, shapes)).to(kFloat64).to_vector<double>();
    double s = 0.0;
    for (std::size_t j = 0; j < out.size() && j < wv.size(); ++j) s += wv[j] * out[j];
    return s;
  };
  std::vector<std::vector<double>> x = values;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    InputError e;
    e.name = detail::gc_input_name(o, i);
    e.shape.assign(shapes[i].begin(), shapes[i].end());
    const std::vector<double> a = analytic[i].to(kFloat64).to_vector<double>();
    double worst = -1.0;
    for (std::size_t k = 0; k < values[i].size(); ++k) {
      auto phi = [&](double v) {
        x[i][k] = v;
        const double p = projected(x);
        x[i][k] = values[i][k];
        return p;
      };
      const double num = detail::gc_central(phi, values[i][k], a[k], o);
      const double err = std::isnan(num) ? 0.0 : std::abs(a[k] - num);
      if (!std::isnan(num) && !detail::gc_within(a[k], num, o)) e.ok = false;
      if (std::isnan(num)) continue;
      e.max_rel_error = std::max(e.max_rel_error, detail::gc_rel_error(a[k], num));
      if (err > worst || std::isnan(err)) {
        worst = std::isnan(err) ? INFINITY : err;
        e.worst_element = k;
        e.analytic = a[k];
        e.numeric = num;
        e.max_abs_error = std::isnan(err) ? INFINITY : err;
      }
    }
    if (!e.shape.empty()) e.worst_index = detail::unravel(e.worst_element, e.shape);
    r.ok = r.ok && e.ok;
    r.inputs.push_back(std::move(e));
  }
  if (!r.ok && o.localize) detail::gc_localize(scope.tape(), r);
  return r;
}

}  // namespace tg
