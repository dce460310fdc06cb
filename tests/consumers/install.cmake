# cmake -DBUILD_DIR=... -DPREFIX=... -P install.cmake
# A clean prefix holding only the C package (for the consumer tests and the
# C example): the runtime and development components, exactly what the .deb
# packages and the tarball carry.
file(REMOVE_RECURSE ${PREFIX})
foreach(component IN ITEMS runtime development)
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX}
                          --component ${component}
                  COMMAND_ERROR_IS_FATAL ANY)
endforeach()
