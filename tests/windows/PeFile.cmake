# Reading a Windows PE file's import and export tables with MinGW's objdump
# (OBJDUMP must be set), for the checks of what polylock's DLLs need and give.
# include()d by dll_check.cmake and by the Java jar's Windows check.

function(pe_dump file out)
  execute_process(COMMAND ${OBJDUMP} -p ${file} OUTPUT_VARIABLE dump COMMAND_ERROR_IS_FATAL ANY)
  set(${out} "${dump}" PARENT_SCOPE)
endfunction()

# Fails unless every DLL `file` imports (lower case) matches the regex `allowed`;
# the names go to `out`, if given.
function(check_imports file allowed)
  pe_dump(${file} dump)
  string(REGEX MATCHALL "DLL Name: [^\n]+" imports "${dump}")
  if(NOT imports)
    message(FATAL_ERROR "${file}: no import table found")
  endif()
  set(names "")
  foreach(import IN LISTS imports)
    string(REPLACE "DLL Name: " "" name "${import}")
    string(TOLOWER "${name}" name)
    if(NOT name MATCHES "${allowed}")
      message(FATAL_ERROR "${file} imports ${name}, which a Windows machine may not have")
    endif()
    message(STATUS "${file}: imports ${name}")
    list(APPEND names ${name})
  endforeach()
  if(ARGC GREATER 2)
    set(${ARGV2} ${names} PARENT_SCOPE)
  endif()
endfunction()

# The names in `file`'s export table, sorted, into `out`.
function(pe_exports file out)
  pe_dump(${file} dump)
  string(REGEX MATCH "\\[Ordinal/Name Pointer\\] Table[^\n]*\n(([ \t]+\\[[ 0-9]+\\] [^\n]+\n)+)" _ "${dump}")
  string(REGEX MATCHALL "\\] [A-Za-z_0-9@]+" exported "${CMAKE_MATCH_1}")
  string(REPLACE "] " "" exported "${exported}")
  list(SORT exported)
  set(${out} ${exported} PARENT_SCOPE)
endfunction()
