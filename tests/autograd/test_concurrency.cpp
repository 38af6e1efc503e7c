// Threads training their own models on their own tapes get bit-identical results to running one after
// another; tensors that need no gradient (data, frozen weights) may be shared read-only between them.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "tapegrad/tapegrad.hpp"

namespace {

constexpr tg::TensorOptions f64{.dtype = tg::kFloat64};

struct Trained {
  std::vector<double> w1;
  std::vector<double> b1;
  std::vector<double> w2;
  std::vector<double> losses;
};

// A 4-8-1 tanh MLP fit to a fixed regression target with plain SGD. `x` and `frozen` may be shared with
// other threads: they require no gradient and are only read.
Trained train(std::uint64_t seed, const tg::Tensor& x, const tg::Tensor& frozen) {
  tg::Generator gen(seed);
  tg::Tensor w1 = tg::randn({4, 8}, f64, &gen) * 0.5;
  tg::Tensor b1 = tg::zeros({8}, f64);
  tg::Tensor w2 = tg::randn({8, 1}, f64, &gen) * 0.5;
  for (tg::Tensor* p : {&w1, &b1, &w2}) p->requires_grad_();
  const tg::Tensor y = tg::sin(tg::matmul(x, frozen));
  Trained out;
  for (int step = 0; step < 30; ++step) {
    tg::ScopedTape scope;
    const tg::Tensor h = tg::tanh(tg::matmul(x, w1) + b1);
    const tg::Tensor err = tg::matmul(h, w2) - y;
    const tg::Tensor loss = tg::sum(err * err) / static_cast<double>(x.size(0));
    loss.backward();
    out.losses.push_back(loss.item());
    tg::NoGradGuard no_grad;
    for (tg::Tensor* p : {&w1, &b1, &w2}) {
      p->sub_(p->grad(), 0.1);
      p->zero_grad();
    }
  }
  out.w1 = w1.to_vector<double>();
  out.b1 = b1.to_vector<double>();
  out.w2 = w2.to_vector<double>();
  return out;
}

bool identical(const Trained& a, const Trained& b) {
  return a.w1 == b.w1 && a.b1 == b.b1 && a.w2 == b.w2 && a.losses == b.losses;
}

}  // namespace

TEST_CASE("concurrency: threads training their own MLPs match sequential runs bit for bit") {
  tg::Generator gen(7);
  const tg::Tensor x = tg::randn({32, 4}, f64, &gen);
  const tg::Tensor frozen = tg::randn({4, 1}, f64, &gen);
  constexpr int kThreads = 4;
  std::vector<Trained> sequential;
  for (int s = 0; s < kThreads; ++s) sequential.push_back(train(100 + s, x, frozen));
  SUBCASE("shared read-only data and frozen weights") {
    std::vector<Trained> parallel(kThreads);
    std::vector<std::thread> threads;
    for (int s = 0; s < kThreads; ++s) {
      threads.emplace_back([&, s] { parallel[s] = train(100 + s, x, frozen); });
    }
    for (auto& t : threads) t.join();
    for (int s = 0; s < kThreads; ++s) CHECK(identical(parallel[s], sequential[s]));
    CHECK(sequential[0].losses.back() < sequential[0].losses.front());  // the models really trained
  }
  SUBCASE("each thread holds the last reference to tensors made by another thread") {
    std::vector<Trained> parallel(kThreads);
    std::vector<std::thread> threads;
    for (int s = 0; s < kThreads; ++s) {
      // The copies are dropped inside the worker, so their storage is freed into the worker's cache.
      tg::Tensor xs = x.clone();
      tg::Tensor fs = frozen.clone();
      threads.emplace_back([&parallel, s, xs = std::move(xs), fs = std::move(fs)]() mutable {
        parallel[s] = train(100 + s, xs, fs);
        xs = tg::Tensor();
        fs = tg::Tensor();
      });
    }
    for (auto& t : threads) t.join();
    for (int s = 0; s < kThreads; ++s) CHECK(identical(parallel[s], sequential[s]));
  }
}

TEST_CASE("concurrency: a parameter that requires grad may be shared for inference under NoGradGuard") {
  tg::Generator gen(3);
  tg::Tensor w = tg::randn({4, 4}, f64, &gen);
  w.requires_grad_();
  const tg::Tensor x = tg::randn({8, 4}, f64, &gen);
  auto infer = [&](int s) {
    tg::NoGradGuard no_grad;  // nothing is recorded, so nothing is written into w (its grad, its node)
    tg::Tensor h = x * static_cast<double>(s + 1);
    for (int i = 0; i < 50; ++i) h = tg::tanh(tg::matmul(h, w));
    return h.to_vector<double>();
  };
  std::vector<std::vector<double>> sequential;
  for (int s = 0; s < 4; ++s) sequential.push_back(infer(s));
  std::vector<std::vector<double>> parallel(4);
  std::vector<std::thread> threads;
  for (int s = 0; s < 4; ++s) threads.emplace_back([&, s] { parallel[s] = infer(s); });
  for (auto& t : threads) t.join();
  for (int s = 0; s < 4; ++s) CHECK(parallel[s] == sequential[s]);
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("concurrency: a tensor recorded on another thread's tape cannot be differentiated there") {
  tg::ScopedTape scope;
  const tg::Tensor w = tg::ones({2}, {.dtype = tg::kFloat64, .requires_grad = true});
  const tg::Tensor y = tg::sum(w * 2.0);
  bool threw = false;
  std::thread t([&] {
    try {
      y.backward();
    } catch (const tg::TapeError& e) {
      threw = std::string(e.what()).find("a tape of another thread") != std::string::npos;
    }
  });
  t.join();
  CHECK(threw);
  y.backward();  // the owning thread still can: the failed attempt left the graph intact
  CHECK(w.grad().to_vector<double>() == std::vector<double>{2.0, 2.0});
}
