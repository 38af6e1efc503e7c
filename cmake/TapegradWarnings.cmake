# Warning flags for every tapegrad target; TG_WERROR (on in CI) makes them fatal.
add_library(tapegrad_warnings INTERFACE)
target_compile_options(tapegrad_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  $<$<BOOL:${TG_WERROR}>:-Werror>)
# GCC 12's -Wrestrict misfires inside libstdc++ on plain string concatenation at -O3 (GCC bug 105329).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(tapegrad_warnings INTERFACE -Wno-restrict)
endif()
