# cmake -DJAR=<polylock jar> -DWORK=<dir> -DOBJDUMP=<mingw objdump> -DNM=<nm>
#       -DLINUX_GLUE=<libpolylock_jni.so> [-DCHECK=<jni_glue_check.exe>
#       -DWINE=<wine64> -DWINESERVER=<wineserver> -DPREFIX=<wine prefix>]
#       -P JarWindowsNatives.cmake
#
# What the jar carries for Windows, taken out of the jar itself: the folder
# win32-x86-64 with polylock.dll and polylock_jni.dll listed in load order;
# the glue exports every JNI entry point the Linux glue does and imports
# nothing but polylock.dll and the C runtime; and, with CHECK and WINE, the
# two DLLs load and work under Wine.
cmake_minimum_required(VERSION 3.25)
set(folder ${WORK}/org/polylock/native/win32-x86-64)
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
execute_process(COMMAND ${CMAKE_COMMAND} -E tar xf ${JAR} WORKING_DIRECTORY ${WORK}
                RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "could not unpack ${JAR}")
endif()

file(STRINGS ${folder}/libraries.list order)
if(NOT order STREQUAL "polylock.dll;polylock_jni.dll")
  message(FATAL_ERROR "win32-x86-64/libraries.list is '${order}', "
                      "not polylock.dll then polylock_jni.dll")
endif()

include(${CMAKE_CURRENT_LIST_DIR}/../../windows/PeFile.cmake)
set(glue ${folder}/polylock_jni.dll)
check_imports(${glue} "^(polylock\\.dll|kernel32\\.dll|msvcrt\\.dll)$" imports)
if(NOT "polylock.dll" IN_LIST imports)
  message(FATAL_ERROR "polylock_jni.dll does not import polylock.dll (imports: ${imports})")
endif()
pe_exports(${glue} exports)
list(FILTER exports INCLUDE REGEX "^Java_")

execute_process(COMMAND ${NM} -D --defined-only ${LINUX_GLUE} OUTPUT_VARIABLE symbols)
string(REGEX MATCHALL "Java_[A-Za-z0-9_]+" linux_exports "${symbols}")
list(SORT linux_exports)
if(NOT exports STREQUAL linux_exports)
  message(FATAL_ERROR "polylock_jni.dll exports\n  ${exports}\nbut the Linux glue exports\n  ${linux_exports}")
endif()
list(LENGTH exports count)
message(STATUS "the jar's win32-x86-64 glue exports the ${count} JNI entry points of the Linux glue")

if(CHECK AND WINE)
  set(ENV{WINEPREFIX} ${PREFIX})
  set(ENV{WINEDEBUG} -all)
  set(ENV{WINEDLLOVERRIDES} winemenubuilder.exe=d)
  if(NOT EXISTS ${PREFIX}/system.reg)
    execute_process(COMMAND ${CMAKE_COMMAND} -DWINE=${WINE} -DWINESERVER=${WINESERVER}
                            -DPREFIX=${PREFIX} -P ${CMAKE_CURRENT_LIST_DIR}/../../windows/wineprefix.cmake
                    RESULT_VARIABLE status)
    if(NOT status EQUAL 0)
      message(FATAL_ERROR "could not make the Wine prefix ${PREFIX}")
    endif()
  endif()
  execute_process(COMMAND ${WINE} ${CHECK} "Z:${folder}" RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "the jar's Windows glue failed under Wine (${status})")
  endif()
endif()
