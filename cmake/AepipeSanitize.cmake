# AEPIPE_SANITIZE is a list such as "address;undefined"; every aepipe target links aepipe_sanitize.
# Undefined behaviour stops the program (-fno-sanitize-recover), so a test meeting it fails.
# The tests of a sanitised build run with AEPIPE_SANITIZE_ENVIRONMENT (tests/CMakeLists.txt).
add_library(aepipe_sanitize INTERFACE)
set(AEPIPE_SANITIZE_ENVIRONMENT "")
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

  # Leaks: Open MPI and HDF5 keep some of what they allocate until exit (cmake/lsan.supp lists
  # those libraries only, never aepipe's code). UBSan prints the stack of what it reports.
  set(AEPIPE_SANITIZE_ENVIRONMENT
      "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_LIST_DIR}/lsan.supp:print_suppressions=0"
      "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
  # Tests under mpirun: no leak check. Open MPI's components (dlopen'ed plugins, unloaded
  # again by MPI_Finalize) leave blocks that LSan reports from "<unknown module>" frames, so
  # no suppression can name them. The unit tests keep the leak check.
  set(AEPIPE_SANITIZE_MPI_ENVIRONMENT ${AEPIPE_SANITIZE_ENVIRONMENT} "ASAN_OPTIONS=detect_leaks=0")
endif()
