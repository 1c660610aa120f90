#pragma once
// AEPIPE_VECTOR_CLONES before a function builds it twice, for AVX2 and for the baseline
// x86-64 ISA, and the loader picks one for the CPU it runs on (GCC function
// multi-versioning): hot element-wise loops get 8-wide vectors without -march=native.
// Both clones give the same bits as long as the loop uses only IEEE-exact operations
// (+, -, *, /, sqrt) and its file is built with -ffp-contract=off (no FMA contraction;
// "avx2" does not enable FMA either). pipeline/CMakeLists.txt sets that per file.
#define AEPIPE_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
