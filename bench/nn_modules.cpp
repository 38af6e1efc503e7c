// The cost of tg::nn's modules over the bare tensor ops they run: one training step (forward, cross-entropy,
// backward, plain SGD) of a 784-128-10 ReLU MLP on a float32 batch, written once with nn::MLP and
// functional::cross_entropy and once by hand with matmul / relu / log_softmax / gather.
#include <cstdio>
#include <vector>

#include "support/harness.hpp"
#include "tapegrad/nn/nn.hpp"

namespace {

namespace nn = tg::nn;

struct Data {
  tg::Tensor x;
  tg::Tensor y;
};

Data make_data(std::int64_t batch) {
  tg::Generator gen(1);
  Data d;
  d.x = tg::randn({batch, 784}, {}, &gen);
  d.y = tg::randint(0, 10, {batch}, {.dtype = tg::kInt64}, &gen);
  return d;
}

void sgd(const std::vector<tg::Tensor>& params, double lr) {
  tg::NoGradGuard ng;
  for (const tg::Tensor& p : params) {
    tg::Tensor q = p;
    q.sub_(p.grad(), lr);
  }
}

volatile double g_sink = 0.0;

}  // namespace

int main(int argc, char** argv) {
  const tgbench::Options opts = tgbench::parse_options(argc, argv);
  tgbench::Report report(opts.json);
  for (const std::int64_t batch : {64, 256}) {
    const Data d = make_data(batch);
    tg::manual_seed(3);
    nn::MLP mlp({.sizes = {784, 128, 10}});
    const std::vector<tg::Tensor> mparams = mlp.parameters();
    // The same parameters, used by hand.
    const tg::Tensor w1 = mparams[0];
    const tg::Tensor b1 = mparams[1];
    const tg::Tensor w2 = mparams[2];
    const tg::Tensor b2 = mparams[3];
    std::vector<tgbench::Contender> cs;
    cs.push_back({"nn::MLP + F::cross_entropy", [&] {
                    tg::ScopedTape tape;
                    mlp.zero_grad();
                    const tg::Tensor loss = nn::functional::cross_entropy(mlp.forward(d.x), d.y);
                    loss.backward();
                    sgd(mparams, 1e-6);
                    g_sink = loss.item();
                  }});
    cs.push_back({"bare tensor ops", [&] {
                    tg::ScopedTape tape;
                    for (const tg::Tensor& p : mparams) p.zero_grad();
                    const tg::Tensor h = tg::relu(tg::matmul(d.x, w1.t()) + b1);
                    const tg::Tensor logits = tg::matmul(h, w2.t()) + b2;
                    const tg::Tensor logp = tg::log_softmax(logits, 1);
                    const tg::Tensor loss = -tg::gather(logp, 1, d.y.unsqueeze(1)).mean();
                    loss.backward();
                    sgd(mparams, 1e-6);
                    g_sink = loss.item();
                  }});
    if (!opts.selected("mlp_step")) continue;
    const std::vector<double> t = tgbench::time_alternating(cs, opts.reps);
    const std::string bench = "mlp_step_b" + std::to_string(batch);
    report.add(bench, "nn_us", t[0] * 1e6, "us");
    report.add(bench, "bare_us", t[1] * 1e6, "us");
    report.add(bench, "nn_over_bare", t[0] / t[1], "ratio");
  }
  report.note("one SGD step of a 784-128-10 ReLU MLP, float32; nn_over_bare near 1 means the modules add no cost");
  report.print();
  return 0;
}
