// Linear, Dropout, Flatten and Embedding: validation, PyTorch's default initialisation, and forwards that
// call the functional forms after a shape check that names the layer.
#include "tapegrad/nn/layers.hpp"

#include <cmath>
#include <ostream>
#include <sstream>
#include <string>

#include "tapegrad/nn/functional.hpp"
#include "tapegrad/nn/init.hpp"
#include "index_scan.hpp"

namespace tg::nn {

namespace {

void require_positive(const char* layer, const char* what, std::int64_t v) {
  if (v <= 0) throw ValueError(std::string(layer) + ": " + what + " must be positive, got " + std::to_string(v));
}

void require_float(const char* layer, Dtype d) {
  if (!is_floating(d)) throw DtypeError(std::string(layer) + ": dtype must be float32 or float64, got " + dtype_name(d));
}

}  // namespace

Linear::Linear(LinearOptions o) : options_(o) {
  require_positive("Linear", "in_features", o.in_features);
  require_positive("Linear", "out_features", o.out_features);
  require_float("Linear", o.dtype);
  weight = register_parameter("weight", tg::empty({o.out_features, o.in_features}, {.dtype = o.dtype}));
  if (o.bias) bias = register_parameter("bias", tg::empty({o.out_features}, {.dtype = o.dtype}));
  reset_parameters();
}

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool with_bias, Dtype dtype)
    : Linear(LinearOptions{.in_features = in_features, .out_features = out_features, .bias = with_bias, .dtype = dtype}) {}

void Linear::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options_.in_features));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) {
  if (!x.defined() || x.dim() == 0 || x.size(-1) != options_.in_features) {
    std::ostringstream os;
    os << "Linear(" << options_.in_features << " -> " << options_.out_features << "): input last dimension must be "
       << options_.in_features << ", got " << (x.defined() ? shape_str(x.shape()) : std::string("an undefined tensor"));
    throw ShapeError(os.str());
  }
  if (x.dtype() != weight.dtype()) {
    std::ostringstream os;
    os << "Linear(" << options_.in_features << " -> " << options_.out_features << "): input dtype "
       << dtype_name(x.dtype()) << " does not match the weight dtype " << dtype_name(weight.dtype())
       << " (convert with .to() or build the layer with that dtype)";
    throw DtypeError(os.str());
  }
  Tensor y = tg::matmul(x, weight.t());
  if (bias.defined()) y = y + bias;
  return y;
}

void Linear::pretty_print(std::ostream& os) const {
  os << "Linear(in_features=" << options_.in_features << ", out_features=" << options_.out_features
     << ", bias=" << (options_.bias ? "true" : "false") << ")";
}

Dropout::Dropout(DropoutOptions o) : options_(o) {
  if (!(o.p >= 0.0 && o.p <= 1.0)) {
    std::ostringstream os;
    os << "Dropout: p must be in [0, 1], got " << o.p;
    throw ValueError(os.str());
  }
  if (o.seed) gen_ = std::make_unique<Generator>(*o.seed);
}

Tensor Dropout::forward(const Tensor& x) {
  return functional::dropout(x, options_.p, is_training(), gen_.get());
}

void Dropout::pretty_print(std::ostream& os) const { os << "Dropout(p=" << options_.p << ")"; }

Flatten::Flatten(std::int64_t start_dim, std::int64_t end_dim) : start_dim_(start_dim), end_dim_(end_dim) {}

Tensor Flatten::forward(const Tensor& x) { return x.flatten(start_dim_, end_dim_); }

void Flatten::pretty_print(std::ostream& os) const {
  os << "Flatten(start_dim=" << start_dim_ << ", end_dim=" << end_dim_ << ")";
}

Embedding::Embedding(EmbeddingOptions o) : options_(o) {
  require_positive("Embedding", "num_embeddings", o.num_embeddings);
  require_positive("Embedding", "embedding_dim", o.embedding_dim);
  require_float("Embedding", o.dtype);
  if (o.padding_idx) {
    std::int64_t p = *o.padding_idx;
    if (p < -o.num_embeddings || p >= o.num_embeddings) {
      throw ValueError("Embedding: padding_idx must be in [-" + std::to_string(o.num_embeddings) + ", " +
                       std::to_string(o.num_embeddings) + "), got " + std::to_string(p));
    }
    if (p < 0) p += o.num_embeddings;
    options_.padding_idx = p;
  }
  weight = register_parameter("weight", tg::empty({o.num_embeddings, o.embedding_dim}, {.dtype = o.dtype}));
  init::normal_(weight);
  if (options_.padding_idx) {
    NoGradGuard ng;
    weight[*options_.padding_idx].zero_();
  }
}

Tensor Embedding::forward(const Tensor& indices) {
  if (indices.defined() && indices.dtype() == kInt64) {
    index_scan::for_each(indices, [this](std::int64_t i) {
      if (i < 0 || i >= options_.num_embeddings) {
        throw IndexError("Embedding(" + std::to_string(options_.num_embeddings) + ", " +
                         std::to_string(options_.embedding_dim) + "): index " + std::to_string(i) +
                         " is out of range [0, " + std::to_string(options_.num_embeddings) + ")");
      }
    });
  }
  return functional::embedding(indices, weight, options_.padding_idx);
}

void Embedding::pretty_print(std::ostream& os) const {
  os << "Embedding(num_embeddings=" << options_.num_embeddings << ", embedding_dim=" << options_.embedding_dim;
  if (options_.padding_idx) os << ", padding_idx=" << *options_.padding_idx;
  os << ")";
}

}  // namespace tg::nn
