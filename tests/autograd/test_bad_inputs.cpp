// The catalogue of bad inputs: each one is really run, and the test asserts the error class and the exact
// message. With TG_BAD_INPUTS_MD=<file> set, it also writes the table that docs/bad_inputs.md holds:
//   TG_BAD_INPUTS_MD=docs/bad_inputs.md ./build/release/tests/test_autograd -tc='bad inputs*'
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tapegrad/nn/idx.hpp"
#include "tapegrad/nn/io_error.hpp"
#include "tapegrad/nn/safetensors.hpp"
#include "tapegrad/tapegrad.hpp"

namespace {

struct BadInput {
  const char* input;     // what the user did, for the table
  const char* error;     // the class that must be thrown
  const char* message;   // its exact what()
  std::function<void()> run;
};

// Runs the case and returns "<class>|<message>" of what it threw, or "nothing" when it did not throw.
std::string outcome(const BadInput& c) {
  try {
    c.run();
  } catch (const tg::nn::IoError& e) {
    return std::string("tg::nn::IoError|") + e.what();
  } catch (const tg::nn::FormatError& e) {
    return std::string("tg::nn::FormatError|") + e.what();
  } catch (const tg::ShapeError& e) {
    return std::string("tg::ShapeError|") + e.what();
  } catch (const tg::DtypeError& e) {
    return std::string("tg::DtypeError|") + e.what();
  } catch (const tg::IndexError& e) {
    return std::string("tg::IndexError|") + e.what();
  } catch (const tg::ValueError& e) {
    return std::string("tg::ValueError|") + e.what();
  } catch (const tg::TapeError& e) {
    return std::string("tg::TapeError|") + e.what();
  } catch (const tg::Error& e) {
    return std::string("tg::Error|") + e.what();
  }
  return "nothing";
}

constexpr tg::TensorOptions f64{.dtype = tg::kFloat64};
constexpr tg::TensorOptions f64_grad{.dtype = tg::kFloat64, .requires_grad = true};

// Restores the tape memory limit even when the case throws.
struct LimitGuard {
  explicit LimitGuard(std::size_t bytes) : prev(tg::tape_memory_limit()) { tg::set_tape_memory_limit(bytes); }
  ~LimitGuard() { tg::set_tape_memory_limit(prev); }
  std::size_t prev;
};

std::vector<BadInput> catalogue();

}  // namespace

TEST_CASE("bad inputs: each gets its documented error class and exact message") {
  const std::vector<BadInput> cases = catalogue();
  std::string table =
      "| Bad input | Error | Message |\n"
      "|---|---|---|\n";
  for (const BadInput& c : cases) {
    const std::string got = outcome(c);
    const std::string input = c.input;
    CAPTURE(input);
    CHECK(got == std::string(c.error) + "|" + c.message);
    const std::size_t bar = got.find('|');
    table += std::string("| ") + c.input + " | `" + got.substr(0, bar) + "` | `" +
             (bar == std::string::npos ? "" : got.substr(bar + 1)) + "` |\n";
  }
  if (const char* path = std::getenv("TG_BAD_INPUTS_MD")) {
    std::ofstream out(path);
    out << "# Bad inputs and the errors they get\n\n"
        << "Generated from real runs by `tests/autograd/test_bad_inputs.cpp`, which asserts every row:\n"
        << "`TG_BAD_INPUTS_MD=docs/bad_inputs.md ./build/release/tests/test_autograd -tc='bad inputs*'`.\n"
        << "Every class derives from `tg::Error` (`tg::nn::IoError` and `tg::nn::FormatError` too).\n\n"
        << table;
  }
}

namespace {

std::vector<BadInput> catalogue() {
  std::vector<BadInput> c;
  c.push_back({"matmul of [2, 3] and [4, 5]", "tg::ShapeError",
               "matmul: inner dimensions must match, got [2, 3] and [4, 5]",
               [] { (void)tg::matmul(tg::zeros({2, 3}), tg::zeros({4, 5})); }});
  c.push_back({"matmul of [2, 3] labelled A and [4, 5] labelled B", "tg::ShapeError",
               "matmul: inner dimensions must match, got 'A' [2, 3] and 'B' [4, 5]", [] {
                 tg::Tensor a = tg::zeros({2, 3});
                 tg::Tensor b = tg::zeros({4, 5});
                 (void)tg::matmul(a.label("A"), b.label("B"));
               }});
  c.push_back({"matmul of a 0-d tensor", "tg::ShapeError",
               "matmul: both operands need at least 1 dimension, got [] and [2]",
               [] { (void)tg::matmul(tg::scalar_tensor(1.0), tg::zeros({2})); }});
  c.push_back({"add of [2, 3] and [4] (broadcast mismatch)", "tg::ShapeError",
               "add: shapes [2, 3] and [4] cannot be broadcast (dimension 1: 3 vs 4)",
               [] { (void)(tg::zeros({2, 3}) + tg::zeros({4})); }});
  c.push_back({"add of float32 and float64", "tg::DtypeError",
               "add: dtype mismatch, float32 and float64; convert one with .to(dtype) first",
               [] { (void)(tg::zeros({2}) + tg::zeros({2}, f64)); }});
  c.push_back({"log_softmax of an int64 tensor", "tg::DtypeError",
               "log_softmax: expected a float32 or float64 tensor, got int64; convert it with "
               ".to(tg::kFloat32)",
               [] { (void)tg::log_softmax(tg::zeros({2}, {.dtype = tg::kInt64}), 0); }});
  c.push_back({"requires_grad_ on an int64 tensor", "tg::DtypeError",
               "requires_grad_: only float tensors can require gradients, got int64",
               [] { (void)tg::zeros({2}, {.dtype = tg::kInt64}).requires_grad_(); }});
  c.push_back({"select index 5 of a [3] tensor", "tg::IndexError",
               "select: index 5 is out of range for dimension 0 of size 3",
               [] { (void)tg::zeros({3}).select(0, 5); }});
  c.push_back({"at({3}) of a [3] tensor", "tg::IndexError",
               "at: index 3 is out of range for dimension 0 of size 3 (shape [3])", [] { (void)tg::zeros({3}).at({3}); }});
  c.push_back({"gather with index 7 along a dim of size 3", "tg::IndexError",
               "gather: index 7 is out of range for dimension 1 of size 3", [] {
                 const std::vector<std::int64_t> idx{7};
                 (void)tg::gather(tg::zeros({1, 3}), 1, tg::tensor(idx, {1, 1}));
               }});
  c.push_back({"sum over dim 2 of a [2, 3] tensor (bad axis)", "tg::IndexError",
               "sum: dimension 2 is out of range for a tensor with 2 dimensions (expected -2 to 1)",
               [] { (void)tg::sum(tg::zeros({2, 3}), {2}); }});
  c.push_back({"softmax over dim -3 of a [2, 3] tensor", "tg::IndexError",
               "softmax: dimension -3 is out of range for a tensor with 2 dimensions (expected -2 to 1)",
               [] { (void)tg::softmax(tg::zeros({2, 3}), -3); }});
  c.push_back({"amax of a [0, 3] tensor", "tg::IndexError",
               "amax: cannot reduce a tensor with 0 elements (shape [0, 3]); the result would have no value", [] { (void)tg::amax(tg::zeros({0, 3})); }});
  c.push_back({"reshape [2, 3] to [4]", "tg::ShapeError",
               "reshape: cannot reshape a tensor of shape [2, 3] (6 elements) into [4]", [] { (void)tg::zeros({2, 3}).reshape({4}); }});
  c.push_back({"view of a transposed [2, 3] tensor as [6]", "tg::ShapeError",
               "view: a tensor of shape [3, 2] with strides [1, 3] cannot be viewed as [6] without a "
               "copy; use reshape() (or contiguous() first)",
               [] { (void)tg::zeros({2, 3}).t().view({6}); }});
  c.push_back({"permute [2, 3] with dims {0, 0}", "tg::IndexError",
               "permute: dimension 0 repeats",
               [] { (void)tg::zeros({2, 3}).permute({0, 0}); }});
  c.push_back({"slice with step 0", "tg::ValueError",
               "slice: step must be positive, got 0", [] { (void)tg::zeros({3}).slice(0, 0, 3, 0); }});
  c.push_back({"clamp with lo > hi", "tg::ValueError",
               "clamp: expected lo <= hi, got lo = 1 and hi = -1", [] { (void)tg::clamp(tg::zeros({2}), 1.0, -1.0); }});
  c.push_back({"normal with std < 0", "tg::ValueError",
               "normal: the standard deviation must be >= 0, got -1", [] { (void)tg::normal({2}, 0.0, -1.0); }});
  c.push_back({"tensor from ragged rows {{1, 2}, {3}}", "tg::ShapeError",
               "tensor: nested lists must have equal lengths, got rows of 2 and 1 elements",
               [] { (void)tg::tensor({{1.0, 2.0}, {3.0}}); }});
  c.push_back({"item() of a [2] tensor", "tg::ShapeError",
               "item: only a one-element tensor converts to a number, got shape [2]", [] { (void)tg::zeros({2}).item(); }});
  c.push_back({"sum() of an undefined tensor", "tg::ValueError",
               "sum: the tensor is undefined (default-constructed)", [] { (void)tg::Tensor().sum(); }});
  c.push_back({"backward() from a [2] tensor", "tg::ShapeError",
               "backward: a gradient can be implicitly created only for a one-element output, got shape [2]; pass the output's gradient: t.backward(grad)", [] {
                 tg::ScopedTape scope;
                 (tg::ones({2}, f64_grad) * 2.0).backward();
               }});
  c.push_back({"add_ in place on a leaf that requires grad", "tg::ValueError",
               "add_: a leaf tensor that requires grad cannot be changed in place while recording; wrap the update in tg::NoGradGuard", [] {
                 tg::ScopedTape scope;
                 tg::ones({2}, f64_grad).add_(1.0);
               }});
  c.push_back({"Var used after reset_tape() (stale)", "tg::TapeError",
               "mul: an operand belongs to a tape that was reset or destroyed, so its graph is gone. Vars are valid only on their own thread until their tape is reset", [] {
                 tg::ScopedTape scope;
                 tg::Var x(1.0);
                 scope.tape().reset();
                 (void)(x * 2.0);
               }});
  c.push_back({"Tensor backward after its tape was reset (stale)", "tg::TapeError",
               "backward: this tensor belongs to a tape that was reset or destroyed, so its graph is gone; record the forward again", [] {
                 tg::ScopedTape scope;
                 const tg::Tensor y = tg::sum(tg::ones({2}, f64_grad) * 2.0);
                 scope.tape().reset();
                 y.backward();
               }});
  c.push_back({"Var backward twice without retain_graph", "tg::TapeError",
               "backward: the graph through 'mul' at tape slot 2 was already released by an earlier backward(); pass BackwardOptions{.retain_graph = true} to the first backward, or record the forward again", [] {
                 tg::ScopedTape scope;
                 tg::Var x(2.0);
                 const tg::Var y = x * x;
                 y.backward();
                 y.backward();
               }});
  c.push_back({"Tensor backward twice without retain_graph", "tg::TapeError",
               "backward: the graph through 'sum' at tape slot 2 was already released by an earlier backward(); pass BackwardOptions{.retain_graph = true} to the first backward, or record the forward again", [] {
                 tg::ScopedTape scope;
                 const tg::Tensor y = tg::sum(tg::exp(tg::ones({2}, f64_grad)));
                 y.backward();
                 y.backward();
               }});
  c.push_back({"Var recorded on another thread's tape", "tg::TapeError",
               "mul: an operand belongs to a tape of another thread: each thread records on its own tape, and recorded values cannot cross threads (pass plain values, or .detach() them). Vars are valid only on their own thread until their tape is reset", [] {
                 tg::ScopedTape scope;
                 const tg::Var x(1.0);
                 std::string caught;
                 std::thread t([&] {
                   try {
                     (void)(x * 2.0);
                   } catch (const tg::TapeError& e) {
                     caught = e.what();
                   }
                 });
                 t.join();
                 if (!caught.empty()) throw tg::TapeError(caught);
               }});
  c.push_back({"10^6 scalar ops under set_tape_memory_limit(1 MiB)", "tg::TapeError",
               "tape: memory limit exceeded: the recording holds 729088 bytes and needs 393216 more, over the limit of 1048576 bytes (set_tape_memory_limit); reset the tape between steps or raise the limit", [] {
                 LimitGuard limit(1 << 20);
                 tg::ScopedTape scope;
                 tg::Var x(1.0);
                 for (int i = 0; i < 1000000; ++i) x = x * 1.0;
               }});
  c.push_back({"exp of a [512, 512] tensor 40 times under set_tape_memory_limit(8 MiB)", "tg::TapeError",
               "tape: memory limit exceeded: the recording holds 6370432 bytes and needs 2097152 more for the tensors saved for backward by 'exp', over the limit of 8388608 bytes (set_tape_memory_limit); reset the tape between steps or raise the limit", [] {
                 LimitGuard limit(8 << 20);
                 tg::ScopedTape scope;
                 tg::Tensor x = tg::ones({512, 512}, f64_grad);
                 for (int i = 0; i < 40; ++i) x = tg::exp(x * 0.5);
               }});
  c.push_back({"transpose(0, 1) of a 0-d tensor", "tg::IndexError",
               "transpose: dimension 1 is out of range for a tensor with 0 dimensions (expected -1 to 0)",
               [] { (void)tg::scalar_tensor(1.0).transpose(0, 1); }});
  c.push_back({"safetensors file cut after 20 bytes", "tg::nn::FormatError",
               "safetensors: model.safetensors: header length 56 runs past the end of the file (12 bytes after the length; file truncated?)", [] {
                 tg::nn::TensorMap m;
                 const std::vector<float> v{1.0F, 2.0F};
                 m["w"] = tg::nn::make_raw_tensor<float>({2}, v);
                 std::vector<std::byte> bytes = tg::nn::serialize_safetensors(m);
                 bytes.resize(20);
                 (void)tg::nn::parse_safetensors(bytes, "model.safetensors");
               }});
  c.push_back({"IDX file with magic 01 00 08 01", "tg::nn::FormatError",
               "idx: labels.idx: bad magic number: the first two bytes must be 0, got 0x01 0x00 (not an IDX file, or still compressed?)", [] {
                 const std::vector<std::byte> bytes{std::byte{1}, std::byte{0}, std::byte{8}, std::byte{1},
                                                    std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}};
                 (void)tg::nn::parse_idx(bytes, "labels.idx");
               }});
  c.push_back({"Fashion-MNIST not installed (TG_FASHION_MNIST_DIR=/nonexistent)", "tg::nn::IoError",
               "fashion_mnist_dir: Fashion-MNIST not found: '/nonexistent/train-images-idx3-ubyte.gz' is missing. Install the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist) or set TG_FASHION_MNIST_DIR", [] {
                 const char* old = std::getenv("TG_FASHION_MNIST_DIR");
                 const std::string saved = old ? old : "";
                 const bool had = old != nullptr;
                 setenv("TG_FASHION_MNIST_DIR", "/nonexistent", 1);
                 struct Restore {
                   const std::string& value;
                   bool had;
                   ~Restore() {
                     if (had) setenv("TG_FASHION_MNIST_DIR", value.c_str(), 1);
                     else unsetenv("TG_FASHION_MNIST_DIR");
                   }
                 } restore{saved, had};
                 (void)tg::nn::fashion_mnist_dir();
               }});
  return c;
}

}  // namespace
