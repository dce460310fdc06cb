# cmake -P EntryPoints.cmake <LockNative.cs>
#
# Points each SWIG DllImport straight at the C ABI. SWIG names every import's
# EntryPoint after a function of its C wrapper ("CSharp_PolyLock_lock_acquire"),
# which would need a second native library. Every type in polylock.i crosses
# unchanged (blittable), so the wrapper would only forward; the import can
# name the lock_* symbol instead, and the package ships libpolylock alone.
cmake_minimum_required(VERSION 3.25)
set(file ${CMAKE_ARGV3})
file(READ ${file} text)
string(REGEX REPLACE "EntryPoint=\"CSharp_PolyLock_(lock_[a-z_]+)\"" "EntryPoint=\"\\1\"" text "${text}")
if(text MATCHES "CSharp_|SWIGRegister")
  message(FATAL_ERROR "${file}: an import still names SWIG's C wrapper; polylock.i must keep every type blittable")
endif()
file(WRITE ${file} "${text}")
