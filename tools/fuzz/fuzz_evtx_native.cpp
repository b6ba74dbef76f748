// libFuzzer harness for the native EVTX reader, carving included: any bytes in, no crash, no hang, no
// out-of-bounds read out (ASan and UBSan watch).
#include <cstddef>
#include <cstdint>

#include "ingest/evtx_native.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace treeline;
  auto on_record = [](EventRecord& r) {
    // Touch what the writer would: typed values by name.
    if (r.spec) (void)type_fields(r);
    return ok_status();
  };
  auto on_issue = [](const ingest::ReadIssue&) { return ok_status(); };
  // With carving: free space, chunks without a header, templates resolved from earlier inputs.
  ingest::NativeOptions options;
  options.carve = true;
  (void)ingest::read_evtx_native_memory("fuzz", data, size, on_record, on_issue, options);
  return 0;
}
