# polylock_require(<found-var> <what> <debian-package> [<option>])
#
# Stops configuration when a toolchain is missing, naming the Debian package
# and the command that installs everything, and the option that skips the part.
function(polylock_require found what package)
  if(${found})
    return()
  endif()
  set(skip "")
  if(ARGC GREATER 3)
    set(skip " or configure with -D${ARGV3}=OFF to build without it")
  endif()
  message(FATAL_ERROR
    "polylock: ${what} was not found. Install the Debian package '${package}' "
    "(./scripts/setup installs everything polylock needs)${skip}.")
endfunction()
