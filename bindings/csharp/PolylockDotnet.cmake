# Helpers for the .NET parts (binding, tests, example, benchmark). Every dotnet
# call runs offline and quietly, with a NuGet cache of its own in the build
# tree: the package is rebuilt under one version, and a shared cache would keep
# serving the first copy it saw.

set(POLYLOCK_NUGET_OFFLINE /opt/nuget/packages CACHE PATH
    "Folder of NuGet packages (xunit, the test SDK) that the .NET tests restore from")
# Global, for tests/, examples/ and bench/ (their directories are not below this one).
set(POLYLOCK_DOTNET_RUN ${CMAKE_CURRENT_LIST_DIR}/DotnetRun.cmake CACHE INTERNAL "")
set(POLYLOCK_CSHARP_SOURCE_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "")

# polylock_dotnet_project(<dir> <template.csproj.in> <name>)
#   Configures <dir>/<name>.csproj from the template, and <dir>/NuGet.config
#   whose sources are build/dist (for PolyLock) and the offline folder.
#   Sets POLYLOCK_NUGET_CACHE to the project's own package cache.
function(polylock_dotnet_project dir template name)
  set(POLYLOCK_NUGET_CACHE ${dir}/nuget)
  configure_file(${template} ${dir}/${name}.csproj @ONLY)
  configure_file(${POLYLOCK_CSHARP_SOURCE_DIR}/NuGet.config.in ${dir}/NuGet.config @ONLY)
  set(POLYLOCK_NUGET_CACHE ${POLYLOCK_NUGET_CACHE} PARENT_SCOPE)
endfunction()

# polylock_dotnet_command(<out-var> <dir> <name> <verb> [args...])
#   The command that restores <dir>/<name>.csproj afresh (PolyLock from
#   build/dist) and runs `dotnet <verb>` on it; for add_test and custom targets.
function(polylock_dotnet_command out dir name verb)
  set(${out} ${CMAKE_COMMAND} -DDOTNET=${POLYLOCK_DOTNET} -DPROJECT=${dir}/${name}.csproj
      -DCACHE=${dir}/nuget -P ${POLYLOCK_DOTNET_RUN} -- ${verb} ${ARGN} PARENT_SCOPE)
endfunction()
