// libFuzzer target for parse_idx: any input must either be rejected with a tg::Error or decode into an
// array whose element count is the product of its shape.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tapegrad/nn/idx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  // The expected dimension count comes from the input's last byte so that the check is exercised too.
  const int expected_ndim = size > 0 ? data[size - 1] % 4 : 0;
  tg::nn::IdxArray array;
  try {
    array = tg::nn::parse_idx(bytes, "fuzz-input", expected_ndim);
  } catch (const tg::Error&) {
    return 0;
  }
  std::size_t product = 1;
  for (const std::int64_t d : array.shape) product *= static_cast<std::size_t>(d);
  if (array.data.size() != product || array.data.size() + 4 + 4 * array.shape.size() != size) std::abort();
  return 0;
}
