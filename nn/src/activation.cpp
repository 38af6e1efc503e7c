// Activation modules: option checks, printing, and construction by name.
#include "tapegrad/nn/activation.hpp"

#include <ostream>
#include <sstream>
#include <string>

#include "tapegrad/nn/layers.hpp"

namespace tg::nn {

void LeakyReLU::pretty_print(std::ostream& os) const { os << "LeakyReLU(negative_slope=" << negative_slope_ << ")"; }

PReLU::PReLU(PReLUOptions o) : options_(o) {
  if (o.num_parameters <= 0) {
    throw ValueError("PReLU: num_parameters must be positive, got " + std::to_string(o.num_parameters));
  }
  if (!is_floating(o.dtype)) throw DtypeError(std::string("PReLU: dtype must be float, got ") + dtype_name(o.dtype));
  weight = register_parameter("weight", tg::full({o.num_parameters}, o.init, {.dtype = o.dtype}));
}

void PReLU::pretty_print(std::ostream& os) const { os << "PReLU(num_parameters=" << options_.num_parameters << ")"; }

void ELU::pretty_print(std::ostream& os) const { os << "ELU(alpha=" << alpha_ << ")"; }

void GELU::pretty_print(std::ostream& os) const {
  os << "GELU(approximate=" << (approximate_ == functional::GeluApproximation::Tanh ? "tanh" : "none") << ")";
}

Softplus::Softplus(SoftplusOptions o) : options_(o) {
  if (!(o.beta > 0.0)) {
    std::ostringstream os;
    os << "Softplus: beta must be > 0, got " << o.beta;
    throw ValueError(os.str());
  }
}

void Softplus::pretty_print(std::ostream& os) const {
  os << "Softplus(beta=" << options_.beta << ", threshold=" << options_.threshold << ")";
}

Hardtanh::Hardtanh(HardtanhOptions o) : options_(o) {
  if (!(o.min_val <= o.max_val)) {
    std::ostringstream os;
    os << "Hardtanh: min_val must be <= max_val, got " << o.min_val << " and " << o.max_val;
    throw ValueError(os.str());
  }
}

void Hardtanh::pretty_print(std::ostream& os) const {
  os << "Hardtanh(min_val=" << options_.min_val << ", max_val=" << options_.max_val << ")";
}

void Softmax::pretty_print(std::ostream& os) const { os << "Softmax(dim=" << dim_ << ")"; }
void LogSoftmax::pretty_print(std::ostream& os) const { os << "LogSoftmax(dim=" << dim_ << ")"; }

std::shared_ptr<UnaryModule> make_activation(std::string_view name, Dtype dtype) {
  if (name == "sigmoid") return std::make_shared<Sigmoid>();
  if (name == "tanh") return std::make_shared<Tanh>();
  if (name == "relu") return std::make_shared<ReLU>();
  if (name == "leaky_relu") return std::make_shared<LeakyReLU>();
  if (name == "prelu") return std::make_shared<PReLU>(PReLUOptions{.dtype = dtype});
  if (name == "elu") return std::make_shared<ELU>();
  if (name == "selu") return std::make_shared<SELU>();
  if (name == "gelu") return std::make_shared<GELU>();
  if (name == "silu" || name == "swish") return std::make_shared<SiLU>();
  if (name == "mish") return std::make_shared<Mish>();
  if (name == "softplus") return std::make_shared<Softplus>();
  if (name == "softsign") return std::make_shared<Softsign>();
  if (name == "hardtanh") return std::make_shared<Hardtanh>();
  if (name == "identity" || name == "none" || name.empty()) return std::make_shared<Identity>();
  throw ValueError("make_activation: unknown activation \"" + std::string(name) +
                   "\"; known: sigmoid, tanh, relu, leaky_relu, prelu, elu, selu, gelu, silu, swish, mish, softplus, "
                   "softsign, hardtanh, identity");
}

}  // namespace tg::nn
