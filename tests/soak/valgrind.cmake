# The C suites under valgrind memcheck (label valgrind): no invalid access,
# no uninitialised read, no definite leak. Included from tests/soak: the
# targets of tests/capi, tests/dlopen and tests/fork exist by then.
# Skipped in sanitizer builds, where valgrind cannot run the binaries.
if(CMAKE_C_FLAGS MATCHES "-fsanitize" OR CMAKE_CROSSCOMPILING OR WIN32)
  return()
endif()
find_program(POLYLOCK_VALGRIND valgrind)
if(NOT POLYLOCK_VALGRIND)
  message(WARNING "polylock: 'valgrind' not found (Debian package 'valgrind', installed by "
                  "./scripts/setup); the C suites are not run under memcheck")
  return()
endif()

# valgrind.supp: the futex wake a release makes after its waiter has gone,
# which memcheck takes for a read (see the file).
set(_memcheck ${POLYLOCK_VALGRIND} --tool=memcheck --error-exitcode=1 --leak-check=full
    --errors-for-leak-kinds=definite --quiet
    --suppressions=${CMAKE_CURRENT_SOURCE_DIR}/valgrind.supp)

if(TARGET test_capi)
  add_test(NAME valgrind_test_capi COMMAND ${_memcheck} $<TARGET_FILE:test_capi>)
  set_tests_properties(valgrind_test_capi PROPERTIES LABELS "valgrind" TIMEOUT 600)
endif()
if(TARGET test_dlopen)
  add_test(NAME valgrind_test_dlopen
           COMMAND ${_memcheck} $<TARGET_FILE:test_dlopen> libpolylock.so.1)
  set_tests_properties(valgrind_test_dlopen PROPERTIES LABELS "valgrind" TIMEOUT 600
                       ENVIRONMENT "LD_LIBRARY_PATH=$<TARGET_FILE_DIR:polylock>")
endif()
if(TARGET test_fork)
  # valgrind follows fork(): each child is checked too.
  add_test(NAME valgrind_test_fork COMMAND ${_memcheck} $<TARGET_FILE:test_fork>)
  set_tests_properties(valgrind_test_fork PROPERTIES LABELS "valgrind" TIMEOUT 600)
endif()
# valgrind runs one thread at a time: a short, smaller soak.
add_test(NAME valgrind_test_soak COMMAND ${_memcheck} $<TARGET_FILE:test_soak>)
set_tests_properties(valgrind_test_soak PROPERTIES LABELS "valgrind" TIMEOUT 600
                     ENVIRONMENT "POLYLOCK_SOAK_SECONDS=3;POLYLOCK_SOAK_THREADS=6")
