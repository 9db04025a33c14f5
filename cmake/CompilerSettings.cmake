# Warning flags and sanitizer switches shared by every target. The warnings are an interface
# library so that third-party headers are not affected.
add_library(mlo_warnings INTERFACE)
target_compile_options(mlo_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow)
# GCC 12 reports -Wrestrict inside libstdc++'s std::string operator+ at -O2 (a false positive, GCC
# bug 105329); it says nothing about our code, so it is silenced for GCC only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(mlo_warnings INTERFACE -Wno-restrict)
endif()

set(MLO_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
if(MLO_SANITIZE)
  add_compile_options(-fsanitize=${MLO_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${MLO_SANITIZE})
endif()
