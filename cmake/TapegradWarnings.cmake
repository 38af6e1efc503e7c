# Warning flags for every tapegrad target; TG_WERROR (on in CI) makes them fatal.
add_library(tapegrad_warnings INTERFACE)
target_compile_options(tapegrad_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
  $<$<BOOL:${TG_WERROR}>:-Werror>)
