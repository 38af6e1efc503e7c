// A new differentiable op defined by the user (a forward and its derivative, as torch.autograd.Function),
// verified by gradcheck; then the same op with a slip in its derivative, caught and pinpointed.
#include <cmath>
#include <cstdio>
#include <exception>
#include <span>
#include <vector>

#include "example_args.hpp"
#include "tapegrad/tapegrad.hpp"

namespace {

// log(cosh x), the smooth "Huber-like" loss: quadratic near 0, linear far out. Written as
// |x| + log1p(e^{-2|x|}) - log 2 so that cosh never overflows; its derivative is tanh x.
double log_cosh_value(std::span<const double> x) {
  const double a = std::abs(x[0]);
  return a + std::log1p(std::exp(-2.0 * a)) - std::log(2.0);
}

const tg::CustomOp log_cosh = tg::custom_op(
    "log_cosh", log_cosh_value,
    [](std::span<const double> x, double) { return std::vector<double>{std::tanh(x[0])}; }, 1);

// The same op with a chain-rule slip, the inner derivative forgotten: d/dx log(cosh x)
// = (1 / cosh x) · sinh x, written here as 1 / cosh x.
const tg::CustomOp log_cosh_buggy = tg::custom_op(
    "log_cosh_buggy", log_cosh_value,
    [](std::span<const double> x, double) { return std::vector<double>{1.0 / std::cosh(x[0])}; }, 1);

// A two-input op: the Euclidean length √(a² + b²), with partials a/r and b/r.
const tg::CustomOp hypot_op = tg::custom_op(
    "hypot", [](std::span<const double> x) { return std::hypot(x[0], x[1]); },
    [](std::span<const double> x, double r) { return std::vector<double>{x[0] / r, x[1] / r}; }, 2);

// A regression loss over three residuals with the op inside a larger graph: weights w0, w1 of a line
// fitted to three points, summed log-cosh of the residuals, plus the length of the weight vector.
tg::Var loss(std::span<const tg::Var> w, const tg::CustomOp& op) {
  const double xs[3] = {-1.0, 0.5, 2.0};
  const double ys[3] = {-2.1, 0.8, 3.9};
  tg::Var total = tg::Var::constant(0.0);
  for (int i = 0; i < 3; ++i) {
    tg::Var residual = w[0] * xs[i] + w[1] - ys[i];
    tg::Var term = op(residual);
    term.label("lc" + std::to_string(i));
    total = total + term;
  }
  return total + 0.1 * hypot_op(w[0], w[1]);
}

int run(const tg::examples::ExampleArgs&) {
  std::printf("A user-defined op: log_cosh(x) = log(cosh x), derivative tanh x.\n");
  {
    tg::ScopedTape tape;
    tg::Var x(0.8);
    tg::Var y = log_cosh(x);
    y.backward();
    std::printf("  log_cosh(0.8) = %.12f   (std::log(std::cosh(0.8)) = %.12f)\n", y.value(),
                std::log(std::cosh(0.8)));
    std::printf("  d/dx at 0.8   = %.12f   (tanh 0.8 = %.12f)\n", x.grad(), std::tanh(0.8));
    tg::Var far(800.0);
    std::printf("  log_cosh(800) = %.6f    (cosh 800 overflows a double; the op's formula does not)\n\n",
                log_cosh(far).value());
  }

  tg::GradcheckOptions opts;
  opts.names = {"w0", "w1"};
  const std::vector<double> at = {1.7, 0.2};
  std::printf("gradcheck of a loss built from log_cosh and hypot (two custom ops) at w = (1.7, 0.2):\n");
  const tg::GradcheckResult good =
      tg::gradcheck([](std::span<const tg::Var> w) { return loss(w, log_cosh); }, at, opts);
  std::printf("%s\n", good.report().c_str());

  std::printf("The same loss with a slip in the op's derivative (1/cosh x instead of tanh x):\n");
  const tg::GradcheckResult bad =
      tg::gradcheck([](std::span<const tg::Var> w) { return loss(w, log_cosh_buggy); }, at, opts);
  std::printf("%s\n", bad.report().c_str());
  if (bad.fault) {
    std::printf("gradcheck checked %zu recorded ops on their own and names the first wrong one: '%s', the\n"
                "recording labelled '%s'. Its backward says %.9f where the forward's slope is %.9f.\n",
                bad.ops_checked, bad.fault->op.c_str(), bad.fault->label.c_str(), bad.fault->analytic,
                bad.fault->numeric);
  }

  const bool as_expected = good.ok && !bad.ok && bad.fault && bad.fault->op == "log_cosh_buggy";
  if (!as_expected) std::fprintf(stderr, "custom_op: gradcheck did not give the expected verdicts\n");
  return as_expected ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  return tg::examples::run_example(argc, argv, "custom_op", run);
}
