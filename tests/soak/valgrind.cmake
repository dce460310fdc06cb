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

# valgrind_test(<target> [ARGS <arg>...] [ENVIRONMENT <var=value>...]):
# the target's program under memcheck, as test valgrind_<target>, if it exists.
function(valgrind_test target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "ARGS;ENVIRONMENT")
  if(NOT TARGET ${target})
    return()
  endif()
  add_test(NAME valgrind_${target} COMMAND ${_memcheck} $<TARGET_FILE:${target}> ${arg_ARGS})
  set_tests_properties(valgrind_${target} PROPERTIES LABELS "valgrind" TIMEOUT 600
                       ENVIRONMENT "${arg_ENVIRONMENT}")
endfunction()

valgrind_test(test_capi)
valgrind_test(test_dlopen ARGS libpolylock.so.1
              ENVIRONMENT "LD_LIBRARY_PATH=$<TARGET_FILE_DIR:polylock>")
valgrind_test(test_fork)  # valgrind follows fork(): each child is checked too
# valgrind runs one thread at a time: a short, smaller soak.
valgrind_test(test_soak ENVIRONMENT POLYLOCK_SOAK_SECONDS=3 POLYLOCK_SOAK_THREADS=6)
