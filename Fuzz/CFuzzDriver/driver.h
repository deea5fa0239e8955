// libFuzzer's driver entry point (compiler-rt's FuzzerInterface.h), provided by -sanitize=fuzzer: the fuzz binary
// chooses its target from its arguments, then hands libFuzzer the callback. Declared here so Swift calls it with the
// C calling convention (no @_silgen_name).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
