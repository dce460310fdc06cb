# polylock_require(<found-var> <what> <how-to-get-it> [<option>])
#
# What to do when a part's toolchain is missing. <how-to-get-it> is a Debian
# package name, or a URL with the maker's install instructions (for what
# Debian does not package, such as the .NET SDK).
#
# - <option> is AUTO (each binding's default): the part is skipped with a
#   STATUS note naming what is missing and how to get it. A macro, so that its
#   return() leaves the calling directory's CMakeLists.txt at once; the option
#   reads OFF from the parent directory on (so later `if(<option>)` checks,
#   the test suites' included, skip the part too).
# - otherwise (ON, or no option): configuration stops, with the same words
#   and how to build without the part.
macro(polylock_require _polylock_found _polylock_what _polylock_how)
  if(NOT ${_polylock_found})
    if("${_polylock_how}" MATCHES "://")
      set(_polylock_get "install it as ${_polylock_how} says")
    else()
      set(_polylock_get "install the Debian package '${_polylock_how}' (./scripts/setup installs everything polylock needs from Debian)")
    endif()
    set(_polylock_option "")
    if(${ARGC} GREATER 3)  # (ARGV3 alone could read a calling function's argument)
      set(_polylock_option "${ARGV3}")
    endif()
    if(_polylock_option AND "${${_polylock_option}}" STREQUAL "AUTO")
      message(STATUS "polylock: ${_polylock_what} was not found, so ${_polylock_option} (AUTO) skips "
                     "this part: ${_polylock_get}, then configure again; -D${_polylock_option}=ON makes it required.")
      set(${_polylock_option} OFF PARENT_SCOPE)
      set_property(GLOBAL APPEND PROPERTY POLYLOCK_SKIPPED ${_polylock_option})
      return()
    endif()
    set(_polylock_skip "")
    if(_polylock_option)
      set(_polylock_skip " or configure with -D${_polylock_option}=OFF to build without it")
    endif()
    message(FATAL_ERROR "polylock: ${_polylock_what} was not found: ${_polylock_get}${_polylock_skip}.")
  endif()
endmacro()
