// Classification losses: NLL on log-probabilities and cross-entropy on logits, with class weights,
// ignore_index and label smoothing as PyTorch defines them.
#include <cstdint>
#include <string>

#include "loss_common.hpp"
#include "tapegrad/nn/loss.hpp"

namespace tg::nn::functional {

namespace {

// [1, C, 1, ...]: a per-class tensor broadcast against [N, C, d...].
Shape class_shape(const Tensor& x) {
  Shape s(static_cast<std::size_t>(x.dim()), 1);
  s[1] = x.size(1);
  return s;
}

void check_input(const char* op, const Tensor& input) {
  if (!input.defined()) throw ValueError(std::string(op) + ": the input is undefined");
  if (!is_floating(input.dtype())) {
    throw DtypeError(std::string(op) + ": input must be a float tensor, got " + dtype_name(input.dtype()));
  }
  if (input.dim() == 0) throw ShapeError(std::string(op) + ": input must be [C], [N, C] or [N, C, d...], got []");
}

void check_weight(const char* op, const Tensor& weight, const Tensor& input) {
  if (!weight.defined()) return;
  if (weight.dim() != 1 || weight.size(0) != input.size(1)) {
    throw ShapeError(std::string(op) + ": weight must be [" + std::to_string(input.size(1)) + "] (one per class), got " +
                     shape_str(weight.shape()));
  }
  if (weight.dtype() != input.dtype()) {
    throw DtypeError(std::string(op) + ": weight dtype " + dtype_name(weight.dtype()) + " does not match input dtype " +
                     dtype_name(input.dtype()));
  }
}

struct TargetScan {
  bool has_ignored = false;
  std::int64_t kept = 0;
};

// Checks that every class index is in [0, C) or equals ignore_index; counts the ones that count.
TargetScan scan_targets(const char* op, const Tensor& target, std::int64_t classes, std::int64_t ignore_index) {
  TargetScan s;
  for (const std::int64_t t : target.to_vector<std::int64_t>()) {
    if (t == ignore_index) {
      s.has_ignored = true;
      continue;
    }
    if (t < 0 || t >= classes) {
      throw IndexError(std::string(op) + ": target " + std::to_string(t) + " is out of range for " +
                       std::to_string(classes) + " classes");
    }
    ++s.kept;
  }
  return s;
}

// NLL (and the label-smoothing term) for batched log-probabilities logp [N, C, d...] and targets [N, d...].
Tensor nll_batched(const char* op, const Tensor& logp, const Tensor& target, const Tensor& weight,
                   std::int64_t ignore_index, Reduction r, double smoothing) {
  const std::int64_t classes = logp.size(1);
  Shape expected = logp.shape();
  expected.erase(expected.begin() + 1);
  if (target.shape() != expected) {
    throw ShapeError(std::string(op) + ": class-index target must have shape " + shape_str(expected) + " for input " +
                     shape_str(logp.shape()) + ", got " + shape_str(target.shape()));
  }
  check_weight(op, weight, logp);
  const TargetScan scan = scan_targets(op, target, classes, ignore_index);
  const Tensor safe = scan.has_ignored ? where(target == static_cast<double>(ignore_index), 0.0, target) : target;
  Tensor mask;
  if (scan.has_ignored) mask = (target != static_cast<double>(ignore_index)).to(logp.dtype());
  Tensor per = -tg::gather(logp, 1, safe.unsqueeze(1)).squeeze(1);
  Tensor wt;
  if (weight.defined()) {
    wt = tg::index_select(weight, 0, safe.reshape({-1})).reshape(target.shape());
    if (mask.defined()) wt = wt * mask;
    per = per * wt;
  } else if (mask.defined()) {
    per = per * mask;
  }
  // Mean divides by the total weight of the counted targets (their number without weights).
  auto reduce = [&](const Tensor& v) -> Tensor {
    if (r == Reduction::None) return v;
    if (r == Reduction::Sum) return v.sum();
    if (wt.defined()) return v.sum() / wt.sum();
    if (scan.has_ignored) return v.sum() / static_cast<double>(scan.kept);
    return v.mean();
  };
  const Tensor nll = reduce(per);
  if (smoothing == 0.0) return nll;
  Tensor smooth = weight.defined() ? -(logp * weight.reshape(class_shape(logp))).sum(1) : -logp.sum(1);
  if (mask.defined()) smooth = smooth * mask;
  return (1.0 - smoothing) * nll + (smoothing / static_cast<double>(classes)) * reduce(smooth);
}

// Lifts an unbatched [C] input and [] target to a batch of one, runs f, and drops the batch dim again.
template <class F>
Tensor batched(const Tensor& input, const Tensor& target, Reduction r, F&& f) {
  if (input.dim() != 1) return f(input, target);
  Tensor out = f(input.unsqueeze(0), target.unsqueeze(0));
  return r == Reduction::None ? out.squeeze(0) : out;
}

void check_smoothing(const char* op, double s) {
  if (!(s >= 0.0 && s <= 1.0)) throw ValueError(std::string(op) + ": label_smoothing must be in [0, 1], got " + std::to_string(s));
}

void check_index_target(const char* op, const Tensor& target) {
  if (!target.defined() || target.dtype() != kInt64) {
    throw DtypeError(std::string(op) + ": class-index target must be an int64 tensor, got " +
                     (target.defined() ? dtype_name(target.dtype()) : "an undefined tensor"));
  }
}

}  // namespace

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLOptions& o) {
  check_input("nll_loss", input);
  check_index_target("nll_loss", target);
  return batched(input, target, o.reduction, [&](const Tensor& x, const Tensor& t) {
    return nll_batched("nll_loss", x, t, o.weight, o.ignore_index, o.reduction, 0.0);
  });
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyOptions& o) {
  check_input("cross_entropy", input);
  check_smoothing("cross_entropy", o.label_smoothing);
  if (!target.defined()) throw ValueError("cross_entropy: the target is undefined");
  if (!is_floating(target.dtype())) {
    check_index_target("cross_entropy", target);
    return batched(input, target, o.reduction, [&](const Tensor& x, const Tensor& t) {
      return nll_batched("cross_entropy", tg::log_softmax(x, 1), t, o.weight, o.ignore_index, o.reduction,
                         o.label_smoothing);
    });
  }
  // Class probabilities: same shape and dtype as the input.
  if (target.shape() != input.shape()) {
    throw ShapeError("cross_entropy: a class-probability target must have the input's shape " +
                     shape_str(input.shape()) + ", got " + shape_str(target.shape()));
  }
  if (target.dtype() != input.dtype()) {
    throw DtypeError(std::string("cross_entropy: target dtype ") + dtype_name(target.dtype()) +
                     " does not match input dtype " + dtype_name(input.dtype()));
  }
  return batched(input, target, o.reduction, [&](const Tensor& x, const Tensor& t) {
    check_weight("cross_entropy", o.weight, x);
    const auto classes = static_cast<double>(x.size(1));
    const Tensor smoothed = o.label_smoothing > 0.0 ? t * (1.0 - o.label_smoothing) + o.label_smoothing / classes : t;
    Tensor prod = tg::log_softmax(x, 1) * smoothed;
    if (o.weight.defined()) prod = prod * o.weight.reshape(class_shape(x));
    return loss_detail::reduce(-prod.sum(1), o.reduction);
  });
}

}  // namespace tg::nn::functional
