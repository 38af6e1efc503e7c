// Sampling a function on a grid and tracing its level sets by marching squares.
#include <array>
#include <cmath>
#include <string>

#include <tapegrad/error.hpp>

#include "plot.hpp"

namespace tg::plot {

double Grid::x_at(std::size_t i) const {
  return x_min + (x_max - x_min) * static_cast<double>(i) / static_cast<double>(nx - 1);
}

double Grid::y_at(std::size_t j) const {
  return y_min + (y_max - y_min) * static_cast<double>(j) / static_cast<double>(ny - 1);
}

Grid sample_grid(const std::function<double(double, double)>& f, double x_min, double x_max, double y_min,
                 double y_max, std::size_t nx, std::size_t ny) {
  auto bad_range = [](const char* axis, double lo, double hi) {
    return tg::ValueError(std::string("sample_grid: ") + axis + " range must be finite with min < max, got [" +
                          std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
  if (!std::isfinite(x_min) || !std::isfinite(x_max) || !(x_min < x_max)) {
    throw bad_range("x", x_min, x_max);
  }
  if (!std::isfinite(y_min) || !std::isfinite(y_max) || !(y_min < y_max)) {
    throw bad_range("y", y_min, y_max);
  }
  // The cap keeps a typo (resolution 100000) from allocating gigabytes for a picture.
  if (nx < 2 || ny < 2 || nx > 4096 || ny > 4096) {
    throw tg::ValueError("sample_grid: need 2 to 4096 samples per axis, got " + std::to_string(nx) + " x " +
                         std::to_string(ny));
  }
  if (!f) {
    throw tg::ValueError("sample_grid: the function to sample is empty");
  }
  Grid g{.x_min = x_min, .x_max = x_max, .y_min = y_min, .y_max = y_max, .nx = nx, .ny = ny, .values = {}};
  g.values.resize(nx * ny);
  for (std::size_t j = 0; j < ny; ++j) {
    const double y = g.y_at(j);
    for (std::size_t i = 0; i < nx; ++i) {
      g.values[j * nx + i] = f(g.x_at(i), y);
    }
  }
  return g;
}

namespace {

// Edges of a cell: 0 bottom (a-b), 1 right (b-c), 2 top (d-c), 3 left (a-d), with corners
// a = (i, j), b = (i+1, j), c = (i+1, j+1), d = (i, j+1).
using EdgePair = std::array<int, 2>;

struct CaseSegments {
  int count;
  std::array<EdgePair, 2> pairs;
};

// Which edges the contour crosses for each inside/outside pattern (bit 1 a, 2 b, 4 c, 8 d set when
// the corner is >= level). The saddles 5 and 10 are listed for "centre outside" and flipped below.
constexpr std::array<CaseSegments, 16> kCases{{
    {0, {}},
    {1, {{{3, 0}}}},
    {1, {{{0, 1}}}},
    {1, {{{3, 1}}}},
    {1, {{{1, 2}}}},
    {2, {{{3, 0}, {1, 2}}}},
    {1, {{{0, 2}}}},
    {1, {{{3, 2}}}},
    {1, {{{3, 2}}}},
    {1, {{{0, 2}}}},
    {2, {{{0, 1}, {3, 2}}}},
    {1, {{{1, 2}}}},
    {1, {{{3, 1}}}},
    {1, {{{0, 1}}}},
    {1, {{{3, 0}}}},
    {0, {}},
}};

}  // namespace

std::vector<Segment> marching_squares(const Grid& grid, double level) {
  if (grid.nx < 2 || grid.ny < 2 || grid.values.size() != grid.nx * grid.ny) {
    throw tg::ValueError("marching_squares: grid must be at least 2 x 2 with nx * ny values, got " +
                         std::to_string(grid.nx) + " x " + std::to_string(grid.ny) + " and " +
                         std::to_string(grid.values.size()) + " values");
  }
  if (!std::isfinite(level)) {
    throw tg::ValueError("marching_squares: level must be finite");
  }
  std::vector<Segment> out;
  for (std::size_t j = 0; j + 1 < grid.ny; ++j) {
    for (std::size_t i = 0; i + 1 < grid.nx; ++i) {
      const std::array<double, 4> v{grid.at(i, j), grid.at(i + 1, j), grid.at(i + 1, j + 1), grid.at(i, j + 1)};
      if (!std::isfinite(v[0]) || !std::isfinite(v[1]) || !std::isfinite(v[2]) || !std::isfinite(v[3])) {
        continue;  // no honest place to put a line through an undefined corner
      }
      int code = 0;
      for (int k = 0; k < 4; ++k) {
        code |= (v[static_cast<std::size_t>(k)] >= level ? 1 : 0) << k;
      }
      CaseSegments cs = kCases[static_cast<std::size_t>(code)];
      if (cs.count == 0) {
        continue;
      }
      if (code == 5 || code == 10) {
        const double centre = (v[0] + v[1] + v[2] + v[3]) / 4.0;
        // An inside centre joins the two inside corners, so the outside ones are cut off instead.
        if (centre >= level) {
          cs = kCases[static_cast<std::size_t>(code == 5 ? 10 : 5)];
        }
      }
      const double x0 = grid.x_at(i);
      const double x1 = grid.x_at(i + 1);
      const double y0 = grid.y_at(j);
      const double y1 = grid.y_at(j + 1);
      auto frac = [&](double from, double to) { return (level - from) / (to - from); };
      auto edge_point = [&](int e) -> std::array<double, 2> {
        switch (e) {
          case 0:
            return {x0 + (x1 - x0) * frac(v[0], v[1]), y0};
          case 1:
            return {x1, y0 + (y1 - y0) * frac(v[1], v[2])};
          case 2:
            return {x0 + (x1 - x0) * frac(v[3], v[2]), y1};
          default:
            return {x0, y0 + (y1 - y0) * frac(v[0], v[3])};
        }
      };
      for (int s = 0; s < cs.count; ++s) {
        const auto p = edge_point(cs.pairs[static_cast<std::size_t>(s)][0]);
        const auto q = edge_point(cs.pairs[static_cast<std::size_t>(s)][1]);
        out.push_back(Segment{p[0], p[1], q[0], q[1]});
      }
    }
  }
  return out;
}

}  // namespace tg::plot
