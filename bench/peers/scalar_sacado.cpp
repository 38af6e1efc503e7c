// The scalar benchmark's three workloads on Sacado's reverse mode (Sacado::Rad::ADvar, "trad"): each call
// creates fresh independents and ends with Outvar_Gradcomp, after which Rad reuses its memory.
#include <Sacado_trad.hpp>

#include <vector>

#include "scalar_workloads.hpp"

namespace {

using tgbench::scalar::ArithData;
using tgbench::scalar::MlpData;
using tgbench::scalar::TranscData;
using ADvar = Sacado::Rad::ADvar<double>;

struct SacadoEngine {
  std::vector<ADvar> a, b, c, d;

  static void independents(const std::vector<double>& x, std::vector<ADvar>& out) {
    out.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) out[i] = x[i];
  }
  static void adjoints(const std::vector<ADvar>& xs, std::vector<double>& g) {
    for (const ADvar& x : xs) g.push_back(x.adj());
  }

  double arith(const ArithData& in, std::vector<double>& g) {
    independents(in.a, a);
    independents(in.b, b);
    independents(in.c, c);
    independents(in.d, d);
    ADvar f = tgbench::scalar::arith(a.size(), a.data(), b.data(), c.data(), d.data());
    ADvar::Outvar_Gradcomp(f);
    g.clear();
    for (auto* v : {&a, &b, &c, &d}) adjoints(*v, g);
    return f.val();
  }

  double transc(const TranscData& in, std::vector<double>& g) {
    independents(in.x, a);
    independents(in.y, b);
    ADvar f = tgbench::scalar::transc(a.size(), a.data(), b.data());
    ADvar::Outvar_Gradcomp(f);
    g.clear();
    adjoints(a, g);
    adjoints(b, g);
    return f.val();
  }

  double mlp(const MlpData& in, std::vector<double>& g) {
    independents(in.w, a);
    ADvar f = tgbench::scalar::mlp(a.data(), in);
    ADvar::Outvar_Gradcomp(f);
    g.clear();
    adjoints(a, g);
    return f.val();
  }
};

}  // namespace

int main(int argc, char** argv) {
  const tgbench::Options opt = tgbench::parse_options(argc, argv);
  tgbench::Report report(opt.json);
  SacadoEngine engine;
  const bool ok = tgbench::scalar::run_suite("sacado", engine, opt, report);
  report.note("Sacado::Rad (Sacado_trad.hpp), Outvar_Gradcomp per call");
  report.print();
  return ok ? 0 : 1;
}
