# cmake -DSOURCE=<src> -DWORK=<dir> -DGENERATOR=<g> -DMAKE=<ninja> -DCC=<cc> -DCXX=<c++>
#       -P NoDotnet.cmake
#
# A fresh machine without the .NET SDK (issue 14 §4): configures a throwaway
# build with `dotnet` hidden -- PATH rebuilt without it (a folder that holds it
# is replaced by a copy of links to everything else in it), no DOTNET_ROOT,
# CMAKE_PROGRAM_PATH pointing nowhere. With the defaults, configure must
# succeed, skip C# and say how to get the SDK; with POLYLOCK_BUILD_CSHARP=ON it
# must stop with the same words.
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK})
set(path "")
set(index 0)
string(REPLACE ":" ";" entries "$ENV{PATH}")
foreach(entry IN LISTS entries)
  if(NOT EXISTS ${entry}/dotnet)
    list(APPEND path ${entry})
    continue()
  endif()
  math(EXPR index "${index} + 1")
  set(shadow ${WORK}/path/${index})
  file(MAKE_DIRECTORY ${shadow})
  # A shell loop: names such as `[` cannot be held in a CMake list.
  execute_process(COMMAND sh -c [[for f in "$1"/*; do n=${f##*/}; [ "$n" = dotnet ] || ln -s "$f" "$2/$n"; done]]
                          sh ${entry} ${shadow} COMMAND_ERROR_IS_FATAL ANY)
  list(APPEND path ${shadow})
endforeach()
string(REPLACE ";" ":" path "${path}")
set(ENV{PATH} "${path}")
unset(ENV{DOTNET_ROOT})
execute_process(COMMAND sh -c "command -v dotnet" RESULT_VARIABLE visible OUTPUT_QUIET ERROR_QUIET)
if(visible EQUAL 0)
  message(FATAL_ERROR "no-dotnet: dotnet is still on the rebuilt PATH")
endif()

set(common -S ${SOURCE} -G ${GENERATOR} -DCMAKE_MAKE_PROGRAM=${MAKE} -DCMAKE_C_COMPILER=${CC}
           -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PROGRAM_PATH=${WORK}/nowhere)

# The README's configure, as it is: every default.
execute_process(COMMAND ${CMAKE_COMMAND} ${common} -B ${WORK}/auto
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "no-dotnet: configure with the defaults failed (${result}):\n${out}\n${err}")
endif()
set(note "The .NET SDK \\(dotnet, 10 or later\\) was not found, so POLYLOCK_BUILD_CSHARP \\(AUTO\\) skips this part: install it as https://learn.microsoft.com/dotnet/core/install/linux-debian says")
if(NOT out MATCHES "${note}")
  message(FATAL_ERROR "no-dotnet: configure did not say that C# was skipped and how to get .NET:\n${out}")
endif()
file(GLOB_RECURSE test_files ${WORK}/auto/CTestTestfile.cmake)
foreach(file IN LISTS test_files)
  file(READ ${file} text)
  if(text MATCHES "csharp\\.")
    message(FATAL_ERROR "no-dotnet: ${file} still registers C# tests")
  endif()
endforeach()
if(EXISTS ${WORK}/auto/bindings/csharp/PolyLock.csproj)
  message(FATAL_ERROR "no-dotnet: the C# binding was configured")
endif()

# ON means required.
execute_process(COMMAND ${CMAKE_COMMAND} ${common} -B ${WORK}/on -DPOLYLOCK_BUILD_CSHARP=ON
                -DPOLYLOCK_BUILD_PYTHON=OFF -DPOLYLOCK_BUILD_JAVA=OFF -DPOLYLOCK_BUILD_TESTS=OFF
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX REPLACE "[ \n]+" " " err "${err}")  # CMake wraps its messages
if(result EQUAL 0 OR NOT err MATCHES "The .NET SDK \\(dotnet, 10 or later\\) was not found: install it as https://learn.microsoft.com/dotnet/core/install/linux-debian says or configure with -DPOLYLOCK_BUILD_CSHARP=OFF")
  message(FATAL_ERROR "no-dotnet: -DPOLYLOCK_BUILD_CSHARP=ON did not stop configure with the note (${result}):\n${err}")
endif()
file(REMOVE_RECURSE ${WORK})
message(STATUS "no-dotnet: configure skips C# with a note when dotnet is missing, and stops when it is required")
