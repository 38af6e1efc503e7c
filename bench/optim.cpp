// Optimizer step cost per parameter (1M float32 parameters) next to a plain fused Adam loop written
// directly on float arrays, and the DataLoader's row gather for Fashion-MNIST-sized batches.
#include <cmath>
#include <memory>
#include <vector>

#include "support/harness.hpp"
#include "tapegrad/nn/data_tensor.hpp"
#include "tapegrad/nn/optim.hpp"

namespace {

constexpr std::int64_t kParams = 1 << 20;

tg::Tensor param_with_grad(tg::Generator& gen) {
  tg::Tensor p = tg::randn({kParams}, {}, &gen);
  p.requires_grad_();
  p.backward(tg::randn({kParams}, {}, &gen));
  return p;
}

// The same Adam update as tg::nn::Adam, hand-written on raw float arrays: the floor for a fused loop.
struct PlainAdam {
  std::vector<float> p, g, m, v;
  std::int64_t t = 0;
  explicit PlainAdam(std::size_t n) : p(n, 0.5F), g(n, 0.1F), m(n, 0.0F), v(n, 0.0F) {}
  void step() {
    ++t;
    const double b1 = 0.9, b2 = 0.999, lr = 1e-3, eps = 1e-8;
    const double step_size = lr / (1.0 - std::pow(b1, static_cast<double>(t)));
    const double bc2 = std::sqrt(1.0 - std::pow(b2, static_cast<double>(t)));
    for (std::size_t i = 0; i < p.size(); ++i) {
      const double d = g[i];
      m[i] = static_cast<float>(b1 * m[i] + (1.0 - b1) * d);
      v[i] = static_cast<float>(b2 * v[i] + (1.0 - b2) * d * d);
      p[i] = static_cast<float>(p[i] - step_size * m[i] / (std::sqrt(static_cast<double>(v[i])) / bc2 + eps));
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  const tgbench::Options opt = tgbench::parse_options(argc, argv);
  tgbench::Report report(opt.json);
  tg::Generator gen(1);
  if (opt.selected("optim_step")) {
    std::vector<tg::Tensor> ps;
    std::vector<std::unique_ptr<tg::nn::Optimizer>> opts;
    for (int k = 0; k < 5; ++k) ps.push_back(param_with_grad(gen));
    opts.push_back(std::make_unique<tg::nn::SGD>(std::vector<tg::Tensor>{ps[0]}, tg::nn::SGDOptions{.momentum = 0.9}));
    opts.push_back(std::make_unique<tg::nn::Adam>(std::vector<tg::Tensor>{ps[1]}));
    opts.push_back(std::make_unique<tg::nn::AdamW>(std::vector<tg::Tensor>{ps[2]}));
    opts.push_back(std::make_unique<tg::nn::RMSprop>(std::vector<tg::Tensor>{ps[3]},
                                                     tg::nn::RMSpropOptions{.momentum = 0.9, .centered = true}));
    opts.push_back(std::make_unique<tg::nn::Adagrad>(std::vector<tg::Tensor>{ps[4]}));
    PlainAdam plain(static_cast<std::size_t>(kParams));
    std::vector<tgbench::Contender> cs;
    for (auto& o : opts) cs.push_back({o->name(), [&o] { o->step(); }});
    cs.push_back({"plain_adam_loop", [&plain] { plain.step(); }});
    const std::vector<double> t = tgbench::time_alternating(cs, opt.reps);
    for (std::size_t i = 0; i < cs.size(); ++i) {
      report.add("optim_step_1M_f32", cs[i].name + "_ns_per_param", t[i] / kParams * 1e9, "ns");
    }
    report.add("optim_step_1M_f32", "Adam_vs_plain_loop", t[1] / t.back(), "x");
  }
  if (opt.selected("loader")) {
    const std::int64_t n = 10000;
    tg::nn::DataLoader loader(tg::nn::TensorDataset(tg::rand({n, 784}, {}, &gen), tg::randint(0, 10, {n}, {}, &gen)),
                              {.batch_size = 256, .shuffle = true, .drop_last = true, .seed = 1});
    std::int64_t i = 0;
    volatile float sink = 0.0F;
    std::vector<tgbench::Contender> cs{{"gather_256x784_f32", [&] {
                                          const tg::nn::Batch b = loader.batch(i++ % loader.size());
                                          sink = sink + b.x.data_ptr<float>()[0];
                                        }}};
    const std::vector<double> t = tgbench::time_alternating(cs, opt.reps);
    report.add("loader", "batch_256x784_f32_us", t[0] * 1e6, "us");
    report.add("loader", "gather_bandwidth", 256.0 * 784 * 4 / t[0] / 1e9, "GB/s");
  }
  report.note("median of " + std::to_string(opt.reps) + " alternating repetitions; parameters and state float32");
  report.print();
  return 0;
}
