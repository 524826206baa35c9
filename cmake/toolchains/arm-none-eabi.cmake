# Shared part of the Cortex-M toolchain files (Debian's arm-none-eabi-gcc).
#
# Each cortex-mNN.cmake sets, before including this file:
#   PTEC_CPU         cortex-m55 | cortex-m7 | cortex-m4   (also CMAKE_SYSTEM_PROCESSOR)
#   PTEC_ISA         mve | dsp     the optimized-kernel folder for this CPU
#   PTEC_CPU_FLAGS   -mcpu/-mfpu/-mfloat-abi
#   PTEC_DEFAULT_BOARD   the QEMU board targets/firmware.cmake builds for by default
# Projects may test PTEC_ISA (or CMAKE_SYSTEM_PROCESSOR) to pick kernel sources.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR ${PTEC_CPU})
set(CMAKE_CROSSCOMPILING ON)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar CACHE FILEPATH "")
set(CMAKE_RANLIB arm-none-eabi-ranlib CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
# No bare-metal executable links without a linker script: test with a library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

# Every section on its own so that --gc-sections drops what is not called.
set(CMAKE_C_FLAGS_INIT "${PTEC_CPU_FLAGS} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${PTEC_CPU_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${PTEC_CPU_FLAGS} -Wl,--gc-sections")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

# Visible to the project (toolchain files run before project()).
set(PTEC_CPU ${PTEC_CPU} CACHE STRING "Cortex-M CPU of this toolchain" FORCE)
set(PTEC_ISA ${PTEC_ISA} CACHE STRING "Optimized-kernel ISA folder (mve, dsp)" FORCE)
set(PTEC_DEFAULT_BOARD ${PTEC_DEFAULT_BOARD} CACHE STRING "QEMU board of this CPU" FORCE)
# A -DCMAKE_C_FLAGS=... on the command line replaces CMAKE_C_FLAGS_INIT;
# targets/firmware.cmake then adds these flags back.
set(PTEC_CPU_FLAGS "${PTEC_CPU_FLAGS}" CACHE STRING "CPU flags of this toolchain" FORCE)
