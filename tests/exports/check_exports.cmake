# cmake -DLIBRARY=... -DSONAME=... -DMAP=... -P check_exports.cmake
find_program(NM nm REQUIRED)
find_program(READELF readelf REQUIRED)

execute_process(COMMAND ${NM} -D --defined-only ${LIBRARY}
                OUTPUT_VARIABLE symbols COMMAND_ERROR_IS_FATAL ANY)
string(REPLACE "\n" ";" symbols "${symbols}")
set(exported "")
foreach(line IN LISTS symbols)
  if(line MATCHES "^[0-9a-f]+ ([A-Za-z]) (.+)$")
    set(kind ${CMAKE_MATCH_1})
    set(name ${CMAKE_MATCH_2})
    if(kind STREQUAL "A" AND name MATCHES "^POLYLOCK_[0-9]+\\.[0-9]+$")
      continue()  # a version node
    endif()
    if(NOT name MATCHES "^lock_[a-z_]+@@?POLYLOCK_[0-9]+\\.[0-9]+$")
      message(SEND_ERROR "exported symbol outside the ABI: ${name} (${kind})")
    endif()
    string(REGEX REPLACE "@.*" "" name "${name}")
    list(APPEND exported ${name})
  endif()
endforeach()

# Every function the version script names must be exported, and no other.
file(READ ${MAP} map)
string(REGEX MATCHALL "lock_[a-z_]+" promised "${map}")
list(SORT exported)
list(SORT promised)
if(NOT exported STREQUAL promised)
  message(SEND_ERROR "exports ${exported}\n  differ from the version script's ${promised}")
endif()

execute_process(COMMAND ${READELF} -d ${LIBRARY} OUTPUT_VARIABLE dynamic COMMAND_ERROR_IS_FATAL ANY)
if(NOT dynamic MATCHES "Library soname: \\[${SONAME}\\]")
  message(SEND_ERROR "SONAME is not ${SONAME}")
endif()
list(LENGTH exported count)
message(STATUS "${count} lock_* functions exported, SONAME ${SONAME}")
