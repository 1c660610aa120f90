# Warning flags live in an INTERFACE target so they never leak into CMAKE_CXX_FLAGS.
add_library(aepipe_warnings INTERFACE)
target_compile_options(aepipe_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual)
if(AEPIPE_WERROR)
  target_compile_options(aepipe_warnings INTERFACE -Werror)
endif()

add_library(aepipe_arch INTERFACE)
if(AEPIPE_NATIVE)
  target_compile_options(aepipe_arch INTERFACE -march=native)
endif()
