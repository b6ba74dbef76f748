#include "ingest/evtx_libevtx.hpp"

#include <cstring>
#include <fstream>
#include <memory>

#include "ingest/evtx_libevtx_reader.hpp"

namespace treeline::ingest {

using namespace libevtx_detail;

bool has_evtx_signature(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char sig[8] = {};
  if (!in.read(sig, 8)) return false;
  return std::memcmp(sig, "ElfFile\0", 8) == 0;
}

namespace {

struct BfioFree {
  void operator()(libbfio_handle_t* h) const {
    libbfio_error_t* e = nullptr;
    libbfio_handle_free(&h, &e);
    if (e) libbfio_error_free(&e);
  }
};
using BfioPtr = std::unique_ptr<libbfio_handle_t, BfioFree>;

Expected<ReadStats> read_open_file(libevtx_file_t* file, const std::string& path, const RecordFn& on_record,
                                   const IssueFn& on_issue, const ReadOptions& options);

// Opens with `open` (by path or through a bfio handle), then reads.
template <typename OpenFn>
Expected<ReadStats> open_and_read(const std::string& path, OpenFn open, const RecordFn& on_record,
                                  const IssueFn& on_issue, const ReadOptions& options) {
  libevtx_error_t* e = nullptr;
  libevtx_file_t* raw = nullptr;
  if (libevtx_file_initialize(&raw, &e) != 1)
    return Error{ErrorCode::kInternal, fmt::format("{}: libevtx: {}", path, take_error(e))};
  FilePtr file(raw);
  // Evidence is opened for reading only.
  if (open(file.get(), &e) != 1) {
    std::string why = take_error(e);
    // libevtx_file_close must not run on a file that never opened.
    libevtx_file_t* f = file.release();
    libevtx_file_free(&f, &e);
    if (e) libevtx_error_free(&e);
    return Error{ErrorCode::kBadInput, fmt::format("{}: not a readable EVTX file: {}", path, why)};
  }
  return read_open_file(file.get(), path, on_record, on_issue, options);
}

}  // namespace

Expected<ReadStats> read_evtx_libevtx(const std::string& path, const RecordFn& on_record, const IssueFn& on_issue,
                                     const ReadOptions& options) {
  return open_and_read(
      path, [&](libevtx_file_t* f, libevtx_error_t** e) { return libevtx_file_open(f, path.c_str(), LIBEVTX_OPEN_READ, e); },
      on_record, on_issue, options);
}

Expected<ReadStats> read_evtx_libevtx_memory(const std::string& name, const std::string& bytes, const RecordFn& on_record,
                                            const IssueFn& on_issue, const ReadOptions& options) {
  libbfio_handle_t* raw = nullptr;
  libbfio_error_t* be = nullptr;
  if (libbfio_memory_range_initialize(&raw, &be) != 1) {
    if (be) libbfio_error_free(&be);
    return Error{ErrorCode::kInternal, fmt::format("{}: libbfio memory range unavailable", name)};
  }
  BfioPtr handle(raw);
  // libbfio takes a non-const pointer but only reads through it.
  if (libbfio_memory_range_set(handle.get(), reinterpret_cast<uint8_t*>(const_cast<char*>(bytes.data())), bytes.size(), &be) != 1) {
    if (be) libbfio_error_free(&be);
    return Error{ErrorCode::kInternal, fmt::format("{}: libbfio memory range unavailable", name)};
  }
  return open_and_read(
      name,
      [&](libevtx_file_t* f, libevtx_error_t** e) {
        return libevtx_file_open_file_io_handle(f, handle.get(), LIBEVTX_OPEN_READ, e);
      },
      on_record, on_issue, options);
}

namespace {

Expected<ReadStats> read_open_file(libevtx_file_t* file_ptr, const std::string& path, const RecordFn& on_record,
                                   const IssueFn& on_issue, const ReadOptions& options) {
  libevtx_error_t* e = nullptr;
  struct Borrowed {
    libevtx_file_t* p;
    libevtx_file_t* get() const { return p; }
  } file{file_ptr};
  ReadStats stats;
  stats.corrupted = libevtx_file_is_corrupted(file.get(), &e) == 1;
  if (e) libevtx_error_free(&e);

  Reader reader(on_record, on_issue, options);
  if (headers_disagree_with_xml(file.get())) reader.use_xml_identity();
  int normal = 0, recovered = 0;
  if (libevtx_file_get_number_of_records(file.get(), &normal, &e) != 1) {
    return Error{ErrorCode::kBadInput, fmt::format("{}: libevtx cannot count records: {}", path, take_error(e))};
  }
  for (int i = 0; i < normal && !options.recovered_only; ++i) {
    libevtx_record_t* rec = nullptr;
    std::string where = fmt::format("record index {}", i);
    if (libevtx_file_get_record_by_index(file.get(), i, &rec, &e) != 1) {
      ++stats.skipped;
      if (auto s = on_issue({where, take_error(e), true}); !s) return s.error();
      continue;
    }
    RecordPtr owned(rec);
    if (auto s = reader.read_one(rec, false, where, stats); !s) return s.error();
  }
  if (libevtx_file_get_number_of_recovered_records(file.get(), &recovered, &e) != 1) {
    recovered = 0;
    if (auto s = on_issue({"recovered records", take_error(e), false}); !s) return s.error();
  }
  for (int i = 0; i < recovered; ++i) {
    libevtx_record_t* rec = nullptr;
    std::string where = fmt::format("recovered record index {}", i);
    if (libevtx_file_get_recovered_record_by_index(file.get(), i, &rec, &e) != 1) {
      // Recovery scans the free space of chunks; what it cannot parse is a fragment of an old
      // record, not a record of the log, so it is reported but not counted as skipped.
      ++stats.fragments;
      if (auto s = on_issue({where, fmt::format("unreadable fragment in free space: {}", take_error(e)), false}); !s)
        return s.error();
      continue;
    }
    RecordPtr owned(rec);
    if (auto s = reader.read_one(rec, true, where, stats); !s) return s.error();
  }
  return stats;
}

}  // namespace

}  // namespace treeline::ingest
