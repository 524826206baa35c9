# Cortex-M55: Armv8.1-M with MVE (Helium, integer and float) and a
# double-precision FPU, hard-float ABI. Board: QEMU mps3-an547.
#   cmake -S targets -B build/m55 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/cortex-m55.cmake
set(PTEC_CPU cortex-m55)
set(PTEC_ISA mve)
set(PTEC_CPU_FLAGS "-mcpu=cortex-m55 -mfloat-abi=hard -mthumb")
set(PTEC_DEFAULT_BOARD mps3-an547)
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
