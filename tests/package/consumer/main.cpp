// Differentiates x*y + sin(x) through the installed headers and library; exits non-zero if wrong.
#include <tapegrad/tapegrad.hpp>
#include <cmath>
#include <cstdio>

int main() {
  tg::Var x(0.5);
  tg::Var y(2.0);
  tg::Var f = x * y + tg::sin(x);
  f.backward();
  const double want = 2.0 + std::cos(0.5);
  std::printf("df/dx = %.12f (want %.12f)\n", x.grad(), want);
  return std::abs(x.grad() - want) < 1e-12 ? 0 : 1;
}
