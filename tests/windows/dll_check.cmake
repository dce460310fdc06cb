# cmake -DOBJDUMP=... -DDLL=polylock.dll -DRUNNER=test.exe -DHEADER=lock.h -P dll_check.cmake
#
# polylock.dll ships alone: it may import only DLLs every Windows has (no
# libgcc_s, libstdc++ or libwinpthread), and it exports exactly the lock_*
# functions of the header.
function(pe_dump file out)
  execute_process(COMMAND ${OBJDUMP} -p ${file} OUTPUT_VARIABLE dump COMMAND_ERROR_IS_FATAL ANY)
  set(${out} "${dump}" PARENT_SCOPE)
endfunction()

function(check_imports file allowed)
  pe_dump(${file} dump)
  string(REGEX MATCHALL "DLL Name: [^\n]+" imports "${dump}")
  if(NOT imports)
    message(FATAL_ERROR "${file}: no import table found")
  endif()
  foreach(import IN LISTS imports)
    string(REPLACE "DLL Name: " "" name "${import}")
    string(TOLOWER "${name}" name)
    if(NOT name MATCHES "${allowed}")
      message(FATAL_ERROR "${file} imports ${name}, which a Windows machine may not have")
    endif()
    message(STATUS "${file}: imports ${name}")
  endforeach()
endfunction()

set(system "^(kernel32|msvcrt|api-ms-win-[a-z0-9-]+)\\.dll$")
check_imports(${DLL} "${system}")
check_imports(${RUNNER} "^(polylock\\.dll|kernel32|msvcrt|api-ms-win-[a-z0-9-]+)(\\.dll)?$")

# Exports: the names in the DLL's export table against the header's functions.
pe_dump(${DLL} dump)
string(REGEX MATCH "\\[Ordinal/Name Pointer\\] Table[^\n]*\n(([ \t]+\\[[ 0-9]+\\] [^\n]+\n)+)" _ "${dump}")
string(REGEX MATCHALL "\\] [A-Za-z_0-9@]+" exported "${CMAKE_MATCH_1}")
string(REPLACE "] " "" exported "${exported}")
list(SORT exported)
file(STRINGS ${HEADER} declared REGEX "^POLYLOCK_API ")
list(TRANSFORM declared REPLACE "^POLYLOCK_API [^(]*[ *](lock_[a-z_]+)\\(.*" "\\1")
list(SORT declared)
if(NOT exported STREQUAL declared)
  message(FATAL_ERROR "polylock.dll exports\n  ${exported}\nbut lock.h declares\n  ${declared}")
endif()
message(STATUS "exports: ${exported}")
