// Tensor datasets and the batch loader: rows are copied with memcpy from the contiguous dataset tensors
// into a batch buffer, which is reused when the caller has let go of the previous batch.
#include "tapegrad/nn/data_tensor.hpp"

#include <cstring>
#include <string>

#include "tapegrad/nn/idx.hpp"

namespace tg::nn {

namespace {

Tensor prepare(Tensor t, const char* what) {
  if (!t.defined()) throw ValueError(std::string("TensorDataset: the ") + what + " tensor is undefined");
  if (t.dim() < 1) throw ShapeError(std::string("TensorDataset: the ") + what + " tensor must have a sample dimension, got a 0-d tensor");
  NoGradGuard no_grad;
  return t.detach().contiguous();
}

// True when nothing but `cache` refers to its memory, so it can be overwritten.
bool reusable(const Tensor& cache, std::int64_t rows) {
  if (!cache.defined() || cache.size(0) != rows) return false;
  return cache.impl_ref().unique() && cache.impl()->storage.unique();
}

}  // namespace

TensorDataset::TensorDataset(Tensor features, Tensor targets)
    : features_(prepare(std::move(features), "features")), targets_(prepare(std::move(targets), "targets")) {
  if (features_.size(0) != targets_.size(0)) {
    throw ShapeError("TensorDataset: features " + shape_str(features_.shape()) + " and targets " +
                     shape_str(targets_.shape()) + " must have the same first size");
  }
}

DataLoader::DataLoader(TensorDataset data, DataLoaderOptions options)
    : data_(std::move(data)),
      sampler_(data_.size(), options.batch_size, options.shuffle, options.drop_last, options.seed) {}

Tensor DataLoader::gather(const Tensor& src, std::span<const std::int64_t> idx, Tensor& cache) {
  const auto rows = static_cast<std::int64_t>(idx.size());
  const std::int64_t n = src.size(0);
  if (!reusable(cache, rows)) {
    Shape shape = src.shape();
    shape[0] = rows;
    cache = empty(shape, {.dtype = src.dtype()});
  } else {
    ++cache.impl()->storage->version;
  }
  const std::size_t row_bytes =
      n == 0 ? 0 : static_cast<std::size_t>(src.numel() / n) * dtype_size(src.dtype());
  const auto* from = static_cast<const std::byte*>(src.impl()->storage->data) +
                     static_cast<std::size_t>(src.storage_offset()) * dtype_size(src.dtype());
  auto* to = static_cast<std::byte*>(cache.impl()->storage->data);
  for (std::int64_t r = 0; r < rows; ++r) {
    const std::int64_t i = idx[static_cast<std::size_t>(r)];
    if (i < 0 || i >= n) {
      throw IndexError("DataLoader: sample index " + std::to_string(i) + " is out of range for " +
                       std::to_string(n) + " samples");
    }
    std::memcpy(to + static_cast<std::size_t>(r) * row_bytes, from + static_cast<std::size_t>(i) * row_bytes,
                row_bytes);
  }
  return cache;
}

Batch DataLoader::batch(std::int64_t i) {
  const std::span<const std::int64_t> idx = sampler_.batch(i);
  Batch b;
  b.x = gather(data_.features(), idx, x_cache_);
  b.y = gather(data_.targets(), idx, y_cache_);
  return b;
}

const Batch& DataLoader::iterator::operator*() {
  if (!loaded_) {
    current_ = Batch{};  // let go of the previous batch first, so its buffers can be reused
    current_ = loader_->batch(index_);
    loaded_ = true;
  }
  return current_;
}

TensorDataset image_dataset_tensors(const ImageDataset& data) {
  const IdxImages& im = data.images;
  const std::int64_t pixels = im.rows * im.cols;
  Tensor x = empty({im.count, pixels}, {.dtype = kFloat32});
  float* px = x.data_ptr<float>();
  for (std::size_t i = 0; i < im.pixels.size(); ++i) px[i] = static_cast<float>(im.pixels[i]) / 255.0f;
  Tensor y = empty({static_cast<std::int64_t>(data.labels.size())}, {.dtype = kInt64});
  std::int64_t* py = y.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < data.labels.size(); ++i) py[i] = data.labels[i];
  return TensorDataset(std::move(x), std::move(y));
}

TensorDataset fashion_mnist_tensors(const std::filesystem::path& dir, bool train) {
  return image_dataset_tensors(load_fashion_mnist(dir, train));
}

TensorDataset toy_tensors(const ToyDataset& data, Dtype dtype) {
  if (!is_floating(dtype)) {
    throw DtypeError(std::string("toy_tensors: points must be float32 or float64, got ") + dtype_name(dtype));
  }
  const auto n = static_cast<std::int64_t>(data.size());
  if (data.x.size() != data.size() * 2) {
    throw ShapeError("toy_tensors: " + std::to_string(data.x.size()) + " coordinates for " + std::to_string(n) +
                     " points (expected 2 per point)");
  }
  Tensor x = tensor(data.x, Shape{n, 2}, {.dtype = dtype});
  Tensor y = tensor(data.y, Shape{n});
  return TensorDataset(std::move(x), std::move(y));
}

}  // namespace tg::nn
