/*
 * The Ethos-U85's FWD ("fast weight decoder") weight stream. Only an encoder
 * is open (Vela's mlw_encode_fwd.cpp); this decoder follows its layout,
 * bits read LSB first:
 *   a 256-bit header: bit 0 raw flag, bit 1 small-LUT flag, 102 pad bits,
 *   8-bit zero_adjust (bits 104-111, signed), sixteen 9-bit LUT entries
 *   (bits 112-255, sign and magnitude: bit 0 the sign, as MLW's palette);
 *   then one code per weight: raw, 8 bits (a signed byte); else a LUT index
 *   of 4 bits (2 with the small LUT, whose first 4 entries are used).
 * A weight is its code's value minus zero_adjust (measured on Vela 5.2.0
 * streams: raw bytes are the weights plus the weight zero point).
 */
#include "backends/ethosu/sim/sim_internal.h"

enum { FWD_HEADER_BYTES = 32 };

static uint32_t bits_at(const uint8_t *in, size_t pos, uint32_t n) {
  uint32_t v = 0;
  for (uint32_t i = 0; i < n; i++, pos++) v |= (uint32_t)((in[pos >> 3] >> (pos & 7)) & 1u) << i;
  return v;
}

int64_t sim_fwd_decode(const uint8_t *in, size_t in_size, int16_t *out, size_t cap,
                       const char **why) {
  *why = "";
  if (in_size < FWD_HEADER_BYTES) return *why = "a stream shorter than its 32-byte header", -1;
  bool raw = (in[0] & 1u) != 0, small = (in[0] & 2u) != 0;
  int32_t zero_adjust = (int8_t)in[13];
  int16_t lut[16];
  for (uint32_t i = 0; i < 16; i++) {
    uint32_t e = bits_at(in, 112 + 9 * (size_t)i, 9);
    lut[i] = (int16_t)((e & 1u) ? -(int32_t)(e >> 1) : (int32_t)(e >> 1));
  }
  const uint8_t *data = in + FWD_HEADER_BYTES;
  size_t data_bits = (in_size - FWD_HEADER_BYTES) * 8;
  uint32_t code_bits = raw ? 8 : small ? 2 : 4;
  size_t n = data_bits / code_bits;
  if (n > cap) return *why = "more weights than the op has", -2;
  for (size_t k = 0; k < n; k++) {
    int32_t v;
    if (raw) {
      v = (int8_t)data[k];
    } else {
      v = lut[bits_at(data, k * code_bits, code_bits)];
    }
    out[k] = (int16_t)(v - zero_adjust);
  }
  return (int64_t)n;
}
