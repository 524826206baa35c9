# Cortex-M4: Armv7E-M with the DSP extension and a single-precision FPU
# (FPv4-SP-D16), hard-float ABI. Board: QEMU mps2-an386.
set(PTEC_CPU cortex-m4)
set(PTEC_ISA dsp)
set(PTEC_CPU_FLAGS "-mcpu=cortex-m4 -mfpu=fpv4-sp-d16 -mfloat-abi=hard -mthumb")
set(PTEC_DEFAULT_BOARD mps2-an386)
include(${CMAKE_CURRENT_LIST_DIR}/arm-none-eabi.cmake)
