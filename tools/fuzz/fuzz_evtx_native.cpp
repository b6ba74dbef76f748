// libFuzzer harness for the native EVTX reader: any bytes in, no crash, no hang, no
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
  (void)ingest::read_evtx_native_memory("fuzz", data, size, on_record, on_issue);
  return 0;
}
