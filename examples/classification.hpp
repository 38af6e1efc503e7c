// The training behind the nonlinear_classification example, shared with its test: three 2-D data sets that
// no straight line separates, and a logistic regression and an MLP trained on each.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tapegrad/nn/datasets.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/nn/optim.hpp"

namespace classification {

/// A named data set split into training and test points (drawn with different seeds).
struct Task {
  std::string name;
  tg::nn::ToyDataset train;
  tg::nn::ToyDataset test;
};

/// Concentric circles, two moons and a two-arm spiral; `n` points in each split.
inline std::vector<Task> tasks(std::int64_t n = 500) {
  return {
      {"circles", tg::nn::make_circles(n, 0.08, 0.5, 11), tg::nn::make_circles(n, 0.08, 0.5, 12)},
      {"moons", tg::nn::make_moons(n, 0.12, 21), tg::nn::make_moons(n, 0.12, 22)},
      {"spiral", tg::nn::make_spirals(n, 2, 0.03, 31), tg::nn::make_spirals(n, 2, 0.03, 32)},
  };
}

/// How a model is trained: full-batch Adam for `steps` steps.
struct Settings {
  std::int64_t hidden = 32;  ///< width of each of the two hidden layers (0: logistic regression)
  int steps = 2000;          ///< full-batch Adam steps
  double lr = 0.01;          ///< Adam's learning rate
  std::uint64_t seed = 7;    ///< weight initialisation
};

/// A trained model with its accuracies and loss curve.
struct Result {
  std::shared_ptr<tg::nn::MLP> model;
  double train_accuracy = 0.0;
  double test_accuracy = 0.0;
  std::vector<double> loss;  ///< training loss after every step
};

/// The points of a data set as an [n, 2] float64 tensor.
inline tg::Tensor features(const tg::nn::ToyDataset& d) {
  return tg::tensor(d.x, {static_cast<std::int64_t>(d.size()), 2});
}

/// The labels as an [n, 1] float64 tensor of 0/1.
inline tg::Tensor targets(const tg::nn::ToyDataset& d) {
  std::vector<double> y(d.y.begin(), d.y.end());
  return tg::tensor(y, {static_cast<std::int64_t>(d.size()), 1});
}

/// The model's probability of class 1 for each row of x [n, 2], without recording.
inline std::vector<double> predict(tg::nn::MLP& model, const tg::Tensor& x) {
  tg::NoGradGuard no_grad;
  return tg::sigmoid(model.forward(x)).to_vector<double>();
}

/// The fraction of points the model puts on the right side of p = 0.5.
inline double accuracy(tg::nn::MLP& model, const tg::nn::ToyDataset& d) {
  const std::vector<double> p = predict(model, features(d));
  std::size_t right = 0;
  for (std::size_t i = 0; i < d.size(); ++i) right += (p[i] > 0.5) == (d.y[i] == 1);
  return static_cast<double>(right) / static_cast<double>(d.size());
}

/// Trains a logistic regression (settings.hidden == 0) or a 2-hidden-layer tanh MLP on task.train with
/// binary cross-entropy, and measures both accuracies.
inline Result train(const Task& task, const Settings& s) {
  const std::vector<std::int64_t> sizes =
      s.hidden == 0 ? std::vector<std::int64_t>{2, 1} : std::vector<std::int64_t>{2, s.hidden, s.hidden, 1};
  tg::manual_seed(s.seed);  // the layers draw their initial weights from the default generator
  Result r;
  r.model = std::make_shared<tg::nn::MLP>(
      tg::nn::MLPOptions{.sizes = sizes, .activation = "tanh", .dtype = tg::kFloat64});
  tg::nn::Adam opt(r.model->parameters(), {.lr = s.lr});
  const tg::Tensor x = features(task.train);
  const tg::Tensor y = targets(task.train);
  for (int step = 0; step < s.steps; ++step) {
    tg::ScopedTape tape;
    opt.zero_grad();
    const tg::Tensor loss = tg::nn::functional::binary_cross_entropy_with_logits(r.model->forward(x), y);
    loss.backward();
    opt.step();
    r.loss.push_back(loss.item());
  }
  r.train_accuracy = accuracy(*r.model, task.train);
  r.test_accuracy = accuracy(*r.model, task.test);
  return r;
}

/// The accuracy each model must reach with the default settings (the targets).
inline double required_mlp_accuracy(const std::string& task) { return task == "spiral" ? 0.95 : 0.97; }

}  // namespace classification
