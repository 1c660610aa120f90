# AEPIPE_SANITIZE is a list such as "address;undefined"; every aepipe target links aepipe_sanitize.
add_library(aepipe_sanitize INTERFACE)
if(AEPIPE_SANITIZE)
  foreach(sanitizer IN LISTS AEPIPE_SANITIZE)
    if(NOT sanitizer MATCHES "^(address|undefined|leak|thread)$")
      message(FATAL_ERROR "AEPIPE_SANITIZE: unknown sanitiser '${sanitizer}' (use address;undefined)")
    endif()
  endforeach()
  list(JOIN AEPIPE_SANITIZE "," sanitizer_list)
  target_compile_options(aepipe_sanitize INTERFACE -fsanitize=${sanitizer_list} -fno-omit-frame-pointer
                                                   -fno-sanitize-recover=all)
  target_link_options(aepipe_sanitize INTERFACE -fsanitize=${sanitizer_list})
endif()
