// libFuzzer target for parse_safetensors: any input must either be rejected with a tg::Error or parse
// into content that serialises and parses back unchanged. Anything else (a crash, a sanitizer report,
// another exception type escaping) is a finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "tapegrad/nn/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  tg::nn::SafetensorsContent content;
  try {
    content = tg::nn::parse_safetensors(bytes, "fuzz-input");
  } catch (const tg::Error&) {
    return 0;
  }
  // Outside the try: whatever the parser accepted, the writer must accept and reproduce.
  const std::vector<std::byte> again = tg::nn::serialize_safetensors(content.tensors, content.metadata);
  const tg::nn::SafetensorsContent back = tg::nn::parse_safetensors(again, "fuzz-roundtrip");
  if (back.tensors != content.tensors || back.metadata != content.metadata) std::abort();
  return 0;
}
