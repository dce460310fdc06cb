# cmake -DDOTNET=<dotnet> -DPROJECT=<csproj> -DCACHE=<nuget cache> -P DotnetRun.cmake -- <verb> [args...]
#
# Restores PROJECT afresh, so that PolyLock comes from the package just packed
# into build/dist, then runs `dotnet <verb> PROJECT args...`. Nothing outside
# the package may help the program find libpolylock, so LD_LIBRARY_PATH goes.
cmake_minimum_required(VERSION 3.25)
set(args "")
set(seen_separator FALSE)
foreach(i RANGE 1 ${CMAKE_ARGC})
  if(seen_separator AND DEFINED CMAKE_ARGV${i})
    list(APPEND args "${CMAKE_ARGV${i}}")
  elseif("${CMAKE_ARGV${i}}" STREQUAL "--")
    set(seen_separator TRUE)
  endif()
endforeach()
list(POP_FRONT args verb)

set(ENV{DOTNET_CLI_TELEMETRY_OPTOUT} 1)
set(ENV{DOTNET_NOLOGO} 1)
set(ENV{DOTNET_SKIP_FIRST_TIME_EXPERIENCE} 1)
set(ENV{DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE} 1)
set(ENV{MSBUILDDISABLENODEREUSE} 1)
set(ENV{NUGET_PACKAGES} ${CACHE})
unset(ENV{LD_LIBRARY_PATH})

file(REMOVE_RECURSE ${CACHE}/polylock)
execute_process(COMMAND ${DOTNET} restore ${PROJECT} --force --disable-build-servers
                COMMAND_ERROR_IS_FATAL ANY)
# `dotnet run` takes the project as an option, the other verbs as an argument.
set(project ${PROJECT})
if(verb STREQUAL "run")
  set(project --project ${PROJECT})
endif()
execute_process(COMMAND ${DOTNET} ${verb} ${project} --no-restore --disable-build-servers ${args}
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "dotnet ${verb} ${PROJECT} failed (${result})")
endif()
