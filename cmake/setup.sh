#!/usr/bin/env bash
# Installs the Debian packages tapegrad needs, if any are missing. Idempotent and quick when all are
# present; on a system without apt-get it stops and names what to install.
set -euo pipefail

packages=(cmake g++ make libboost-dev doctest-dev libopenblas-dev zlib1g-dev nlohmann-json3-dev
          dataset-fashion-mnist
          graphviz  # `dot` renders the recorded graphs (tg::write_graph's .dot files) to SVG
          clang libclang-rt-dev)  # clang and libFuzzer (libclang-rt-dev pulls the default clang's runtime)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "tapegrad setup: apt-get is not available on this system." >&2
  echo "Install these (Debian package names; use your system's equivalents):" >&2
  echo "  ${missing[*]}" >&2
  echo "CMake >= 3.25, a C++20 compiler (g++ >= 12), Boost headers, doctest, a CBLAS (OpenBLAS)," >&2
  echo "zlib and nlohmann-json; the Fashion-MNIST example also wants the dataset-fashion-mnist files;" >&2
  echo "Graphviz's dot renders the recorded graphs (DOT) to SVG; the fuzz step of the tests wants clang" >&2
  echo "with libFuzzer (compiler-rt)." >&2
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "tapegrad setup: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "tapegrad setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
