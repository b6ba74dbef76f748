#include "ingest/evtx_native.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "ingest/binxml.hpp"
#include "ingest/evtx_chunk.hpp"

namespace treeline::ingest {
namespace {

using evtx::decode_chunk;
using evtx::DecodedChunk;
using evtx::kChunkSize;
using evtx::kHeaderSize;
using evtx::rd16;
using evtx::rd32;
using evtx::rd64;

// Where chunks come from: memory, the file (read chunk by chunk with pread, so that memory
// stays bounded whatever the file size), or a stream (a large archive member), which can only
// be read in order and whose size may be unknown until it ends.
struct Source {
  const uint8_t* memory = nullptr;
  int fd = -1;
  size_t size = 0;
  const StreamFn* stream = nullptr;
  size_t stream_pos = 0;
  std::optional<Error> stream_error;  // the stream broke here; what came before is kept

  bool sequential() const { return stream != nullptr; }

  // Fills `buf` with the bytes at `offset`; returns how many (fewer at the end).
  size_t read(size_t offset, size_t length, std::vector<uint8_t>& buf) {
    if (stream) return read_stream(offset, length, buf);
    if (offset >= size) {
      buf.clear();
      return 0;
    }
    length = std::min(length, size - offset);
    buf.resize(length);
    if (memory) {
      std::memcpy(buf.data(), memory + offset, length);
      return length;
    }
    size_t done = 0;
    while (done < length) {
      ssize_t n = pread(fd, buf.data() + done, length - done, static_cast<off_t>(offset + done));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    buf.resize(done);
    return done;
  }

 private:
  // The header, then chunk after chunk: each read starts where the last ended, unless the
  // stream ended first (a short read), and then there is nothing more.
  size_t read_stream(size_t offset, size_t length, std::vector<uint8_t>& buf) {
    buf.resize(length);
    size_t done = 0;
    while (offset == stream_pos && !stream_error && done < length) {
      auto n = (*stream)(buf.data() + done, length - done);
      if (!n) stream_error = n.error();
      if (!n || *n == 0) break;
      done += *n;
    }
    stream_pos += done;
    buf.resize(done);
    return done;
  }
};

Expected<ReadStats> read_source(const std::string& name, Source& src, const RecordFn& on_record,
                                const IssueFn& on_issue, const NativeOptions& options) {
  std::vector<uint8_t> header;
  if ((!src.sequential() && src.size < kHeaderSize) || src.read(0, kHeaderSize, header) < kHeaderSize ||
      std::memcmp(header.data(), "ElfFile\0", 8) != 0) {
    if (src.stream_error) return *src.stream_error;
    return Error{ErrorCode::kBadInput, fmt::format("{}: not an EVTX file (no \"ElfFile\" signature)", name)};
  }
  ReadStats stats;
  const bool header_damaged = static_cast<uint32_t>(crc32(0, header.data(), 120)) != rd32(header.data() + 124);
  if (header_damaged) {
    stats.corrupted = true;
    if (auto s = on_issue({"file header", "header checksum mismatch; chunks are read all the same", false}); !s) return s.error();
  }
  const size_t header_block = kHeaderSize;
  // A stream's chunk count is known when it ends: until then, as many as it gives.
  size_t chunks = src.sequential() ? SIZE_MAX : (src.size - header_block + kChunkSize - 1) / kChunkSize;
  auto fetch = [&src, header_block](size_t i, std::vector<uint8_t>& buf) {
    return src.read(header_block + i * kChunkSize, kChunkSize, buf);
  };
  // What the header promises: chunks in use and the next record id. A file that ends before
  // them, or whose chunks in use are zeros, was cut short (a copy stopped, a collection tool's
  // size limit) and is said to be.
  const uint64_t last_chunk = rd64(header.data() + 16), next_record = rd64(header.data() + 24);
  const uint16_t header_chunks = rd16(header.data() + 42);
  const bool header_sane = header_chunks > 0 && last_chunk < header_chunks;
  uint64_t last_record_read = 0;
  // Zeroed chunks the header counts in use, after the last chunk that held records: a zeroed
  // tail. (A zeroed chunk before live ones is a damaged middle, which a stale header also shows.)
  std::optional<size_t> first_zeroed, last_with_records;
  // Carved frames whose template is not in their chunk, by chunk: read again once every live
  // record of the file is (see carve_pending).
  std::vector<std::pair<size_t, std::vector<size_t>>> pending;
  auto decode = [&](const std::vector<uint8_t>& buf, size_t n, size_t i) {
    DecodedChunk d = decode_chunk(buf.data(), n, i, options.carve);
    if (src.sequential() && !d.pending.empty())
      evtx::reject_pending(buf.data(), "its template is not in its chunk, and a streamed member cannot be read twice", d);
    return d;
  };
  auto deliver = [&](DecodedChunk& d) -> Status {
    if (!d.pending.empty()) pending.emplace_back(d.index, std::move(d.pending));
    last_record_read = std::max(last_record_read, d.last_record_id);
    // Where the live records end, for the cut-file checks: carved old records say nothing of it.
    if (!d.zeroed && d.records.size() > d.carved) last_with_records = d.index;
    if (d.zeroed && header_sane && d.index <= last_chunk &&
        (!first_zeroed || (last_with_records && *last_with_records > *first_zeroed)))
      first_zeroed = d.index;
    for (auto& issue : d.issues)
      if (auto s = on_issue(issue); !s) return s;
    for (auto& rec : d.records) {
      if (!rec.ok) {
        if (auto s = on_issue(*rec.issue); !s) return s;
        continue;
      }
      if (auto s = on_record(rec.record); !s) return s;
    }
    stats.normal += static_cast<int64_t>(d.normal);
    stats.recovered += static_cast<int64_t>(d.recovered);
    stats.skipped += static_cast<int64_t>(d.skipped);
    stats.fragments += static_cast<int64_t>(d.fragments);
    return ok_status();
  };
  // A stream that broke mid-way: what it gave is kept, and the loss is said.
  auto finish = [&]() -> Expected<ReadStats> {
    std::vector<uint8_t> buf;
    for (auto& [index, offsets] : pending) {
      DecodedChunk d;
      d.index = index;
      d.pending = std::move(offsets);
      size_t n = fetch(index, buf);
      if (n < kChunkSize && n <= *std::max_element(d.pending.begin(), d.pending.end()))
        return Error{ErrorCode::kIo, fmt::format("{}: chunk {} could not be read again", name, index)};
      evtx::carve_pending(buf.data(), n, d);
      if (auto s = deliver(d); !s) return s.error();
    }
    // A damaged header and not one record behind it: not a log treeline can read, and no source.
    if (header_damaged && stats.normal + stats.recovered == 0 && !src.stream_error)
      return Error{ErrorCode::kBadInput,
                   fmt::format("{}: not a readable EVTX file: its header is damaged and no record could be read", name)};
    if (first_zeroed && (!last_with_records || *last_with_records < *first_zeroed)) {
      stats.truncated = true;
      ++stats.skipped;  // at least one record: how many the zeros held is unknown
      if (auto s = on_issue({fmt::format("chunk {}", *first_zeroed),
                             fmt::format("chunks {} to {} are all zeros, but the header counts them in use (its next "
                                         "record id is {}, the last record read is {}): their records are lost",
                                         *first_zeroed, last_chunk, next_record, last_record_read),
                             true});
          !s)
        return s.error();
    }
    size_t file_end = src.sequential() ? src.stream_pos : src.size;
    size_t promised = header_block + static_cast<size_t>(header_chunks) * kChunkSize;
    if (header_sane && file_end < promised && !src.stream_error) {
      stats.truncated = true;
      ++stats.skipped;  // at least one record, as for a chunk whose rest is skipped
      std::string records = next_record > last_record_read + 1
                                ? fmt::format("; the header's next record id is {}, the last record read is {}",
                                              next_record, last_record_read)
                                : std::string();
      if (auto s = on_issue({fmt::format("byte {}", file_end),
                             fmt::format("the file ends here, but its header counts {} chunks ({} bytes): it was cut "
                                         "short{}",
                                         header_chunks, promised, records),
                             true});
          !s)
        return s.error();
    }
    if (src.stream_error) {
      stats.corrupted = true;
      if (auto s = on_issue({fmt::format("byte {}", src.stream_pos),
                             fmt::format("{}; the records after it are lost", src.stream_error->message), true});
          !s)
        return s.error();
    }
    return stats;
  };
  unsigned threads = std::max(1u, options.threads);
  if (threads == 1) {
    std::vector<uint8_t> buf;
    for (size_t i = 0; i < chunks; ++i) {
      size_t n = fetch(i, buf);
      if (n == 0) break;
      DecodedChunk d = decode(buf, n, i);
      if (auto s = deliver(d); !s) return s.error();
    }
    return finish();
  }
  // Chunks are independent: worker threads decode ahead, this thread delivers in file order.
  // At most 4 chunks per thread are in flight, so memory stays bounded whatever the file size.
  const size_t window = 4 * threads;
  std::vector<std::optional<DecodedChunk>> slots(window);
  std::mutex mu;
  std::condition_variable_any decoded, consumed;
  size_t next = 0, delivered = 0;
  bool stop = false;
  std::optional<Error> worker_failed;  // a worker that could not decode (out of memory)
  std::vector<DecodedChunk> garbage;
  auto work = [&](std::stop_token token) {
    // Named, so that top, perf and gdb tell the decoders from the writer.
    pthread_setname_np(pthread_self(), "treeline-decode");
    std::unique_lock lock(mu);
    std::vector<uint8_t> buf;
    for (;;) {
      consumed.wait(lock, token, [&] { return stop || next >= chunks || next < delivered + window; });
      if (token.stop_requested() || stop || next >= chunks) return;
      size_t i = next++;
      size_t n = 0;
      // A stream is read in order, so under the lock; a file or memory in parallel.
      if (src.sequential()) {
        n = fetch(i, buf);
        if (n == 0) {
          chunks = i;
          decoded.notify_all();
          consumed.notify_all();
          return;
        }
      }
      // Delivered chunks are freed here: their strings were allocated by this pool, and freeing
      // a million records is work the single writer thread should not do.
      std::vector<DecodedChunk> done;
      done.swap(garbage);
      lock.unlock();
      done.clear();
      DecodedChunk d;
      try {
        if (!src.sequential()) n = fetch(i, buf);
        d = decode(buf, n, i);
      } catch (const std::exception& e) {
        // Not a damaged record (decode_chunk reports those): the pool itself failed.
        lock.lock();
        worker_failed = Error{ErrorCode::kInternal, fmt::format("{}: chunk {}: {}", name, i, e.what())};
        stop = true;
        decoded.notify_all();
        consumed.notify_all();
        return;
      }
      lock.lock();
      slots[i % window] = std::move(d);
      decoded.notify_all();
    }
  };
  // Declared after everything the workers touch, so it is destroyed first: a jthread asks its
  // worker to stop and joins it, whichever way this function is left (an exception from a
  // delivery included).
  std::vector<std::jthread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  Status status = ok_status();
  for (size_t i = 0; status; ++i) {
    std::optional<DecodedChunk> d;
    {
      std::unique_lock lock(mu);
      decoded.wait(lock, [&] { return worker_failed || i >= chunks || slots[i % window].has_value(); });
      if (worker_failed) {
        status = *worker_failed;
        break;
      }
      if (i >= chunks) break;
      d = std::move(slots[i % window]);
      slots[i % window].reset();
    }
    status = deliver(*d);
    {
      std::lock_guard lock(mu);
      garbage.push_back(std::move(*d));
      delivered = i + 1;
      if (!status) stop = true;
    }
    consumed.notify_all();
  }
  {
    std::lock_guard lock(mu);
    stop = true;
  }
  consumed.notify_all();
  pool.clear();
  if (!status) return status.error();
  return finish();
}

}  // namespace

Expected<ReadStats> read_evtx_native_memory(const std::string& name, const uint8_t* data, size_t size,
                                            const RecordFn& on_record, const IssueFn& on_issue,
                                            const NativeOptions& options) {
  Source src;
  src.memory = data;
  src.size = size;
  return read_source(name, src, on_record, on_issue, options);
}

Expected<ReadStats> read_evtx_native_stream(const std::string& name, const StreamFn& stream, const RecordFn& on_record,
                                            const IssueFn& on_issue, const NativeOptions& options) {
  Source src;
  src.stream = &stream;
  return read_source(name, src, on_record, on_issue, options);
}

Expected<ReadStats> read_evtx_native(const std::string& path, const RecordFn& on_record, const IssueFn& on_issue,
                                     const NativeOptions& options) {
  // Evidence is opened read-only.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error{ErrorCode::kIo, fmt::format("{}: cannot open: {}", path, std::strerror(errno))};
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return Error{ErrorCode::kIo, fmt::format("{}: cannot stat: {}", path, std::strerror(errno))};
  }
  Source src;
  src.fd = fd;
  src.size = static_cast<size_t>(st.st_size);
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  auto result = read_source(path, src, on_record, on_issue, options);
  ::close(fd);
  return result;
}

}  // namespace treeline::ingest
