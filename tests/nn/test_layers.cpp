// Layers: values against hand computation, gradients (inputs and parameters) against central differences,
// option validation and shape errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <sstream>
#include <utility>

#include "nn/module_check.hpp"
#include "tapegrad/nn/nn.hpp"

namespace nn = tg::nn;
using tgtest::f64;

TEST_CASE("Linear") {
  SUBCASE("forward is x·Wᵀ + b") {
    nn::Linear lin(2, 3, true, tg::kFloat64);
    lin.weight.detach().copy_(tg::tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, f64));
    lin.bias.detach().copy_(tg::tensor({0.5, -1.0, 2.0}, f64));
    const tg::Tensor y = lin(tg::tensor({{1.0, -1.0}, {0.5, 2.0}}, f64));
    CHECK(y.to_vector<double>() == std::vector<double>{-0.5, -2.0, 1.0, 5.0, 8.5, 16.5});
  }
  SUBCASE("default init is U(-1/sqrt(in), 1/sqrt(in)) and repeats with the seed") {
    tg::manual_seed(7);
    nn::Linear a(16, 32);
    tg::manual_seed(7);
    nn::Linear b(16, 32);
    CHECK(tg::equal(a.weight, b.weight));
    CHECK(tg::equal(a.bias, b.bias));
    const double bound = 0.25;
    CHECK(a.weight.abs().max().item() <= bound);
    CHECK(a.bias.abs().max().item() <= bound);
    CHECK(a.weight.abs().max().item() > 0.9 * bound);  // 512 draws come close to the edge
    CHECK(std::abs(a.weight.mean().item()) < 0.05);
  }
  SUBCASE("gradients for 2-d, 3-d and 1-d inputs") {
    nn::Linear lin(3, 2, true, tg::kFloat64);
    auto f = [&](const std::vector<tg::Tensor>& x) { return lin(x[0]); };
    CHECK_MODULE_GRAD(lin, f, {tg::randn({4, 3}, f64)});
    CHECK_MODULE_GRAD(lin, f, {tg::randn({2, 4, 3}, f64)});
    CHECK_MODULE_GRAD(lin, f, {tg::randn({3}, f64)});
  }
  SUBCASE("without bias") {
    nn::Linear lin(nn::LinearOptions{.in_features = 3, .out_features = 2, .bias = false, .dtype = tg::kFloat64});
    CHECK_FALSE(lin.bias.defined());
    CHECK(lin.parameters().size() == 1);
    CHECK_MODULE_GRAD(lin, [&](const std::vector<tg::Tensor>& x) { return lin(x[0]); }, {tg::randn({4, 3}, f64)});
  }
  SUBCASE("errors name the layer and the shapes") {
    CHECK_THROWS_WITH_AS(nn::Linear(0, 4), "Linear: in_features must be positive, got 0", tg::ValueError);
    CHECK_THROWS_WITH_AS(nn::Linear(3, -1), "Linear: out_features must be positive, got -1", tg::ValueError);
    CHECK_THROWS_AS(nn::Linear(3, 4, true, tg::kInt64), tg::DtypeError);
    nn::Linear lin(3, 4);
    CHECK_THROWS_WITH_AS(lin(tg::zeros({2, 5})), "Linear(3 -> 4): input last dimension must be 3, got [2, 5]",
                         tg::ShapeError);
    CHECK_THROWS_AS(lin(tg::zeros({2, 3}, f64)), tg::DtypeError);
    CHECK_THROWS_AS(lin(tg::scalar_tensor(1.0)), tg::ShapeError);
  }
}

TEST_CASE("Sequential and MLP") {
  SUBCASE("Sequential chains its members; lambdas and shared modules are accepted") {
    auto lin = std::make_shared<nn::Linear>(2, 2, true, tg::kFloat64);
    nn::Sequential seq(lin, nn::Tanh(), [](const tg::Tensor& x) { return x * 2.0; });
    const tg::Tensor x = tg::randn({3, 2}, f64);
    CHECK(tg::allclose(seq(x), tg::tanh(lin->forward(x)) * 2.0));
    CHECK(seq.size() == 3);
    CHECK(seq[2]->name() == "Functional");
    CHECK(seq.at<nn::Linear>(0) == lin);
    CHECK_THROWS_AS(seq.at<nn::Linear>(1), tg::ValueError);
    CHECK_THROWS_AS(seq[3], tg::IndexError);
    seq.push_back("scale", nn::Identity());
    CHECK(seq.named_children()[3].first == "scale");
    CHECK_MODULE_GRAD(seq, [&](const std::vector<tg::Tensor>& in) { return seq(in[0]); }, {x});
  }
  SUBCASE("an empty Sequential returns its input") {
    nn::Sequential seq;
    const tg::Tensor x = tg::ones({2});
    CHECK(seq(x).impl() == x.impl());
  }
  SUBCASE("MLP layout") {
    nn::MLP mlp({.sizes = {4, 8, 8, 2}, .activation = "tanh", .output_activation = "sigmoid", .dropout = 0.2});
    std::ostringstream os;
    os << mlp;
    CHECK(os.str() ==
          "MLP(\n"
          "  (0): Linear(in_features=4, out_features=8, bias=true)\n"
          "  (1): Tanh\n"
          "  (2): Dropout(p=0.2)\n"
          "  (3): Linear(in_features=8, out_features=8, bias=true)\n"
          "  (4): Tanh\n"
          "  (5): Dropout(p=0.2)\n"
          "  (6): Linear(in_features=8, out_features=2, bias=true)\n"
          "  (7): Sigmoid\n"
          ")");
    CHECK(mlp.num_parameters() == 4 * 8 + 8 + 8 * 8 + 8 + 8 * 2 + 2);
    nn::MLP small({.sizes = {3, 5, 1}});
    CHECK(small.size() == 3);
    CHECK(small(tg::randn({7, 3})).shape() == tg::Shape{7, 1});
  }
  SUBCASE("MLP gradients in float64") {
    nn::MLP mlp({.sizes = {3, 4, 2}, .activation = "gelu", .dtype = tg::kFloat64});
    CHECK_MODULE_GRAD(mlp, [&](const std::vector<tg::Tensor>& in) { return mlp(in[0]); }, {tg::randn({5, 3}, f64)});
  }
  SUBCASE("MLP option errors") {
    CHECK_THROWS_AS(nn::MLP({.sizes = {3}}), tg::ValueError);
    CHECK_THROWS_AS(nn::MLP({.sizes = {3, 0}}), tg::ValueError);
    CHECK_THROWS_AS(nn::MLP({.sizes = {3, 2}, .dropout = 1.0}), tg::ValueError);
    try {
      nn::MLP({.sizes = {3, 2, 1}, .activation = "tahn"});
      FAIL("accepted a misspelt activation");
    } catch (const tg::ValueError& e) {
      CHECK(std::string(e.what()).find("unknown activation \"tahn\"; known: sigmoid, tanh") != std::string::npos);
    }
  }
}

TEST_CASE("Dropout") {
  const tg::Tensor x = tg::ones({1000}, f64);
  SUBCASE("the same seed gives the same mask; kept values are scaled by 1/(1-p)") {
    nn::Dropout a({.p = 0.3, .seed = 42});
    nn::Dropout b({.p = 0.3, .seed = 42});
    const tg::Tensor ya = a(x);
    CHECK(tg::equal(ya, b(x)));
    CHECK_FALSE(tg::equal(ya, a(x)));  // the stream moves on
    int zeros = 0;
    for (const double v : ya.to_vector<double>()) {
      if (v == 0.0) {
        ++zeros;
      } else {
        CHECK(v == doctest::Approx(1.0 / 0.7).epsilon(1e-15));
      }
    }
    CHECK(zeros > 250);
    CHECK(zeros < 350);
  }
  SUBCASE("the global seed makes the default-generator dropout repeat") {
    nn::Dropout d(0.5);
    tg::manual_seed(3);
    const tg::Tensor y1 = d(x);
    tg::manual_seed(3);
    CHECK(tg::equal(y1, d(x)));
  }
  SUBCASE("the gradient is the scaled mask") {
    nn::Dropout d({.p = 0.5, .seed = 1});
    tg::Tensor xin = tg::randn({50}, f64).requires_grad_(true);
    tg::ScopedTape scope;
    const tg::Tensor y = d(xin);
    y.sum().backward();
    CHECK(tg::allclose(xin.grad() * xin.detach(), y.detach()));
  }
  SUBCASE("identity in eval and for p = 0; zeros for p = 1") {
    nn::Dropout d(0.5);
    d.eval();
    CHECK(d(x).impl() == x.impl());
    CHECK(nn::Dropout(0.0)(x).impl() == x.impl());
    CHECK(nn::Dropout(1.0)(x).sum().item() == 0.0);
    CHECK_THROWS_WITH_AS(nn::Dropout(1.5), "Dropout: p must be in [0, 1], got 1.5", tg::ValueError);
  }
}

TEST_CASE("Flatten and Identity") {
  const tg::Tensor x = tg::randn({2, 3, 4});
  CHECK(nn::Flatten()(x).shape() == tg::Shape{2, 12});
  CHECK(nn::Flatten(0)(x).shape() == tg::Shape{24});
  CHECK(nn::Flatten(0, 1)(x).shape() == tg::Shape{6, 4});
  CHECK(nn::Identity()(x).impl() == x.impl());
  // The check weights each output element differently, so a gradient routed to the wrong place fails.
  const std::pair<std::int64_t, std::int64_t> dims[] = {{1, -1}, {0, 1}, {-2, -1}};
  for (const auto& d : dims) {
    CAPTURE(d.first);
    CAPTURE(d.second);
    nn::Flatten flat(d.first, d.second);
    CHECK_MODULE_GRAD(flat, [&](const std::vector<tg::Tensor>& in) { return flat(in[0]); },
                      {tg::randn({2, 3, 4}, f64)});
  }
  nn::Identity id;
  CHECK_MODULE_GRAD(id, [&](const std::vector<tg::Tensor>& in) { return id(in[0]); }, {tg::randn({2, 3}, f64)});
}

TEST_CASE("LayerNorm") {
  SUBCASE("against the formula") {
    nn::LayerNorm ln(nn::LayerNormOptions{.normalized_shape = {3}, .dtype = tg::kFloat64});
    const tg::Tensor x = tg::tensor({{1.0, 2.0, 6.0}, {-1.0, 0.0, 4.0}}, f64);
    const tg::Tensor y = ln(x);
    for (int r = 0; r < 2; ++r) {
      const double a = x.at({r, 0});
      const double b = x.at({r, 1});
      const double c = x.at({r, 2});
      const double mean = (a + b + c) / 3.0;
      const double var = ((a - mean) * (a - mean) + (b - mean) * (b - mean) + (c - mean) * (c - mean)) / 3.0;
      for (int k = 0; k < 3; ++k) {
        CHECK(y.at({r, k}) == doctest::Approx((x.at({r, k}) - mean) / std::sqrt(var + 1e-5)).epsilon(1e-13));
      }
    }
  }
  SUBCASE("gradients with affine parameters over two dims") {
    nn::LayerNorm ln(nn::LayerNormOptions{.normalized_shape = {2, 3}, .dtype = tg::kFloat64});
    ln.weight.detach().copy_(tg::randn({2, 3}, f64));
    ln.bias.detach().copy_(tg::randn({2, 3}, f64));
    CHECK_MODULE_GRAD(ln, [&](const std::vector<tg::Tensor>& in) { return ln(in[0]); }, {tg::randn({4, 2, 3}, f64)});
  }
  SUBCASE("options and shapes") {
    CHECK(nn::LayerNorm(nn::LayerNormOptions{.normalized_shape = {4}, .elementwise_affine = false}).parameters().empty());
    CHECK(nn::LayerNorm(nn::LayerNormOptions{.normalized_shape = {4}, .bias = false}).parameters().size() == 1);
    CHECK_THROWS_AS(nn::LayerNorm(tg::Shape{}), tg::ValueError);
    CHECK_THROWS_AS(nn::LayerNorm(nn::LayerNormOptions{.normalized_shape = {4}, .eps = 0.0}), tg::ValueError);
    nn::LayerNorm ln(tg::Shape{4});
    CHECK_THROWS_WITH_AS(ln(tg::zeros({2, 3})), "LayerNorm([4]): input must end with dims [4], got [2, 3]",
                         tg::ShapeError);
  }
}

TEST_CASE("BatchNorm1d") {
  const tg::Tensor x = tg::tensor({{1.0, 10.0}, {2.0, 20.0}, {6.0, 60.0}}, f64);
  SUBCASE("training output uses the batch mean and biased variance") {
    nn::BatchNorm1d bn(nn::BatchNormOptions{.num_features = 2, .dtype = tg::kFloat64});
    const tg::Tensor y = bn(x);
    const double mean = 3.0;
    const double var = (4.0 + 1.0 + 9.0) / 3.0;
    CHECK(y.at({0, 0}) == doctest::Approx((1.0 - mean) / std::sqrt(var + 1e-5)).epsilon(1e-13));
    CHECK(y.at({2, 1}) == doctest::Approx((60.0 - 30.0) / std::sqrt(100.0 * var + 1e-5)).epsilon(1e-13));
  }
  SUBCASE("running statistics: momentum 0.1, unbiased variance") {
    nn::BatchNorm1d bn(nn::BatchNormOptions{.num_features = 2, .dtype = tg::kFloat64});
    bn(x);
    // batch mean [3, 30], unbiased variance [7, 700]
    CHECK(bn.running_mean.at({0}) == doctest::Approx(0.9 * 0.0 + 0.1 * 3.0).epsilon(1e-14));
    CHECK(bn.running_mean.at({1}) == doctest::Approx(3.0).epsilon(1e-14));
    CHECK(bn.running_var.at({0}) == doctest::Approx(0.9 * 1.0 + 0.1 * 7.0).epsilon(1e-14));
    CHECK(bn.running_var.at({1}) == doctest::Approx(0.9 + 70.0).epsilon(1e-14));
    bn(x * 2.0);
    CHECK(bn.running_mean.at({0}) == doctest::Approx(0.9 * 0.3 + 0.1 * 6.0).epsilon(1e-14));
    CHECK(bn.running_var.at({0}) == doctest::Approx(0.9 * 1.6 + 0.1 * 28.0).epsilon(1e-14));
    CHECK(bn.num_batches_tracked.item() == 2.0);
    SUBCASE("eval normalises with the running statistics and leaves them alone") {
      bn.eval();
      const tg::Tensor y = bn(tg::tensor({{1.0, 1.0}}, f64));
      CHECK(y.at({0, 0}) == doctest::Approx((1.0 - 0.87) / std::sqrt(4.24 + 1e-5)).epsilon(1e-13));
      CHECK(bn.num_batches_tracked.item() == 2.0);
      CHECK(bn.running_mean.at({0}) == doctest::Approx(0.87).epsilon(1e-14));
    }
  }
  SUBCASE("momentum none is the cumulative average") {
    nn::BatchNorm1d bn(nn::BatchNormOptions{.num_features = 2, .momentum = std::nullopt, .dtype = tg::kFloat64});
    bn(x);
    bn(x * 2.0);
    CHECK(bn.running_mean.at({0}) == doctest::Approx((3.0 + 6.0) / 2.0).epsilon(1e-14));
    CHECK(bn.running_var.at({0}) == doctest::Approx((7.0 + 28.0) / 2.0).epsilon(1e-14));
  }
  SUBCASE("[N, C, L] inputs reduce over N and L") {
    nn::BatchNorm1d bn(nn::BatchNormOptions{.num_features = 3, .dtype = tg::kFloat64});
    const tg::Tensor x3 = tg::randn({4, 3, 5}, f64);
    bn(x3);
    const double m1 = x3.select(1, 1).mean().item();
    CHECK(bn.running_mean.at({1}) == doctest::Approx(0.1 * m1).epsilon(1e-12));
    const double v1 = tg::var(x3.select(1, 1)).item();
    CHECK(bn.running_var.at({1}) == doctest::Approx(0.9 + 0.1 * v1).epsilon(1e-12));
  }
  SUBCASE("gradients in training and eval") {
    nn::BatchNorm1d bn(nn::BatchNormOptions{.num_features = 3, .dtype = tg::kFloat64});
    bn.weight.detach().copy_(tg::randn({3}, f64));
    bn.bias.detach().copy_(tg::randn({3}, f64));
    auto f = [&](const std::vector<tg::Tensor>& in) { return bn(in[0]); };
    CHECK_MODULE_GRAD(bn, f, {tg::randn({5, 3}, f64)});
    CHECK_MODULE_GRAD(bn, f, {tg::randn({2, 3, 4}, f64)});
    bn.eval();
    CHECK_MODULE_GRAD(bn, f, {tg::randn({5, 3}, f64)});
  }
  SUBCASE("errors") {
    CHECK_THROWS_AS(nn::BatchNorm1d(0), tg::ValueError);
    CHECK_THROWS_AS(nn::BatchNorm1d(nn::BatchNormOptions{.num_features = 2, .momentum = 1.5}), tg::ValueError);
    nn::BatchNorm1d bn(2);
    CHECK_THROWS_WITH_AS(bn(tg::zeros({4, 3})), "BatchNorm1d(2): input must be [N, 2] or [N, 2, L], got [4, 3]",
                         tg::ShapeError);
    CHECK_THROWS_AS(bn(tg::zeros({1, 2})), tg::ValueError);
    bn.eval();
    CHECK(bn(tg::zeros({1, 2})).shape() == tg::Shape{1, 2});
  }
}

TEST_CASE("Embedding") {
  nn::Embedding emb(nn::EmbeddingOptions{.num_embeddings = 5, .embedding_dim = 3, .dtype = tg::kFloat64});
  const tg::Tensor idx = tg::tensor(std::vector<std::int64_t>{4, 0, 4, 2}, {2, 2});
  SUBCASE("rows are looked up into indices.shape + [dim]") {
    const tg::Tensor y = emb(idx);
    CHECK(y.shape() == tg::Shape{2, 2, 3});
    CHECK(tg::equal(y[1][1], emb.weight[2]));
    CHECK(tg::equal(y[0][0], emb.weight[4]));
    const tg::Tensor yt = emb(idx.t());  // non-contiguous indices
    CHECK(tg::equal(yt[0][1], emb.weight[4]));
    CHECK(tg::equal(yt[1][0], emb.weight[0]));
  }
  SUBCASE("repeated indices accumulate gradients") {
    CHECK_MODULE_GRAD(emb, [&](const std::vector<tg::Tensor>& in) { return emb(in[0]); }, {idx});
    tg::ScopedTape scope;
    emb.zero_grad();
    emb(idx).sum().backward();
    CHECK(emb.weight.grad().at({4, 1}) == 2.0);
    CHECK(emb.weight.grad().at({1, 1}) == 0.0);
  }
  SUBCASE("the padding row starts at zero and gets no gradient") {
    nn::Embedding pad(nn::EmbeddingOptions{.num_embeddings = 4, .embedding_dim = 2, .padding_idx = -1});
    CHECK(pad.weight[3].abs().sum().item() == 0.0);
    tg::ScopedTape scope;
    pad(tg::tensor(std::vector<std::int64_t>{3, 1, 3}, {3})).sum().backward();
    CHECK(pad.weight.grad()[3].abs().sum().item() == 0.0);
    CHECK(pad.weight.grad().at({1, 0}) == 1.0);
  }
  SUBCASE("errors") {
    CHECK_THROWS_WITH_AS(emb(tg::tensor(std::vector<std::int64_t>{1, 5}, {2})),
                         "Embedding(5, 3): index 5 is out of range [0, 5)", tg::IndexError);
    CHECK_THROWS_AS(emb(tg::zeros({2})), tg::DtypeError);
    CHECK_THROWS_AS(nn::Embedding(0, 3), tg::ValueError);
    CHECK_THROWS_AS(nn::Embedding(nn::EmbeddingOptions{.num_embeddings = 3, .embedding_dim = 2, .padding_idx = 3}),
                    tg::ValueError);
  }
}
