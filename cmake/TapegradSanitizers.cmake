# TG_SANITIZE instruments everything (library, tests, examples) with ASan + UBSan; UBSan findings abort
# so that CTest sees them as failures.
if(TG_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
