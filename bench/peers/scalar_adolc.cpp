// The scalar benchmark's three workloads on ADOL-C: a trace recorded afresh each call (trace_on with
// keep = 1, so the forward values stay for an immediate fos_reverse, ADOL-C's cheapest gradient path).
#include <adolc/adolc.h>

#include <string>
#include <vector>

#include "scalar_workloads.hpp"

namespace {

using tgbench::scalar::ArithData;
using tgbench::scalar::MlpData;
using tgbench::scalar::TranscData;

constexpr short kTag = 1;

// The adoubles are local to each call, as in ordinary ADOL-C code: live adoubles keep their locations, and
// ADOL-C sizes its sweep buffers by the highest live location.
struct AdolcEngine {

  // Declares x as the next independents, in order.
  static void independents(const std::vector<double>& x, std::vector<adouble>& out) {
    out.resize(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) out[i] <<= x[i];
  }
  // Ends the trace with f as the only dependent and sweeps it backwards into g (n independents).
  static double finish(adouble& f, std::size_t n, std::vector<double>& g) {
    double value = 0.0;
    f >>= value;
    trace_off();
    g.resize(n);
    double seed = 1.0;
    fos_reverse(kTag, 1, static_cast<int>(n), &seed, g.data());
    return value;
  }

  double arith(const ArithData& in, std::vector<double>& g) {
    std::vector<adouble> a, b, c, d;
    trace_on(kTag, 1);
    independents(in.a, a);
    independents(in.b, b);
    independents(in.c, c);
    independents(in.d, d);
    adouble f = tgbench::scalar::arith(a.size(), a.data(), b.data(), c.data(), d.data());
    return finish(f, 4 * a.size(), g);
  }

  double transc(const TranscData& in, std::vector<double>& g) {
    std::vector<adouble> a, b;
    trace_on(kTag, 1);
    independents(in.x, a);
    independents(in.y, b);
    adouble f = tgbench::scalar::transc(a.size(), a.data(), b.data());
    return finish(f, 2 * a.size(), g);
  }

  double mlp(const MlpData& in, std::vector<double>& g) {
    std::vector<adouble> a;
    trace_on(kTag, 1);
    independents(in.w, a);
    adouble f = tgbench::scalar::mlp(a.data(), in);
    return finish(f, a.size(), g);
  }
};

}  // namespace

int main(int argc, char** argv) {
  const tgbench::Options opt = tgbench::parse_options(argc, argv);
  tgbench::Report report(opt.json);
  bool ok = false;
  {
    AdolcEngine engine;
    ok = tgbench::scalar::run_suite("adolc", engine, opt, report);
  }
  report.note("ADOL-C: trace_on(tag, keep=1) + fos_reverse, "
              "default buffer sizes");
  report.print();
  return ok ? 0 : 1;
}
