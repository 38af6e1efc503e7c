// Module tree: registration rules, dotted names, traversal, apply, train/eval, zero_grad, freezing,
// dtype conversion, printing and summary, and the in-memory state dict with its load errors.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include "tapegrad/nn/nn.hpp"

namespace nn = tg::nn;

namespace {

// A user-defined module with a two-argument forward and a registered Sequential "layers".
struct Encoder : nn::Module {
  std::shared_ptr<nn::Sequential> layers;
  std::shared_ptr<nn::BatchNorm1d> norm;
  tg::Tensor scale;
  Encoder() {
    layers = register_module("layers", nn::Sequential(nn::Linear(3, 4), nn::ReLU(), nn::Linear(4, 2)));
    norm = register_module("norm", std::make_shared<nn::BatchNorm1d>(2));
    scale = register_parameter("scale", tg::ones({1}));
  }
  tg::Tensor forward(const tg::Tensor& x, const tg::Tensor& shift) { return norm->forward(layers->forward(x)) * scale + shift; }
};

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("Module registration and traversal") {
  Encoder enc;
  SUBCASE("named_parameters uses dotted names in registration order") {
    const auto named = enc.named_parameters();
    const std::vector<std::string> expect{"scale", "layers.0.weight", "layers.0.bias", "layers.2.weight",
                                          "layers.2.bias", "norm.weight", "norm.bias"};
    CHECK(named.keys() == expect);
    CHECK(named.at("layers.0.weight").shape() == tg::Shape{4, 3});
    CHECK(enc.parameters().size() == expect.size());
    CHECK(enc.parameters(false).size() == 1);
    CHECK(enc.named_parameters(false).keys() == std::vector<std::string>{"scale"});
  }
  SUBCASE("handles are shared with the registry") {
    CHECK(enc.named_parameters().at("layers.0.weight").impl() == enc.layers->at<nn::Linear>(0)->weight.impl());
  }
  SUBCASE("buffers, children and modules") {
    CHECK(enc.named_buffers().keys() ==
          std::vector<std::string>{"norm.running_mean", "norm.running_var", "norm.num_batches_tracked"});
    CHECK(enc.children().size() == 2);
    CHECK(enc.named_children()[0].first == "layers");
    std::vector<std::string> names;
    for (const auto& [n, m] : enc.named_modules()) names.push_back(n);
    CHECK(names == std::vector<std::string>{"", "layers", "layers.0", "layers.1", "layers.2", "norm"});
    CHECK(enc.modules().size() == 6);
  }
  SUBCASE("apply visits every module in pre-order") {
    std::vector<std::string> seen;
    enc.apply([&](nn::Module& m) { seen.push_back(m.name()); });
    CHECK(seen == std::vector<std::string>{"(anonymous namespace)::Encoder", "Sequential", "Linear", "ReLU", "Linear",
                                           "BatchNorm1d"});
    int linears = 0;
    enc.apply([&](const std::string& name, nn::Module& m) {
      if (auto* lin = dynamic_cast<nn::Linear*>(&m)) {
        nn::init::constant_(lin->weight, 0.5);
        ++linears;
        CHECK(name.rfind("layers.", 0) == 0);
      }
    });
    CHECK(linears == 2);
    CHECK(enc.layers->at<nn::Linear>(2)->weight.at({1, 3}) == 0.5);
  }
  SUBCASE("a forward of any signature") {
    const tg::Tensor y = enc.forward(tg::randn({5, 3}), tg::ones({2}));
    CHECK(y.shape() == tg::Shape{5, 2});
  }
  SUBCASE("bad names are refused") {
    nn::Module m("M");
    m.register_parameter("w", tg::zeros({2}));
    CHECK_THROWS_WITH_AS(m.register_parameter("w", tg::zeros({2})), "Module::register_parameter: \"w\" is already registered in M", tg::ValueError);
    CHECK_THROWS_AS(m.register_buffer("w", tg::zeros({2})), tg::ValueError);
    CHECK_THROWS_AS(m.register_module("w", nn::Identity()), tg::ValueError);
    CHECK_THROWS_AS(m.register_parameter("a.b", tg::zeros({2})), tg::ValueError);
    CHECK_THROWS_AS(m.register_parameter("", tg::zeros({2})), tg::ValueError);
    CHECK_THROWS_AS(m.register_parameter("u", tg::Tensor()), tg::ValueError);
    CHECK_THROWS_AS(m.register_parameter("i", tg::zeros({2}, {.dtype = tg::kInt64})), tg::DtypeError);
    CHECK_THROWS_AS(m.register_module("n", std::shared_ptr<nn::Linear>()), tg::ValueError);
  }
  SUBCASE("a computed tensor is detached into a leaf parameter") {
    nn::Module m;
    tg::Tensor base = tg::ones({2}, {.dtype = tg::kFloat64, .requires_grad = true});
    tg::ScopedTape scope;
    const tg::Tensor p = m.register_parameter("p", base * 2.0);
    CHECK(p.is_leaf());
    CHECK(p.requires_grad());
    CHECK(p.at({0}) == 2.0);
  }
  SUBCASE("a shared parameter or module is listed once") {
    nn::Module m;
    auto lin = std::make_shared<nn::Linear>(2, 2);
    m.register_module("a", lin);
    m.register_module("b", lin);
    m.register_parameter("tied", lin->weight);
    CHECK(m.parameters().size() == 2);
    CHECK(m.named_parameters().keys() == std::vector<std::string>{"tied", "a.bias"});
    CHECK(m.state_dict().size() == 5);
  }
  SUBCASE("replace_module") {
    enc.layers->replace_module("1", std::make_shared<nn::Tanh>());
    CHECK(enc.layers->named_children()[1].second->name() == "Tanh");
    CHECK_THROWS_AS(enc.replace_module("nope", std::make_shared<nn::Tanh>()), tg::IndexError);
  }
}

TEST_CASE("Module parameters survive tape resets and train as leaves") {
  nn::Linear lin(2, 1, true, tg::kFloat64);
  const tg::Tensor x = tg::tensor({{1.0, 2.0}}, {.dtype = tg::kFloat64});
  for (int step = 0; step < 3; ++step) {
    tg::ScopedTape scope;
    lin.forward(x).sum().backward();
  }
  CHECK(lin.weight.grad().at({0, 1}) == 6.0);
  CHECK(lin.bias.grad().at({0}) == 3.0);
  const double* grad_memory = lin.weight.grad().data_ptr<double>();
  lin.zero_grad();
  CHECK(lin.weight.grad().at({0, 1}) == 0.0);
  CHECK(lin.weight.grad().data_ptr<double>() == grad_memory);
  CHECK(lin.weight.is_leaf());
  lin.zero_grad(true);
  CHECK_FALSE(lin.weight.grad().defined());
  CHECK_FALSE(lin.bias.grad().defined());
}

TEST_CASE("train and eval switch the whole tree") {
  Encoder enc;
  CHECK(enc.is_training());
  enc.eval();
  for (nn::Module* m : enc.modules()) CHECK_FALSE(m->is_training());
  enc.train();
  for (nn::Module* m : enc.modules()) CHECK(m->is_training());
}

TEST_CASE("freezing") {
  Encoder enc;
  const std::int64_t total = 1 + (4 * 3 + 4) + (2 * 4 + 2) + 2 + 2;
  CHECK(enc.num_parameters() == total);
  enc.layers->freeze();
  CHECK(enc.num_parameters(true) == 1 + 2 + 2);
  SUBCASE("frozen parameters get no gradient") {
    tg::ScopedTape scope;
    enc.forward(tg::randn({4, 3}), tg::zeros({2})).sum().backward();
    CHECK_FALSE(enc.layers->at<nn::Linear>(0)->weight.grad().defined());
    CHECK(enc.scale.grad().defined());
  }
  SUBCASE("unfreeze") {
    enc.unfreeze();
    CHECK(enc.num_parameters(true) == total);
  }
}

TEST_CASE("Module::to converts in place") {
  nn::Linear lin(3, 2);
  const tg::Tensor w_before = lin.weight;
  const std::vector<double> values = lin.weight.to_vector<double>();
  lin.to(tg::kFloat64);
  CHECK(lin.weight.dtype() == tg::kFloat64);
  CHECK(w_before.dtype() == tg::kFloat64);
  CHECK(lin.named_parameters().at("weight").dtype() == tg::kFloat64);
  CHECK(lin.weight.to_vector<double>() == values);
  CHECK(lin.weight.requires_grad());
  nn::BatchNorm1d bn(2);
  bn.to(tg::kFloat64);
  CHECK(bn.running_var.dtype() == tg::kFloat64);
  CHECK(bn.num_batches_tracked.dtype() == tg::kInt64);
  CHECK_THROWS_AS(lin.to(tg::kInt64), tg::DtypeError);
}

TEST_CASE("printing and summary") {
  Encoder enc;
  SUBCASE("operator<< prints the tree like LibTorch") {
    std::ostringstream os;
    os << *enc.layers;
    CHECK(os.str() ==
          "Sequential(\n"
          "  (0): Linear(in_features=3, out_features=4, bias=true)\n"
          "  (1): ReLU\n"
          "  (2): Linear(in_features=4, out_features=2, bias=true)\n"
          ")");
  }
  SUBCASE("summary counts parameters per module and in total") {
    enc.norm->freeze();
    const std::string s = enc.summary();
    INFO(s);
    CHECK(contains(s, "0: Linear(in_features=3, out_features=4, bias=true)"));
    CHECK(contains(s, "Total parameters: 31 (trainable: 27, frozen: 4); buffer elements: 5"));
    std::istringstream lines(s);
    std::string line;
    bool seq = false;
    while (std::getline(lines, line)) {
      if (line.find("  layers: Sequential") == 0) {
        seq = true;
        CHECK(contains(line, " 26 "));
      }
    }
    CHECK(seq);
  }
  SUBCASE("thousands are grouped") {
    nn::Linear big(1000, 1000);
    CHECK(contains(big.summary(), "1,001,000"));
  }
}

TEST_CASE("state_dict round trip and load errors") {
  nn::MLP a({.sizes = {3, 4, 2}});
  nn::MLP b({.sizes = {3, 4, 2}});
  SUBCASE("keys, and a round trip copies values in place") {
    const auto sd = a.state_dict();
    CHECK(sd.keys() == std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
    const tg::Tensor w_handle = b.at<nn::Linear>(0)->weight;
    const auto res = b.load_state_dict(sd);
    CHECK(res.missing_keys.empty());
    CHECK(res.unexpected_keys.empty());
    CHECK(tg::equal(w_handle, a.at<nn::Linear>(0)->weight));
    CHECK(w_handle.impl() == b.at<nn::Linear>(0)->weight.impl());
    CHECK(w_handle.data_ptr<float>() != a.at<nn::Linear>(0)->weight.data_ptr<float>());
    const tg::Tensor x = tg::randn({5, 3});
    CHECK(tg::equal(a.forward(x), b.forward(x)));
  }
  SUBCASE("buffers are included, non-persistent ones are not") {
    nn::BatchNorm1d bn(3);
    bn.register_buffer("scratch", tg::zeros({2}), false);
    CHECK(bn.state_dict().keys() ==
          std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});
    bn.train();
    bn.forward(tg::randn({4, 3}));
    nn::BatchNorm1d other(3);
    other.load_state_dict(bn.state_dict());
    CHECK(tg::equal(other.running_mean, bn.running_mean));
    CHECK(other.num_batches_tracked.item() == 1.0);
  }
  SUBCASE("every problem is listed in one error, and nothing is copied") {
    nn::StateDict sd = a.state_dict();
    sd.erase("2.bias");
    sd.insert("3.weight", tg::zeros({1}));
    sd.insert_or_assign("0.weight", tg::zeros({4, 5}));
    sd.insert_or_assign("0.bias", tg::zeros({4}, {.dtype = tg::kFloat64}));
    const std::vector<float> before = b.at<nn::Linear>(2)->weight.to_vector<float>();
    try {
      b.load_state_dict(sd);
      FAIL("load_state_dict accepted a bad dict");
    } catch (const tg::ValueError& e) {
      const std::string msg = e.what();
      INFO(msg);
      CHECK(contains(msg, "missing key \"2.bias\""));
      CHECK(contains(msg, "unexpected key \"3.weight\""));
      CHECK(contains(msg, "\"0.weight\": shape [4, 5] in the dict, [4, 3] in the module"));
      CHECK(contains(msg, "\"0.bias\": dtype float64 in the dict, float32 in the module"));
    }
    CHECK(b.at<nn::Linear>(2)->weight.to_vector<float>() == before);
  }
  SUBCASE("non-strict loading reports missing and unexpected keys") {
    nn::StateDict sd = a.state_dict();
    sd.erase("2.bias");
    sd.insert("extra", tg::zeros({1}));
    const auto res = b.load_state_dict(sd, false);
    CHECK(res.missing_keys == std::vector<std::string>{"2.bias"});
    CHECK(res.unexpected_keys == std::vector<std::string>{"extra"});
    CHECK(tg::equal(b.at<nn::Linear>(2)->weight, a.at<nn::Linear>(2)->weight));
    sd.insert_or_assign("0.weight", tg::zeros({1}));
    CHECK_THROWS_AS(b.load_state_dict(sd, false), tg::ValueError);
  }
  SUBCASE("StateDict lookups") {
    const auto sd = a.state_dict();
    CHECK(sd.contains("0.bias"));
    CHECK(sd.find("nope") == nullptr);
    CHECK_THROWS_AS(sd.at("nope"), tg::IndexError);
    CHECK_THROWS_AS(nn::StateDict(sd).insert("0.bias", tg::zeros({1})), tg::ValueError);
    CHECK(nn::StateDict(sd.to_map()).size() == 4);
  }
  SUBCASE("a state dict converts to and from a plain list of named tensors") {
    const std::vector<std::pair<std::string, tg::Tensor>>& list = a.state_dict();
    CHECK(list.size() == 4);
    std::vector<std::pair<std::string, tg::Tensor>> copies;
    for (const auto& [n, t] : a.state_dict()) copies.emplace_back(n, t.clone());
    b.load_state_dict(copies);
    CHECK(tg::equal(b.at<nn::Linear>(2)->bias, a.at<nn::Linear>(2)->bias));
    copies.push_back(copies.front());
    CHECK_THROWS_AS(b.load_state_dict(copies), tg::ValueError);
  }
}
