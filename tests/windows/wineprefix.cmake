# cmake -DWINE=wine64 -DWINESERVER=wineserver -DPREFIX=<dir> -P wineprefix.cmake
#
# Makes the Wine prefix the Windows tests run in (WINEPREFIX and WINEDEBUG
# come from the test's environment). A prefix left half-made by an
# interrupted run, or a wineserver left over from an earlier prefix, makes
# every later start fail ("could not load kernel32.dll"): so the prefix's
# server is stopped first, and a failed start is retried once on a new prefix.
foreach(attempt IN ITEMS 1 2)
  if(WINESERVER)
    execute_process(COMMAND ${WINESERVER} -k OUTPUT_QUIET ERROR_QUIET)
  endif()
  execute_process(COMMAND ${WINE} wineboot --init RESULT_VARIABLE status)
  if(status EQUAL 0 AND EXISTS ${PREFIX}/system.reg)
    return()
  endif()
  message(WARNING "wineboot failed (${status}) on attempt ${attempt}; starting over with a new prefix")
  file(REMOVE_RECURSE ${PREFIX})
endforeach()
message(FATAL_ERROR "could not make the Wine prefix ${PREFIX}")
