# Packages of the C library, made by the `dist` target into build/dist/:
#
# * Linux: two .deb packages, Debian-style -- libpolylock1 (the runtime:
#   libpolylock.so.1 and the file it links to, dependencies from
#   dpkg-shlibdeps, a shlibs file, ldconfig triggers) and libpolylock-dev
#   (headers, the .so link, polylock.pc, the CMake package; depends on the
#   exact libpolylock1) -- so that a program can depend on the runtime alone
#   and a later libpolylock2 can sit beside it. And one relocatable
#   polylock-<version>-linux-<arch>.tar.gz holding both.
# * Windows (a MinGW-w64 cross build): polylock-<version>-win64.zip with
#   polylock.dll, its import library libpolylock.dll.a and the headers. The
#   Linux build makes it through a cross build of its own under build/win64/.
#
# Included from the top-level CMakeLists.txt before the bindings, which may
# pack the Windows DLL too (POLYLOCK_WIN64_DLL). Only the install components
# `runtime` and `development` (capi/, bindings/cpp/) are packaged here; the
# bindings ship as their own artifacts.
set(CPACK_PACKAGE_NAME polylock)
set(CPACK_PACKAGE_VENDOR polylock)
set(CPACK_PACKAGE_CONTACT "polylock maintainers <maintainers@polylock.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_COMPONENTS_ALL runtime development)
set(CPACK_STRIP_FILES ON)
set(CPACK_SOURCE_GENERATOR "")
# Archives hold both components in one tree; the .deb packages are one per
# component. The per-generator choice is made when cpack runs.
set(CPACK_ARCHIVE_COMPONENT_INSTALL ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_BINARY_DIR}/CPackProjectConfig.cmake)
file(WRITE ${CPACK_PROJECT_CONFIG_FILE} [[
if(CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
else()  # one folder polylock-<version>-<platform>/ with include/ and lib/ (bin/)
  set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
  set(CPACK_COMPONENT_INCLUDE_TOPLEVEL_DIRECTORY ON)
endif()
]])

if(WIN32)
  set(CPACK_GENERATOR ZIP)
  set(CPACK_PACKAGE_FILE_NAME polylock-${PROJECT_VERSION}-win64)
  set(_packages ${CPACK_PACKAGE_FILE_NAME}.zip)
else()
  find_program(POLYLOCK_DPKG_SHLIBDEPS dpkg-shlibdeps)
  polylock_require(POLYLOCK_DPKG_SHLIBDEPS "dpkg-shlibdeps (for the .deb packages)" dpkg-dev)
  execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE _deb_arch
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(CPACK_GENERATOR "DEB;TGZ")
  string(TOLOWER "${CMAKE_SYSTEM_NAME}-${CMAKE_SYSTEM_PROCESSOR}" _platform)
  set(CPACK_PACKAGE_FILE_NAME polylock-${PROJECT_VERSION}-${_platform})

  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE ${_deb_arch})
  set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://polylock.invalid")
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
  set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
  # The package is named for the SONAME, as Debian's policy asks (§8.1).
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME libpolylock${PROJECT_VERSION_MAJOR})
  set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION libs)
  # shlibs: programs built against this release need at least this release,
  # since the ABI only grows within major version 1. Also adds ldconfig triggers.
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
  set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
  set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libpolylock-dev)
  set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
  set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS "pkg-config | pkgconf")
  set(_packages
      ${CPACK_DEBIAN_RUNTIME_PACKAGE_NAME}_${PROJECT_VERSION}_${_deb_arch}.deb
      ${CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME}_${PROJECT_VERSION}_${_deb_arch}.deb
      ${CPACK_PACKAGE_FILE_NAME}.tar.gz)
endif()

include(CPack)
cpack_add_component(runtime DISPLAY_NAME "polylock shared library"
                    DESCRIPTION "The shared library libpolylock (C ABI version 1).")
cpack_add_component(development DISPLAY_NAME "polylock development files" DEPENDS runtime
                    DESCRIPTION "Headers, polylock.pc and the CMake package of polylock.")

# dist: run CPack, then gather its packages (not its work files) in build/dist/.
list(TRANSFORM _packages PREPEND ${CPACK_PACKAGE_DIRECTORY}/ OUTPUT_VARIABLE _package_paths)
add_custom_target(dist-packages
  COMMAND ${CMAKE_COMMAND} -E make_directory ${POLYLOCK_DIST_DIR}
  COMMAND ${CMAKE_CPACK_COMMAND} --config ${PROJECT_BINARY_DIR}/CPackConfig.cmake
  COMMAND ${CMAKE_COMMAND} -E copy ${_package_paths} ${POLYLOCK_DIST_DIR}
  WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
  COMMENT "Packaging the C library: ${_packages}"
  VERBATIM)
add_dependencies(dist-packages polylock)
add_dependencies(dist dist-packages)

# The Windows zip from a Linux build: a MinGW-w64 cross build of its own
# (the `mingw` preset's configuration, without tests) whose dist makes the
# zip. POLYLOCK_WIN64_DLL and the target polylock_win64 are there for
# artifacts that carry the DLL too (jar, nupkg).
if(NOT WIN32 AND NOT CMAKE_CROSSCOMPILING)
  option(POLYLOCK_BUILD_WIN64 "Cross-build polylock.dll with MinGW-w64 for the dist target" ON)
endif()
if(POLYLOCK_BUILD_WIN64 AND NOT WIN32 AND NOT CMAKE_CROSSCOMPILING)
  find_program(POLYLOCK_MINGW_CXX x86_64-w64-mingw32-g++-win32)
  polylock_require(POLYLOCK_MINGW_CXX "The MinGW-w64 cross compiler" mingw-w64 POLYLOCK_BUILD_WIN64)
  find_program(POLYLOCK_MINGW_CC x86_64-w64-mingw32-gcc-win32)
  polylock_require(POLYLOCK_MINGW_CC "The MinGW-w64 cross compiler" mingw-w64 POLYLOCK_BUILD_WIN64)
  include(ExternalProject)
  set(POLYLOCK_WIN64_DIR ${PROJECT_BINARY_DIR}/win64)
  set(POLYLOCK_WIN64_DLL ${POLYLOCK_WIN64_DIR}/capi/polylock.dll)
  set(POLYLOCK_WIN64_IMPORT_LIB ${POLYLOCK_WIN64_DIR}/capi/libpolylock.dll.a)
  set(_zip polylock-${PROJECT_VERSION}-win64.zip)
  ExternalProject_Add(polylock_win64
    SOURCE_DIR ${PROJECT_SOURCE_DIR}
    BINARY_DIR ${POLYLOCK_WIN64_DIR}
    CMAKE_ARGS --toolchain ${PROJECT_SOURCE_DIR}/cmake/toolchains/mingw-w64-x86_64.cmake
               -DCMAKE_BUILD_TYPE=Release -DPOLYLOCK_WERROR=${POLYLOCK_WERROR}
               -DPOLYLOCK_BUILD_TESTS=OFF -DPOLYLOCK_BUILD_PYTHON=OFF -DPOLYLOCK_BUILD_JAVA=OFF
               -DPOLYLOCK_BUILD_CSHARP=OFF -DPOLYLOCK_BUILD_BENCH=OFF
               -DPOLYLOCK_BUILD_EXAMPLES=OFF
    BUILD_BYPRODUCTS ${POLYLOCK_WIN64_DLL} ${POLYLOCK_WIN64_IMPORT_LIB}
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    EXCLUDE_FROM_ALL ON)
  # The zip only for `dist`: the cross build's own dist target runs CPack.
  ExternalProject_Add_Step(polylock_win64 zip
    COMMAND ${CMAKE_COMMAND} --build <BINARY_DIR> --target dist
    COMMAND ${CMAKE_COMMAND} -E make_directory ${POLYLOCK_DIST_DIR}
    COMMAND ${CMAKE_COMMAND} -E copy <BINARY_DIR>/dist/${_zip} ${POLYLOCK_DIST_DIR}
    DEPENDEES build
    ALWAYS ON
    EXCLUDE_FROM_MAIN ON)
  ExternalProject_Add_StepTargets(polylock_win64 zip)
  add_dependencies(dist polylock_win64-zip)
endif()
