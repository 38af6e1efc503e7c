// Real data: an MLP trained on Fashion-MNIST (Debian's dataset-fashion-mnist) with a progress bar, the test
// accuracy per epoch, a confusion matrix, and the model saved as safetensors, reloaded and re-evaluated.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "example_args.hpp"
#include "plot.hpp"
#include "tapegrad/nn/idx.hpp"
#include "tapegrad/nn/loader.hpp"
#include "tapegrad/nn/nn.hpp"
#include "tapegrad/nn/optim.hpp"
#include "tapegrad/nn/serialize.hpp"

namespace {

namespace plot = tg::plot;
using Clock = std::chrono::steady_clock;

// Exit status that CTest reads as "skipped" (set in examples/CMakeLists.txt): the data is not installed.
constexpr int kSkip = 77;

// Pixels scaled to [0, 1] and standardised with the training set's mean and deviation (0.2860, 0.3530), so
// every input starts on the scale the initialisation assumes.
struct Split {
  tg::Tensor x;  // [n, 784] float32
  tg::Tensor y;  // [n] int64
  std::vector<std::int64_t> labels;
};

Split to_tensors(const tg::nn::ImageDataset& d, std::int64_t limit) {
  const std::int64_t n = std::min<std::int64_t>(limit, d.images.count);
  const std::int64_t dim = d.images.rows * d.images.cols;
  std::vector<float> x(static_cast<std::size_t>(n * dim));
  for (std::size_t i = 0; i < x.size(); ++i) {
    x[i] = static_cast<float>((d.images.pixels[i] / 255.0 - 0.2860) / 0.3530);
  }
  Split s;
  s.labels.assign(d.labels.begin(), d.labels.begin() + n);
  s.x = tg::tensor(x, {n, dim});
  s.y = tg::tensor(s.labels, {n});
  return s;
}

// The predicted class of every row, in batches, without recording.
std::vector<std::int64_t> predict(tg::nn::MLP& model, const tg::Tensor& x) {
  tg::NoGradGuard no_grad;
  std::vector<std::int64_t> out;
  const std::int64_t n = x.size(0);
  for (std::int64_t start = 0; start < n; start += 1000) {
    const std::int64_t len = std::min<std::int64_t>(1000, n - start);
    const auto part = tg::argmax(model.forward(tg::narrow(x, 0, start, len)), 1).to_vector<std::int64_t>();
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

double accuracy(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& labels) {
  std::size_t right = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) right += predicted[i] == labels[i];
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

std::string clock_str(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d:%02d", s / 60, s % 60);
  return buf;
}

// One line of progress: on a terminal redrawn in place, otherwise printed at every tenth of the epoch.
class Progress {
 public:
  Progress(int epoch, int epochs, std::int64_t batches)
      : epoch_(epoch), epochs_(epochs), batches_(batches), tty_(isatty(fileno(stdout)) != 0), start_(Clock::now()) {}
  void update(std::int64_t done, std::int64_t samples, double loss) {
    const bool last = done == batches_;
    if (!tty_ && !last && done * 10 / batches_ == (done - 1) * 10 / batches_) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = static_cast<double>(samples) / std::max(elapsed, 1e-9);
    const double eta = elapsed / static_cast<double>(done) * static_cast<double>(batches_ - done);
    const int width = 24;
    const int filled = static_cast<int>(width * done / batches_);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(width, '.');
    std::printf("%sepoch %d/%d [%s] %lld/%lld batches  loss %.4f  %6.0f samples/s  ETA %s%s", tty_ ? "\r" : "  ",
                epoch_, epochs_, bar.c_str(), static_cast<long long>(done), static_cast<long long>(batches_), loss,
                rate, clock_str(eta).c_str(), tty_ && !last ? "" : "\n");
    std::fflush(stdout);
  }

 private:
  int epoch_;
  int epochs_;
  std::int64_t batches_;
  bool tty_;
  Clock::time_point start_;
};

// The model's parameters (its state dict) as a safetensors file.
void save(tg::nn::MLP& model, const std::filesystem::path& path, double test_accuracy) {
  tg::nn::save_tensors(path, model.state_dict().items(),
                       {{"model", "mlp 784-256-128-10 relu"}, {"test_accuracy", std::to_string(test_accuracy)}});
}

// Copies the tensors of a safetensors file into a model of the same layout (names, shapes and dtypes are
// checked first).
void load(tg::nn::MLP& model, const std::filesystem::path& path) {
  const tg::nn::LoadedTensors loaded = tg::nn::load_tensors(path);
  tg::nn::load_into(model.state_dict().items(), loaded.tensors, "fashion_mnist");
}

void confusion(const std::vector<std::int64_t>& predicted, const std::vector<std::int64_t>& labels,
               const std::filesystem::path& path) {
  const auto names = tg::nn::fashion_mnist_classes();
  std::vector<double> m(100, 0.0);
  for (std::size_t i = 0; i < labels.size(); ++i) m[static_cast<std::size_t>(labels[i] * 10 + predicted[i])] += 1;
  std::printf("\nConfusion matrix on the test set (rows: true class, columns: predicted)\n%13s", "");
  for (int c = 0; c < 10; ++c) std::printf("%5d", c);
  std::printf("\n");
  std::vector<std::string> row_labels;
  for (int r = 0; r < 10; ++r) {
    row_labels.emplace_back(names[static_cast<std::size_t>(r)]);
    std::printf("%d %-11s", r, row_labels.back().c_str());
    for (int c = 0; c < 10; ++c) std::printf("%5.0f", m[static_cast<std::size_t>(r * 10 + c)]);
    std::printf("\n");
  }
  // The class the model gets right least often, and what it takes it for.
  int worst = 0;
  auto recall = [&](int r) {
    double total = 0.0;
    for (int c = 0; c < 10; ++c) total += m[static_cast<std::size_t>(r * 10 + c)];
    return total > 0 ? m[static_cast<std::size_t>(r * 11)] / total : 1.0;
  };
  for (int r = 1; r < 10; ++r) worst = recall(r) < recall(worst) ? r : worst;
  int confused = worst == 0 ? 1 : 0;
  for (int c = 0; c < 10; ++c) {
    const auto at = [&](int col) { return m[static_cast<std::size_t>(worst * 10 + col)]; };
    if (c != worst && at(c) > at(confused)) confused = c;
  }
  std::printf("The hardest class is %s (%.0f%% right), most often taken for %s.\n",
              row_labels[static_cast<std::size_t>(worst)].c_str(), 100 * recall(worst),
              row_labels[static_cast<std::size_t>(confused)].c_str());
  plot::save_svg(path, plot::heatmap(m, 10, 10,
                                     {.title = "Fashion-MNIST test set: true class (rows) vs predicted",
                                      .row_labels = row_labels,
                                      .col_labels = row_labels,
                                      .cell = 48.0}));
}

int run(const tg::examples::ExampleArgs& args) {
  std::filesystem::path dir;
  try {
    dir = tg::nn::fashion_mnist_dir();
  } catch (const tg::nn::IoError& e) {
    std::printf("%s\nSkipping: this example needs the Debian package dataset-fashion-mnist.\n", e.what());
    return kSkip;
  }
  const int epochs = args.quick ? 1 : 10;
  const std::int64_t train_limit = args.quick ? 6000 : 60000;
  const std::int64_t test_limit = args.quick ? 2000 : 10000;
  const std::int64_t batch = 128;
  std::printf("Fashion-MNIST from %s: %lld training and %lld test images%s\n", dir.string().c_str(),
              static_cast<long long>(train_limit), static_cast<long long>(test_limit),
              args.quick ? " (--quick: a subset, one epoch)" : "");
  const Split train = to_tensors(tg::nn::load_fashion_mnist(dir, true), train_limit);
  const Split test = to_tensors(tg::nn::load_fashion_mnist(dir, false), test_limit);

  tg::manual_seed(1);  // the layers draw their initial weights from the default generator
  tg::nn::MLP model({.sizes = {784, 256, 128, 10}, .activation = "relu"});
  tg::nn::Adam opt(model.parameters(), {.lr = 1e-3});
  std::printf("MLP 784-256-128-10 (ReLU), Adam, batch %lld, %d epoch%s; learning rate 1e-3, lowered to 3e-4\n"
              "and 1e-4 for the last epochs\n\n",
              static_cast<long long>(batch), epochs, epochs == 1 ? "" : "s");
  tg::nn::BatchSampler sampler(train_limit, batch, /*shuffle=*/true, /*drop_last=*/false, /*seed=*/42);
  std::vector<double> epoch_axis, losses, accuracies;
  const auto t0 = Clock::now();
  for (int epoch = 0; epoch < epochs; ++epoch) {
    opt.set_lr(0, epoch >= 8 ? 1e-4 : epoch >= 6 ? 3e-4 : 1e-3);
    sampler.set_epoch(epoch);
    Progress bar(epoch + 1, epochs, sampler.size());
    double loss_sum = 0.0;
    std::int64_t seen = 0;
    std::int64_t done = 0;
    for (std::span<const std::int64_t> idx : sampler) {
      const tg::Tensor rows = tg::tensor(std::vector<std::int64_t>(idx.begin(), idx.end()),
                                         {static_cast<std::int64_t>(idx.size())});
      tg::ScopedTape tape;
      opt.zero_grad();
      const tg::Tensor loss =
          tg::nn::functional::cross_entropy(model.forward(tg::index_select(train.x, 0, rows)), tg::index_select(train.y, 0, rows));
      loss.backward();
      opt.step();
      loss_sum += loss.item() * static_cast<double>(idx.size());
      seen += static_cast<std::int64_t>(idx.size());
      bar.update(++done, seen, loss_sum / static_cast<double>(seen));
    }
    const double acc = accuracy(predict(model, test.x), test.labels);
    epoch_axis.push_back(epoch + 1);
    losses.push_back(loss_sum / static_cast<double>(seen));
    accuracies.push_back(100 * acc);
    std::printf("  epoch %2d: train loss %.4f, test accuracy %.2f%%\n", epoch + 1, losses.back(), 100 * acc);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  const std::vector<std::int64_t> predicted = predict(model, test.x);
  const double final_acc = accuracy(predicted, test.labels);
  std::printf("\nTest accuracy %.2f%% after %s of training (the published MLP baseline is 87.7%%)\n",
              100 * final_acc, clock_str(seconds).c_str());
  confusion(predicted, test.labels, args.out / "fashion_confusion.svg");

  std::vector<plot::Panel> panels;
  panels.push_back({.title = "training loss", .series = {{.name = "train loss", .x = epoch_axis, .y = losses,
                                                          .style = plot::Style::line_and_points}}});
  panels.push_back({.title = "test accuracy (%)",
                    .series = {{.name = "test accuracy", .x = epoch_axis, .y = accuracies,
                                .color = std::string(plot::palette(1)), .style = plot::Style::line_and_points}}});
  plot::save_svg(args.out / "fashion_training.svg",
                 plot::panel_grid(panels, {.title = "Fashion-MNIST MLP, per epoch", .columns = 2,
                                           .panel_width = 320, .panel_height = 240}));

  // Saved, reloaded into a differently initialised model, evaluated again.
  const auto model_path = args.out / "fashion_mlp.safetensors";
  save(model, model_path, final_acc);
  tg::manual_seed(999);
  tg::nn::MLP reloaded({.sizes = {784, 256, 128, 10}, .activation = "relu"});
  load(reloaded, model_path);
  const std::vector<std::int64_t> again = predict(reloaded, test.x);
  const double reloaded_acc = accuracy(again, test.labels);
  const bool same = again == predicted;
  std::printf("\nSaved %s (%ju bytes), reloaded into a fresh model: test accuracy %.2f%%, %s\n",
              model_path.string().c_str(), static_cast<std::uintmax_t>(std::filesystem::file_size(model_path)),
              100 * reloaded_acc, same ? "every prediction identical" : "PREDICTIONS DIFFER");
  std::printf("Wrote %s, %s\n", (args.out / "fashion_confusion.svg").string().c_str(),
              (args.out / "fashion_training.svg").string().c_str());

  const double need = args.quick ? 0.65 : 0.89;
  if (!same || final_acc < need) {
    std::fprintf(stderr, "fashion_mnist: %s\n",
                 same ? ("test accuracy below " + std::to_string(need)).c_str() : "the reloaded model differs");
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tg::examples::run_example(argc, argv, "fashion_mnist", run);
}
