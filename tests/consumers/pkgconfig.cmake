# cmake -DPREFIX=... -DCC=... -DSOURCE=... -DWORK=... -P pkgconfig.cmake
# Builds and runs a C program the way a Makefile user would (the consumer
# test, and the C example of run-examples):
#   cc consumer.c $(pkg-config --cflags --libs polylock) -pthread
# with pkg-config looking only in the prefix under test.
find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB pc_dirs ${PREFIX}/lib*/pkgconfig ${PREFIX}/lib/*/pkgconfig)
set(ENV{PKG_CONFIG_LIBDIR} "${pc_dirs}")
unset(ENV{PKG_CONFIG_PATH})

function(pkg_config out)
  execute_process(COMMAND ${PKG_CONFIG} ${ARGN} polylock OUTPUT_VARIABLE value
                  OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  separate_arguments(value UNIX_COMMAND "${value}")
  set(${out} ${value} PARENT_SCOPE)
endfunction()
pkg_config(flags --cflags --libs)
pkg_config(libdir --variable=libdir)
pkg_config(version --modversion)
message(STATUS "pkg-config: polylock ${version}: ${flags}")

file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${CC} -std=c11 -Wall -Wextra -Werror ${SOURCE} ${flags} -pthread
                        -Wl,-rpath,${libdir} -o ${WORK}/consumer_pkgconfig
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${WORK}/consumer_pkgconfig COMMAND_ERROR_IS_FATAL ANY)
