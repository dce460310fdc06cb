# Checks tests/model/lock.pml with Spin in one configuration; run by CTest as
#   cmake -DSPIN=... -DCC=... -DMODEL=... -DWORK_DIR=... -DDEFINES=... \
#         -DPAN_FLAGS=... -DPAN_ARGS=... -P run_spin.cmake
# (lists are ';'-separated). Fails unless pan reports "errors: 0".
foreach(_var IN ITEMS SPIN CC MODEL WORK_DIR)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "run_spin.cmake: ${_var} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run_step what)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK_DIR}
                  RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${_rc}):\n${_out}\n${_err}")
  endif()
  set(step_output "${_out}${_err}" PARENT_SCOPE)
endfunction()

# spin -a turns the model into pan.c, the verifier's C source.
run_step("spin -a" ${SPIN} ${DEFINES} -a ${MODEL})
run_step("compiling pan.c" ${CC} -O2 -w ${PAN_FLAGS} -o pan pan.c)
run_step("pan" ${WORK_DIR}/pan ${PAN_ARGS})
message("${step_output}")

# pan's exit status does not tell; its report does. A search cut short by
# the memory bound proves nothing about the states it never reached.
if(step_output MATCHES "reached -DMEMLIM bound|Search not completed")
  message(FATAL_ERROR "Spin did not finish the search (memory bound): give it more "
                      "memory, compress states (-DCOLLAPSE) or shrink the configuration")
endif()
if(NOT step_output MATCHES "errors: 0\n" OR step_output MATCHES "pan:[0-9]+:")
  message(FATAL_ERROR "Spin found an error in the lock model (trail in ${WORK_DIR}; "
                      "replay with: cd ${WORK_DIR} && spin -t -p ${DEFINES} ${MODEL})")
endif()
