# How a user finds an installed libpolylock: the CMake package
# (find_package(polylock 1) -> polylock::polylock) and polylock.pc.
#
# Included from capi/CMakeLists.txt, after install(TARGETS polylock EXPORT polylockTargets).
# Everything here is the `development` component: the runtime package holds
# only the shared library itself.
include(CMakePackageConfigHelpers)

set(POLYLOCK_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/polylock)

install(EXPORT polylockTargets
  NAMESPACE polylock::
  DESTINATION ${POLYLOCK_CMAKE_DIR}
  COMPONENT development)

configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/polylock-config.cmake.in
  ${PROJECT_BINARY_DIR}/polylock-config.cmake
  INSTALL_DESTINATION ${POLYLOCK_CMAKE_DIR})
# The ABI only grows within a major version (design.md §2): 1.1 serves a user who asks for 1.0.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/polylock-config-version.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/polylock-config.cmake
  ${PROJECT_BINARY_DIR}/polylock-config-version.cmake
  DESTINATION ${POLYLOCK_CMAKE_DIR}
  COMPONENT development)

# polylock.pc finds its prefix from its own place (${pcfiledir}), so an
# unpacked tarball works wherever it lands.
file(RELATIVE_PATH POLYLOCK_PC_TO_PREFIX
  /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" POLYLOCK_PC_TO_PREFIX "${POLYLOCK_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/polylock.pc.in
               ${PROJECT_BINARY_DIR}/polylock.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/polylock.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT development)
