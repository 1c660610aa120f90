#include "nn/precision.hpp"

#include <oneapi/dnnl/dnnl.h>

#include "nn/bf16_gemm.hpp"
#include "util/error.hpp"

namespace aepipe::nn {

bool cpu_has_native_bf16() {
  // ISA values are nested bit masks: AMX's includes AVX512_BF16's.
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  const unsigned bf16 = static_cast<unsigned>(dnnl_cpu_isa_avx512_core_bf16);
  return (isa & bf16) == bf16;
}

std::string cpu_isa_name() {
  switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic:
      return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
    default:
      return cat("isa 0x", std::hex, static_cast<unsigned>(dnnl_get_effective_cpu_isa()));
  }
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "auto")
    return cpu_has_native_bf16() && bf16_kernel() == Bf16Kernel::kNative ? Precision::kBf16
                                                                         : Precision::kFp32;
  throw UsageError(cat("--precision must be fp32, bf16 or auto, got '", name, "'"));
}

const char* precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

}  // namespace aepipe::nn
