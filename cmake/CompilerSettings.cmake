# Warning flags and sanitizer switches shared by every target. The warnings are an interface
# library so that third-party headers are not affected.
add_library(mlo_warnings INTERFACE)
target_compile_options(mlo_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow)

set(MLO_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
if(MLO_SANITIZE)
  add_compile_options(-fsanitize=${MLO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${MLO_SANITIZE})
endif()
