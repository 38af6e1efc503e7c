// The nonlinear_classification example's claims, checked by running its training with the default settings:
// the MLP reaches the accuracy targets on held-out points and logistic regression cannot separate
// the circles.
#include <doctest/doctest.h>

#include "classification.hpp"

TEST_CASE("nonlinear classification: an MLP separates what a straight line cannot") {
  const classification::Settings mlp;  // the example's defaults
  classification::Settings logistic;
  logistic.hidden = 0;
  logistic.lr = 0.05;
  for (const classification::Task& task : classification::tasks()) {
    SUBCASE(task.name.c_str()) {
      const classification::Result r = classification::train(task, mlp);
      CAPTURE(r.train_accuracy);
      CHECK(r.test_accuracy >= classification::required_mlp_accuracy(task.name));
      CHECK(r.loss.back() < r.loss.front());
      if (task.name == "circles") {
        const classification::Result lr = classification::train(task, logistic);
        // Chance is 50%: no line through the plane separates a ring from the disc inside it.
        CHECK(lr.test_accuracy < 0.65);
        CHECK(lr.train_accuracy < 0.65);
      }
    }
  }
}
