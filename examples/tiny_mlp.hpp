// A small multilayer perceptron, Adam and the two classification losses written directly on tg::Tensor for
// the example programs: every line is a tensor op, so the whole training loop is visible in one file.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace tiny {

/// The hidden-layer nonlinearity.
enum class Act { tanh, relu, sigmoid };

/// Applies `act` elementwise.
inline tg::Tensor activate(const tg::Tensor& x, Act act) {
  switch (act) {
    case Act::tanh:
      return tg::tanh(x);
    case Act::relu:
      return tg::relu(x);
    case Act::sigmoid:
      return tg::sigmoid(x);
  }
  return x;
}

/// A fully connected network: sizes {in, h1, ..., out}, `act` after every layer but the last (which
/// returns raw scores, "logits"). Weights start uniform in ±√(6/fan_in) for ReLU (He) or ±√(6/(fan_in +
/// fan_out)) otherwise (Glorot), biases at 0.
class Mlp {
 public:
  /// Builds the layers with weights drawn from a generator seeded with `seed`.
  Mlp(const std::vector<std::int64_t>& sizes, Act act, std::uint64_t seed, tg::Dtype dtype = tg::kFloat64)
      : act_(act) {
    tg::Generator gen(seed);
    for (std::size_t i = 0; i + 1 < sizes.size(); ++i) {
      const double fan = act == Act::relu ? static_cast<double>(sizes[i]) / 2.0
                                          : static_cast<double>(sizes[i] + sizes[i + 1]) / 2.0;
      const double a = std::sqrt(3.0 / fan);
      tg::Tensor w = tg::uniform({sizes[i], sizes[i + 1]}, -a, a, {.dtype = dtype}, &gen);
      tg::Tensor b = tg::zeros({sizes[i + 1]}, {.dtype = dtype});
      w.requires_grad_();
      b.requires_grad_();
      weights_.push_back(w);
      biases_.push_back(b);
    }
  }

  /// The scores for a batch x of shape [n, in]: shape [n, out].
  tg::Tensor forward(const tg::Tensor& x) const {
    tg::Tensor h = x;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
      h = tg::matmul(h, weights_[i]) + biases_[i];
      if (i + 1 < weights_.size()) h = activate(h, act_);
    }
    return h;
  }

  /// Every weight and bias, layer by layer (weight first).
  std::vector<tg::Tensor> parameters() const {
    std::vector<tg::Tensor> ps;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
      ps.push_back(weights_[i]);
      ps.push_back(biases_[i]);
    }
    return ps;
  }

  /// Names matching parameters(): "layer0.weight", "layer0.bias", ...
  std::vector<std::string> parameter_names() const {
    std::vector<std::string> names;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
      names.push_back("layer" + std::to_string(i) + ".weight");
      names.push_back("layer" + std::to_string(i) + ".bias");
    }
    return names;
  }

 private:
  Act act_;
  std::vector<tg::Tensor> weights_;
  std::vector<tg::Tensor> biases_;
};

/// Adam (Kingma & Ba) with bias correction, updating the tensors in place.
class Adam {
 public:
  /// Optimises `params` with learning rate lr and the usual β1 = 0.9, β2 = 0.999, ε = 1e-8.
  Adam(std::vector<tg::Tensor> params, double lr) : params_(std::move(params)), lr_(lr) {
    for (const tg::Tensor& p : params_) {
      m_.push_back(tg::zeros_like(p));
      v_.push_back(tg::zeros_like(p));
    }
  }
  /// Clears every parameter's gradient.
  void zero_grad() {
    for (const tg::Tensor& p : params_) {
      if (p.grad().defined()) p.zero_grad();
    }
  }
  /// One update from the gradients of the last backward.
  void step() {
    tg::NoGradGuard no_grad;
    ++t_;
    const double c1 = 1.0 - std::pow(b1_, static_cast<double>(t_));
    const double c2 = 1.0 - std::pow(b2_, static_cast<double>(t_));
    for (std::size_t i = 0; i < params_.size(); ++i) {
      const tg::Tensor g = params_[i].grad();
      if (!g.defined()) continue;
      m_[i].mul_(b1_).add_(g, 1.0 - b1_);
      v_[i].mul_(b2_).add_(g * g, 1.0 - b2_);
      params_[i].sub_((m_[i] / c1) / (tg::sqrt(v_[i] / c2) + eps_), lr_);
    }
  }
  /// The learning rate.
  void set_lr(double lr) { lr_ = lr; }

 private:
  std::vector<tg::Tensor> params_;
  std::vector<tg::Tensor> m_;
  std::vector<tg::Tensor> v_;
  double lr_;
  double b1_ = 0.9;
  double b2_ = 0.999;
  double eps_ = 1e-8;
  long t_ = 0;
};

/// Mean binary cross-entropy of logits z [n, 1] against 0/1 targets y [n, 1]:
/// mean(softplus(z) − y·z), the stable form of −[y log σ(z) + (1 − y) log(1 − σ(z))].
inline tg::Tensor bce_with_logits(const tg::Tensor& z, const tg::Tensor& y) {
  return tg::mean(tg::softplus(z) - y * z);
}

/// Mean cross-entropy of logits [n, k] against int64 class indices [n].
inline tg::Tensor cross_entropy(const tg::Tensor& logits, const tg::Tensor& target) {
  const tg::Tensor logp = tg::log_softmax(logits, 1);
  return -tg::mean(tg::gather(logp, 1, tg::unsqueeze(target, 1)));
}

}  // namespace tiny
