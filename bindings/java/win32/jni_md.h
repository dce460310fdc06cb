/* polylock: the machine-dependent JNI types of a 64-bit Windows JVM, for
 * cross-building polylock_jni.dll with MinGW-w64 on a Linux JDK (whose own
 * jni_md.h describes Linux). jni.h itself is the same on every platform.
 * These are the JNI specification's sizes for win32-x86-64: jint 32 bits,
 * jlong 64 bits, jbyte signed 8 bits; exported functions use __declspec. */
#ifndef POLYLOCK_WIN32_JNI_MD_H
#define POLYLOCK_WIN32_JNI_MD_H

#define JNIEXPORT __declspec(dllexport)
#define JNIIMPORT __declspec(dllimport)
#define JNICALL __stdcall

typedef long jint; /* 32 bits on 64-bit Windows (LLP64) */
typedef long long jlong;
typedef signed char jbyte;

#endif
