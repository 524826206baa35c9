# AArch64 Linux (Cortex-A) with Debian's cross compiler, gcc-aarch64-linux-gnu.
#
#   cmake -S runtime -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux.cmake
#   cmake ... -DPTEC_AARCH64_CPU=cortex-a76       # NEON + dotprod (Raspberry Pi 5 class)
#
# PTEC_AARCH64_CPU picks the code generation: "generic" (Armv8-A, NEON: any
# AArch64 CPU) or a CPU name for -mcpu (cortex-a76: Armv8.2-A with dotprod,
# so the kernels' SDOT paths are compiled in; the choice is made at build time,
# kernels/isa.h). Executables are linked statically, so qemu-aarch64 runs them
# without an AArch64 sysroot; CMAKE_CROSSCOMPILING_EMULATOR lets ctest and
# custom commands run them too.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_CROSSCOMPILING ON)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_AR aarch64-linux-gnu-ar CACHE FILEPATH "")
set(CMAKE_RANLIB aarch64-linux-gnu-ranlib CACHE FILEPATH "")

if(NOT PTEC_AARCH64_CPU)
  set(PTEC_AARCH64_CPU generic)
endif()
if(PTEC_AARCH64_CPU STREQUAL "generic")
  set(PTEC_CPU_FLAGS "-march=armv8-a")
else()
  set(PTEC_CPU_FLAGS "-mcpu=${PTEC_AARCH64_CPU}")
endif()
set(CMAKE_C_FLAGS_INIT "${PTEC_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-cpu;max)

set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

set(PTEC_AARCH64_CPU ${PTEC_AARCH64_CPU} CACHE STRING "AArch64 CPU: generic or an -mcpu name" FORCE)
