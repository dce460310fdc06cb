# cmake -DPACKAGE=<PolyLock.x.y.z.nupkg> -DEXPECT=<entry;entry;...> -P PackageLayout.cmake
#
# The package holds the managed assembly, its XML docs and each native library
# under the name the .NET runtime probes for on that platform.
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${CMAKE_COMMAND} -E tar tf ${PACKAGE} OUTPUT_VARIABLE listing
                COMMAND_ERROR_IS_FATAL ANY)
message("${listing}")
string(REPLACE "\n" ";" entries "${listing}")
foreach(entry IN LISTS EXPECT)
  if(NOT entry IN_LIST entries)
    message(FATAL_ERROR "${PACKAGE} lacks ${entry}")
  endif()
endforeach()
message("package layout: ${EXPECT}")
