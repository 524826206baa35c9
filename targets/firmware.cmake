# Bare-metal firmware for QEMU's Cortex-M boards.
#
#   include(${PTEC_ROOT}/targets/firmware.cmake)
#   ptec_add_firmware(<name> BOARD <board> SOURCES <files...>
#                     [LIBRARIES <libs...>] [INCLUDES <dirs...>] [DEFINES <defs...>]
#                     [DRIVER <Ethos-U driver library>])
#
# builds <name>.elf (target <name>): the sources, the board's startup code and
# linker script, the Cortex-M platform layer (semihosting log, SysTick ticks),
# the ptec runtime library and an Ethos-U driver library (DRIVER, default
# PTEC_ETHOSU_DRIVER: ptec_ethosu_nodriver for now), with newlib's stdio over
# semihosting (printf, fopen on host files). Run it with python/ptec/device.py's
# run_firmware(elf, board, args). Boards: mps3-an547 (cortex-m55),
# mps2-an500 (cortex-m7), mps2-an386 (cortex-m4). Configure with one of
# cmake/toolchains/cortex-m*.cmake; PTEC_DEFAULT_BOARD is that CPU's board.
include_guard(GLOBAL)

get_filename_component(PTEC_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
set(PTEC_TARGETS_DIR "${PTEC_ROOT}/targets")
set(PTEC_BOARDS mps3-an547 mps2-an500 mps2-an386)

if(NOT CMAKE_CROSSCOMPILING)
  message(FATAL_ERROR "targets/firmware.cmake needs a Cortex-M toolchain file: "
          "-DCMAKE_TOOLCHAIN_FILE=${PTEC_ROOT}/cmake/toolchains/cortex-m55.cmake")
endif()

# The CPU flags, if a user's CMAKE_C_FLAGS displaced the toolchain's.
if(NOT CMAKE_C_FLAGS MATCHES "-mcpu=")
  separate_arguments(_ptec_cpu_flags UNIX_COMMAND "${PTEC_CPU_FLAGS}")
  add_compile_options(${_ptec_cpu_flags})
  add_link_options(${_ptec_cpu_flags})
endif()

# The runtime library, unless the including project already has it. Firmware
# links no Ethos-U driver unless asked (the host's default is the simulator).
if(NOT DEFINED PTEC_ETHOSU_DRIVER)
  set(PTEC_ETHOSU_DRIVER ptec_ethosu_nodriver)
endif()
if(NOT TARGET ptec)
  set(PTEC_BUILD_TOOLS OFF)
  set(PTEC_BUILD_SHARED OFF)
  add_subdirectory(${PTEC_ROOT}/runtime ${CMAKE_BINARY_DIR}/ptec-runtime)
endif()
# Position-independent code only costs size and a GOT on bare metal.
set_target_properties(ptec PROPERTIES POSITION_INDEPENDENT_CODE OFF)
# The Ethos-U driver every firmware links unless it names its own (DRIVER).
if(NOT DEFINED PTEC_ETHOSU_DRIVER)
  set(PTEC_ETHOSU_DRIVER ptec_ethosu_nodriver)
endif()
if(TARGET ${PTEC_ETHOSU_DRIVER})
  set_target_properties(${PTEC_ETHOSU_DRIVER} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
endif()

set(PTEC_FIRMWARE_WARNINGS -Wall -Wextra -Werror -Wno-unused-parameter)

# One static library per board: startup, semihosting, board facts, platform.
function(ptec_board_library board)
  set(lib ptec_board_${board})
  if(TARGET ${lib})
    return()
  endif()
  if(NOT board IN_LIST PTEC_BOARDS)
    message(FATAL_ERROR "unknown board '${board}'; known: ${PTEC_BOARDS}")
  endif()
  # Code for one CPU does not run on another board's CPU.
  set(cpu_of_mps3-an547 cortex-m55)
  set(cpu_of_mps2-an500 cortex-m7)
  set(cpu_of_mps2-an386 cortex-m4)
  if(NOT cpu_of_${board} STREQUAL PTEC_CPU)
    message(FATAL_ERROR "board ${board} has a ${cpu_of_${board}}; this build is for ${PTEC_CPU} "
            "(use cmake/toolchains/${cpu_of_${board}}.cmake)")
  endif()
  add_library(${lib} STATIC
              ${PTEC_TARGETS_DIR}/common/startup.c
              ${PTEC_TARGETS_DIR}/common/semihost.c
              ${PTEC_TARGETS_DIR}/${board}/board.c
              ${PTEC_ROOT}/runtime/src/platform/cortex_m.c)
  target_include_directories(${lib} PUBLIC ${PTEC_TARGETS_DIR}/common ${PTEC_ROOT}/runtime/include)
  target_compile_options(${lib} PRIVATE ${PTEC_FIRMWARE_WARNINGS})
  set_target_properties(${lib} PROPERTIES POSITION_INDEPENDENT_CODE OFF)
endfunction()

function(ptec_add_firmware name)
  cmake_parse_arguments(FW "" "BOARD;DRIVER" "SOURCES;LIBRARIES;INCLUDES;DEFINES" ${ARGN})
  if(NOT FW_DRIVER)
    set(FW_DRIVER ${PTEC_ETHOSU_DRIVER})
  endif()
  if(NOT FW_BOARD)
    set(FW_BOARD ${PTEC_DEFAULT_BOARD})
  endif()
  if(NOT FW_SOURCES)
    message(FATAL_ERROR "ptec_add_firmware(${name}): SOURCES is required")
  endif()
  ptec_board_library(${FW_BOARD})
  add_executable(${name} ${FW_SOURCES})
  set_target_properties(${name} PROPERTIES SUFFIX ".elf" POSITION_INDEPENDENT_CODE OFF
                        LINK_DEPENDS "${PTEC_TARGETS_DIR}/${FW_BOARD}/link.ld;${PTEC_TARGETS_DIR}/common/sections.ld")
  target_include_directories(${name} PRIVATE ${PTEC_ROOT}/runtime/src ${FW_INCLUDES})
  target_compile_options(${name} PRIVATE ${PTEC_FIRMWARE_WARNINGS})
  target_compile_definitions(${name} PRIVATE ${FW_DEFINES})
  # The board library goes last among ours: startup.c refers to main and the
  # platform layer; --start-group lets the archives refer to each other.
  target_link_libraries(${name} PRIVATE
      -Wl,--start-group ${FW_LIBRARIES} ptec ${FW_DRIVER} ptec_board_${FW_BOARD} -Wl,--end-group)
  target_link_options(${name} PRIVATE
      --specs=rdimon.specs -nostartfiles
      -L${PTEC_TARGETS_DIR}/common -T${PTEC_TARGETS_DIR}/${FW_BOARD}/link.ld
      -Wl,-Map=$<TARGET_FILE_DIR:${name}>/${name}.map -Wl,--no-warn-rwx-segments)
  set_property(TARGET ${name} PROPERTY PTEC_BOARD ${FW_BOARD})
endfunction()
