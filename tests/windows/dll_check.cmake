# cmake -DOBJDUMP=... -DDLL=polylock.dll -DRUNNER=test.exe -DHEADER=lock.h -P dll_check.cmake
#
# polylock.dll ships alone: it may import only DLLs every Windows has (no
# libgcc_s, libstdc++ or libwinpthread), and it exports exactly the lock_*
# functions of the header.
include(${CMAKE_CURRENT_LIST_DIR}/PeFile.cmake)

set(system "^(kernel32|msvcrt|api-ms-win-[a-z0-9-]+)\\.dll$")
check_imports(${DLL} "${system}")
check_imports(${RUNNER} "^(polylock\\.dll|kernel32|msvcrt|api-ms-win-[a-z0-9-]+)(\\.dll)?$")

# Exports: the names in the DLL's export table against the header's functions.
pe_exports(${DLL} exported)
file(STRINGS ${HEADER} declared REGEX "^POLYLOCK_API ")
list(TRANSFORM declared REPLACE "^POLYLOCK_API [^(]*[ *](lock_[a-z_]+)\\(.*" "\\1")
list(SORT declared)
if(NOT exported STREQUAL declared)
  message(FATAL_ERROR "polylock.dll exports\n  ${exported}\nbut lock.h declares\n  ${declared}")
endif()
message(STATUS "exports: ${exported}")
