# cmake -DCPACK=cpack -DREADELF=readelf -DCPACK_CONFIG=... -DWORK=... -DCC=... -DSOURCE=consumer.c -DVERSION=... -P packages.cmake
#
# The .deb packages and the tarball, as a user receives them: made by CPack,
# unpacked (dpkg -x, never installed system-wide), their contents and control
# fields checked, and a C program built with pkg-config against each tree.
cmake_policy(VERSION 3.25)
file(REMOVE_RECURSE ${WORK})
execute_process(COMMAND ${CPACK} --config ${CPACK_CONFIG} -B ${WORK}/packages
                OUTPUT_QUIET COMMAND_ERROR_IS_FATAL ANY)
string(REGEX MATCH "^[0-9]+" major "${VERSION}")

function(expect_equal what actual expected)
  if(NOT actual STREQUAL expected)
    message(FATAL_ERROR "${what}: got '${actual}', expected '${expected}'")
  endif()
endfunction()
function(expect_match what actual regex)
  if(NOT actual MATCHES "${regex}")
    message(FATAL_ERROR "${what}: '${actual}' does not match '${regex}'")
  endif()
endfunction()
function(expect_file what path)
  if(NOT EXISTS "${path}" AND NOT IS_SYMLINK "${path}")
    message(FATAL_ERROR "${what}: ${path} is missing")
  endif()
endfunction()

function(list_tree root out)
  file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE ${root} ${root}/*)
  list(SORT files)
  set(${out} ${files} PARENT_SCOPE)
endfunction()

function(deb_field deb field out)
  execute_process(COMMAND dpkg-deb -f ${deb} ${field} OUTPUT_VARIABLE value
                  OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

# ---- the runtime package: the library under its SONAME, nothing else ----
file(GLOB runtime_deb ${WORK}/packages/libpolylock${major}_${VERSION}_*.deb)
file(GLOB dev_deb ${WORK}/packages/libpolylock-dev_${VERSION}_*.deb)
expect_file("runtime package" "${runtime_deb}")
expect_file("development package" "${dev_deb}")

set(runtime_root ${WORK}/runtime)
execute_process(COMMAND dpkg -x ${runtime_deb} ${runtime_root} COMMAND_ERROR_IS_FATAL ANY)
list_tree(${runtime_root} runtime_files)
expect_equal("runtime files" "${runtime_files}"
             "usr/lib/libpolylock.so.${major};usr/lib/libpolylock.so.${VERSION}")
file(READ_SYMLINK ${runtime_root}/usr/lib/libpolylock.so.${major} target)
expect_equal("SONAME link" "${target}" "libpolylock.so.${VERSION}")
execute_process(COMMAND ${READELF} -d ${runtime_root}/usr/lib/libpolylock.so.${VERSION}
                OUTPUT_VARIABLE dynamic COMMAND_ERROR_IS_FATAL ANY)
expect_match("SONAME" "${dynamic}" "\\(SONAME\\)[^\n]*\\[libpolylock\\.so\\.${major}\\]")

deb_field(${runtime_deb} Depends runtime_depends)
expect_match("runtime Depends" "${runtime_depends}" "libc6 \\(>= [0-9.]+\\)")  # from dpkg-shlibdeps
if(runtime_depends MATCHES "libstdc|libgcc")
  message(FATAL_ERROR "the runtime package needs no C++ runtime: ${runtime_depends}")
endif()
execute_process(COMMAND dpkg-deb -I ${runtime_deb} shlibs OUTPUT_VARIABLE shlibs
                COMMAND_ERROR_IS_FATAL ANY)
expect_match("shlibs" "${shlibs}" "^libpolylock ${major} libpolylock${major} \\(>= ${VERSION}\\)")

# ---- the development package: headers, link, pkg-config, CMake package ----
set(dev_root ${WORK}/dev)
execute_process(COMMAND dpkg -x ${dev_deb} ${dev_root} COMMAND_ERROR_IS_FATAL ANY)
list_tree(${dev_root} dev_files)
foreach(file IN ITEMS usr/include/polylock/lock.h usr/include/polylock/export.h
                      usr/include/polylock/lock.hpp usr/lib/libpolylock.so
                      usr/lib/pkgconfig/polylock.pc usr/lib/cmake/polylock/polylock-config.cmake
                      usr/lib/cmake/polylock/polylock-config-version.cmake
                      usr/lib/cmake/polylock/polylockTargets.cmake)
  expect_file("development package" ${dev_root}/${file})
endforeach()
if("usr/lib/libpolylock.so.${VERSION}" IN_LIST dev_files)
  message(FATAL_ERROR "the library itself belongs to the runtime package")
endif()
file(READ_SYMLINK ${dev_root}/usr/lib/libpolylock.so target)
expect_equal("development link" "${target}" "libpolylock.so.${major}")
deb_field(${dev_deb} Depends dev_depends)
expect_match("development Depends" "${dev_depends}" "libpolylock${major} \\(= ${VERSION}\\)")

# Both unpacked into one root make a usable tree, as after `apt install libpolylock-dev`.
set(both_root ${WORK}/both)
foreach(deb IN ITEMS ${runtime_deb} ${dev_deb})
  execute_process(COMMAND dpkg -x ${deb} ${both_root} COMMAND_ERROR_IS_FATAL ANY)
endforeach()
set(PREFIX ${both_root}/usr)
set(WORK_SAVED ${WORK})
set(WORK ${WORK_SAVED}/deb-consumer)
include(${CMAKE_CURRENT_LIST_DIR}/pkgconfig.cmake)

# ---- the tarball: both components in one relocatable folder ----
file(GLOB tarball ${WORK_SAVED}/packages/polylock-${VERSION}-*.tar.gz)
expect_file("tarball" "${tarball}")
file(ARCHIVE_EXTRACT INPUT ${tarball} DESTINATION ${WORK_SAVED}/tarball)
file(GLOB PREFIX ${WORK_SAVED}/tarball/polylock-${VERSION}-*)
foreach(file IN ITEMS include/polylock/lock.h include/polylock/lock.hpp lib/libpolylock.so
                      lib/libpolylock.so.${major} lib/pkgconfig/polylock.pc
                      lib/cmake/polylock/polylock-config.cmake)
  expect_file("tarball" ${PREFIX}/${file})
endforeach()
set(WORK ${WORK_SAVED}/tarball-consumer)
include(${CMAKE_CURRENT_LIST_DIR}/pkgconfig.cmake)
message(STATUS "packages: ${runtime_deb} (${runtime_depends}), ${dev_deb} (${dev_depends}), ${tarball}")
