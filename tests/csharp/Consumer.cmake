# cmake -DDOTNET=... -DFEED=<build/dist> -DVERSION=<x.y.z> -DWORK=<dir> -P Consumer.cmake
#
# What a new user does: `dotnet new console`, reference PolyLock from a local
# folder feed, run. The feed is the only package source, the package cache is
# empty, and no library path points at libpolylock: the package must carry
# everything.
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
set(ENV{DOTNET_CLI_TELEMETRY_OPTOUT} 1)
set(ENV{DOTNET_NOLOGO} 1)
set(ENV{DOTNET_SKIP_FIRST_TIME_EXPERIENCE} 1)
set(ENV{DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE} 1)
set(ENV{MSBUILDDISABLENODEREUSE} 1)
set(ENV{NUGET_PACKAGES} ${WORK}/nuget)
unset(ENV{LD_LIBRARY_PATH})

function(run)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY ${WORK} RESULT_VARIABLE result
                  OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("${out}")
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "failed (${result}): ${ARGN}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

run(${DOTNET} new console --name App --output ${WORK}/App --no-restore)
file(WRITE ${WORK}/NuGet.config [=[
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="@FEED@" />
  </packageSources>
</configuration>
]=])
file(READ ${WORK}/NuGet.config config)
string(REPLACE "@FEED@" "${FEED}" config "${config}")
file(WRITE ${WORK}/NuGet.config "${config}")
run(${DOTNET} add ${WORK}/App/App.csproj package PolyLock --version ${VERSION} --no-restore)
# `using PolyLock;` and the alias docs/csharp.md gives: without the alias a
# bare `Lock` is ambiguous with System.Threading.Lock under ImplicitUsings.
file(WRITE ${WORK}/App/Program.cs [=[
using PolyLock;
using Lock = PolyLock.Lock;

using var l = new Lock();
long counter = 0;
var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
{
    for (int i = 0; i < 50_000; i++)
    {
        using (l.EnterScope()) counter++;
    }
})).ToList();
threads.ForEach(t => t.Start());
threads.ForEach(t => t.Join());
l.Enter();
string cancelled = "not cancelled";
try { l.Enter(new CancellationTokenSource(20).Token); }
catch (OperationCanceledException) { cancelled = "cancelled"; }
l.Exit();
Console.WriteLine($"consumer: counter {counter}, {cancelled}, polylock {Lock.NativeVersion}");
]=])
run(${DOTNET} run --project ${WORK}/App/App.csproj -c Release --disable-build-servers)
