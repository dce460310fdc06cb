# Cross-compiling polylock.dll for 64-bit Windows with Debian's MinGW-w64
# (apt-get install mingw-w64 wine64). Used by the `mingw` preset:
#   cmake --preset mingw && cmake --build --preset mingw && ctest --preset mingw
#
# The win32 thread model (the *-win32 compilers), not posix: nothing in
# polylock needs pthreads or std::thread (the Windows backend sleeps with
# WaitOnAddress), and this model never links libwinpthread-1.dll. With
# -static-libgcc -static-libstdc++ (capi/CMakeLists.txt) the DLL then needs
# only system DLLs.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(_triple x86_64-w64-mingw32)

set(CMAKE_C_COMPILER ${_triple}-gcc-win32)
set(CMAKE_CXX_COMPILER ${_triple}-g++-win32)
set(CMAKE_RC_COMPILER ${_triple}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${_triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Test programs run under Wine (Debian puts the 64-bit loader off PATH).
find_program(POLYLOCK_WINE64 NAMES wine64 wine PATHS /usr/lib/wine NO_CMAKE_FIND_ROOT_PATH)
if(POLYLOCK_WINE64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${POLYLOCK_WINE64})
endif()
