// Sequential's chain and the MLP helper.
#include "tapegrad/nn/sequential.hpp"

#include <sstream>

#include "tapegrad/nn/activation.hpp"
#include "tapegrad/nn/layers.hpp"

namespace tg::nn {

void Sequential::append(std::string name, std::shared_ptr<Module> m, std::function<Tensor(const Tensor&)> call) {
  register_module(std::move(name), std::move(m));
  calls_.push_back(std::move(call));
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& call : calls_) h = call(h);
  return h;
}

std::shared_ptr<Module> Sequential::operator[](std::size_t i) const {
  if (i >= calls_.size()) {
    throw IndexError("Sequential: index " + std::to_string(i) + " is out of range for " + std::to_string(calls_.size()) +
                     " members");
  }
  return named_children()[i].second;
}

MLP::MLP(MLPOptions o) {
  if (o.sizes.size() < 2) {
    throw ValueError("MLP: sizes must list the input size and at least one layer size, got " +
                     std::to_string(o.sizes.size()) + " entries");
  }
  for (const std::int64_t s : o.sizes) {
    if (s <= 0) {
      std::ostringstream os;
      os << "MLP: sizes must be positive, got " << s;
      throw ValueError(os.str());
    }
  }
  if (!(o.dropout >= 0.0 && o.dropout < 1.0)) {
    std::ostringstream os;
    os << "MLP: dropout must be in [0, 1), got " << o.dropout;
    throw ValueError(os.str());
  }
  make_activation(o.activation, o.dtype);  // fails early, before any layer is built, on a bad name
  const std::size_t layers = o.sizes.size() - 1;
  for (std::size_t i = 0; i < layers; ++i) {
    push_back(Linear(o.sizes[i], o.sizes[i + 1], o.bias, o.dtype));
    if (i + 1 < layers) {
      push_back(make_activation(o.activation, o.dtype));
      if (o.dropout > 0.0) push_back(Dropout(o.dropout));
    } else if (!o.output_activation.empty()) {
      push_back(make_activation(o.output_activation, o.dtype));
    }
  }
}

}  // namespace tg::nn
