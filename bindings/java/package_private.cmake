# cmake -P package_private.cmake <file>...
# Drops "public" from the top-level type of each SWIG-generated Java file, for
# SWIG older than 4.3, whose constants interface cannot be made package-private
# by a pragma. Nothing else in the file changes.
math(EXPR _last "${CMAKE_ARGC} - 1")
foreach(_i RANGE 3 ${_last})
  set(_file "${CMAKE_ARGV${_i}}")
  file(READ "${_file}" _text)
  string(REGEX REPLACE "\npublic (interface|class|final class) " "\n\\1 " _text "${_text}")
  file(WRITE "${_file}" "${_text}")
endforeach()
