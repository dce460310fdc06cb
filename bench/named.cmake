# Named-lock benchmarks (bench/named.cpp), a program of their own: they fork
# partners and holders, which the main benchmark program should not do.
# `--target bench-named` runs them; docs/benchmarks.md ("Named locks")
# quotes the numbers with that command.
add_executable(polylock_bench_named named.cpp)
target_link_libraries(polylock_bench_named PRIVATE polylock benchmark::benchmark Threads::Threads)
polylock_warnings(polylock_bench_named)
add_custom_target(bench-named
  COMMAND polylock_bench_named --benchmark_repetitions=5
          --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
  COMMENT "Running the named-lock benchmarks (about a minute)"
  USES_TERMINAL VERBATIM)
if(POLYLOCK_BUILD_TESTS)
  add_test(NAME bench.named.smoke
           COMMAND polylock_bench_named --benchmark_min_time=0.001
                   --benchmark_filter=uncontended|ping_pong)
  set_tests_properties(bench.named.smoke PROPERTIES LABELS bench TIMEOUT 60
                       FAIL_REGULAR_EXPRESSION "ERROR OCCURRED")
endif()
