// Built-in scalar statements as LocalOps, so gradcheck can re-run them: only statements whose opcode and
// recorded inputs determine the function (sin of a Var, a product of two Vars...), never ones that folded
// a constant in (x * 3 records one argument, and the 3 is not on the tape).
#include <cmath>
#include <string>

#include "inspect.hpp"
#include "tapegrad/local_op.hpp"

namespace tg::detail {

namespace {

using Fn1 = double (*)(double);
using Fn2 = double (*)(double, double);

double sigmoid_fn(double x) { return x >= 0 ? 1.0 / (1.0 + std::exp(-x)) : std::exp(x) / (1.0 + std::exp(x)); }
double softplus_fn(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

// Functions of one Var (each recorded with exactly one argument and no hidden constant).
Fn1 unary(Op op) {
  switch (op) {
    case Op::Neg: return [](double x) { return -x; };
    case Op::Exp: return [](double x) { return std::exp(x); };
    case Op::Log: return [](double x) { return std::log(x); };
    case Op::Sqrt: return [](double x) { return std::sqrt(x); };
    case Op::Sin: return [](double x) { return std::sin(x); };
    case Op::Cos: return [](double x) { return std::cos(x); };
    case Op::Tan: return [](double x) { return std::tan(x); };
    case Op::Tanh: return [](double x) { return std::tanh(x); };
    case Op::Sigmoid: return sigmoid_fn;
    case Op::Softplus: return softplus_fn;
    case Op::Relu: return [](double x) { return x > 0 ? x : 0.0; };
    case Op::Abs: return [](double x) { return std::abs(x); };
    case Op::Log1p: return [](double x) { return std::log1p(x); };
    case Op::Expm1: return [](double x) { return std::expm1(x); };
    case Op::Atan: return [](double x) { return std::atan(x); };
    case Op::Asin: return [](double x) { return std::asin(x); };
    case Op::Acos: return [](double x) { return std::acos(x); };
    case Op::Sinh: return [](double x) { return std::sinh(x); };
    case Op::Cosh: return [](double x) { return std::cosh(x); };
    case Op::Square: return [](double x) { return x * x; };
    case Op::Cbrt: return [](double x) { return std::cbrt(x); };
    default: return nullptr;
  }
}

// Functions of two Vars (recorded with exactly two arguments).
Fn2 binary(Op op) {
  switch (op) {
    case Op::Add: return [](double a, double b) { return a + b; };
    case Op::Sub: return [](double a, double b) { return a - b; };
    case Op::Mul: return [](double a, double b) { return a * b; };
    case Op::Div: return [](double a, double b) { return a / b; };
    case Op::Pow: return [](double a, double b) { return std::pow(a, b); };
    case Op::Min: return [](double a, double b) { return std::min(a, b); };
    case Op::Max: return [](double a, double b) { return std::max(a, b); };
    case Op::Hypot: return [](double a, double b) { return std::hypot(a, b); };
    case Op::Atan2: return [](double a, double b) { return std::atan2(a, b); };
    default: return nullptr;
  }
}

// Near a kink the one-sided derivative the op chose (relu'(0) = 0, a tie of min...) is a convention, not
// something differences can confirm: such statements are not checked there.
bool near_kink(Op op, const std::vector<double>& x) {
  constexpr double kMargin = 1e-4;
  switch (op) {
    case Op::Relu:
    case Op::Abs: return std::abs(x[0]) < kMargin;
    case Op::Min:
    case Op::Max: return std::abs(x[0] - x[1]) < kMargin * std::max(1.0, std::abs(x[0]));
    default: return false;
  }
}

}  // namespace

bool statement_local_op(const Tape& tape, std::uint32_t i, LocalOp& out) {
  const Op op = tape.op(i);
  if (op == Op::Node || op == Op::Leaf) return false;
  if (!tape.options().keep_values) {
    out.unavailable = "the tape does not keep values (TapeOptions::keep_values), so its inputs are unknown";
    return false;
  }
  const std::uint32_t begin = tape.arg_begin(i);
  const std::uint32_t n = tape.arg_end(i) - begin;
  std::vector<double> x;
  std::vector<double> partials;
  for (std::uint32_t k = begin; k < begin + n; ++k) {
    x.push_back(tape.value(tape.arg(k)));
    partials.push_back(tape.partial(k));
  }
  const Fn1 f1 = n == 1 ? unary(op) : nullptr;
  const Fn2 f2 = n == 2 ? binary(op) : nullptr;
  const bool is_sum = op == Op::Sum && n >= 1;
  if (!f1 && !f2 && !is_sum) {
    // Say why, so that a reader of the report knows which part of the graph went unchecked.
    if (n == 1 && binary(op)) {
      out.unavailable = "a constant operand was folded in (as the 3 in x * 3) and is not on the tape";
    } else {
      out.unavailable = std::string("a '") + op_name(op) + "' statement with " + std::to_string(n) +
                        " recorded argument(s) has parameters or constants that are not on the tape";
    }
    return false;
  }
  if (near_kink(op, x)) {
    out.unavailable = "its input is at a kink, where the derivative it uses is a convention that differences "
                      "cannot confirm";
    return false;
  }
  out.name = op_name(op);
  out.input_shapes.assign(n, {});
  out.output_shape.clear();
  out.inputs = x;
  if (f1) {
    out.forward = [f1](std::span<const double> v) { return std::vector<double>{f1(v[0])}; };
  } else if (f2) {
    out.forward = [f2](std::span<const double> v) { return std::vector<double>{f2(v[0], v[1])}; };
  } else {
    out.forward = [](std::span<const double> v) {
      double s = 0.0;
      for (double e : v) s += e;
      return std::vector<double>{s};
    };
  }
  // The backward rule of a statement is its recorded partials: valid at the recorded inputs, which is
  // where gradcheck evaluates it.
  out.backward = [partials](std::span<const double>, std::span<const double> g) {
    std::vector<double> r = partials;
    for (double& e : r) e *= g[0];
    return r;
  };
  return true;
}

}  // namespace tg::detail
