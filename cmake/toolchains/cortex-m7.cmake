# Cortex-M7: Armv7E-M with the DSP extension and a double-precision FPU
# (FPv5-D16), hard-float ABI. Board: QEMU mps2-an500.
set(PTEC_CPU cortex-m7)
set(PTEC_ISA dsp)
set(PTEC_CPU_FLAGS "-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard -mthumb")
set(PTEC_DEFAULT_BOARD mps2-an500)
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
