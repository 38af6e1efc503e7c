// torch.nn.init's formulas, filling parameters in place from a seeded generator.
#include "tapegrad/nn/init.hpp"

#include <cmath>
#include <string>

namespace tg::nn::init {

namespace {

void check(const Tensor& t, const char* fn) {
  if (!t.defined()) throw ValueError(std::string("init::") + fn + ": the tensor is undefined");
  if (!is_floating(t.dtype())) {
    throw DtypeError(std::string("init::") + fn + ": needs a float tensor, got " + dtype_name(t.dtype()));
  }
}

// Writes src's values into t without recording (init runs on parameters that require grad).
Tensor& fill_from(Tensor& t, const Tensor& src) {
  NoGradGuard ng;
  t.copy_(src);
  return t;
}

std::int64_t fan(const Tensor& t, FanMode mode) {
  const auto [in, out] = fan_in_and_fan_out(t);
  return mode == FanMode::FanIn ? in : out;
}

}  // namespace

double calculate_gain(Nonlinearity nl, double param) {
  switch (nl) {
    case Nonlinearity::Linear:
    case Nonlinearity::Conv:
    case Nonlinearity::Sigmoid:
      return 1.0;
    case Nonlinearity::Tanh:
      return 5.0 / 3.0;
    case Nonlinearity::ReLU:
      return std::sqrt(2.0);
    case Nonlinearity::LeakyReLU: {
      const double slope = param < 0.0 ? 0.01 : param;
      return std::sqrt(2.0 / (1.0 + slope * slope));
    }
    case Nonlinearity::SELU:
      return 0.75;
  }
  throw ValueError("calculate_gain: unknown nonlinearity");
}

std::pair<std::int64_t, std::int64_t> fan_in_and_fan_out(const Tensor& t) {
  if (!t.defined() || t.dim() < 2) {
    throw ValueError("init: fan in and fan out need a tensor of at least 2 dimensions, got " +
                     (t.defined() ? shape_str(t.shape()) : std::string("an undefined tensor")));
  }
  std::int64_t receptive = 1;
  for (std::int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

Tensor& uniform_(Tensor& t, double lo, double hi, Generator* gen) {
  check(t, "uniform_");
  if (!(lo <= hi)) throw ValueError("init::uniform_: lo must be <= hi, got " + std::to_string(lo) + " and " + std::to_string(hi));
  return fill_from(t, tg::uniform(t.shape(), lo, hi, {.dtype = t.dtype()}, gen));
}

Tensor& normal_(Tensor& t, double mean, double std, Generator* gen) {
  check(t, "normal_");
  if (!(std >= 0.0)) throw ValueError("init::normal_: std must be >= 0, got " + std::to_string(std));
  return fill_from(t, tg::normal(t.shape(), mean, std, {.dtype = t.dtype()}, gen));
}

Tensor& constant_(Tensor& t, double v) {
  check(t, "constant_");
  NoGradGuard ng;
  t.fill_(v);
  return t;
}

Tensor& zeros_(Tensor& t) { return constant_(t, 0.0); }
Tensor& ones_(Tensor& t) { return constant_(t, 1.0); }

Tensor& xavier_uniform_(Tensor& t, double gain, Generator* gen) {
  check(t, "xavier_uniform_");
  if (t.numel() == 0) return t;
  const auto [in, out] = fan_in_and_fan_out(t);
  const double a = gain * std::sqrt(6.0 / static_cast<double>(in + out));
  return uniform_(t, -a, a, gen);
}

Tensor& xavier_normal_(Tensor& t, double gain, Generator* gen) {
  check(t, "xavier_normal_");
  if (t.numel() == 0) return t;
  const auto [in, out] = fan_in_and_fan_out(t);
  return normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(in + out)), gen);
}

Tensor& kaiming_uniform_(Tensor& t, double a, FanMode mode, Nonlinearity nl, Generator* gen) {
  check(t, "kaiming_uniform_");
  if (t.numel() == 0) return t;
  const double bound = calculate_gain(nl, a) * std::sqrt(3.0 / static_cast<double>(fan(t, mode)));
  return uniform_(t, -bound, bound, gen);
}

Tensor& kaiming_normal_(Tensor& t, double a, FanMode mode, Nonlinearity nl, Generator* gen) {
  check(t, "kaiming_normal_");
  if (t.numel() == 0) return t;
  return normal_(t, 0.0, calculate_gain(nl, a) / std::sqrt(static_cast<double>(fan(t, mode))), gen);
}

}  // namespace tg::nn::init
