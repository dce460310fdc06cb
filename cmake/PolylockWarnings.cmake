# polylock_warnings(<target>): the project's warning set, as errors with
# POLYLOCK_WERROR (CI turns it on).
function(polylock_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${POLYLOCK_WERROR}>:/WX>)
  else()
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                           $<$<BOOL:${POLYLOCK_WERROR}>:-Werror>)
  endif()
endfunction()
