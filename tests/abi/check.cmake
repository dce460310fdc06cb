# cmake -DABIDIFF=abidiff -DBASELINE=libpolylock.abi -DHEADERS=<dir> -DLIBRARY=<.so> -P check.cmake
#
# The ABI gate: the library must offer everything the baseline does, with the
# same types and symbol versions. Added functions pass (the ABI only grows)
# and are listed; anything else abidiff reports fails.
execute_process(COMMAND ${ABIDIFF} --no-added-syms --drop-private-types --headers-dir2 ${HEADERS}
                        ${BASELINE} ${LIBRARY}
                RESULT_VARIABLE status OUTPUT_VARIABLE report ERROR_VARIABLE report)
if(NOT status EQUAL 0)
  # abidiff's status is a bit set: 1 error, 2 usage, 4 ABI change, 8 incompatible change.
  message("${report}")
  message("ABI gate: INCOMPATIBLE (abidiff status ${status})")
  message(FATAL_ERROR "ABI gate: ${LIBRARY} breaks the ABI of ${BASELINE} (abidiff status ${status}). "
          "Released functions never change or go away; add a new lock_* function instead.")
endif()

execute_process(COMMAND ${ABIDIFF} --drop-private-types --headers-dir2 ${HEADERS} ${BASELINE} ${LIBRARY}
                OUTPUT_VARIABLE additions)
if(additions MATCHES "Added function")
  message("${additions}")
  message("ABI gate: COMPATIBLE, with additions")
  message(STATUS "After the release, update the baseline: cmake --build <build> --target abi-baseline")
else()
  message("ABI gate: COMPATIBLE, the same ABI")
endif()
