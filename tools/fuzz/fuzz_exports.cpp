// libFuzzer harness for the SIEM export readers: any bytes in as JSON (FUZZ_JSON) or XML
// (FUZZ_XML), no crash, no hang, no out-of-bounds read out (ASan and UBSan watch).
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "ingest/json_reader.hpp"
#include "ingest/xml_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace treeline;
  auto on_record = [](EventRecord& r) {
    // Touch what the writer would: typed values by name, and the data.
    if (r.spec) (void)type_fields(r);
    if (r.data) (void)r.data->size();
    return ok_status();
  };
  auto on_issue = [](const ingest::ReadIssue&) { return ok_status(); };
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
#if defined(FUZZ_JSON)
  (void)ingest::read_json(in, on_record, on_issue);
#else
  (void)ingest::read_xml(in, on_record, on_issue);
#endif
  return 0;
}
