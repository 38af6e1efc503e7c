// Every activation function of the tensor library and its derivative as autograd computes it, in one grid
// of small plots; each derivative is checked against central differences, and the sigmoid's symmetry
// σ'(x) = σ'(−x) is shown numerically.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "example_args.hpp"
#include "plot.hpp"
#include "tapegrad/tapegrad.hpp"

namespace {

namespace plot = tg::plot;

struct Activation {
  std::string name;
  std::function<tg::Tensor(const tg::Tensor&)> f;
};

std::vector<Activation> activations() {
  return {
      {"sigmoid", [](const tg::Tensor& x) { return tg::sigmoid(x); }},
      {"tanh", [](const tg::Tensor& x) { return tg::tanh(x); }},
      {"relu", [](const tg::Tensor& x) { return tg::relu(x); }},
      {"leaky_relu(0.1)", [](const tg::Tensor& x) { return tg::leaky_relu(x, 0.1); }},
      {"elu", [](const tg::Tensor& x) { return tg::elu(x); }},
      {"selu", [](const tg::Tensor& x) { return tg::selu(x); }},
      {"softplus", [](const tg::Tensor& x) { return tg::softplus(x); }},
      {"gelu", [](const tg::Tensor& x) { return tg::gelu(x); }},
      {"silu", [](const tg::Tensor& x) { return tg::silu(x); }},
      // The library has no dedicated ops for these three: composed from other ops, autograd still
      // differentiates them.
      {"mish = x tanh(softplus x)", [](const tg::Tensor& x) { return x * tg::tanh(tg::softplus(x)); }},
      {"softsign = x/(1+|x|)", [](const tg::Tensor& x) { return x / (1.0 + tg::abs(x)); }},
      {"hardtanh = clamp(x,-1,1)", [](const tg::Tensor& x) { return tg::clamp(x, -1.0, 1.0); }},
  };
}

// f(x) and autograd's f'(x) at every point of xs (one backward of sum(f(x)): each output depends on its
// own input only, so the gradient of the sum is the elementwise derivative).
std::pair<std::vector<double>, std::vector<double>> value_and_derivative(const Activation& a,
                                                                         const std::vector<double>& xs) {
  tg::ScopedTape tape;
  tg::Tensor x = tg::tensor(xs, {static_cast<std::int64_t>(xs.size())}, {.dtype = tg::kFloat64});
  x.requires_grad_();
  tg::Tensor y = a.f(x);
  y.sum().backward();
  return {y.to_vector<double>(), x.grad().to_vector<double>()};
}

// The largest gap between autograd's derivative and a central difference, away from kinks (a central
// difference straddling a kink of relu/hardtanh/leaky_relu measures the average slope, not either side).
double worst_gap(const Activation& a, const std::vector<double>& xs, const std::vector<double>& dy) {
  const double h = 1e-6;
  std::vector<double> lo(xs), hi(xs);
  for (std::size_t i = 0; i < xs.size(); ++i) {
    lo[i] -= h;
    hi[i] += h;
  }
  tg::NoGradGuard no_grad;
  const auto n = static_cast<std::int64_t>(xs.size());
  const auto f_lo = a.f(tg::tensor(lo, {n})).to_vector<double>();
  const auto f_hi = a.f(tg::tensor(hi, {n})).to_vector<double>();
  double worst = 0.0;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const bool near_kink = std::abs(xs[i]) < 2 * h || std::abs(std::abs(xs[i]) - 1.0) < 2 * h;
    if (near_kink) continue;
    worst = std::max(worst, std::abs((f_hi[i] - f_lo[i]) / (2 * h) - dy[i]));
  }
  return worst;
}

int run(const tg::examples::ExampleArgs& args) {
  const std::size_t n = args.quick ? 81 : 401;
  std::vector<double> xs(n);
  for (std::size_t i = 0; i < n; ++i) xs[i] = -4.0 + 8.0 * static_cast<double>(i) / static_cast<double>(n - 1);

  std::printf("Activation functions and their derivatives (autograd), on [-4, 4] with %zu points\n\n", n);
  std::printf("  %-26s %10s %10s %10s   %s\n", "function", "f(-2)", "f(2)", "f'(0.5)", "max |f' - central diff|");
  std::vector<plot::Panel> panels;
  bool all_ok = true;
  for (const Activation& a : activations()) {
    const auto [y, dy] = value_and_derivative(a, xs);
    const double gap = worst_gap(a, xs, dy);
    all_ok = all_ok && gap < 1e-6;
    const auto probe = value_and_derivative(a, {-2.0, 2.0, 0.5});
    std::printf("  %-26s %10.5f %10.5f %10.5f   %.1e%s\n", a.name.c_str(), probe.first[0], probe.first[1],
                probe.second[2], gap, gap < 1e-6 ? "" : "  <-- disagrees");
    plot::Panel p{.title = a.name};
    p.series.push_back({.name = "f(x)", .x = xs, .y = y, .color = std::string(plot::palette(0))});
    p.series.push_back({.name = "f'(x) by autograd", .x = xs, .y = dy, .color = std::string(plot::palette(1)),
                        .dashed = true});
    panels.push_back(std::move(p));
  }
  const auto grid_path = args.out / "activations.svg";
  plot::save_svg(grid_path, plot::panel_grid(panels, {.title = "Activation functions and their derivatives"}));

  // The sigmoid's derivative is even: σ'(x) = σ(x)(1 − σ(x)) = σ(x)σ(−x), symmetric in x.
  std::vector<double> pos, neg;
  for (double v = 0.0; v <= 6.0 + 1e-12; v += 0.5) {
    pos.push_back(v);
    neg.push_back(-v);
  }
  const Activation sigmoid = activations()[0];
  const auto d_pos = value_and_derivative(sigmoid, pos);
  const auto d_neg = value_and_derivative(sigmoid, neg).second;
  std::printf("\nThe sigmoid's derivative is an even function, sigma'(x) = sigma'(-x):\n");
  std::printf("  %6s %16s %16s %16s %10s\n", "x", "sigma'(x)", "sigma'(-x)", "s(x)(1-s(x))", "|diff|");
  double worst_sym = 0.0;
  for (std::size_t i = 0; i < pos.size(); i += args.quick ? 4 : 2) {
    const double s = d_pos.first[i];
    const double diff = std::abs(d_pos.second[i] - d_neg[i]);
    worst_sym = std::max(worst_sym, diff);
    std::printf("  %6.2f %16.12f %16.12f %16.12f %10.1e\n", pos[i], d_pos.second[i], d_neg[i], s * (1 - s), diff);
  }
  std::printf("  largest |sigma'(x) - sigma'(-x)| above: %.1e\n", worst_sym);

  std::printf("\nWrote %s\n", grid_path.string().c_str());
  if (!all_ok || worst_sym > 1e-15) {
    std::fprintf(stderr, "activations: a derivative disagrees with its numerical check\n");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tg::examples::run_example(argc, argv, "activations", run);
}
